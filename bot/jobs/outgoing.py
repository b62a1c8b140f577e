"""A message a run has decided to send, and how it is queued: in its own short
transaction, with the reminders it carries, exactly once."""

from __future__ import annotations

import logging
from collections.abc import Iterable
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
