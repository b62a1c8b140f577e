"""Engine and session factory: one place that knows how to reach the database.

Every transaction waits for locks a bounded time, chosen where it is opened:
a request (a person is waiting, and Slack gives up after 3 seconds) waits
`REQUEST_LOCK_WAIT` and then fails with `Busy`; jobs and deliveries may wait
longer. On SQLite a transaction opened by `transaction()` takes the write lock
when it begins (`BEGIN IMMEDIATE`), so concurrent writers queue for it instead
of colliding halfway through: whatever writes opens its transaction there. One
that only reads says so (`read_only=True`): it takes no lock, and the database
refuses it any write.

On PostgreSQL (psycopg 3) a transaction costs the round trips of its own
statements plus BEGIN and COMMIT, nothing more: its lock and statement timeouts
ride in BEGIN's message, the writes left for the commit (`at_commit`) in
COMMIT's, and a connection the server closed while it sat in the pool is found
by asking its socket, not the server (see `_postgres_checkout`). One that only
reads, on a connection a thread keeps, has no BEGIN or COMMIT at all, and its
first question may wait to go with its first reads (`answer_later`)."""

from __future__ import annotations

import logging
import math
import select
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from weakref import WeakKeyDictionary

import orjson
from sqlalchemy import Connection, Engine, Executable, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

from storage.prepared import (
    EXPECTED_FIRST,
    PENDING_BEGIN,
    PENDING_FIRST,
    FirstAnswerChanged,
    Prepared,
    check_first_answer,
    driver_error,
)

DEFAULT_DATABASE_URL = "sqlite:///partnerbot.db"

log = logging.getLogger("partnerbot.storage")

REQUEST_LOCK_WAIT = 2.0  # seconds: Slack shows a timeout after 3
JOB_LOCK_WAIT = 30.0
MIN_LOCK_WAIT = 0.05  # a request already late still gets one quick try
# Connections of one database that threads keep (keeping_connections): as many
# as serve has threads answering Slack (bot/server.py DISPATCH_THREADS).
KEEP_AT_MOST = 4

# The execution option, set on a transaction's connection, that says how long it may wait.
_LOCK_WAIT = "partnerbot_lock_wait"
# The execution option that holds the transaction's first question (see `transaction`),
# and where its answer waits, in the pooled connection's info, to be picked up.
_ASK_FIRST = "partnerbot_ask_first"
_ANSWER = "partnerbot_answer"
# The execution options that say a transaction only reads, and that its connection
# is one a thread keeps (see `keeping_connections`).
_READ_ONLY = "partnerbot_read_only"
_KEPT = "partnerbot_kept"
# The execution option that lets the first question wait for the first reads.
_ANSWER_LATER = "partnerbot_answer_later"
# A pooled SQLite connection's info: whether its database is in WAL mode, and
# whether it refuses writes (PRAGMA query_only) for a transaction that only reads.
_WAL = "partnerbot_wal"
_QUERY_ONLY = "partnerbot_query_only"
# A PostgreSQL connection's info, on a connection a thread keeps: the lock and
# statement timeouts (ms) its session holds, read-only by default (see `_kept_statement`).
_HELD = "partnerbot_held"
# Where a session keeps the first question's answer: (question, answer).
ANSWERED_FIRST = "partnerbot_answered_first"
# PostgreSQL: lock_not_available (lock_timeout), query_canceled (statement_timeout).
_POSTGRES_BUSY = {"55P03", "57014"}


class Busy(Exception):
    """The database stayed locked by another transaction for longer than this
    transaction may wait; nothing was changed."""


