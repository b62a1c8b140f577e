"""Procfile as deployed: two `worker` processes and a `serve` share one database,
and every message still goes out once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import func, select

from services import outbox
from storage.models import Delivery
from tests.test_serve_process import free_port


def test_two_workers_and_a_server_send_each_message_once(demo, database_url, slack_api, tmp_path):
    now = datetime.now(UTC)  # real processes run on the real clock
    keys = [f"post:{n}" for n in range(200)]
    with demo() as session, session.begin():
        for key in keys:
            outbox.enqueue(
                session,
                key=key,
                kind="channel",
                target="CBOARD001",
                payload={"text": key},
                due_at=now,
                now=now,
            )
    slack_api.reply("chat.postMessage", delay=5, times=1)  # one slow answer holds up one process only
    slack_api.reply("chat.postMessage", delay=0.02)
    env = os.environ | {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "not-a-real-signing-secret-000000",
        "SLACK_API_URL": slack_api.url,
        "LOG_LEVEL": "INFO",
    }
    commands = [
        ["worker"],
        ["worker"],
        ["serve", "--host", "127.0.0.1", "--port", str(free_port())],
    ]
    logs = [tmp_path / f"process-{n}.log" for n in range(len(commands))]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "bot.cli", *command],
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        for command, log in zip(commands, logs, strict=True)
    ]
    try:
        # Until the test's posts are all sent and every process has logged what it
        # sent: a pass logs when it ends, and the demo's nudges may still be going.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
            _sent(demo) < len(keys) or _logged(logs) < len(slack_api.posts())
        ):
            time.sleep(0.2)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(10)
    assert _sent(demo) == len(keys)
    # Each message once to whom it is for: the demo's old actions are nudged on the
    # real clock too, on a weekday, and several people's nudges read alike
    # ("Actions to chase, Mon 30 Nov 2026: 1 overdue.").
    posted = Counter((p["channel"], p["text"]) for p in slack_api.posts())
    assert posted.most_common(1)[0][1] == 1 and set(keys) <= {text for _, text in posted}
    sent_by = [_logged([log]) for log in logs]
    assert sum(sent_by) == sum(posted.values()) and sum(1 for n in sent_by if n) >= 2, sent_by


def _logged(logs) -> int:
    """How many messages the processes' logs say they sent."""
    return sum(int(n) for log in logs for n in re.findall(r"sent=(\d+)", log.read_text()))


def _sent(db) -> int:
    """How many of the test's own posts are recorded as sent."""
    with db() as session:
        sent = select(func.count()).where(Delivery.status == "sent", Delivery.key.like("post:%"))
        return session.scalar(sent) or 0
