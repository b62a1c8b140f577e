"""The outbox: every message the bot posts is a delivery row first, written in
the same transaction as the change that caused it, and sent once by the one
delivery path (bot/jobs/deliveries.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from storage.models import Delivery
from storage.unique import insert_if_new, insert_new

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


_WAITING = (  # built once: every change asks it, for its person's Home tab
    select(Delivery.id)
    .where(
        Delivery.status == "pending",
        Delivery.kind == bindparam("kind"),
        Delivery.target == bindparam("target"),
        Delivery.claim_token.is_(None),
    )
    .limit(1)
)
# A row another transaction holds is not waited for: that change's publish is
# its own, and this one queues another, rather than the person's concurrent
# changes queueing behind each other's commits.
_WAITING_LOCKED = _WAITING.with_for_update(skip_locked=True)


def held_waiting(session: Session, *, kind: str, target: str) -> bool:
    """Whether a message of this kind to this target is queued and not yet
    claimed; if so it stays unclaimable until this transaction ends (PostgreSQL
    locks the row; on SQLite the transaction holds the only write lock). One
    that another transaction is holding so does not count."""
    waiting = _WAITING_LOCKED if session.get_bind().dialect.name == "postgresql" else _WAITING
    return session.connection().execute(waiting, {"kind": kind, "target": target}).first() is not None


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
