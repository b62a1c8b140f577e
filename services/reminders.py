"""Which reminders have gone out. A person's nudges of the day travel in one
message, so the message's key cannot say which reminders it carried; each
reminder's own key is recorded with it, in the same transaction, and a reminder
recorded once is never sent again, however often or late the schedule runs."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Reminder
from storage.unique import insert_new

NOT_SENT = ""  # the delivery key of a reminder decided but not sent (no Slack id)


def recorded_since(session: Session, since: datetime) -> set[str]:
    """Keys of reminders recorded since then: a bounded set (a week or so of them)."""
    return set(session.scalars(select(Reminder.key).where(Reminder.queued_at >= since)))


def record(session: Session, keys: Collection[str], *, delivery_key: str, now: datetime) -> bool:
    """Record these reminders as carried by `delivery_key`. False if any was
    already recorded (another process got there first): the caller rolls back."""
    return len(record_carried(session, dict.fromkeys(keys, delivery_key), now=now)) == len(keys)


def record_carried(session: Session, carried: Mapping[str, str], *, now: datetime) -> set[str]:
    """Record each reminder (key) as carried by its delivery's key, in one
    statement, in key order; the keys recorded by this call (a key already
    recorded, by another process, is left alone and not among them)."""
    rows = [{"key": key, "delivery_key": delivery_key} for key, delivery_key in sorted(carried.items())]
    return insert_new(session, Reminder, unique_on="key", rows=rows, shared={"queued_at": now})
