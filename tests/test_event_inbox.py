"""Events from Slack are acted on once: the event is recorded in the same
transaction as what its listener changes, so Slack's retry redoes a listener
that failed and does nothing after one that succeeded."""

from __future__ import annotations

import json
import time

import pytest
from slack_bolt import BoltRequest
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from sqlalchemy import select

from bot.app import create_app, once
from storage.models import AuditEntry
from tests.conftest import count_rows
from tests.slack.signing import sign


@pytest.fixture
def app(demo, clock, slack_api, slack_signing_secret):
    return create_app(
        client=WebClient(token="xoxb-test", base_url=slack_api.url),
        signing_secret=slack_signing_secret,
        sessions=demo,
        clock=clock,
        authorize=lambda enterprise_id, team_id: AuthorizeResult(
            enterprise_id=enterprise_id, team_id=team_id, bot_token="xoxb-test"
        ),
    )


@pytest.fixture
def mention_listener(app, demo, clock):
    """A listener that records an audit entry in the event's transaction, and fails
    on its first run (the mention event stands for any event)."""
    runs: list[str] = []

    def on_mention(session, event, now) -> None:
        runs.append(event["text"])
        session.add(AuditEntry(actor="test", what="mention.seen", subject=event["text"], at=now))
        if len(runs) == 1:
            raise RuntimeError("the listener broke halfway")

    app.event("app_mention")(once(on_mention, sessions=demo, clock=clock))
    return runs


def deliver(app, secret, event_id, *, retry=None):
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0TEAM001",
            "api_app_id": "A0APP0001",
            "event": {"type": "app_mention", "user": "U0FIRE001", "text": "hello", "channel": "CBOARD001"},
            "event_id": event_id,
            "event_time": int(time.time()),
        }
    )
    headers = {"content-type": "application/json"} | sign(body, secret=secret, timestamp=int(time.time()))
    if retry:
        headers |= {"x-slack-retry-num": str(retry), "x-slack-retry-reason": "http_error"}
    return app.dispatch(BoltRequest(body=body, headers={k: [v] for k, v in headers.items()}))


def seen(demo) -> list[str]:
    with demo() as session:
        return list(session.scalars(select(AuditEntry.subject).where(AuditEntry.what == "mention.seen")))


def test_a_listener_that_fails_is_done_again_on_slack_s_retry(
    app, demo, mention_listener, slack_signing_secret
):
    before = count_rows(demo)
    failed = deliver(app, slack_signing_secret, "Ev0FAIL01")
    assert failed.status == 500  # Slack will retry
    assert count_rows(demo) == before  # neither the change nor the event's record was kept

    retried = deliver(app, slack_signing_secret, "Ev0FAIL01", retry=1)
    assert retried.status == 200
    assert mention_listener == ["hello", "hello"]
    assert seen(demo) == ["hello"]
    assert count_rows(demo)["received_event"] == before["received_event"] + 1


def test_a_retry_of_an_event_already_acted_on_does_nothing(app, demo, mention_listener, slack_signing_secret):
    deliver(app, slack_signing_secret, "Ev0ONCE01")  # fails
    assert deliver(app, slack_signing_secret, "Ev0ONCE01", retry=1).status == 200  # done
    after = count_rows(demo)

    assert deliver(app, slack_signing_secret, "Ev0ONCE01", retry=2).status == 200
    assert mention_listener == ["hello", "hello"]  # not run a third time
    assert count_rows(demo) == after
    assert seen(demo) == ["hello"]
