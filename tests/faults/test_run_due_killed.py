"""`partnerbot jobs run-due` killed with SIGKILL in the middle of a morning's
nudges and reminders, then run again: every message goes out, and none twice."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

from sqlalchemy import select

from storage.models import Delivery

MORNING = "2015-04-14T09:00"  # the day after the demo's story starts: many actions are late
AFTER_THE_LEASE = "2015-04-14T09:06"  # a held row is free again after 5 minutes


def test_run_due_killed_mid_run_and_run_again_sends_everything_once(demo, database_url, slack_api):
    # Slack takes the first post and then says nothing: the process is killed
    # between Slack taking it and the outcome being recorded.
    slack_api.reply("chat.postMessage", delay=30, times=1)
    env = os.environ | {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_API_URL": slack_api.url,
        "LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "bot.cli", "jobs", "run-due", "--now"]
    running = subprocess.Popen([*command, MORNING], env=env)
    slack_api.wait_for("chat.postMessage", timeout=30)
    running.kill()
    running.wait(10)
    with demo() as session:
        queued = {d.key: d.status for d in session.scalars(select(Delivery))}
    assert len(queued) > 5 and list(queued.values()).count("sent") < len(queued)

    again = subprocess.run([*command, AFTER_THE_LEASE], env=env, timeout=60, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr

    with demo() as session:
        rows = session.execute(select(Delivery.key, Delivery.kind, Delivery.status)).all()
    assert {key for key, _, _ in rows} >= set(queued)  # nothing queued before the kill was dropped
    assert {status for _, _, status in rows} == {"sent"}
    posts = slack_api.posts()
    posted = Counter(p["metadata"]["event_payload"]["key"] for p in posts)
    assert set(posted) == {key for key, kind, _ in rows if kind in ("channel", "direct")}
    assert set(posted.values()) == {1}
    assert slack_api.calls("conversations.history")  # the post in doubt was looked for, not made again
    assert len({(p["channel"], p["text"]) for p in posts}) == len(posts)
