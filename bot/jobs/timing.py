"""When a run happens and what counts as due at it (SPEC 5): 09:00 local on a
message's day, caught up after downtime for at most 7 days (a digest for at
most 12 hours)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cached_property
from zoneinfo import ZoneInfo

from services.working_days import WorkingDays

REMINDER_TIME = time(9, 0)
CATCH_UP = timedelta(days=7)  # nothing older than this is sent after downtime
DIGEST_CATCH_UP = timedelta(hours=12)


@dataclass(frozen=True)
class Run:
    """One run of the schedule: its instant, the partnership's zone and working days."""

    now: datetime  # aware, UTC
    zone: ZoneInfo
    days: WorkingDays
    # Whether 09:00 on a day is due, by day: asked about every open action each run.
    _due_on: dict[date, bool] = field(default_factory=dict, init=False, repr=False, compare=False)

    @cached_property
    def local_now(self) -> datetime:
        return self.now.astimezone(self.zone)

    @cached_property
    def today(self) -> date:
        return self.local_now.date()

    @property
    def is_working_day(self) -> bool:
        """Reminders about actions and agendas go out on working days only, even
        when they are caught up after downtime."""
        return self.days.is_working(self.today)

    def at(self, day: date, moment: time = REMINDER_TIME) -> datetime:
        """That local wall-clock time on that day, whatever the clock change."""
        return datetime.combine(day, moment, self.zone)

    def is_due(self, instant: datetime, catch_up: timedelta = CATCH_UP) -> bool:
        """Due now: its time has come, and not so long ago that it is stale."""
        return self.now - catch_up < instant <= self.now

    def is_due_on(self, day: date) -> bool:
        """Due at 09:00 on that local day."""
        due = self._due_on.get(day)
        if due is None:
            due = self._due_on[day] = self.is_due(self.at(day))
        return due
