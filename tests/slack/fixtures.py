"""Pytest plugin with the Slack stand-ins (listed in tests/conftest.py's pytest_plugins)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from tests.slack.fake_api import FakeSlackAPI
from tests.slack.signing import SIGNING_SECRET


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
def start_serve(demo, clock, slack_api, slack_signing_secret):
    """Start `partnerbot serve`, built as the CLI builds it, in this process on the
    test's clock and a free loopback port, with any extra settings (e.g. SMTP_URL)
    and its delivery worker running: returns (base URL, the service), so a test
    can wake the worker after moving the clock."""
    from bot.server import build
    from bot.settings import load as load_settings

    running: list[tuple[uvicorn.Server, threading.Thread, object]] = []

    def start(**extra: str):
        settings = load_settings(
            {
                "SLACK_BOT_TOKEN": "xoxb-test-token",
                "SLACK_SIGNING_SECRET": slack_signing_secret,
                "SLACK_API_URL": slack_api.url,
                **extra,
            }
        )
        service = build(settings=settings, sessions=demo, clock=clock)
        # With proto left at 0, asyncio does not set TCP_NODELAY on the connections
        # it accepts (uvicorn issue 3149), and each keep-alive request waits ~40 ms
        # for a delayed ACK; `serve` binds by host and port and is not affected.
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        listener.bind(("127.0.0.1", 0))
        web = uvicorn.Server(uvicorn.Config(service.web, log_level="warning", lifespan="off"))
        thread = threading.Thread(target=web.run, kwargs={"sockets": [listener]}, daemon=True)
        service.deliveries.start()
        thread.start()
        running.append((web, thread, service))
        deadline = time.monotonic() + 10
        while not web.started and time.monotonic() < deadline:
            time.sleep(0.01)  # uvicorn is starting in its thread
        host, port = listener.getsockname()
        return f"http://{host}:{port}", service

    yield start
    for web, thread, service in running:
        web.should_exit = True
        thread.join(10)
        service.deliveries.stop()  # type: ignore[attr-defined]


@pytest.fixture
def server(start_serve) -> str:
    """`partnerbot serve` on its usual settings: its base URL."""
    base, _ = start_serve()
    return base
