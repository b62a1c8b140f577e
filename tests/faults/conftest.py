"""Fixtures for the fault tests: `partnerbot serve` in this process, on a free
loopback port, over the test's database (as tests/test_slack_endpoint.py builds it)."""

from __future__ import annotations

import socket
import threading
import time

import pytest
import uvicorn

from bot.server import Service, build
from bot.settings import load as load_settings


@pytest.fixture
def server(demo, clock, slack_api, slack_signing_secret):
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
    web = uvicorn.Server(uvicorn.Config(service.web, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=web.run, kwargs={"sockets": [listener]}, daemon=True)
    service.deliveries.start()
    thread.start()
    deadline = time.monotonic() + 10
    while not web.started and time.monotonic() < deadline:
        time.sleep(0.01)  # uvicorn is starting in its thread
    host, port = listener.getsockname()
    yield f"http://{host}:{port}"
    web.should_exit = True
    thread.join(10)
    service.deliveries.stop()


@pytest.fixture
def start_serve(demo, clock, slack_api, slack_signing_secret):
    """Start `partnerbot serve` in this process on the test's clock, with any extra
    settings (e.g. SMTP_URL), its delivery worker running: returns (base URL, the
    service), so a test can wake the worker after moving the clock."""
    running: list[tuple[uvicorn.Server, threading.Thread, Service]] = []

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
        listener = socket.socket()
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
        service.deliveries.stop()
