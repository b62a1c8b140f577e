"""Transactions as the front ends and jobs open them: bounded lock waits, and on
SQLite the write lock taken at the start."""

from __future__ import annotations

import sqlite3
import time

import pytest
from sqlalchemy import select

from storage import migrate
from storage.models import Partnership
from storage.session import REQUEST_LOCK_WAIT, Busy, make_engine, make_session_factory, transaction


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


def test_a_transaction_inside_another_on_sqlite_fails_at_once_instead_of_waiting_for_itself(sqlite_sessions):
    started = time.monotonic()
    with transaction(sqlite_sessions), pytest.raises(RuntimeError, match="inside another"):
        with transaction(sqlite_sessions):
            pass
    assert time.monotonic() - started < 1
