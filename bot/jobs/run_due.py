"""Everything due at an instant, run once: what `partnerbot jobs run-due` and the
scheduler both call."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from bot.jobs.deliveries import Outcome, Sender, send_due
from services.clock import Clock


def run_due(*, sessions: sessionmaker[Session], clock: Clock, sender: Sender) -> Outcome:
    # Reminders, nudges, agenda deadlines and the digest will queue their
    # deliveries here (issue: scheduled work); then the outbox is sent.
    return send_due(sessions, clock, sender)
