"""Transactions that only read (`transaction(read_only=True)`, what `/meeting
next`, `/action list` and `/agenda` run in): they wait for no writer, the
database refuses them any write, and the connection that ran one writes as
before in the next transaction; on PostgreSQL, on a connection a thread keeps,
they hold nothing open on the server."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import DBAPIError

from storage.models import AuditEntry, Partnership
from storage.session import (
    REQUEST_LOCK_WAIT,
    Busy,
    answering_by,
    keeping_connections,
    make_engine,
    make_session_factory,
    transaction,
)
from tests.commands.test_core_concurrency import write_lock_held_elsewhere
from tests.storage.test_session import _actors, _entry, in_a_thread_of_its_own


@pytest.mark.parametrize("kept", [True, False], ids=["kept", "pooled"])
def test_a_read_goes_on_while_another_connection_holds_the_write_lock(engine, demo, kept):
    sessions = demo  # a partnership row to lock, on PostgreSQL

    def read() -> None:
        with write_lock_held_elsewhere(engine):
            started = time.monotonic()
            with transaction(sessions, lock_wait=REQUEST_LOCK_WAIT, read_only=True) as session:
                assert session.scalar(select(func.count()).select_from(Partnership)) == 1
            assert time.monotonic() - started < 0.5
            with pytest.raises(Busy), transaction(sessions, lock_wait=0.2) as session:
                session.execute(select(Partnership.id).with_for_update()).all()  # a writer waits, as before

    in_a_thread_of_its_own(lambda: _keeping(kept, read))


def test_a_read_goes_on_while_a_writer_in_the_same_process_holds_the_lock(demo):
    sessions = demo
    holding, done = threading.Event(), threading.Event()

    def writer() -> None:
        with transaction(sessions) as session:
            session.execute(select(Partnership.id).with_for_update()).all()
            holding.set()
            done.wait(10)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(5)
        started = time.monotonic()
        with transaction(sessions, lock_wait=REQUEST_LOCK_WAIT, read_only=True) as session:
            session.execute(select(Partnership.id)).all()
        assert time.monotonic() - started < 0.5
    finally:
        done.set()
        thread.join(10)


@pytest.mark.parametrize("kept", [True, False], ids=["kept", "pooled"])
def test_a_read_only_transaction_is_refused_any_write_and_the_next_one_writes(engine, kept):
    sessions = make_session_factory(engine)

    def write_in_both() -> None:
        with pytest.raises(DBAPIError, match="read-only|readonly"):
            with transaction(sessions, lock_wait=REQUEST_LOCK_WAIT, read_only=True) as session:
                session.execute(insert(AuditEntry), _entry("reader"))
        with transaction(sessions, lock_wait=REQUEST_LOCK_WAIT) as session:
            session.execute(insert(AuditEntry), _entry("writer"))

    in_a_thread_of_its_own(lambda: _keeping(kept, write_in_both))
    assert _actors(sessions) == ["writer"]


def test_reads_and_writes_take_turns_on_one_kept_connection(engine):
    sessions = make_session_factory(engine)
    connections = set()

    def alternate() -> None:
        for i in range(4):
            with transaction(sessions, lock_wait=REQUEST_LOCK_WAIT, read_only=True) as session:
                session.execute(select(AuditEntry.id)).all()
                connections.add(id(session.connection().connection.driver_connection))
            if i % 2:  # a write rolled back after a read leaves the next one free to write
                with pytest.raises(RuntimeError), transaction(sessions, lock_wait=REQUEST_LOCK_WAIT):
                    raise RuntimeError("the change failed")
            with transaction(sessions, lock_wait=REQUEST_LOCK_WAIT) as session:
                session.execute(insert(AuditEntry), _entry(f"writer {i}"))
                connections.add(id(session.connection().connection.driver_connection))

    in_a_thread_of_its_own(lambda: _keeping(True, alternate))
    assert len(connections) == 1
    assert _actors(sessions) == [f"writer {i}" for i in range(4)]


def test_a_kept_postgres_connection_reads_outside_a_transaction_with_the_request_s_timeouts(
    postgres_engine,
):
    """No transaction stays open on the server between a read-only request's
    reads (nothing to COMMIT, no snapshot held), and its reads wait for locks
    no longer than the request may; the next transaction has its own settings,
    and the pool gets the connection back with the server's."""
    # One connection in the pool: the one the thread kept, once it is back.
    alone = make_engine(
        postgres_engine.url.render_as_string(hide_password=False), pool_size=1, max_overflow=0
    )
    sessions = make_session_factory(alone)

    def read_then_write() -> None:
        with answering_by(time.monotonic() + 1.0):
            with transaction(sessions, lock_wait=REQUEST_LOCK_WAIT, read_only=True) as session:
                pid = session.scalar(text("SELECT pg_backend_pid()"))
                with postgres_engine.connect() as watcher:
                    state = watcher.scalar(
                        text("SELECT state FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}
                    )
                assert state == "idle"  # not "idle in transaction"
                assert session.scalar(text("SHOW lock_timeout")) == "1s"
                assert session.scalar(text("SHOW transaction_read_only")) == "on"
        with transaction(sessions, lock_wait=REQUEST_LOCK_WAIT) as session:
            assert session.scalar(text("SHOW transaction_read_only")) == "off"
            assert session.scalar(text("SHOW lock_timeout")) == "2s"
        with transaction(sessions, lock_wait=REQUEST_LOCK_WAIT, read_only=True) as session:
            session.execute(select(Partnership.id)).all()  # the thread ends after a read

    in_a_thread_of_its_own(lambda: _keeping(True, read_then_write))
    with sessions() as session:  # the pool's connection, as the server sets it
        assert session.scalar(text("SHOW default_transaction_read_only")) == "off"
        assert session.scalar(text("SHOW lock_timeout")) == "0"
        assert session.scalar(text("SHOW statement_timeout")) == "0"
    alone.dispose()


def test_a_postgres_read_kept_waiting_by_a_migration_s_lock_is_busy_in_time(postgres_engine):
    sessions = make_session_factory(postgres_engine)

    def read() -> None:
        with postgres_engine.connect() as holder:
            holder.execute(text("LOCK TABLE partnership IN ACCESS EXCLUSIVE MODE"))
            started = time.monotonic()
            with (
                pytest.raises(Busy),
                answering_by(started + 0.5),
                transaction(sessions, lock_wait=REQUEST_LOCK_WAIT, read_only=True) as session,
            ):
                session.execute(select(Partnership.id)).all()
            waited = time.monotonic() - started
            holder.rollback()
        assert 0.3 < waited < 1.5, waited

    in_a_thread_of_its_own(lambda: _keeping(True, read))


def _keeping(kept: bool, work) -> None:
    if kept:
        with keeping_connections():
            work()
    else:
        work()
