"""APScheduler wiring: the clock's requests to the jobs, with the zone in one place."""

from __future__ import annotations

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session, sessionmaker

from bot.jobs.deliveries import Sender
from bot.jobs.run_due import run_due
from services.clock import Clock

DELIVERY_INTERVAL_SECONDS = 30


def create_scheduler(
    *,
    sessions: sessionmaker[Session],
    clock: Clock,
    sender: Sender,
    timezone: str,
    blocking: bool = False,
) -> BackgroundScheduler | BlockingScheduler:
    """A scheduler that runs everything due. Nothing is stored in APScheduler:
    what is due is worked out from the database each time, so a restart loses
    nothing and a second process sends nothing twice."""
    scheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone=timezone)
    scheduler.add_job(
        run_due,
        IntervalTrigger(seconds=DELIVERY_INTERVAL_SECONDS, timezone=timezone),
        kwargs={"sessions": sessions, "clock": clock, "sender": sender},
        id="run-due",
        max_instances=1,
        coalesce=True,
    )
    return scheduler
