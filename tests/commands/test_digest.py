"""/digest: anyone sees this week's digest privately; officers post it now."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from services import outbox
from storage.models import AuditEntry, Delivery
from tests.conftest import count_rows


def test_a_member_sees_this_weeks_digest_privately(type_command, demo):
    before = count_rows(demo)
    reply = type_command("/digest", person="fire")
    assert reply.ok and reply.posts == ()
    assert reply.text == "*Weekly digest*, Mon 13 Apr 2015"
    overdue = next(s.text for s in reply.sections if s.text.startswith("*Overdue (9)*"))
    assert (
        "• *Ray Cottam*: A11 Send station and estates data for the asset register (due Fri 20 Mar 2015)"
        in overdue
    )
    assert count_rows(demo) == before


def test_the_digest_as_it_stands_now_has_what_was_done_this_very_minute(type_command, clock):
    # The console's clock stands still between commands: what was typed at this
    # instant is in the digest asked for at it, and once the digest has gone out,
    # what is new since then.
    assert type_command("/update joint amber Scoping paper delayed", person="ccg").ok
    assert type_command("/action done A3", person="clerk").ok
    sections = "\n".join(s.text for s in type_command("/digest", person="fire").sections)
    assert "*Joint Commissioning* 🟠 Amber (Caroline Entwistle): Scoping paper delayed" in sections
    assert "• *A3* Circulate revised terms of reference for comment (Jess Marland)" in sections
    assert type_command("/digest post", person="clerk").ok
    clock.set(clock.now() + timedelta(hours=1))
    assert type_command("/action done A1", person="clerk").ok
    sections = "\n".join(s.text for s in type_command("/digest", person="fire").sections)
    assert "*Done since Mon 13 Apr 2015*\n• *A1* Circulate Away Day outcomes (Jess Marland)" in sections
    assert "*A3*" not in sections and "Scoping paper" not in sections


def test_an_officer_posts_the_digest_to_the_partnership_channel_now(type_command, demo):
    reply = type_command("/digest post", person="clerk")
    assert reply.ok
    assert reply.text.startswith("Posted this week's digest to the partnership channel")
    [post] = [p for p in reply.posts if p.kind == "channel"]
    assert post.target == "CPARTNER1" and post.kind == "channel"
    assert post.text == "*Weekly digest*, Mon 13 Apr 2015"
    assert reply.sections == post.message.sections  # "as below"
    assert [s.text.split("\n")[0] for s in post.message.sections][:2] == [
        "*Meetings in the next 14 days*",
        "*Overdue (9)*",
    ]
    with demo() as session:
        assert session.scalar(select(Delivery.key).where(Delivery.target == "CPARTNER1")) == (
            "digest:2015-04-13"  # Monday's: the one the schedule would post
        )
        audit = session.scalar(select(AuditEntry).where(AuditEntry.what == "digest.post"))
        assert audit.actor == "Jess Marland"


def test_posting_twice_posts_once_and_the_second_is_told_when_it_went(type_command, demo, clock):
    assert type_command("/digest post", person="clerk").ok
    # A Tuesday: not the digest day.
    clock.set(datetime(2015, 4, 14, 15, 30, tzinfo=ZoneInfo("Europe/London")))
    assert type_command("/digest post", person="clerk").ok
    before = count_rows(demo)
    again = type_command("/digest post", person="policy")
    assert not again.ok and again.text.startswith("Today's digest went to the partnership channel at 15:30")
    assert count_rows(demo) == before
    with demo() as session:
        queued = select(Delivery.key).where(Delivery.target == "CPARTNER1").order_by(Delivery.id)
        assert session.scalars(queued).all() == [
            "digest:2015-04-13",
            "digest-post:2015-04-14T15:30",
        ]


def test_two_officers_posting_at_the_same_moment_post_once_and_one_is_told_so(type_command, demo, clock):
    """The other officer's post is being committed as this one is typed: this one
    waits for it, and is not told "Posted" of a message that will not go."""
    answered = []
    with demo() as other, other.begin():
        outbox.enqueue(
            other, key="digest:2015-04-13", kind="channel", target="CPARTNER1",
            payload={"text": "*Weekly digest*"}, due_at=clock.now(), now=clock.now(),
        )  # fmt: skip
        typing = threading.Thread(
            target=lambda: answered.append(type_command("/digest post", person="policy"))
        )
        typing.start()
        time.sleep(0.5)  # it waits for the other's row (SQLite: for its write lock)
        assert not answered
    typing.join()
    [reply] = answered
    assert not reply.ok and reply.text.startswith("Today's digest went to the partnership channel at 09:00")
    with demo() as session:
        assert (
            session.scalar(select(func.count()).select_from(Delivery).where(Delivery.target == "CPARTNER1"))
            == 1
        )
        assert session.scalar(select(AuditEntry).where(AuditEntry.what == "digest.post")) is None


def test_a_member_may_not_post_the_digest_and_is_told_who_may(type_command, demo):
    before = count_rows(demo)
    reply = type_command("/digest post", person="fire")
    assert not reply.ok
    assert reply.text.startswith("Only an officer or the chair can post the digest: ask ")
    assert "Jess Marland" in reply.text and "`/digest` shows it to you" in reply.text
    assert "Nothing was changed." in reply.text
    assert count_rows(demo) == before


@pytest.mark.parametrize(
    "text",
    ["publish", "post now please", "<!channel>", "x" * 3000, "post <@U0CHAIR01>"],
)
def test_anything_else_is_refused_with_what_is_accepted(type_command, demo, text):
    before = count_rows(demo)
    reply = type_command(f"/digest {text}", person="clerk")
    assert not reply.ok
    assert "`/digest` takes nothing, or `post`" in reply.text and "Nothing was changed." in reply.text
    assert len(reply.text) < 400
    assert count_rows(demo) == before


def test_someone_outside_the_partnership_file_is_told_to_ask_an_officer(type_command, demo):
    reply = type_command("/digest", person=None)
    assert not reply.ok and "ask an officer to add your Slack id" in reply.text


def test_help_shows_the_grammar(type_command):
    reply = type_command("/digest help")
    assert "`/digest post` (officers)" in reply.text and "(Not available yet.)" not in reply.text
