"""A message a run has decided to send, and how it is queued: with the
reminders it carries, in the same transaction, exactly once. A run's messages
are queued together, a few statements for all of them; a message another run
queued first sends the lot back to be queued one by one, each in its own
transaction, so that only it is left out."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.commands.shapes import Message
from services import outbox, reminders
from storage.models import Delivery
from storage.session import transaction

log = logging.getLogger("partnerbot.jobs")


@dataclass(frozen=True)
class Outgoing:
    """One message: to a channel, or to a person (`kind="direct"`, `target` their
    Slack user id, None when they have none). `reminders` are the keys of the
    reminders it carries (a person's nudges of the day)."""

    key: str
    kind: str
    target: str | None
    message: Message
    reminders: tuple[str, ...] = ()
    person: str | None = None  # the person's key, for the log when they can't be reached

    @property
    def marks(self) -> tuple[str, ...]:
        """What records that this was decided: its reminders, or its own key."""
        return self.reminders or (self.key,)


CHUNK = 500  # messages queued in one transaction (a morning's are some 300)


class _AlreadyDecided(Exception):
    """Another run queued this message (or one of its reminders) first."""


def already_queued(session: Session, keys: Iterable[str]) -> set[str]:
    keys = list(keys)
    if not keys:
        return set()
    return set(session.scalars(select(Delivery.key).where(Delivery.key.in_(keys))))


def queue(sessions: sessionmaker[Session], outgoing: Outgoing, *, now: datetime) -> bool:
    """Queue the message and record its reminders in one transaction; if another
    run got there first, roll back and queue nothing. True when queued. A person
    with no Slack id is not sent anything: that is recorded (so it is decided
    once, not every minute) and logged."""
    try:
        with transaction(sessions) as session:
            if outgoing.target is None:
                if not reminders.record(session, outgoing.marks, delivery_key=reminders.NOT_SENT, now=now):
                    raise _AlreadyDecided
                log.info(
                    "message not sent: no Slack user id",
                    extra={"key": outgoing.key, "person": outgoing.person},
                )
                return False
            if not reminders.record(session, outgoing.reminders, delivery_key=outgoing.key, now=now):
                raise _AlreadyDecided
            if not outbox.enqueue(
                session,
                key=outgoing.key,
                kind=outgoing.kind,
                target=outgoing.target,
                payload=outgoing.message.to_payload(),
                due_at=now,
                now=now,
            ):
                raise _AlreadyDecided
    except _AlreadyDecided:
        return False
    log.debug("message queued", extra={"key": outgoing.key})
    return True


def queue_all(sessions: sessionmaker[Session], decided: Sequence[Outgoing], *, now: datetime) -> int:
    """Queue the messages as `queue` queues each, but together: each chunk's
    reminders in one statement and its deliveries in another, in one transaction.
    If another run got to any of them first, that transaction is rolled back and
    the chunk queued one message at a time, so the others still go. How many were
    queued."""
    queued = 0
    for start in range(0, len(decided), CHUNK):
        chunk = decided[start : start + CHUNK]
        try:
            with transaction(sessions) as session:
                _queue_together(session, chunk, now=now)
        except _AlreadyDecided:
            queued += sum(queue(sessions, outgoing, now=now) for outgoing in chunk)
            continue
        for outgoing in chunk:
            if outgoing.target is None:
                log.info(
                    "message not sent: no Slack user id",
                    extra={"key": outgoing.key, "person": outgoing.person},
                )
            else:
                queued += 1
                log.debug("message queued", extra={"key": outgoing.key})
    return queued


def _queue_together(session: Session, chunk: Sequence[Outgoing], *, now: datetime) -> None:
    carried: dict[str, str] = {}
    messages = []
    for outgoing in chunk:
        if outgoing.target is None:
            carried.update(dict.fromkeys(outgoing.marks, reminders.NOT_SENT))
        else:
            carried.update(dict.fromkeys(outgoing.reminders, outgoing.key))
            messages.append(
                outbox.Message(outgoing.key, outgoing.kind, outgoing.target, outgoing.message.to_payload())
            )
    # All of a run's reminders before any of its deliveries, each in key order: the
    # order in which `queue` writes one message's, so racing runs never deadlock.
    expected = sum(len(o.marks if o.target is None else o.reminders) for o in chunk)
    if len(reminders.record_carried(session, carried, now=now)) != expected:
        raise _AlreadyDecided
    if len(outbox.enqueue_many(session, messages, due_at=now, now=now)) != len(messages):
        raise _AlreadyDecided
