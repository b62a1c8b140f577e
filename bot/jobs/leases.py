"""The outbox's rows as the delivery path holds them: a few due rows claimed
under a lease (an UPDATE that only takes rows nobody holds, committed), what
became of each written back as soon as it is known, and rows given back unsent.
Processes racing on the same database never claim a row twice. bot/jobs/deliveries.py
sends what is claimed here."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache, partial
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    CursorResult,
    Engine,
    Executable,
    Row,
    Select,
    Update,
    and_,
    bindparam,
    or_,
    select,
    update,
)
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Delivery
from storage.session import (
    JOB_LOCK_WAIT,
    Busy,
    autocommit,
    is_busy,
    is_unreachable,
    release_autocommit,
    transaction,
)

log = logging.getLogger("partnerbot.deliveries")

LEASE = timedelta(minutes=5)  # far longer than one send can take (10 s Slack and SMTP timeouts)


@dataclass(frozen=True)
class Claimed:
    """A delivery as a sender sees it: a copy of the row, detached from any session."""

    id: int
    key: str
    kind: str
    target: str
    payload: dict[str, Any]
    attempts: int
    token: str  # the lease this pass holds on the row
    # An earlier pass took it and never said how it went (it was killed mid-send):
    # the message may already be out, and a sender that can tell should check first.
    in_doubt: bool = False


# What a claim hands back of each row it takes.
_CLAIMED = (
    Delivery.id,
    Delivery.key,
    Delivery.kind,
    Delivery.target,
    Delivery.payload,
    Delivery.attempts,
    Delivery.expires_at,
)


def claim(sessions: sessionmaker[Session], *, now: datetime, limit: int) -> list[Claimed]:
    """Take a lease on up to `limit` due rows that nobody holds, and commit it.
    PostgreSQL locks the candidates (skipping rows another claimer has locked);
    SQLite runs one writer at a time and the UPDATE re-checks each row, so two
    claimers never get the same row."""
    token = secrets.token_hex(16)
    due = _due(now, limit)
    with transaction(sessions) as session:
        if session.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        candidates = session.execute(due).all()
        if not candidates:
            return []
        # A lease left behind by a pass that never recorded its outcome.
        abandoned = {row.id for row in candidates if row.claim_token is not None}
        # The WHERE re-checks each row as it writes it: on PostgreSQL the rows are
        # locked already; on SQLite another process may have claimed one meanwhile.
        rows = session.execute(
            update(Delivery)
            .where(Delivery.id.in_([row.id for row in candidates]), Delivery.status == "pending", _free(now))
            .values(claimed_until=now + LEASE, claim_token=token)
            .returning(*_CLAIMED)
            .execution_options(synchronize_session=False)
        ).all()
    return _leased(rows, abandoned, now=now, token=token, record=partial(record, sessions))


def record(sessions: sessionmaker[Session], delivery_id: int, token: str, **values: Any) -> None:
    """Write one outcome and release the lease, in a short transaction of its own;
    nothing if the lease is no longer this token's."""
    statement, parameters = _outcome(delivery_id, token, values)
    with transaction(sessions) as session:
        session.connection().execute(statement, parameters)


def hold(sessions: sessionmaker[Session], held: list[Claimed], *, until: datetime) -> None:
    """Give claimed rows back unsent, due again at `until`, their attempts unspent."""
    if not held:
        return
    with transaction(sessions) as session:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_([d.id for d in held]), Delivery.claim_token == held[0].token)
            .values(claimed_until=None, claim_token=None, next_attempt_at=until)
            .execution_options(synchronize_session=False)
        )


