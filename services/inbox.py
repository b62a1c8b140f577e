"""Events from Slack, acted on once: a retry of an event already seen is
acknowledged and ignored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from storage.models import ReceivedEvent
from storage.unique import insert_if_new


def first_time(session: Session, *, key: str, now: datetime) -> bool:
    """True the first time `key` is seen, on any process; False for a retry."""
    return insert_if_new(session, ReceivedEvent, unique_on="key", key=key[:200], received_at=now)
