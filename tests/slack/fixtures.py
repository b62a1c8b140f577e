"""Pytest plugin with the Slack stand-ins (listed in tests/conftest.py's pytest_plugins)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
