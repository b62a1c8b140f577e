"""Which reminders have gone out. A person's nudges of the day travel in one
message, so the message's key cannot say which reminders it carried; each
reminder's own key is recorded with it, in the same transaction, and a reminder
recorded once is never sent again, however often or late the schedule runs."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import Reminder

NOT_SENT = ""  # the delivery key of a reminder decided but not sent (no Slack id)


def recorded_since(session: Session, since: datetime) -> set[str]:
    """Keys of reminders recorded since then: a bounded set (a week or so of them)."""
    return set(session.scalars(select(Reminder.key).where(Reminder.queued_at >= since)))


def record(session: Session, keys: Collection[str], *, delivery_key: str, now: datetime) -> bool:
    """Record these reminders as carried by `delivery_key`. False if any was
    already recorded (another process got there first): the caller rolls back."""
    if not keys:
        return True
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # One statement with the rows as parameters, not as values written into it: a
    # statement of its own for each number of reminders was compiled afresh (half of
    # the first run-due over the county's data went on compiling them).
    statement = insert(Reminder).on_conflict_do_nothing(index_elements=["key"]).returning(Reminder.key)
    rows = [{"key": key, "delivery_key": delivery_key, "queued_at": now} for key in keys]
    return len(session.scalars(statement, rows).all()) == len(keys)
