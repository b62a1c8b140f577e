"""Slack slow (5 s a post), failing (500) or rate-limiting (429 with Retry-After)
while the board types commands: every command is still acknowledged within
3 seconds, since what it posts waits in the outbox; and once Slack recovers,
every message queued meanwhile arrives, once."""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from storage.models import Delivery
from tests.slack.signing import FORM, sign, slash_command_body

BUDGET = 3.0  # seconds: SPEC 8

# (user, command, text, channel): what the board types, twice over, while Slack misbehaves.
TYPED = [
    ("U0FIRE001", "/update", "joint amber Pooled budget delayed {round}", None),
    ("U0CCG0001", "/update", "joint green Scoping paper agreed {round}", None),
    ("U0PUBH001", "/update", "wellbeing amber Workshop moved {round}", None),
    ("U0CLERK01", "/action", "add Book the room {round} | fire | 1 May", "CBOARD001"),
    ("U0CLERK01", "/meeting", "add {round} Jul 2015", "CBOARD001"),
    ("U0FIRE001", "/apologies", "21 Apr Off sick {round}", None),
    ("U0CLERK01", "/action", "list", None),
    ("U0FIRE001", "/meeting", "next", None),
]

FAULTS = {
    "slow": [("chat.postMessage", {"delay": 5})],
    "failing": [("chat.postMessage", {"status": 500}), ("views.publish", {"status": 500})],
    "rate-limiting": [
        ("chat.postMessage", {"status": 429, "headers": {"Retry-After": "20"}}),
        ("views.publish", {"status": 429, "headers": {"Retry-After": "20"}}),
    ],
}


@pytest.fixture
def serving(start_serve):
    return start_serve()


def type_all(base: str, secret: str, round_: int) -> list[tuple[str, int, float, str]]:
    def one(typed) -> tuple[str, int, float, str]:
        user, name, text, channel = typed
        text = text.format(round=round_ + 14 if name == "/meeting" and "add" in text else round_)
        body = slash_command_body(name, text, user_id=user, channel_id=channel or "C0GENERAL")
        headers = {"Content-Type": FORM} | sign(body, secret=secret, timestamp=int(time.time()))
        started = time.perf_counter()
        response = httpx.post(f"{base}/slack/events", content=body, headers=headers, timeout=30)
        seconds = time.perf_counter() - started
        reply = response.json().get("text", "") if response.status_code == 200 else ""
        return f"{name} {text}", response.status_code, seconds, reply

    with ThreadPoolExecutor(len(TYPED)) as pool:
        return list(pool.map(one, TYPED))


def pending(db) -> int:
    with db() as session:
        return session.scalar(select(func.count()).where(Delivery.status != "sent")) or 0


@pytest.mark.parametrize("fault", FAULTS)
def test_commands_typed_while_slack_misbehaves_are_answered_in_time_and_posted_once_it_recovers(
    fault, serving, demo, clock, slack_api, slack_signing_secret
):
    base, service = serving
    for method, reply in FAULTS[fault]:
        slack_api.reply(method, **reply)
    answers = type_all(base, slack_signing_secret, 1)
    if fault == "slow":
        slack_api.wait_for("chat.postMessage", timeout=10)  # a post is under way, slowly
    answers += type_all(base, slack_signing_secret, 2)
    for typed, status, seconds, reply in answers:
        assert status == 200 and seconds < BUDGET, f"{typed}: {status} after {seconds:.2f}s"
        assert "went wrong" not in reply and "busy" not in reply, f"{typed}: {reply}"
    assert pending(demo) > 0  # Slack has not taken everything yet

    slack_api.recover()
    clock.advance(timedelta(hours=2))  # past any back-off or Retry-After given so far
    deadline = time.monotonic() + 60
    while pending(demo) and time.monotonic() < deadline:
        # A call refused just before Slack recovered is recorded a little later,
        # due again a little after that: time goes on, as it would.
        clock.advance(timedelta(minutes=1))
        service.deliveries.wake()
        time.sleep(0.1)  # the delivery worker sends in its thread
    with demo() as session:
        left = session.execute(
            select(Delivery.key, Delivery.status, Delivery.last_error, Delivery.next_attempt_at).where(
                Delivery.status != "sent"
            )
        ).all()
    assert left == [], f"{clock.now()} {left}"
    with demo() as session:
        keys = set(session.scalars(select(Delivery.key).where(Delivery.kind.in_(("channel", "direct")))))
    posted = Counter(p["metadata"]["event_payload"]["key"] for p in slack_api.posts())
    assert set(posted) == keys and set(posted.values()) == {1}
    texts = [p["text"] for p in slack_api.posts()]
    for update in ("Pooled budget delayed", "Scoping paper agreed", "Workshop moved"):
        assert sum(update in text for text in texts) == 2  # one post per round
    assert len(texts) == len(set(texts))


def test_a_form_slack_is_slow_to_open_is_answered_in_time_with_the_command_to_type(
    serving, demo, slack_api, slack_signing_secret
):
    base, _ = serving
    slack_api.reply("views.open", delay=5)  # longer than Slack waits for the acknowledgement
    body = slash_command_body("/apologies", "", user_id="U0FIRE001")
    headers = {"Content-Type": FORM} | sign(body, secret=slack_signing_secret, timestamp=int(time.time()))
    started = time.perf_counter()
    response = httpx.post(f"{base}/slack/events", content=body, headers=headers, timeout=30)
    seconds = time.perf_counter() - started
    assert response.status_code == 200 and seconds < BUDGET, f"{response.status_code} after {seconds:.2f}s"
    reply = response.json()["text"]
    assert "Slack could not be reached to open the form" in reply and "/apologies help" in reply, reply


def test_a_post_slack_took_but_answered_too_late_is_not_made_again(db, clock, slack_api):
    from slack_sdk import WebClient

    from bot.jobs.deliveries import send_due
    from bot.slack_api import SlackSender
    from services import outbox

    with db() as session, session.begin():
        outbox.enqueue(
            session,
            key="agenda-published:1",
            kind="channel",
            target="CBOARD001",
            payload={"text": "The agenda is out"},
            due_at=clock.now(),
            now=clock.now(),
        )
    slack_api.reply("chat.postMessage", delay=2, times=1)  # taken, then answered after the timeout
    sender = SlackSender(WebClient(token="xoxb-test", base_url=slack_api.url, timeout=1))
    assert send_due(db, clock, sender).retrying == 1
    clock.advance(timedelta(hours=1))
    assert send_due(db, clock, sender).sent == 1
    assert [p["text"] for p in slack_api.posts()] == ["The agenda is out"]