class Pass:
    """How one pass of the delivery path reaches the outbox: it claims rows and
    writes each outcome, committed before the next message is sent, so a process
    killed mid-pass leaves at most the message it was sending in doubt.

    The pass keeps one connection, in autocommit, with the lock bound of a job's
    transaction set on it while held: an outcome is one UPDATE, committed as it
    runs. The connection is idle in between: no transaction is open while a
    message is sent. On PostgreSQL it is taken at the first outcome; on SQLite
    at the first claim.

    On PostgreSQL every statement is a round trip, and a transaction of its own
    for each outcome cost three (BEGIN with its lock bound, the UPDATE, COMMIT),
    for each claim four; a claim is one statement there too (`_claim_at_once`).
    On SQLite an outcome or a claim written so holds the database's one write
    lock only while SQLite runs the UPDATE, not from BEGIN through this process's
    Python to COMMIT, where a niced sending process could be descheduled holding
    it while a command waited (bench/README.md); a claim there is a read and then
    an UPDATE of the rows read (`_claim_seen`).
    If the connection is lost (the database restarted), the rest of the pass goes
    through the pool: each claim and each outcome a transaction of its own.
    """

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        engine = sessions.kw.get("bind")
        self._engine = engine if isinstance(engine, Engine) else None
        self._connection: Connection | None = None

    def __enter__(self) -> Pass:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._release()

    def claim(self, *, now: datetime, limit: int) -> list[Claimed]:
        """As `claim`."""
        if self._engine is not None and self._engine.dialect.name == "sqlite":
            return self._claim_sqlite(now, limit)
        if self._connection is None:
            # On PostgreSQL no connection is held until there is an outcome to
            # write: most passes find nothing due, and one short transaction says so.
            return claim(self._sessions, now=now, limit=limit)
        token = secrets.token_hex(16)
        result = self._run(_claim_at_once(now, limit, token))
        if result is None:
            return claim(self._sessions, now=now, limit=limit)
        rows = result.all()
        abandoned = {row.id for row in rows if row.held_by is not None}
        return _leased(rows, abandoned, now=now, token=token, record=self.record)

    def _claim_sqlite(self, now: datetime, limit: int) -> list[Claimed]:
        """`claim` on SQLite as two statements, each committed as it runs: the due
        rows read (which takes no lock), then the lease written on those still
        free (`_claim_seen`). The database's write lock is held only while SQLite
        runs the UPDATE, never while this niced process's Python runs."""
        seen = self._run(_due(now, limit))
        if seen is None:
            return claim(self._sessions, now=now, limit=limit)
        candidates = seen.all()
        if not candidates:
            return []
        token = secrets.token_hex(16)
        abandoned = {row.id for row in candidates if row.claim_token is not None}
        result = self._run(_claim_seen(candidates, abandoned, now, token))
        if result is None:
            return claim(self._sessions, now=now, limit=limit)
        return _leased(result.all(), abandoned, now=now, token=token, record=self.record)

    def record(self, delivery_id: int, token: str, **values: Any) -> None:
        """As `record`."""
        if self._run(*_outcome(delivery_id, token, values)) is None:
            record(self._sessions, delivery_id, token, **values)

    def _run(
        self, statement: Executable, parameters: dict[str, Any] | None = None
    ) -> CursorResult[Any] | None:
        """Run one statement on the pass's connection, committed as it runs; None
        where there is none (sessions bound to no engine) or it was lost."""
        connection = self._held()
        if connection is None:
            return None
        try:
            return connection.execute(statement, parameters)
        except DBAPIError as error:
            if is_unreachable(error):
                self._lose()
                return None
            if isinstance(error, OperationalError) and is_busy(error):
                raise Busy(str(error.orig)) from error  # as `transaction` says it
            raise

    def _held(self) -> Connection | None:
        if self._connection is None and self._engine is not None:
            self._connection = autocommit(self._engine, lock_wait=JOB_LOCK_WAIT)
        return self._connection

    def _lose(self) -> None:
        """The connection was lost: the rest of the pass goes through the pool."""
        self._release()
        self._engine = None

    def _release(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            release_autocommit(connection)


def _free(now: datetime) -> ColumnElement[bool]:
    """Nobody holds a lease on it."""
    return or_(Delivery.claimed_until.is_(None), Delivery.claimed_until <= now)


def _due(now: datetime, limit: int) -> Select[int, str | None]:
    """The first `limit` rows due now that nobody holds, and who held each last."""
    return (
        select(Delivery.id, Delivery.claim_token)
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= now, _free(now))
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
    )


def _claim_at_once(now: datetime, limit: int, token: str) -> Update:
    """`claim` in one PostgreSQL statement: lock the due rows nobody holds
    (skipping those another claimer has locked) and lease them, handing back who
    held each before."""
    due = _due(now, limit).with_for_update(skip_locked=True).cte("due")
    return (
        update(Delivery)
        .where(Delivery.id == due.c.id)
        .values(claimed_until=now + LEASE, claim_token=token)
        .returning(*_CLAIMED, due.c.claim_token.label("held_by"))
    )


def _claim_seen(seen: Sequence[Row[Any]], abandoned: set[int], now: datetime, token: str) -> Update:
    """Lease the rows of `seen` (as `_due` read them) that are still due and free.
    A row read as never held is taken only if it still is, so a message that
    another pass took meanwhile and left in doubt is never sent as if it were new;
    one read as left in doubt (`abandoned`) is taken while it is free, and
    checked for first."""
    unheld = [row.id for row in seen if row.id not in abandoned]
    return (
        update(Delivery)
        .where(
            Delivery.status == "pending",
            Delivery.next_attempt_at <= now,
            _free(now),
            or_(
                and_(Delivery.id.in_(unheld), Delivery.claim_token.is_(None)),
                Delivery.id.in_(sorted(abandoned)),
            ),
        )
        .values(claimed_until=now + LEASE, claim_token=token)
        .returning(*_CLAIMED)
        .execution_options(synchronize_session=False)
    )


def _leased(
    rows: Sequence[Row[Any]], abandoned: set[int], *, now: datetime, token: str, record: Callable[..., None]
) -> list[Claimed]:
    """The rows just claimed, as their senders see them, in the order they were
    queued; messages past their horizon (SPEC 5: a week) are failed instead. A
    Home tab has none: it is built as it is published, so a late one still shows
    the tab as it is then (and at most one waits for each person)."""
    claimed = []
    for row in sorted(rows, key=lambda r: r.id):
        if row.expires_at <= now and row.kind != "home":
            record(row.id, token, status="failed", last_error="expired: not sent within a week")
            log.error("delivery expired", extra={"key": row.key, "attempts": row.attempts})
            continue
        claimed.append(
            Claimed(
                row.id, row.key, row.kind, row.target, row.payload, row.attempts, token, row.id in abandoned
            )
        )
    return claimed


def _outcome(delivery_id: int, token: str, values: dict[str, Any]) -> tuple[Update, dict[str, Any]]:
    """The statement that writes an outcome if the lease is still `token`'s, and its parameters."""
    if values.get("last_error") is not None:
        values = values | {"last_error": values["last_error"][:500]}
    parameters = {f"new_{name}": value for name, value in values.items()}
    return _outcome_statement(tuple(sorted(values))), parameters | {
        "delivery_id": delivery_id,
        "lease": token,
    }


@lru_cache(maxsize=8)
def _outcome_statement(columns: tuple[str, ...]) -> Update:
    # Built once for each kind of outcome, its values parameters: built afresh for
    # each message, the statement cost more than sending it to the database.
    return (
        update(Delivery)
        .where(Delivery.id == bindparam("delivery_id"), Delivery.claim_token == bindparam("lease"))
        .values(claimed_until=None, claim_token=None, **{name: bindparam(f"new_{name}") for name in columns})
    )
