"""How the board sees dates and times: `Tue 21 Apr 2015`, `16:00`.

Built from our own names rather than strftime, so the output ignores the
server's locale."""

from __future__ import annotations

from datetime import date, datetime, time

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def format_date(d: date) -> str:
    return f"{_DAYS[d.weekday()]} {d.day} {_MONTHS[d.month - 1]} {d.year}"


def format_time(t: time | datetime) -> str:
    """24-hour, seconds dropped."""
    return f"{t.hour:02d}:{t.minute:02d}"


def format_times(start: datetime, end: datetime, *, to: str = "–") -> str:
    """Two local times, "16:00–17:30"; across the clocks changing, each with its
    zone ("01:30 BST–02:00 GMT"), so that a meeting does not look half as long as it is."""
    if start.utcoffset() != end.utcoffset():
        return f"{format_time(start)} {start.tzname()}{to}{format_time(end)} {end.tzname()}"
    return f"{format_time(start)}{to}{format_time(end)}"


def format_when(local: datetime) -> str:
    """A local datetime as `Tue 21 Apr 2015, 16:00`."""
    return f"{format_date(local.date())}, {format_time(local)}"
