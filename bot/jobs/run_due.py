"""Everything due at an instant, run once: what `partnerbot jobs run-due`, the
scheduler and the console all call. First it works out from the database what
has fallen due (nothing is remembered between runs but the outbox and the
reminder records) and queues the messages with their reminder records, together
in one short transaction (bot/jobs/outgoing.py); then it sends the outbox."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.jobs import (
    agenda_call,
    agenda_closing,
    agenda_late,
    agenda_publish,
    digest,
    due_soon,
    meeting_tomorrow,
    meetings_ahead,
    nudges,
    outgoing,
)
from bot.jobs.deliveries import Outcome, Sender, send_due
from bot.jobs.outgoing import Outgoing
from bot.jobs.timing import CATCH_UP, Run
from services import chasing, groups, reminders
from services import partnership as partnership_service
from services.clock import Clock
from services.working_days import WorkingDays
from storage.models import Partnership
from storage.session import transaction

log = logging.getLogger("partnerbot.jobs")

MEETING_REMINDERS = (agenda_call, agenda_closing, agenda_publish, agenda_late, meeting_tomorrow)


def run_due(*, sessions: sessionmaker[Session], clock: Clock, sender: Sender) -> Outcome:
    queue_due(sessions=sessions, now=clock.now())
    return send_due(sessions, clock, sender)


def queue_due(*, sessions: sessionmaker[Session], now: datetime) -> int:
    """Queue every scheduled message due at `now`; how many were queued."""
    decided = decide(sessions, now)
    queued = outgoing.queue_all(sessions, decided, now=now)
    if queued:
        log.info("scheduled messages queued", extra={"count": queued, "now": now.isoformat()})
    return queued


def decide(sessions: sessionmaker[Session], now: datetime) -> list[Outgoing]:
    """What is due and not yet queued, read in one short transaction with a
    fixed number of statements (none per action or per meeting)."""
    with transaction(sessions) as session:
        partnership = session.scalar(select(Partnership).limit(1))
        if partnership is None:
            return []
        run = Run(now=now, zone=partnership_service.zone(partnership), days=WorkingDays(partnership.holidays))
        people = groups.people_by_role(session, ("officer", "chair"))
        ahead = meetings_ahead.load(session, run, people)
        officers = {group_id: roles["officer"] for group_id, roles in people.items() if "officer" in roles}
        chased = chasing.load(session, due_by=run.today + due_soon.LOOKAHEAD, officers=officers)
        recorded = reminders.recorded_since(session, now - CATCH_UP - timedelta(days=1))
        decided = [message for job in MEETING_REMINDERS for message in job.due(run, ahead)]
        decided += nudges.due(run, chased, recorded)
        digest_key = digest.key_for(partnership, run)
        if digest_key and not outgoing.already_queued(session, [digest_key]):
            weekly = digest.due(session, partnership, run, digest_key)
            if weekly is not None:
                decided.append(weekly)
        done = outgoing.already_queued(session, [m.key for m in decided])
        return [m for m in decided if m.key not in done and not set(m.marks) <= recorded]
