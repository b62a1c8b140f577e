"""The outbox: every message the bot posts is a delivery row first, written in
the same transaction as the change that caused it, and sent once by the
delivery worker."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from storage.models import Delivery
from storage.unique import insert_if_new


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
        status="pending",
        attempts=0,
        due_at=due_at,
        next_attempt_at=due_at,
        created_at=now,
    )