def make_engine(url: str = DEFAULT_DATABASE_URL, *, connections: int | None = None, **kwargs) -> Engine:
    """An engine for `url`; SQLite gets foreign keys, WAL and BEGIN IMMEDIATE;
    PostgreSQL through psycopg gets a BEGIN that carries the transaction's
    timeouts, and a check at checkout that costs no round trip (no pre-ping).
    `connections`: how many the pool keeps open for reuse (as many again may be
    opened for a moment); a pool smaller than the threads using it opens and
    closes connections all the time."""
    parsed = make_url(url)
    kwargs.setdefault("json_serializer", _json_text)
    kwargs.setdefault("json_deserializer", orjson.loads)
    if connections is not None and parsed.database not in (None, "", ":memory:"):
        kwargs.setdefault("pool_size", connections)
        kwargs.setdefault("max_overflow", connections)
    if parsed.get_backend_name() == "sqlite":
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": JOB_LOCK_WAIT})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if parsed.get_driver_name() != "psycopg":  # another driver: it begins by itself, and is pinged
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_engine(url, **kwargs)
        event.listen(engine, "begin", _postgres_set_timeouts)
        return engine
    engine = create_engine(url, **kwargs)
    event.listen(engine, "checkout", _postgres_checkout)
    event.listen(engine, "begin", _postgres_begin)
    event.listen(engine, "before_cursor_execute", _ask_first_before)
    return engine


