"""`partnerbot serve` as the engineer starts it: a real process on a real port."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from services import outbox
from storage.models import Action
from tests.conftest import count_rows
from tests.slack.signing import sign, slash_command_body

BOT_TOKEN = "xoxb-0000-never-in-a-log"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Serving:
    """A `partnerbot serve` process started by a test: where it answers, and the process."""

    base: str
    port: int
    process: subprocess.Popen


@contextmanager
def serving(
    *,
    database_url: str,
    slack_api,
    slack_signing_secret: str,
    log: Path,
    log_level: str = "WARNING",
    workers=1,
) -> Iterator[Serving]:
    """`partnerbot serve --workers N` as a process, answering /healthz; stopped after."""
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": slack_signing_secret,
        "SLACK_API_URL": slack_api.url,
        "LOG_LEVEL": log_level,
    }
    argv = [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--no-scheduler", "--workers", str(workers)]
    with log.open("w") as output:
        process = subprocess.Popen(argv, env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("partnerbot serve did not answer /healthz:\n" + log.read_text())
    try:
        yield Serving(base, port, process)
    finally:
        process.terminate()
        process.wait(10)


@pytest.fixture
def served(request, demo, database_url, slack_api, slack_signing_secret, tmp_path):
    """`partnerbot serve` as a process; its log (at WARNING, or the level a test
    passes as the fixture's parameter) is in tmp_path/serve.log."""
    with serving(
        database_url=database_url,
        slack_api=slack_api,
        slack_signing_secret=slack_signing_secret,
        log=tmp_path / "serve.log",
        log_level=getattr(request, "param", "WARNING"),
    ) as serve:
        yield serve.base


def test_serve_stores_a_signed_action_and_refuses_an_unsigned_one(served, demo, slack_signing_secret):
    body = slash_command_body(
        "/action", "add Circulate Away Day outcomes | <@U0FIRE001|ray> | 17.02.15", user_id="U0CLERK01"
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    before = count_rows(demo)
    unsigned = httpx.post(f"{served}/slack/events", content=body, headers=headers, timeout=10)
    assert unsigned.status_code == 401 and count_rows(demo) == before

    signed = headers | sign(body, secret=slack_signing_secret, timestamp=int(time.time()))
    reply = httpx.post(f"{served}/slack/events", content=body, headers=signed, timeout=10).json()
    assert "Circulate Away Day outcomes — Ray Cottam, due Tue 17 Feb 2015" in reply["text"]
    with demo() as session:
        newest = session.scalar(select(Action).order_by(Action.number.desc()).limit(1))
    assert (newest.what, newest.owner.key, newest.due) == (
        "Circulate Away Day outcomes",
        "fire",
        date(2015, 2, 17),
    )


@pytest.mark.parametrize("served", ["DEBUG"], indirect=True)
def test_no_log_line_holds_a_token_a_secret_or_an_apology_reason(
    served, demo, slack_api, slack_signing_secret, tmp_path
):
    slack_api.reply("auth.test", status=500)
    slack_api.reply("chat.postMessage", status=500)
    reason = "hospital appointment 4471"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    for command, text in [("/apologies", f"21 Apr {reason}"), ("/action", "add Book room | clerk | 1 May")]:
        body = slash_command_body(command, text, user_id="U0FIRE001")
        signed = headers | sign(body, secret=slack_signing_secret, timestamp=int(time.time()))
        assert (
            httpx.post(f"{served}/slack/events", content=body, headers=signed, timeout=10).status_code == 200
        )
        wrongly = headers | sign(body, secret="not-the-secret", timestamp=int(time.time()))
        assert (
            httpx.post(f"{served}/slack/events", content=body, headers=wrongly, timeout=10).status_code == 401
        )
    with demo() as session, session.begin():  # a post that Slack keeps refusing, logged each time
        now = datetime.now(UTC)
        outbox.enqueue(
            session,
            key="post:1",
            kind="channel",
            target="CBOARD001",
            payload={"text": "x"},
            due_at=now,
            now=now,
        )
    slack_api.wait_for("chat.postMessage", timeout=15)
    deadline = time.monotonic() + 10
    while (
        "delivery deferred" not in (log := (tmp_path / "serve.log").read_text())
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)  # the process writes its line about the refusal
    assert "DEBUG" in log and "delivery deferred" in log and "chat.postMessage" in log
    for secret in (BOT_TOKEN, slack_signing_secret, reason):
        assert secret not in log


@pytest.mark.parametrize("served", ["INFO"], indirect=True)
def test_every_log_line_is_one_line_in_one_format_uvicorn_s_too(served, tmp_path):
    assert httpx.get(f"{served}/healthz", timeout=5).status_code == 200
    deadline = time.monotonic() + 10
    while "/healthz" not in (log := (tmp_path / "serve.log").read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)  # the access line is written after the answer
    lines = log.splitlines()
    one_format = re.compile(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) \S+ \S"
    )
    assert lines and [line for line in lines if not one_format.match(line)] == []
    [started] = [line for line in lines if " INFO uvicorn.error Started server process" in line]
    assert started.endswith("]")  # not followed by uvicorn's coloured copy of the line
    assert any(
        " INFO uvicorn.access 127.0.0.1:" in line and '"GET /healthz HTTP/1.1" 200' in line for line in lines
    )


@pytest.fixture
def slack_web_api_down(slack_api):
    """Slack's Web API answers every call with a 500, from before `serve` starts."""
    for method in ("auth.test", "chat.postMessage", "conversations.open", "users.info", "views.publish"):
        slack_api.reply(method, status=500)
    return slack_api


def test_commands_are_answered_while_slack_s_web_api_is_down(
    slack_web_api_down, served, demo, slack_signing_secret
):
    body = slash_command_body("/action", "list all", user_id="U0CLERK01")
    headers = {"Content-Type": "application/x-www-form-urlencoded"} | sign(
        body, secret=slack_signing_secret, timestamp=int(time.time())
    )
    started = time.monotonic()
    response = httpx.post(f"{served}/slack/events", content=body, headers=headers, timeout=10)
    assert time.monotonic() - started < 3
    assert response.status_code == 200
    assert response.json()["text"].startswith("All open actions (")
    # serve did try to learn who it is, and failed: the answer did not depend on it.
    refused = slack_web_api_down.wait_for("auth.test", timeout=10)
    assert refused and not any(call.ok for call in refused)


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads what the process loaded from /proc")
def test_serve_reads_requests_with_httptools_on_uvloop(
    demo, database_url, slack_api, slack_signing_secret, tmp_path
):
    """uvicorn picks its C parser and event loop when they are installed, and
    falls back to h11 and asyncio's loop (slower in the tail with 16 clients,
    bench/README.md) without a word when they are not."""
    with serving(
        database_url=database_url,
        slack_api=slack_api,
        slack_signing_secret=slack_signing_secret,
        log=tmp_path / "serve.log",
    ) as serve:
        assert httpx.get(f"{serve.base}/healthz", timeout=5).status_code == 200
        loaded = Path(f"/proc/{serve.process.pid}/maps").read_text()
    assert "/httptools/" in loaded and "/uvloop/" in loaded
