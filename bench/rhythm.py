"""The generated partnership's groups and when each meets: the board 5 times a
year, the executive and the implementation group monthly, three task-and-finish
groups every two or three months, each on its own weekday of the month."""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, time


@dataclass(frozen=True)
class Rhythm:
    """A group and when it meets: the nth `weekday` (-1: the last) of `months`."""

    slug: str
    name: str
    abbreviation: str
    start: time
    minutes: int
    months: tuple[int, ...]
    weekday: int
    nth: int
    size: int  # members at scale 1

    def days(self, first: date, last: date) -> Iterator[date]:
        """The days it meets, month by month from `first`'s month to `last`'s."""
        return _days(self, first, last)


EVERY_MONTH = tuple(range(1, 13))
GROUPS = (
    Rhythm("board", "County Public Service Reform Board", "CPSRB", time(16), 90, (1, 3, 6, 9, 12), 1, 3, 40),
    Rhythm("executive", "Partnership Executive", "PEX", time(10), 60, EVERY_MONTH, 2, 1, 20),
    Rhythm("implementation", "Implementation Group", "PIG", time(14), 120, EVERY_MONTH, 3, 2, 60),
    Rhythm(
        "wellbeing", "Health and Wellbeing Task Group", "HWTG", time(13), 90, (1, 3, 5, 7, 9, 11), 0, 2, 40
    ),
    Rhythm("assets", "Integrated Assets Task Group", "IATG", time(11), 60, (2, 5, 8, 11), 1, 4, 35),
    Rhythm("digital", "Digital Inclusion Task Group", "DITG", time(10), 60, (2, 4, 6, 8, 10, 12), 4, -1, 40),
)


def _days(rhythm: Rhythm, first: date, last: date) -> Iterator[date]:
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        if month in rhythm.months:
            yield _nth_weekday(year, month, rhythm.weekday, rhythm.nth)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def _nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    days = [
        d
        for d in range(1, calendar.monthrange(year, month)[1] + 1)
        if date(year, month, d).weekday() == weekday
    ]
    return date(year, month, days[nth - 1] if nth > 0 else days[nth])
