"""PostgreSQL restarted mid-run: `partnerbot serve`, a real process, reaches the
database through a proxy the test cuts and restores. Meanwhile /healthz says so,
commands are answered at once and store nothing; afterwards it recovers by itself."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
from sqlalchemy.engine import make_url

from storage.session import make_session_factory
from tests.conftest import POSTGRES_URL, count_rows
from tests.faults.proxy import Proxy
from tests.slack.signing import FORM, sign, slash_command_body
from tests.test_serve_process import free_port

BUDGET = 3.0  # seconds: SPEC 8, every command acknowledged within them


@pytest.fixture
def database(postgres_engine, postgres_demo):
    """The demo partnership on PostgreSQL, read directly (not through the proxy)."""
    postgres_demo.restore(postgres_engine)
    return make_session_factory(postgres_engine)


@pytest.fixture
def proxy(database):
    url = make_url(POSTGRES_URL)
    with Proxy((url.host or "127.0.0.1", url.port or 5432)) as proxy:
        yield proxy


@pytest.fixture
def served(proxy, slack_api, slack_signing_secret, tmp_path):
    """`partnerbot serve` whose every database connection goes through the proxy."""
    through_proxy = make_url(POSTGRES_URL).set(host="127.0.0.1", port=proxy.port)
    port = free_port()
    env = os.environ | {
        "DATABASE_URL": through_proxy.render_as_string(hide_password=False),
        "SLACK_BOT_TOKEN": "xoxb-0000-never-in-a-log",
        "SLACK_SIGNING_SECRET": slack_signing_secret,
        "SLACK_API_URL": slack_api.url,
        "LOG_LEVEL": "WARNING",
    }
    log = tmp_path / "serve.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "serve",
            "--no-scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.1)  # the process is still starting
    else:
        process.kill()
        pytest.fail("partnerbot serve did not answer /healthz:\n" + log.read_text())
    yield base
    process.terminate()
    process.wait(10)


def command(base: str, secret: str, text: str, name: str = "/action") -> tuple[httpx.Response, float]:
    body = slash_command_body(name, text, user_id="U0CLERK01")
    headers = {"Content-Type": FORM} | sign(body, secret=secret, timestamp=int(time.time()))
    started = time.perf_counter()
    response = httpx.post(f"{base}/slack/events", content=body, headers=headers, timeout=10)
    return response, time.perf_counter() - started


def healthz(base: str) -> tuple[int, float]:
    started = time.perf_counter()
    response = httpx.get(f"{base}/healthz", timeout=10)
    seconds = time.perf_counter() - started
    assert response.json()["database"] == ("ok" if response.status_code == 200 else "unreachable")
    return response.status_code, seconds


def test_serve_says_so_while_the_database_is_gone_and_recovers_without_a_restart(
    served, proxy, database, slack_signing_secret
):
    answered, _ = command(served, slack_signing_secret, "list")
    assert answered.status_code == 200 and "open actions" in answered.json()["text"]

    proxy.cut()
    status, seconds = healthz(served)
    assert (status, seconds < 2) == (503, True), f"{status} after {seconds:.2f}s"
    before = count_rows(database)
    refused, seconds = command(served, slack_signing_secret, "add Book the room | clerk | 1 May")
    assert refused.status_code == 200 and seconds < BUDGET, f"{refused.status_code} after {seconds:.2f}s"
    text = refused.json()["text"]
    assert "can't reach its database" in text and "nothing was changed" in text, text
    assert "went wrong" not in text, "a database outage is not a crash: " + text
    assert count_rows(database) == before

    proxy.restore()
    assert healthz(served)[0] == 200  # the first check after the restart: no stale connection kept
    added, seconds = command(served, slack_signing_secret, "add Book the room | clerk | 1 May")
    assert added.status_code == 200 and seconds < BUDGET
    assert "Added" in added.json()["text"] and "Book the room" in added.json()["text"]
    assert count_rows(database)["action"] == before["action"] + 1


def test_a_cut_in_the_middle_of_commands_loses_no_acknowledgement(
    served, proxy, database, slack_signing_secret
):
    for round_ in range(3):
        proxy.cut()
        for _ in range(3):
            response, seconds = command(served, slack_signing_secret, "list")
            assert response.status_code == 200 and seconds < BUDGET, f"round {round_}: {seconds:.2f}s"
        proxy.restore()
        response, seconds = command(served, slack_signing_secret, "list")
        assert response.status_code == 200 and "open actions" in response.json()["text"]
