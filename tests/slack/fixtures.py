"""Pytest plugin with the Slack stand-ins (listed in tests/conftest.py's pytest_plugins)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
