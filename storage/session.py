"""Engine and session factory: one place that knows how to reach the database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_DATABASE_URL = "sqlite:///partnerbot.db"


def make_engine(url: str = DEFAULT_DATABASE_URL, **kwargs) -> Engine:
    """An engine for `url`; SQLite gets foreign keys, WAL and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    if not _is_memory(dbapi_connection):
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _is_memory(dbapi_connection) -> bool:
    row = dbapi_connection.execute("PRAGMA database_list").fetchone()
    return not row or not row[2]


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction, opened at the edge: committed if the block finishes,
    rolled back whole if it raises."""
    with factory() as session, session.begin():
        yield session


def is_unreachable(error: BaseException) -> bool:
    """True when `error` says the database could not be reached or dropped the
    connection (a restart, a network cut), as opposed to refusing a statement.
    A connection that fails while being made carries no SQLSTATE; one lost in
    use is marked invalidated. Lock and statement timeouts have a SQLSTATE."""
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    return isinstance(error, OperationalError) and getattr(error.orig, "sqlstate", "") is None
