"""The command core under load: a locked database gets a quick, clear "busy"
instead of a Slack timeout, and members adding actions at the same instant all
get them, each with its own ref."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select

from bot.commands import COMMANDS
from bot.commands.core import BUSY, run
from storage.models import Action, Partnership
from storage.session import transaction
from tests.conftest import count_rows


@contextmanager
def write_lock_held_elsewhere(engine) -> Iterator[None]:
    """Another connection (another process, say) in the middle of a write."""
    if engine.dialect.name == "sqlite":
        other = sqlite3.connect(engine.url.database, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            other.rollback()
            other.close()
    else:
        with engine.connect() as other:
            other.exec_driver_sql("SELECT id FROM partnership FOR UPDATE")
            yield
            other.rollback()


def test_a_member_is_told_partnerbot_is_busy_within_slack_s_deadline(engine, demo, type_command):
    before = count_rows(demo)
    with write_lock_held_elsewhere(engine):
        started = time.monotonic()
        reply = type_command("/action add Circulate outcomes | clerk | 17/05/2015")
        waited = time.monotonic() - started
    assert reply.text == BUSY and not reply.ok
    assert 1.5 < waited < 2.5
    assert count_rows(demo) == before


def test_a_long_job_in_the_same_process_makes_a_command_busy_not_late(demo, type_command):
    holding, done = threading.Event(), threading.Event()

    def long_job() -> None:
        with transaction(demo) as session:
            session.execute(select(Partnership.id).with_for_update())  # as /action add does
            holding.set()
            done.wait(10)

    job = threading.Thread(target=long_job)
    job.start()
    try:
        holding.wait(5)
        before = count_rows(demo)
        started = time.monotonic()
        reply = type_command("/action add Circulate outcomes | clerk | 17/05/2015")
        waited = time.monotonic() - started
    finally:
        done.set()
        job.join(10)
    assert reply.text == BUSY
    assert waited < 2.5
    assert count_rows(demo) == before


def test_once_the_lock_is_released_the_same_command_goes_through(engine, demo, type_command):
    with write_lock_held_elsewhere(engine):
        pass
    reply = type_command("/action add Circulate outcomes | clerk | 17/05/2015")
    assert reply.ok and "Circulate outcomes" in reply.text


def test_sixteen_members_adding_actions_at_once_all_get_their_own_ref(demo, clock):
    start = threading.Barrier(16)
    replies = [None] * 16

    def add(i: int) -> None:
        start.wait()
        replies[i] = run(
            COMMANDS["/action"],
            f"add Same-instant action {i} | clerk | 17/05/2015",
            sessions=demo,
            clock=clock,
            person_key="clerk",
        )

    threads = [threading.Thread(target=add, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert [reply.text for reply in replies if not reply.ok] == []
    with demo() as session:
        added = session.execute(
            select(Action.what, Action.number).where(Action.what.startswith("Same-instant action"))
        ).all()
    assert sorted(what for what, _ in added) == sorted(f"Same-instant action {i}" for i in range(16))
    assert len({number for _, number in added}) == 16


def test_what_only_reads_is_answered_while_another_connection_writes(engine, demo, type_command):
    """`/meeting next`, `/action list`, `/agenda` and the rest that only read wait for no writer."""
    reading = ("/meeting next", "/meeting list", "/action list", "/agenda", "/apologies list", "/digest")
    with write_lock_held_elsewhere(engine):
        started = time.monotonic()
        replies = [type_command(line) for line in reading]
        waited = time.monotonic() - started
    assert [reply.text for reply in replies if not reply.ok] == []
    assert waited < 1.0
