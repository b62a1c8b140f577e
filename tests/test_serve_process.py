"""`partnerbot serve` as the engineer starts it: a real process on a real port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from datetime import date

import httpx
import pytest
from sqlalchemy import select

from storage.models import Action
from tests.conftest import count_rows
from tests.slack.signing import sign, slash_command_body


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def served(demo, database_url, slack_api, slack_signing_secret, tmp_path):
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": database_url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": slack_signing_secret,
        "SLACK_API_URL": slack_api.url,
        "LOG_LEVEL": "WARNING",
    }
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)
    else:
        process.kill()
        pytest.fail("partnerbot serve did not answer /healthz:\n" + (tmp_path / "serve.log").read_text())
    yield base
    process.terminate()
    process.wait(10)


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
