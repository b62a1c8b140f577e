"""The outbox: each message sent once, retried with back-off, given up when hopeless."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.jobs.deliveries import MAX_ATTEMPTS, send_due
from bot.slack_api import SlackSender, web_client
from services import outbox
from storage.models import Delivery


@pytest.fixture
def sender(slack_api):
    return SlackSender(web_client("xoxb-test", slack_api.url))


def queue(db, clock, key="post:1", kind="channel", target="CBOARD001", text="Agenda published"):
    with db() as session, session.begin():
        return outbox.enqueue(
            session,
            key=key,
            kind=kind,
            target=target,
            payload={"text": text},
            due_at=clock.now(),
            now=clock.now(),
        )


def delivery(db, key="post:1") -> Delivery:
    with db() as session:
        return session.scalar(select(Delivery).where(Delivery.key == key))


def test_a_queued_post_is_sent_once_however_often_the_queue_runs(db, clock, slack_api, sender):
    assert queue(db, clock) is True
    assert queue(db, clock) is False  # the same key again queues nothing
    send_due(db, clock, sender)
    send_due(db, clock, sender)
    assert [(p["channel"], p["text"]) for p in slack_api.posts()] == [("CBOARD001", "Agenda published")]
    assert delivery(db).status == "sent" and delivery(db).attempts == 1


def test_a_direct_message_opens_the_conversation_first(db, clock, slack_api, sender):
    queue(db, clock, key="dm:1", kind="direct", target="U0FIRE001", text="A7 is due")
    send_due(db, clock, sender)
    assert slack_api.last("conversations.open").params["users"] == "U0FIRE001"
    assert slack_api.posts()[0]["channel"] == "DU0FIRE001"


def test_rate_limited_waits_as_long_as_slack_says(db, clock, slack_api, sender):
    slack_api.reply("chat.postMessage", status=429, headers={"Retry-After": "120"}, times=1)
    queue(db, clock)
    outcome = send_due(db, clock, sender)
    assert outcome.retrying == 1 and slack_api.posts() == []
    waiting = delivery(db)
    assert waiting.status == "pending" and waiting.next_attempt_at == clock.now() + timedelta(seconds=120)
    clock.advance(timedelta(seconds=119))
    send_due(db, clock, sender)
    assert slack_api.posts() == []
    clock.advance(timedelta(seconds=1))
    send_due(db, clock, sender)
    assert len(slack_api.posts()) == 1 and delivery(db).status == "sent"


def test_a_slack_outage_backs_off_and_then_gives_up(db, clock, slack_api, sender):
    slack_api.reply("chat.postMessage", status=500)
    queue(db, clock)
    waits = []
    for _ in range(MAX_ATTEMPTS):
        send_due(db, clock, sender)
        current = delivery(db)
        waits.append(current.next_attempt_at - clock.now())
        clock.set(current.next_attempt_at)
    assert waits[:3] == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    assert delivery(db).status == "failed" and delivery(db).attempts == MAX_ATTEMPTS


def test_a_channel_that_does_not_exist_fails_at_once_with_the_reason(db, clock, slack_api, sender):
    slack_api.reply("chat.postMessage", body={"ok": False, "error": "channel_not_found"})
    queue(db, clock)
    assert send_due(db, clock, sender).failed == 1
    assert delivery(db).status == "failed" and delivery(db).last_error == "channel_not_found"


def test_nothing_is_sent_before_it_is_due(db, clock, slack_api, sender):
    with db() as session, session.begin():
        outbox.enqueue(
            session,
            key="later",
            kind="channel",
            target="CBOARD001",
            payload={"text": "x"},
            due_at=clock.now() + timedelta(hours=1),
            now=clock.now(),
        )
    send_due(db, clock, sender)
    assert slack_api.posts() == []
