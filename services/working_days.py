"""Working days: no reminder about actions or agendas on a weekend or on a bank
holiday of the partnership's nation (SPEC 5). The bank holidays come from the
`holidays` library, never from a hand-kept list.

The library's countries are imported with this module, when a process that
runs the scheduled work starts (0.1 to 0.2 s: the library imports every
country at once), rather than in the first run that asks about a day."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays
from holidays.countries.united_kingdom import UnitedKingdom

# The partnership file's `holidays:` values, as the library's subdivisions of GB.
NATIONS = {"england-and-wales": "ENG", "scotland": "SCT", "northern-ireland": "NIR"}


@lru_cache(maxsize=len(NATIONS))
def _bank_holidays(nation: str) -> holidays.HolidayBase:
    # The library fills in each year the first time a date in it is asked about.
    return UnitedKingdom(subdiv=NATIONS[nation])


class WorkingDays:
    """Which days are working days for a partnership's nation."""

    def __init__(self, nation: str = "england-and-wales") -> None:
        if nation not in NATIONS:
            raise ValueError(f"unknown bank holidays {nation!r}: expected one of {', '.join(NATIONS)}")
        self._holidays = _bank_holidays(nation)
        self._working: dict[date, bool] = {}  # a run asks about the same few weeks thousands of times

    def is_working(self, day: date) -> bool:
        working = self._working.get(day)
        if working is None:
            working = self._working[day] = day.weekday() < 5 and day not in self._holidays
        return working

    def why_not_working(self, day: date) -> str | None:
        """Why `day` is not a working day ("a Saturday", "a bank holiday: Boxing
        Day (substitute day)"), or None if it is one."""
        if day.weekday() >= 5:
            return f"a {day.strftime('%A')}"
        name = self._holidays.get(day)
        if not name:
            return None
        # The library's "(observed)" is what GOV.UK calls a substitute day.
        return "a bank holiday: " + str(name).replace("(observed)", "(substitute day)")

    def on_or_before(self, day: date) -> date:
        """The day itself if it is a working day, else the working day before it."""
        while not self.is_working(day):
            day -= timedelta(days=1)
        return day

    def on_or_after(self, day: date) -> date:
        """The day itself if it is a working day, else the next working day."""
        while not self.is_working(day):
            day += timedelta(days=1)
        return day
