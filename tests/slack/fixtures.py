"""Pytest plugin with the Slack stand-ins (listed in tests/conftest.py's pytest_plugins)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from tests.slack.fake_api import FakeSlackAPI

SIGNING_SECRET = "not-a-real-signing-secret-000000"  # 32 characters, like a real one


@pytest.fixture
def slack_api() -> Iterator[FakeSlackAPI]:
    """A started FakeSlackAPI; the test fails at teardown if it got unknown methods."""
    with FakeSlackAPI() as api:
        yield api
    api.assert_no_unexpected()


@pytest.fixture
def slack_signing_secret() -> str:
    return SIGNING_SECRET


@pytest.fixture
def server(demo, clock, slack_api, slack_signing_secret):
    """`partnerbot serve`, built as the CLI builds it, on a free loopback port."""
    from bot.server import build
    from bot.settings import load as load_settings

    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": "xoxb-test-token",
            "SLACK_SIGNING_SECRET": slack_signing_secret,
            "SLACK_API_URL": slack_api.url,
        }
    )
    service = build(settings=settings, sessions=demo, clock=clock)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    config = uvicorn.Config(service.web, log_level="warning", lifespan="off")
    web = uvicorn.Server(config)
    thread = threading.Thread(target=web.run, kwargs={"sockets": [listener]}, daemon=True)
    service.deliveries.start()
    thread.start()
    deadline = time.monotonic() + 10
    while not web.started and time.monotonic() < deadline:
        time.sleep(0.01)
    host, port = listener.getsockname()
    yield f"http://{host}:{port}"
    web.should_exit = True
    thread.join(10)
    service.deliveries.stop()