def _json_text(value: Any) -> str:
    """A JSON column's value (a queued message, an audit entry's before and after)
    as orjson writes it: the JSON json.dumps writes, but for characters beyond
    ASCII, kept as they are, and in a tenth of the time."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def _sqlite_pragmas(dbapi_connection, record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    if not _is_memory(dbapi_connection):
        record.info[_WAL] = cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower() == "wal"
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # SQLAlchemy's recipe for pysqlite: with isolation_level None the driver stops
    # opening transactions by itself, and this "begin" event opens them. A deferred
    # transaction that reads and then writes fails at once if another writer
    # committed in between; one opened by `transaction()` takes the write lock
    # first (BEGIN IMMEDIATE), so writers queue. Plain sessions keep the driver's
    # own behaviour (reads outside a transaction, a deferred BEGIN before a write).
    # The driver is called directly: this runs on every request.
    # A transaction that only reads (`transaction(read_only=True)`) begins
    # deferred: in WAL mode it waits for no writer, and none waits for it; the
    # connection refuses writes meanwhile (PRAGMA query_only, set and reset only
    # when the next transaction wants otherwise).
    options = connection.get_execution_options()
    dbapi_connection: Any = connection.connection.driver_connection
    info = connection.connection.info
    wait = options.get(_LOCK_WAIT)
    read_only = wait is not None and bool(options.get(_READ_ONLY))
    if info.get(_QUERY_ONLY, False) != read_only:
        dbapi_connection.execute(f"PRAGMA query_only = {int(read_only)}")
        info[_QUERY_ONLY] = read_only
    if options.get("isolation_level") == "AUTOCOMMIT":
        return  # SQLAlchemy has the driver commit each statement as it runs
    isolation_level = "" if wait is None else None
    if dbapi_connection.isolation_level != isolation_level:
        dbapi_connection.isolation_level = isolation_level
    try:
        if wait is not None and read_only:
            _busy_timeout(dbapi_connection, info, int(wait * 1000))  # a checkpoint may hold a reader back
            dbapi_connection.execute("BEGIN")
        elif wait is not None:
            # `transaction()` waits for the write lock itself, not through SQLite's busy handler.
            _busy_timeout(dbapi_connection, info, 0)
            _begin_immediate(dbapi_connection, deadline=time.monotonic() + wait)
    finally:
        # Holding the write lock in WAL mode, its statements wait for nobody: the
        # busy wait stays 0 until something else begins on this connection (each
        # sets its own), saving two PRAGMAs a request. Outside WAL mode (a file
        # system without it) a COMMIT waits for readers, so they keep a bounded
        # wait, as does a connection whose BEGIN gave up.
        if wait is None or not info.get(_WAL) or not dbapi_connection.in_transaction:
            _busy_timeout(dbapi_connection, info, int((JOB_LOCK_WAIT if wait is None else wait) * 1000))


def _busy_timeout(dbapi_connection: Any, info: dict, milliseconds: int) -> None:
    if info.get("busy_timeout_ms", JOB_LOCK_WAIT * 1000) != milliseconds:
        dbapi_connection.execute(f"PRAGMA busy_timeout = {milliseconds}")
        info["busy_timeout_ms"] = milliseconds


def _begin_immediate(dbapi_connection: Any, *, deadline: float) -> None:
    """BEGIN IMMEDIATE, trying again until `deadline` while another process holds
    the write lock: every 0.2 ms at first, then at most every 2 ms. SQLite's busy
    handler sleeps 1, 2, 5, 10 ... 100 ms between tries, so a writer could start
    up to 100 ms after the lock was free (with the sending process writing claims
    and outcomes as fast as it could, 16 clients' `/update` had a p99 of 210-272
    ms; 55-59 ms with this, bench/README.md)."""
    pause = 0.0002
    while True:
        try:
            dbapi_connection.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as error:
            if not _sqlite_busy(error):
                raise
            left = deadline - time.monotonic()
            if left <= 0:
                raise Busy(str(error)) from error
            time.sleep(min(pause, left))
            pause = min(pause * 2, 0.002)


def _postgres_checkout(dbapi_connection, _record, _proxy) -> None:
    # Instead of pool_pre_ping (a round trip on every checkout): a connection
    # sitting idle in the pool has nothing to read unless the server said
    # goodbye (a restart, pg_terminate_backend, idle_session_timeout: an error
    # message, then end of stream) or the link was cut. Asking the socket costs
    # one system call; the pool replaces a connection refused here (SQLAlchemy's
    # documented "DisconnectionError from a checkout event"). A connection that
    # dies after this is caught when it begins: see `transaction()`.
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("the connection was closed")
    try:
        descriptor = dbapi_connection.fileno()
    except Exception as error:  # psycopg: "the connection is lost"
        raise DisconnectionError(str(error)) from error
    poller = select.poll()
    poller.register(descriptor, select.POLLIN | select.POLLPRI)
    if poller.poll(0):
        raise DisconnectionError("the server closed the connection while it was idle in the pool")


def _postgres_begin(connection: Connection) -> None:
    # psycopg sends BEGIN by itself before a transaction's first statement, a
    # round trip of its own, and `SET LOCAL` would cost another. Here BEGIN is
    # sent at once (psycopg in autocommit mode sends no BEGIN of its own; its
    # commit() and rollback() still end the transaction the server has open), in
    # one message with the transaction's timeouts: one round trip for both, and
    # a connection that turns out dead fails here, before any of the caller's
    # work, where `transaction()` can try another. A transaction that names an
    # isolation level (AUTOCOMMIT for the calendar feeds) is left to the driver.
    #
    # A connection a thread keeps holds its settings from one transaction to
    # the next instead (see `_kept_statement`): read-only by default, so what
    # only reads is no transaction at all (its reads run one by one, each
    # committing by itself: no COMMIT to wait for), and what writes begins
    # READ WRITE. A connection from the pool reads in a BEGIN READ ONLY
    # transaction instead.
    from psycopg.pq import TransactionStatus  # imported here: psycopg is needed on PostgreSQL only

    options = connection.get_execution_options()
    dbapi_connection: Any = connection.connection.driver_connection
    info = connection.connection.info
    for earlier in (_ANSWER, PENDING_FIRST, PENDING_BEGIN, EXPECTED_FIRST):  # never an earlier one's
        info.pop(earlier, None)
    if "isolation_level" in options or dbapi_connection.info.transaction_status != TransactionStatus.IDLE:
        _postgres_set_timeouts(connection)
        return
    if not dbapi_connection.autocommit:
        dbapi_connection.autocommit = True  # also after SQLAlchemy reset the feeds' AUTOCOMMIT
    wait, read_only = options.get(_LOCK_WAIT), bool(options.get(_READ_ONLY))
    if wait is not None and options.get(_KEPT):
        begin = _kept_statement(info, wait, read_only=read_only)
    else:
        begin = _begin_statement(wait, read_only=read_only, reset=info.pop(_HELD, None) is not None)
    question = options.get(_ASK_FIRST)
    if question is not None and begin in ("", _BEGIN_WRITE) and options.get(_ANSWER_LATER):
        # Nothing to send yet: the question, and the BEGIN of what writes, wait
        # to go with the first reads.
        info[PENDING_FIRST] = question
        if begin:
            info[PENDING_BEGIN] = begin
        return
    try:
        if question is None:
            if begin:
                connection.exec_driver_sql(begin, execution_options={"no_parameters": True})
            return
        # The question rides in the same message: psycopg sends a query without
        # parameters as one simple query, and hands back each statement's result in turn.
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"{begin}; {question}" if begin else question)
            while cursor.nextset():
                pass
            connection.connection.info[_ANSWER] = _one_value(cursor)
        finally:
            cursor.close()
    except BaseException:
        if _HELD in info:
            info[_HELD] = _UNKNOWN  # set or not: set again next time, and reset before the pool has it
        raise


def _ask_first_before(connection: Connection, *_: Any) -> None:
    # A statement not sent with the first reads: the question that waited for
    # them is asked first (a round trip, as it would have cost at the BEGIN).
    if PENDING_FIRST in connection.connection.info:
        _ask_pending(connection)


def _ask_pending(connection: Connection) -> Any:
    """The first question that waited, asked now, and its answer checked."""
    info = connection.connection.info
    question = info.pop(PENDING_FIRST)
    begin = info.pop(PENDING_BEGIN, None)
    try:
        answer = ask(connection, question, after=begin)
    except connection.dialect.loaded_dbapi.Error as error:  # as SQLAlchemy would raise it
        info.pop(EXPECTED_FIRST, None)
        raise driver_error(connection, error, question) from error
    check_first_answer(info, answer)
    return answer


_HELD_SETTINGS = ("default_transaction_read_only", "lock_timeout", "statement_timeout")
_BEGIN_WRITE = "BEGIN READ WRITE"  # on a kept connection, read-only by default
# What a kept connection's info says its session settings are (see `_kept_statement`),
# when a message that set them failed: perhaps set, perhaps not.
_UNKNOWN = -1


def _kept_statement(info: dict, wait: float, *, read_only: bool) -> str:
    """What begins a transaction on a connection a thread keeps: the settings it
    holds for its session (read-only by default, waiting at most `wait` for a
    lock or a statement), set only when they are not already (a SET costs the
    server as much as a small read, and every request would send three); then,
    for what writes, BEGIN READ WRITE. What only reads needs nothing more: its
    reads run outside a transaction, refused any write by the default."""
    milliseconds = int(wait * 1000)
    begin = "" if read_only else _BEGIN_WRITE
    if info.get(_HELD) == milliseconds:
        return begin
    info[_HELD] = milliseconds
    values = ("on", milliseconds, milliseconds)
    sets = "; ".join(f"SET {name} = {value}" for name, value in zip(_HELD_SETTINGS, values, strict=True))
    # Set in a transaction of its own, committed before this one begins: in one
    # message with BEGIN they would be part of its transaction, undone by its rollback.
    return sets if read_only else f"BEGIN; {sets}; COMMIT; {begin}"


def _begin_statement(wait: float | None, *, read_only: bool = False, reset: bool = False) -> str:
    """BEGIN with the transaction's timeouts, after resetting what a connection
    kept for its session (`reset`)."""
    begin = "BEGIN READ ONLY" if read_only else "BEGIN"
    if wait is not None:
        milliseconds = int(wait * 1000)
        begin += f"; SET LOCAL lock_timeout = {milliseconds}; SET LOCAL statement_timeout = {milliseconds}"
    if not reset:
        return begin
    # Reset in a transaction of its own, committed before this one begins: a
    # RESET in this one would be undone by its rollback, and this one would
    # still begin read-only.
    return "BEGIN; " + "".join(f"RESET {name}; " for name in _HELD_SETTINGS) + "COMMIT; " + begin


def _reset_held(connection: Connection) -> None:
    """Back to the server's settings, for a kept connection going back to the
    pool (psycopg in autocommit mode: no transaction is opened for this). A
    transaction left open on it is rolled back first: a RESET inside it would be
    undone as the pool rolls it back, and the pool would hand on a read-only
    connection."""
    if connection.closed or connection.invalidated:
        return
    if connection.in_transaction():
        connection.rollback()
    if connection.connection.info.pop(_HELD, None) is not None:
        dbapi_connection: Any = connection.connection.driver_connection
        dbapi_connection.execute("; ".join(f"RESET {name}" for name in _HELD_SETTINGS))


def _postgres_set_timeouts(connection: Connection) -> None:
    # Where the driver begins by itself: one statement more, in the transaction.
    wait = connection.get_execution_options().get(_LOCK_WAIT)
    if wait is not None:
        milliseconds = str(int(wait * 1000))
        connection.exec_driver_sql(
            "SELECT set_config('lock_timeout', %s, true), set_config('statement_timeout', %s, true)",
            (milliseconds, milliseconds),
        )


def _is_memory(dbapi_connection) -> bool:
    row = dbapi_connection.execute("PRAGMA database_list").fetchone()
    return not row or not row[2]


def autocommit(engine: Engine, *, lock_wait: float = JOB_LOCK_WAIT) -> Connection:
    """A connection on which each statement commits as it runs, waiting for
    locks at most `lock_wait` seconds: for a worker writing one row at a time
    with nothing to keep together (the delivery path's outcomes). Give it back
    with `release_autocommit`."""
    connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    milliseconds = int(lock_wait * 1000)
    try:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql(
                "SELECT set_config('lock_timeout', %s, false), set_config('statement_timeout', %s, false)",
                (str(milliseconds), str(milliseconds)),
            )
        else:  # SQLite: a write waits in the busy handler
            _busy_timeout(connection.connection.driver_connection, connection.connection.info, milliseconds)
    except BaseException:
        connection.close()
        raise
    return connection


def release_autocommit(connection: Connection) -> None:
    """Give a connection from `autocommit` back to the pool as it was lent (a
    transaction sets its own SQLite busy wait as it begins)."""
    try:
        if not connection.invalidated and connection.dialect.name == "postgresql":
            connection.exec_driver_sql(
                "SELECT set_config(name, reset_val, false) FROM pg_settings"
                " WHERE name IN ('lock_timeout', 'statement_timeout')"
            )
    except DBAPIError:
        connection.invalidate()  # not back into the pool with these settings
    finally:
        connection.close()


_AT_COMMIT = "partnerbot_at_commit"  # session.info: the writes left for the commit


def at_commit(session: Session, statement: Executable | Prepared, parameters: Mapping[str, Any]) -> None:
    """Write this as the transaction commits, after everything else it does: for
    a write that nothing in the transaction reads back or waits on (an audit
    entry, a message queued), and that returns nothing. On PostgreSQL these
    writes travel with the COMMIT, one round trip for them all (psycopg's
    pipeline); a write that fails there rolls the whole transaction back, as it
    would have done at once. A transaction rolled back never writes them."""
    session.connection()  # the transaction begins here if nothing began it, so a rollback forgets these
    session.info.setdefault(_AT_COMMIT, []).append((statement, parameters))


@event.listens_for(Session, "before_commit")
def _write_at_commit(session: Session) -> None:
    left = session.info.pop(_AT_COMMIT, None)
    if not left:
        return
    session.flush()  # the session's own writes first: nothing may follow the COMMIT sent here
    connection = session.connection()
    if connection.dialect.driver != "psycopg":
        for statement, parameters in left:
            _write(connection, statement, parameters)
        return
    dbapi_connection: Any = connection.connection.driver_connection
    # In the pipeline each statement is sent without waiting for its answer, the
    # COMMIT too, and leaving it waits for every answer at once. SQLAlchemy's own
    # commit after this finds the transaction ended and sends nothing.
    try:
        with dbapi_connection.pipeline():
            for statement, parameters in left:
                _write(connection, statement, parameters)
            dbapi_connection.execute("COMMIT")
    except connection.dialect.loaded_dbapi.Error as error:  # raised by the driver as it reads the answers
        raise driver_error(connection, error, "COMMIT") from error


def _write(connection: Connection, statement: Executable | Prepared, parameters: Mapping[str, Any]) -> None:
    if isinstance(statement, Prepared):
        statement.execute(connection, parameters)
    else:
        connection.execute(statement, parameters)


@event.listens_for(Session, "after_rollback")
def _forget_at_commit(session: Session) -> None:
    session.info.pop(_AT_COMMIT, None)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


_answer_by: ContextVar[float | None] = ContextVar("partnerbot_answer_by", default=None)


@contextmanager
def answering_by(deadline: float) -> Iterator[None]:
    """Within this block (a request's thread), no transaction waits for a lock
    past `deadline` (time.monotonic()): the time a request spent queued for a
    thread or for another transaction counts against what Slack allows."""
    token = _answer_by.set(deadline)
    try:
        yield
    finally:
        _answer_by.reset(token)


def answer_deadline() -> float | None:
    """The moment (time.monotonic()) by which this request's answer must leave,
    inside `answering_by`; None elsewhere (a job, the console)."""
    return _answer_by.get()


@contextmanager
def transaction(
    factory: sessionmaker[Session],
    *,
    lock_wait: float = JOB_LOCK_WAIT,
    ask_first: str | None = None,
    read_only: bool = False,
    answer_later: bool = False,
) -> Iterator[Session]:
    """One transaction, opened at the edge: committed if the block finishes,
    rolled back whole if it raises. Waiting for a lock longer than `lock_wait`
    seconds (or past the request's deadline, see `answering_by`) rolls it back
    and raises Busy.

    `ask_first`, a query of one value and no parameters, is asked as the
    transaction begins (on PostgreSQL in BEGIN's own message: no round trip of
    its own); its answer is `session.info[ANSWERED_FIRST]`, as (query, answer).

    `read_only`: the transaction only reads, and the database refuses it any
    write. It waits for no writer and holds none up: on SQLite it takes no write
    lock; on PostgreSQL, on a connection a thread keeps, its reads run outside a
    transaction, so there is no COMMIT to wait for (each read sees what was
    committed when it ran, not all of them the same moment).

    `answer_later` (with `ask_first`): where nothing else need be sent as the
    transaction begins (PostgreSQL, a connection a thread keeps with its
    settings held), the first question waits and goes with the first reads,
    one round trip for both, and for a transaction that writes its BEGIN goes
    first in the same round trip: `ANSWERED_FIRST` is then not set, and the
    caller uses `first_answer` or, going on as if it knew the answer,
    `expect_first` (see services/directory.py). Nothing is written before the
    answer is checked: a statement that is not one of the first reads sends
    the question (and BEGIN) first."""
    deadline = time.monotonic() + lock_wait
    answer_by = _answer_by.get()
    if answer_by is not None and answer_by < deadline:
        deadline = answer_by
        lock_wait = max(deadline - time.monotonic(), MIN_LOCK_WAIT)
    writers = None if read_only else _sqlite_writers(factory)
    if writers is not None:
        if writers.owner == threading.get_ident():
            raise RuntimeError(
                "a transaction opened inside another on SQLite would wait for the outer one's "
                "write lock for ever: do the work in the outer transaction, or after it"
            )
        if not writers.lock.acquire(timeout=lock_wait):
            raise Busy(f"waited {lock_wait:g} s for another transaction in this process")
        writers.owner = threading.get_ident()
    try:
        session, begun = _begin(factory, deadline, ask_first, read_only=read_only, answer_later=answer_later)
        if read_only:
            # Nothing to commit: closing the session ends the reading, without the
            # commit's flush and events (some 60,000 instructions of a reading command's million).
            with session:
                try:
                    yield session
                except BaseException as error:
                    _settle_first(session, error)
                    raise
                _settle_first(session, None)
                _refuse_what_is_left(session)
        else:
            with session, begun:
                try:
                    yield session
                except BaseException as error:
                    _settle_first(session, error)
                    raise
                _settle_first(session, None)  # before COMMIT, if nothing was sent to take it
    except OperationalError as error:
        if is_busy(error):
            raise Busy(str(error.orig)) from error
        raise
    finally:
        if writers is not None:
            writers.owner = None
            writers.lock.release()


def _refuse_what_is_left(session: Session) -> None:
    """A transaction that only reads has nothing left to write at its end: the
    database refuses a statement that writes, and this refuses what the session
    would have written as it committed."""
    if session.new or session.dirty or session.deleted or session.info.get(_AT_COMMIT):
        raise RuntimeError("a transaction that only reads was given something to write")


def _begin(
    factory: sessionmaker[Session],
    deadline: float,
    ask_first: str | None,
    *,
    read_only: bool = False,
    answer_later: bool = False,
) -> tuple[Session, SessionTransaction]:
    """A session and its transaction, begun on the database already. A pooled
    connection that died after its checkout check (see `_postgres_checkout`)
    fails here, before the caller has done anything: the transaction begins
    once more on a fresh connection, and the caller never sees the dead one."""
    retried = False
    while True:
        kept = _kept_connection(factory)
        session = factory() if kept is None else factory(bind=kept)
        try:
            begun = session.begin()
            left = max(math.ceil((deadline - time.monotonic()) * 10) / 10, 0.1)
            # All always set: a kept connection keeps its options from one transaction to the next.
            options: dict[str, Any] = {
                _LOCK_WAIT: left,
                _ASK_FIRST: ask_first,
                _READ_ONLY: read_only,
                _KEPT: kept is not None,
                _ANSWER_LATER: answer_later,
            }
            connection = session.connection(execution_options=options)
            if ask_first is not None and PENDING_FIRST not in connection.connection.info:
                session.info[ANSWERED_FIRST] = (ask_first, _answer(connection, ask_first))
            return session, begun
        except BaseException as error:
            session.close()
            if retried or not (isinstance(error, DBAPIError) and error.connection_invalidated):
                raise
            retried = True


class _Kept:
    """A connection a thread keeps between its transactions (see
    `keeping_connections`), given back to the pool when the thread ends."""

    def __init__(self, engine: Engine, counted: _KeptCount) -> None:
        self.connection = engine.connect()
        self._counted: _KeptCount | None = counted

    def usable(self) -> bool:
        connection = self.connection
        if connection.closed or connection.invalidated or connection.in_transaction():
            return False
        if connection.dialect.driver != "psycopg":
            return True
        try:  # as at a checkout from the pool: did the server hang up meanwhile?
            _postgres_checkout(connection.connection.driver_connection, None, None)
        except DisconnectionError:
            connection.invalidate()
            return False
        return True

    def close(self) -> None:
        counted, self._counted = self._counted, None
        if counted is not None and not sys.is_finalizing():  # at exit the process lets it go
            counted.release()
            try:
                _reset_held(self.connection)
            except Exception:
                log.debug("a kept connection failed to reset; it is dropped", exc_info=True)
                self.connection.invalidate()  # not back into the pool as it is
            try:
                self.connection.close()
            except Exception:  # a thread ending: nothing can be done about it here
                log.debug("a kept connection failed to close", exc_info=True)

    __del__ = close


class _KeptCount:
    """How many connections of an engine threads keep: at most KEEP_AT_MOST, so
    that threads keeping them never take the pool's last (any more threads take
    theirs from the pool for each transaction, as without keeping)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.kept = 0

    def take(self) -> bool:
        with self._lock:
            if self.kept >= KEEP_AT_MOST:
                return False
            self.kept += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.kept -= 1


class _ThreadKeeps(threading.local):
    def __init__(self) -> None:
        self.on = False
        self.by_engine: dict[Engine, _Kept] = {}


_keeps = _ThreadKeeps()
_kept_counts: WeakKeyDictionary[Engine, _KeptCount] = WeakKeyDictionary()
_kept_counts_lock = threading.Lock()


@contextmanager
def keeping_connections() -> Iterator[None]:
    """Within this block, transactions opened in this thread with `transaction()`
    keep one connection for each database between them, rather than taking one
    from the pool and giving it back each time (and making a SQLAlchemy
    Connection for it): for the threads that answer Slack, where that was a
    fifth of what every command pays (bench/README.md). The
    connection stays with the thread after the block, for its next one, until
    the thread ends; a connection found closed, lost or dropped by the server is
    replaced before a transaction begins on it."""
    was = _keeps.on
    _keeps.on = True
    try:
        yield
    finally:
        _keeps.on = was


def _kept_connection(factory: sessionmaker[Session]) -> Connection | None:
    if not _keeps.on:
        return None
    engine = factory.kw.get("bind")
    if not isinstance(engine, Engine):
        return None
    kept = _keeps.by_engine.get(engine)
    if kept is not None and kept.usable():
        return kept.connection
    if kept is not None:
        del _keeps.by_engine[engine]
        kept.close()
    with _kept_counts_lock:
        counted = _kept_counts.setdefault(engine, _KeptCount())
    if not counted.take():
        return None
    try:
        kept = _keeps.by_engine[engine] = _Kept(engine, counted)
    except BaseException:
        counted.release()
        raise
    return kept.connection


def _answer(connection: Connection, question: str) -> Any:
    """The first question's answer: brought by BEGIN (PostgreSQL), else asked now."""
    info = connection.connection.info
    if _ANSWER in info:
        return info.pop(_ANSWER)
    return ask(connection, question)


def ask(connection: Connection, question: str, *, after: str | None = None) -> Any:
    """The one value a query without parameters answers (None if no row), straight
    from the driver: for a question asked on every request, SQLAlchemy's statement
    machinery costs more than the query. `after`: a statement without parameters
    to run first (a BEGIN), sent in the same message where the driver can (psycopg
    outside a pipeline, where a query without parameters goes as a simple query)."""
    dbapi_connection: Any = connection.connection.driver_connection
    cursor = dbapi_connection.cursor()
    try:
        if after is None:
            cursor.execute(question)
        elif _in_pipeline(dbapi_connection):  # one statement a query there
            dbapi_connection.execute(after)
            cursor.execute(question)
        else:
            cursor.execute(f"{after}; {question}")
            cursor.nextset()  # past `after`'s empty result, to the question's
        return _one_value(cursor)
    finally:
        cursor.close()


def _in_pipeline(dbapi_connection: Any) -> bool:
    from psycopg import pq  # only a psycopg connection has anything pending to send first

    return dbapi_connection.pgconn.pipeline_status != pq.PipelineStatus.OFF


def first_pending(session: Session) -> bool:
    """Whether the transaction's first question waits to be asked with its first
    reads (`transaction(answer_later=True)`)."""
    bind = session.bind
    return (
        ANSWERED_FIRST not in session.info
        and isinstance(bind, Connection)
        and not bind.closed
        and not bind.invalidated
        and PENDING_FIRST in bind.connection.info
    )


def expect_first(session: Session, answer: Any) -> None:
    """Go on as if the first question, still to be asked, had answered `answer`.
    It is asked with the first reads (or before any other statement, or as the
    transaction ends), and a different answer raises FirstAnswerChanged: the
    transaction is then rolled back, and whatever it did is to be done again."""
    session.connection().connection.info[EXPECTED_FIRST] = (answer,)


def first_answer(session: Session) -> Any:
    """The first question's answer, asked now if it still waits."""
    asked = session.info.get(ANSWERED_FIRST)
    if asked is not None:
        return asked[1]
    connection = session.connection()
    question = connection.connection.info[PENDING_FIRST]
    answer = _ask_pending(connection)
    session.info[ANSWERED_FIRST] = (question, answer)
    return answer


def _settle_first(session: Session, error: BaseException | None) -> None:
    """As a transaction that let its first question wait ends: the question, if
    no statement took it, asked now. What the transaction did on the answer it
    expected stands only if that was the answer: otherwise FirstAnswerChanged,
    raised from `error` if the transaction was ending on one (a refusal made on
    what it expected, say)."""
    if not first_pending(session):
        return
    connection = session.bind
    assert isinstance(connection, Connection)
    if error is None:
        _ask_pending(connection)
        return
    try:
        _ask_pending(connection)
    except FirstAnswerChanged as changed:
        raise changed from error
    except Exception:  # the error that ended it says more
        log.debug("the first question could not be asked as a transaction failed", exc_info=True)
    finally:
        connection.connection.info.pop(PENDING_FIRST, None)
        connection.connection.info.pop(EXPECTED_FIRST, None)


def _one_value(cursor: Any) -> Any:
    row = cursor.fetchone()
    return row[0] if row else None


class _Writers:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.owner: int | None = None  # the thread holding it


_writers: WeakKeyDictionary[Engine, _Writers] = WeakKeyDictionary()
_writers_lock = threading.Lock()


def _sqlite_writers(factory: sessionmaker[Session]) -> _Writers | None:
    """SQLite has one writer at a time, and a transaction that finds the write
    lock taken sleeps in steps of up to 100 ms before trying again: threads of
    one process queue here instead, and the next goes the moment the lock is
    free. (Other processes' writers are waited for in `_begin_immediate`.)"""
    engine = factory.kw.get("bind")
    if not isinstance(engine, Engine) or engine.dialect.name != "sqlite":
        return None
    with _writers_lock:
        return _writers.setdefault(engine, _Writers())


def is_busy(error: OperationalError) -> bool:
    """Whether the database refused because another transaction held a lock too long."""
    if getattr(error.orig, "sqlstate", None) in _POSTGRES_BUSY:
        return True
    return isinstance(error.orig, sqlite3.OperationalError) and _sqlite_busy(error.orig)


def _sqlite_busy(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorname", "").startswith("SQLITE_BUSY") or "database is locked" in str(
        error
    )


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
