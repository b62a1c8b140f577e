"""The outbox: every message the bot posts is a delivery row first, written in
the same transaction as the change that caused it, and sent once by the one
delivery path (bot/jobs/deliveries.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.orm import Session

from storage.models import Delivery
from storage.prepared import Prepared
from storage.session import at_commit
from storage.unique import insert_if_new, insert_new, unless_taken

# SPEC 5: nothing older than 7 days is sent; until then a transient failure is retried.
HORIZON = timedelta(days=7)


def enqueue(
    session: Session,
    *,
    key: str,
    kind: str,
    target: str,
    payload: dict[str, Any],
    due_at: datetime,
    now: datetime,
) -> bool:
    """Queue a message under a unique key. A key already queued is left alone,
    even by another process at the same moment, so a schedule that runs twice
    sends once. True when this call queued it."""
    return insert_if_new(
        session,
        Delivery,
        unique_on="key",
        key=key,
        kind=kind,
        target=target,
        payload=payload,
        **_pending(due_at, now),
    )


@dataclass(frozen=True)
class Message:
    """A message to queue with others (`enqueue_many`)."""

    key: str
    kind: str
    target: str
    payload: dict[str, Any]


def enqueue_at_commit(
    session: Session,
    *,
    key: str,
    kind: str,
    target: str,
    payload: dict[str, Any],
    due_at: datetime,
    now: datetime,
    unless_waiting: bool = False,
) -> None:
    """Queue a message as `enqueue` does, but as the transaction commits (with
    the COMMIT itself on PostgreSQL, storage.session.at_commit): for a message
    whose queueing nothing in the transaction waits on, a command's post.

    `unless_waiting`: not if one of the same kind to the same target is queued
    and not yet claimed, as a Home tab publish, which shows whatever changed
    before it is built. That one is then locked until the COMMIT that follows at
    once (PostgreSQL; on SQLite this transaction holds the only write lock), so
    no sender claims it, and reads the tab, before this change is there to be
    read. One that another transaction holds so does not count: this message
    is queued rather than waiting for that transaction to end."""
    dialect = session.get_bind().dialect.name
    statement = _queued_unless_waiting(dialect) if unless_waiting else _queued(dialect)
    values = {"key": key, "kind": kind, "target": target, "payload": payload} | _pending(due_at, now)
    at_commit(session, statement, values)


@cache
def _queued(dialect: str) -> Prepared:
    # Nothing read back: it goes with the COMMIT.
    return Prepared(
        unless_taken(dialect, Delivery, "key").values({name: bindparam(name) for name in _QUEUED_COLUMNS})
    )


# The message, then what `_pending` adds.
_QUEUED_COLUMNS: tuple[str, ...] = ("key", "kind", "target", "payload", "status", "attempts")
_QUEUED_COLUMNS += ("due_at", "next_attempt_at", "expires_at", "created_at")


@cache
def _queued_unless_waiting(dialect: str) -> Prepared:
    """Built once for each database: every change makes it, for its person's Home tab."""
    waiting = select(Delivery.id).where(
        Delivery.status == "pending",
        Delivery.kind == bindparam("kind"),
        Delivery.target == bindparam("target"),
        Delivery.claim_token.is_(None),
    )
    if dialect == "postgresql":
        # A row another transaction holds is skipped: that change's publish is its
        # own, and this one queues another, rather than a person's changes at the
        # same moment queueing behind each other's commits.
        waiting = waiting.limit(1).with_for_update(skip_locked=True)
    row = select(*(bindparam(name, type_=Delivery.__table__.c[name].type) for name in _QUEUED_COLUMNS)).where(
        ~exists(waiting)
    )
    return Prepared(unless_taken(dialect, Delivery, "key").from_select(_QUEUED_COLUMNS, row))


def enqueue_many(
    session: Session, messages: Iterable[Message], *, due_at: datetime, now: datetime
) -> set[str]:
    """Queue several messages due at one instant, as `enqueue` queues each but in
    one statement, in key order: a key already queued is left alone. The keys
    this call queued."""
    rows = [
        {"key": m.key, "kind": m.kind, "target": m.target, "payload": m.payload}
        for m in sorted(messages, key=lambda m: m.key)
    ]
    return insert_new(session, Delivery, unique_on="key", rows=rows, shared=_pending(due_at, now))


def _pending(due_at: datetime, now: datetime) -> dict[str, Any]:
    """What a newly queued message's row holds besides the message itself."""
    return {
        "status": "pending",
        "attempts": 0,
        "due_at": due_at,
        "next_attempt_at": due_at,
        "expires_at": due_at + HORIZON,
        "created_at": now,
    }


def queued(session: Session, key: str) -> Delivery | None:
    """The message of this key, if it was ever queued (sent or not)."""
    return session.scalar(select(Delivery).where(Delivery.key == key))


def queued_times(session: Session, keys: Iterable[str]) -> dict[str, datetime]:
    """When the messages of these keys were queued, for those that were: one statement."""
    rows = session.execute(select(Delivery.key, Delivery.created_at).where(Delivery.key.in_(list(keys))))
    return {key: created for key, created in rows}


def undelivered(session: Session, *, failed_only: bool = False, limit: int = 200) -> list[Delivery]:
    """Messages not yet sent (pending, oldest first) and those given up (failed), with their last error."""
    statuses = ("failed",) if failed_only else ("pending", "failed")
    return list(
        session.scalars(
            select(Delivery)
            .where(Delivery.status.in_(statuses))
            .order_by(Delivery.status, Delivery.due_at, Delivery.id)
            .limit(limit)
        )
    )


def requeue(session: Session, *, now: datetime, keys: list[str] | None = None) -> int:
    """Queue failed messages again (those with `keys`, else every failed one), to be
    sent at once and retried for another week. Returns how many were queued."""
    statement = update(Delivery).where(Delivery.status == "failed")
    if keys is not None:
        statement = statement.where(Delivery.key.in_(keys))
    result = session.execute(
        statement.values(
            status="pending",
            next_attempt_at=now,
            expires_at=now + HORIZON,
            claimed_until=None,
            claim_token=None,
        ).execution_options(synchronize_session=False)
    )
    return result.rowcount  # type: ignore[attr-defined]  # an UPDATE returns a CursorResult
