"""Meetings tests: every channel post any of them makes is checked for apology reasons."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from storage.models import Apology, Delivery


@pytest.fixture(autouse=True)
def no_apology_reason_is_ever_posted(request):
    """After each test: no apology reason (private) appears in any channel post,
    whether queued in the outbox or received by the Slack stand-in."""
    if "demo" not in request.fixturenames:
        yield
        return
    demo = request.getfixturevalue("demo")
    slack_api = request.getfixturevalue("slack_api") if "slack_api" in request.fixturenames else None
    yield
    with demo() as session:
        reasons = [r for r in session.scalars(select(Apology.reason)) if r]
        posts = [
            json.dumps(d.payload) for d in session.scalars(select(Delivery).where(Delivery.kind == "channel"))
        ]
    if slack_api is not None:
        posts += [json.dumps(p) for p in slack_api.posts()]
    leaked = [(reason, post) for reason in reasons for post in posts if reason in post]
    assert not leaked, f"an apology reason was posted to a channel: {leaked[0]}"


@pytest.fixture
def board_post_texts(demo):
    """The texts queued for the board's channel, oldest first."""

    def texts() -> list[str]:
        with demo() as session:
            rows = session.scalars(
                select(Delivery)
                .where(Delivery.kind == "channel", Delivery.target == "CBOARD001")
                .order_by(Delivery.id)
            )
            return [d.payload["text"] for d in rows]

    return texts
