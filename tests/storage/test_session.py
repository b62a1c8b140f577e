"""Transactions as the front ends and jobs open them: bounded lock waits, and on
SQLite the write lock taken at the start."""

from __future__ import annotations

import gc
import sqlite3
import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError

from storage import migrate
from storage.models import AuditEntry, Partnership
from storage.session import (
    KEEP_AT_MOST,
    REQUEST_LOCK_WAIT,
    Busy,
    at_commit,
    keeping_connections,
    make_engine,
    make_session_factory,
    transaction,
)


@pytest.fixture
def sqlite_sessions(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    migrate.upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


def test_a_sqlite_transaction_holds_the_write_lock_from_its_start(sqlite_sessions, tmp_path):
    other = sqlite3.connect(tmp_path / "p.db", isolation_level=None, timeout=0)
    with transaction(sqlite_sessions) as session:
        session.execute(select(Partnership.id))  # only a read so far
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    other.execute("BEGIN IMMEDIATE")  # released at commit
    other.rollback()


def test_a_request_gives_up_after_its_lock_wait(sqlite_sessions, tmp_path):
    other = sqlite3.connect(tmp_path / "p.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    with pytest.raises(Busy), transaction(sqlite_sessions, lock_wait=REQUEST_LOCK_WAIT):
        pass
    assert REQUEST_LOCK_WAIT - 0.5 < time.monotonic() - started < REQUEST_LOCK_WAIT + 0.5
    other.rollback()
    # The connection that gave up went back to the pool still waiting for locks a
    # while, as a connection read in autocommit (a calendar feed) needs.
    pooled = sqlite_sessions.kw["bind"].raw_connection()  # as the pool holds it: nothing begun
    try:
        assert pooled.execute("PRAGMA busy_timeout").fetchone()[0] == REQUEST_LOCK_WAIT * 1000
    finally:
        pooled.close()


def test_a_sqlite_writer_gets_the_lock_moments_after_another_process_lets_it_go(sqlite_sessions, tmp_path):
    """Another process's writer (the sending process, a job) holds the lock for a
    while: this transaction begins within a few milliseconds of its release, not
    at SQLite's next busy-handler retry (its sleeps grow to 100 ms)."""
    other = sqlite3.connect(tmp_path / "p.db", isolation_level=None, check_same_thread=False)
    released = []

    def hold(seconds: float, holding: threading.Event) -> None:
        other.execute("BEGIN IMMEDIATE")
        holding.set()
        time.sleep(seconds)
        released.append(time.monotonic())
        other.execute("ROLLBACK")

    lateness = []
    for held in (0.13, 0.19, 0.31):  # between SQLite's retries at 128, 178, 228 and 328 ms
        holding = threading.Event()
        holder = threading.Thread(target=hold, args=(held, holding))
        holder.start()
        assert holding.wait(5)
        with transaction(sqlite_sessions, lock_wait=REQUEST_LOCK_WAIT):
            lateness.append(time.monotonic() - released[-1])
        holder.join()
    assert max(lateness) < 0.015, lateness


def test_a_transaction_inside_another_on_sqlite_fails_at_once_instead_of_waiting_for_itself(sqlite_sessions):
    started = time.monotonic()
    with transaction(sqlite_sessions), pytest.raises(RuntimeError, match="inside another"):
        with transaction(sqlite_sessions):
            pass
    assert time.monotonic() - started < 1


def _entry(actor: str, actor_id: int | None = None) -> dict:
    return {
        "actor_id": actor_id,
        "actor": actor,
        "what": "test",
        "subject": "at commit",
        "at": datetime(2015, 4, 13, 8, tzinfo=UTC),
        "before": None,
        "after": {"n": 1},
    }


def _actors(sessions) -> list[str]:
    with sessions() as session:
        return list(
            session.scalars(select(AuditEntry.actor).where(AuditEntry.what == "test").order_by(AuditEntry.id))
        )


def test_writes_left_for_the_commit_are_written_in_order_after_the_rest(demo):
    entry = insert(AuditEntry).inline()
    with transaction(demo) as session:
        at_commit(session, entry, _entry("second"))
        at_commit(session, entry, _entry("third"))
        session.execute(insert(AuditEntry), _entry("first"))
        assert _actors(demo) == []
    assert _actors(demo) == ["first", "second", "third"]


def test_a_write_left_for_the_commit_that_fails_undoes_the_whole_transaction(demo):
    entry = insert(AuditEntry).inline()
    with pytest.raises(IntegrityError), transaction(demo) as session:
        session.execute(insert(AuditEntry), _entry("first"))
        at_commit(session, entry, _entry("second"))
        at_commit(session, entry, _entry("nobody's", actor_id=999_999))  # no such person
    assert _actors(demo) == []
    with transaction(demo) as session:  # the connection is fit to use again
        at_commit(session, entry, _entry("after"))
    assert _actors(demo) == ["after"]


def test_a_transaction_rolled_back_writes_nothing_it_left_for_the_commit(demo):
    with pytest.raises(RuntimeError), transaction(demo) as session:
        at_commit(session, insert(AuditEntry).inline(), _entry("never"))
        raise RuntimeError("the change failed")
    with demo() as session:
        at_commit(session, insert(AuditEntry).inline(), _entry("never either"))
        session.rollback()
        session.commit()
    assert _actors(demo) == []


def test_a_thread_keeping_connections_uses_one_and_gives_it_back_when_it_ends(engine):
    sessions = make_session_factory(engine)
    seen: list[object] = []

    def answering() -> None:
        with keeping_connections():
            for _ in range(3):
                with transaction(sessions, lock_wait=REQUEST_LOCK_WAIT) as session:
                    session.execute(select(Partnership.id)).all()
                    seen.append(session.connection().connection.driver_connection)
            assert engine.pool.checkedout() >= 1  # kept between transactions

    before = engine.pool.checkedout()
    thread = threading.Thread(target=answering)
    thread.start()
    thread.join()
    gc.collect()
    assert len({id(c) for c in seen}) == 1
    assert engine.pool.checkedout() == before


def test_no_more_connections_are_kept_than_allowed_and_the_rest_still_work(engine):
    sessions = make_session_factory(engine)
    threads_at_once = KEEP_AT_MOST + 2
    all_done, counted = threading.Barrier(threads_at_once), threading.Barrier(threads_at_once)
    held: list[int] = []
    failures: list[BaseException] = []

    def answering() -> None:
        try:
            with keeping_connections():
                with transaction(sessions, lock_wait=10) as session:
                    session.execute(select(Partnership.id)).all()
                if all_done.wait(timeout=10) == 0:  # each has had one, and holds what it keeps
                    held.append(engine.pool.checkedout())
                counted.wait(timeout=10)
                with transaction(sessions, lock_wait=10) as session:
                    session.execute(select(Partnership.id)).all()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=answering) for _ in range(threads_at_once)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    gc.collect()
    assert failures == []
    assert held == [KEEP_AT_MOST]
    assert engine.pool.checkedout() == 0


def test_a_kept_connection_left_in_a_transaction_is_not_used_again(engine):
    sessions = make_session_factory(engine)
    two = [engine.connect() for _ in range(2)]  # so the one dropped is not taken again at once
    for connection in two:
        connection.close()

    def answering() -> None:
        with keeping_connections():
            with transaction(sessions, lock_wait=REQUEST_LOCK_WAIT) as session:
                first = session.connection()
            first.begin()  # as if a transaction had been left open on it
            with transaction(sessions, lock_wait=REQUEST_LOCK_WAIT) as session:
                assert session.connection() is not first
                session.execute(select(Partnership.id)).all()
            first.rollback()

    in_a_thread_of_its_own(answering)
    if engine.dialect.name == "postgresql":  # the pool has each back with the server's settings
        held = [engine.connect() for _ in range(engine.pool.checkedin())]
        try:
            assert [c.scalar(text("SHOW default_transaction_read_only")) for c in held] == ["off"] * len(held)
        finally:
            for connection in held:
                connection.close()


def in_a_thread_of_its_own(work) -> None:
    """Run `work` in a thread that ends, so what it kept goes back to the pool."""
    failures: list[BaseException] = []

    def running() -> None:
        try:
            work()
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=running)
    thread.start()
    thread.join()
    gc.collect()
    if failures:
        raise failures[0]
