"""The command core: one transaction per command, posts through the outbox,
and one error path that rolls everything back."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import func, select, update

from bot.commands.core import Command, run
from services.errors import UserError
from storage.models import Action, AuditEntry, Delivery
from tests.conftest import count_rows


def audit_then(outcome):
    """A command that writes an audit entry, queues a post, then does `outcome`."""

    def handle(context, text):
        context.session.add(AuditEntry(actor="test", what="test", subject="s", at=context.now))
        context.post("CBOARD001", f"Posted: {text}", key=f"test:{text}")
        return outcome(text)

    return Command(name="/test", help="*/test* e.g. `/test x`", handle=handle)


def test_a_command_s_posts_are_queued_in_its_transaction(demo, clock):
    reply = run(audit_then(lambda text: "done"), "hello", sessions=demo, clock=clock, person_key="clerk")
    assert reply.ok and reply.text == "done"
    assert [p.target for p in reply.posts] == ["CBOARD001"]
    with demo() as session:
        delivery = session.scalar(select(Delivery))
    assert (delivery.key, delivery.target, delivery.payload) == (
        "test:hello",
        "CBOARD001",
        {"text": "Posted: hello"},
    )
    assert delivery.status == "pending" and delivery.due_at == clock.now()


def test_a_refusal_rolls_back_everything_the_command_did(demo, clock):
    before = count_rows(demo)

    def refuse(text):
        raise UserError("No. Nothing was changed.")

    reply = run(audit_then(refuse), "x", sessions=demo, clock=clock, person_key="clerk")
    assert not reply.ok and reply.text == "No. Nothing was changed."
    assert count_rows(demo) == before


def test_a_crash_shows_a_reference_that_is_also_logged_and_changes_nothing(demo, clock, caplog):
    before = count_rows(demo)

    def crash(text):
        raise RuntimeError("database on fire")

    with caplog.at_level(logging.ERROR, logger="partnerbot.commands"):
        reply = run(audit_then(crash), "x", sessions=demo, clock=clock, person_key="clerk")
    assert not reply.ok and "nothing was changed" in reply.text
    reference = reply.text.rsplit("reference ", 1)[1].rstrip(".")
    assert caplog.records[0].reference == reference
    assert "database on fire" not in reply.text
    assert count_rows(demo) == before


def test_help_needs_no_partnership_and_no_database_work(db, clock):
    command = audit_then(lambda text: "never")
    assert run(command, "help", sessions=db, clock=clock).text == command.help


WRITES = {
    "a row added": lambda context: context.session.add(
        AuditEntry(actor="test", what="test", subject="s", at=context.now)
    ),
    "a post queued": lambda context: context.post("CBOARD001", "Posted", key="test:post"),
    "a row changed": lambda context: setattr(
        context.session.scalar(select(Action).limit(1)), "what", "Changed"
    ),
    "a statement that writes": lambda context: context.session.execute(update(Action).values(what="Changed")),
}


@pytest.mark.parametrize("write", sorted(WRITES))
def test_a_command_s_reading_words_run_it_read_only_and_any_write_there_is_refused(demo, clock, write):
    """A word wrongly listed as only reading cannot change anything: the database
    refuses the write, or the session is found holding it; the reply says
    something went wrong, and nothing is stored. The same command's other words
    write as before."""

    def handle(context, text):
        WRITES[write](context)
        return "done"

    command = Command(
        name="/test", help="*/test* e.g. `/test x`", handle=handle, reading=frozenset({"show", ""})
    )
    assert [command.only_reads(text) for text in ("SHOW all", "  show", "", "add x", "showing")] == [
        True,
        True,
        True,
        False,
        False,
    ]
    before = count_rows(demo)
    for text in ("show", ""):
        reply = run(command, text, sessions=demo, clock=clock, person_key="clerk")
        assert not reply.ok and "Something went wrong" in reply.text
    assert count_rows(demo) == before
    assert run(command, "add x", sessions=demo, clock=clock, person_key="clerk").ok
    with demo() as session:
        changed = session.scalar(select(func.count()).where(Action.what == "Changed"))
    assert count_rows(demo) != before or changed


def test_a_command_that_knows_its_verbs_only_reads_with_any_other_first_word():
    command = Command(
        name="/test",
        help="*/test* e.g. `/test x`",
        handle=lambda context, text: "done",
        reading=frozenset({"show"}),
        changing=frozenset({"add"}),
    )
    texts = ("show", "ADD x", "add", "adds x", "sohw", "", "A12")
    assert [command.only_reads(text) for text in texts] == [True, False, False, True, True, True, True]
