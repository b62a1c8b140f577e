"""APScheduler wiring: the clock's requests to the jobs, with the zone in one place.
It only calls run-due; what is due is worked out from the database each time."""

from __future__ import annotations

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session, sessionmaker

from bot.jobs.deliveries import Sender
from bot.jobs.run_due import run_due
from services.clock import Clock

RUN_DUE_INTERVAL_SECONDS = 60


def create_scheduler(
    *,
    sessions: sessionmaker[Session],
    clock: Clock,
    sender: Sender,
    timezone: str,
    blocking: bool = False,
) -> BackgroundScheduler | BlockingScheduler:
    """A scheduler that runs everything due every minute. Nothing is stored in
    APScheduler: a restart loses nothing and a second process sends nothing twice.
    A laptop that slept through many runs wakes to one run (coalesced; no grace
    limit, so it is never skipped as 'missed'), which catches up by SPEC 5's rules."""
    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone=timezone)
    scheduler.add_job(
        run_due,
        IntervalTrigger(seconds=RUN_DUE_INTERVAL_SECONDS, timezone=timezone),
        kwargs={"sessions": sessions, "clock": clock, "sender": sender},
        id="run-due",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
        next_run_time=clock.now(),  # a process that starts catches up at once
    )
    return scheduler
