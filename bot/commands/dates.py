"""Reading and showing dates and times the way a UK partnership board writes them.

Pure functions: "today" is always passed in, so callers and tests own the clock.

Choices worth knowing (the spec left them open):

* A bare weekday ("tuesday") and "next tuesday" both mean the first such day strictly
  after today, so on Monday 13 Apr 2015 both are Tue 14 Apr. On a Monday people say
  "next tuesday" for tomorrow far more often than for the week after, and "tuesday"
  said on a Tuesday nearly always means a week today. "this friday" includes today.
* A date with no year is the next such date on or after today, looking only at this
  year and next: "29 Feb" in a year where neither has one is refused rather than
  silently jumping up to four years ahead.
* A command about a meeting that may have been held already (its minutes, its
  attendance, an interest in one of its items) may also mean the year before
  (`take_meeting_date`).
* A numeric date without a year needs "/" ("21/4"): "16.00" is a time and "2-3" a
  range far more often than they are dates.
* After a month name the year must be four digits starting 19-22, so
  "21 Apr 1600" reads as 21 Apr followed by "1600" (likely a time) in take_date.
* Error messages quote the user's text as typed, control characters replaced; the
  Slack edge escapes &, <, > so echoing "<!channel>" back cannot ping anyone.
"""

from __future__ import annotations

import calendar
import itertools
import re
from collections.abc import Callable
from datetime import date, time, timedelta
from typing import TypeVar

from services.errors import UserError

_T = TypeVar("_T", date, time)

ACCEPTED_DATES = "21/04/2015, 21 Apr 2015, tomorrow, next tuesday or in 2 weeks"
ACCEPTED_TIMES = "16:00, 4pm or 4.30 pm"

MIN_YEAR, MAX_YEAR = 1900, 2200
# Longest real form ("Wednesday 30 September 2015") is ~30 characters; anything far
# longer is a paste or an attack, and refusing it early keeps every path cheap.
_MAX_CHARS = 80
_MAX_DATE_WORDS = 4  # "Tuesday 21 April 2015"
_MAX_TIME_WORDS = 2  # "4.00 pm", "12 noon"
_QUOTE_CHARS = 40

_MONTH_NAMES = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

_MONTHS = {n.lower(): i for i, n in enumerate(_MONTH_NAMES, 1)}
_MONTHS |= {n[:3].lower(): i for i, n in enumerate(_MONTH_NAMES, 1)}
_MONTHS["sept"] = 9
_WEEKDAYS = {n.lower(): i for i, n in enumerate(_DAY_NAMES)}
_WEEKDAYS |= {n[:3].lower(): i for i, n in enumerate(_DAY_NAMES)}
_WEEKDAYS |= {"tues": 1, "weds": 2, "thur": 3, "thurs": 3}
_COUNTS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}

# [0-9], never \d: \d (and int()) also accept Arabic-Indic and other Unicode digits.
# Every quantifier is bounded and there is no nested repetition, so matching is linear.
_DMY = re.compile(r"([0-9]{1,2})([/.-])([0-9]{1,2})(?:\2([0-9]{2}|[0-9]{4}))?", re.ASCII)
_ISO = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})", re.ASCII)
_DATEISH = re.compile(r"[0-9/.-]+", re.ASCII)
_DAY = re.compile(r"([0-9]{1,2})(?:st|nd|rd|th)?", re.ASCII)
_YEAR = re.compile(r"(?:19|2[0-2])[0-9]{2}", re.ASCII)
_NUMBER = re.compile(r"[0-9]{1,4}", re.ASCII)
_TIME = re.compile(r"([0-9]{1,2})(?:[:.]([0-9]{2}))? ?(?:([ap])\.?m\.?)?", re.ASCII)
_WORD = re.compile(r"\S+")


class _Bad(Exception):
    """The words were meant as a date or time but cannot be one; reason says why."""

    def __init__(self, reason: str = "") -> None:
        super().__init__(reason)
        self.reason = reason


def _quote(text: str) -> str:
    text = text.strip()
    shown = "".join(c if c.isprintable() else "?" for c in text[:_QUOTE_CHARS])
    if len(text) > _QUOTE_CHARS:
        shown += "…"
    return shown


def _error(text: str, kind: str, accepted: str, reason: str = "") -> UserError:
    why = f": {reason}" if reason else ""
    return UserError(f"I can't read '{_quote(text)}' as a {kind}{why}. Try {accepted}. Nothing was changed.")


def _words(text: str, kind: str, accepted: str) -> list[str]:
    """Vet a whole-field input and split it into normalised words, or raise."""
    stripped = text.strip()
    if not stripped:
        raise _error(text, kind, accepted, "it is empty")
    if len(stripped) > _MAX_CHARS:
        raise _error(text, kind, accepted, "it is far too long")
    if any(not c.isprintable() and not c.isspace() for c in stripped):
        raise _error(text, kind, accepted, "it contains hidden control characters")
    return [_norm(w) for w in stripped.split()]


def _norm(word: str) -> str:
    # Trailing punctuation ends a clause ("Tue, 21 Apr.", "tomorrow: hospital"); it
    # is never part of a date or time.
    return word.lower().rstrip(".,:;")


class _YearImplied(date):
    """A date read without its year ("10 Feb"), as the next such date: inside this
    module only (`take_meeting_date`); what leaves it is a plain date."""


def _plain(found: date) -> date:
    return date(found.year, found.month, found.day) if type(found) is not date else found


def _in_range(d: date) -> date:
    if not MIN_YEAR <= d.year <= MAX_YEAR:
        raise _Bad(f"I only handle years {MIN_YEAR} to {MAX_YEAR}")
    return d


def _make(year: int, month: int, day: int) -> date:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise _Bad(f"I only handle years {MIN_YEAR} to {MAX_YEAR}")
    if not 1 <= month <= 12:
        raise _Bad(f"there is no month {month}")
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        raise _Bad(f"there is no {day} {_MONTH_NAMES[month - 1]} {year}")
    return date(year, month, day)


def _next(day: int, month: int, today: date) -> date:
    """The first day/month on or after today, this year or next."""
    if not 1 <= month <= 12:
        raise _Bad(f"there is no month {month}")
    name = _MONTH_NAMES[month - 1]
    if not 1 <= day <= calendar.monthrange(2000, month)[1]:  # 2000: leap, so the max
        raise _Bad(f"there is no {day} {name}")
    for year in (today.year, today.year + 1):
        if day <= calendar.monthrange(year, month)[1] and date(year, month, day) >= today:
            found = _in_range(date(year, month, day))
            return _YearImplied(found.year, found.month, found.day)
    raise _Bad(f"there is no {day} {name} in the coming year, so please give the year")


def _numeric(word: str, today: date) -> date | None:
    if m := _ISO.fullmatch(word):
        return _make(int(m[1]), int(m[2]), int(m[3]))
    if m := _DMY.fullmatch(word):
        day, sep, month, year = int(m[1]), m[2], int(m[3]), m[4]
        if year is None:
            return _next(day, month, today) if sep == "/" else None
        full = int(year) if len(year) == 4 else int(year) + (2000 if int(year) < 70 else 1900)
        return _make(full, month, day)
    # Digits and separators that fit no form (21/04/201, 1/2/3/4) were still clearly
    # meant as a date; refusing them stops take_date filing them as reason text.
    if _DATEISH.fullmatch(word) and ("/" in word or sum(c in "/.-" for c in word) >= 2):
        raise _Bad()
    return None


def _absolute(words: list[str], today: date) -> date | None:
    if len(words) == 1:
        return _numeric(words[0], today)
    if len(words) in (2, 3) and (m := _DAY.fullmatch(words[0])) and words[1] in _MONTHS:
        day, month = int(m[1]), _MONTHS[words[1]]
        if len(words) == 2:
            return _next(day, month, today)
        if _YEAR.fullmatch(words[2]):
            return _make(int(words[2]), month, day)
    return None


def _add_months(d: date, n: int) -> date:
    index = d.month - 1 + n
    year, month = d.year + index // 12, index % 12 + 1
    if year > MAX_YEAR:  # checked first: "in 9999 months" would overflow date itself
        raise _Bad(f"I only handle years {MIN_YEAR} to {MAX_YEAR}")
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _relative(words: list[str], today: date) -> date | None:
    if len(words) == 1:
        word = words[0]
        shift = {"today": 0, "tomorrow": 1, "yesterday": -1}.get(word)
        if shift is not None:
            return today + timedelta(days=shift)
        if word in _WEEKDAYS:
            return today + timedelta(days=(_WEEKDAYS[word] - today.weekday() - 1) % 7 + 1)
    if len(words) == 2 and words[0] in ("next", "this") and words[1] in _WEEKDAYS:
        ahead = (_WEEKDAYS[words[1]] - today.weekday()) % 7
        if words[0] == "next" and ahead == 0:
            ahead = 7
        return today + timedelta(days=ahead)
    if len(words) == 3 and words[0] == "in":
        count = _COUNTS.get(words[1])
        if count is None and _NUMBER.fullmatch(words[1]):
            count = int(words[1])
        unit = words[2].removesuffix("s")
        if count is None or unit not in ("day", "week", "month"):
            return None
        if unit == "month":
            return _add_months(today, count)
        return today + timedelta(days=count * (7 if unit == "week" else 1))
    return None


def _read(words: list[str], today: date) -> date | None:
    """A date if the words are exactly one; None if they are not a date at all;
    _Bad if they were plainly meant as one but cannot be."""
    words = [w for w in words if w]
    if not words:
        return None
    if (found := _relative(words, today)) is not None:
        return _in_range(found)
    wanted = None
    if len(words) > 1 and words[0] in _WEEKDAYS:
        wanted, words = _WEEKDAYS[words[0]], words[1:]
    found = _absolute(words, today)
    if found is not None and wanted is not None and found.weekday() != wanted:
        short = f"{found.day} {_MONTH_NAMES[found.month - 1][:3]} {found.year}"
        raise _Bad(f"{short} is a {_DAY_NAMES[found.weekday()]}, not a {_DAY_NAMES[wanted]}")
    return found


def _read_time(words: list[str]) -> time | None:
    joined = " ".join(w for w in words if w)
    if joined in ("noon", "midday", "12 noon"):
        return time(12, 0)
    m = _TIME.fullmatch(joined)
    if not m or (m[2] is None and m[3] is None):  # a bare "4" is a count, not a time
        return None
    hour, minute = int(m[1]), int(m[2] or 0)
    if m[3]:
        if not 1 <= hour <= 12:
            raise _Bad(f"with am or pm the hour must be 1 to 12, not {hour}")
        hour = hour % 12 + (12 if m[3] == "p" else 0)
    elif hour > 23:
        raise _Bad(f"the hour must be 0 to 23, not {hour} (use 00:00 for midnight)")
    if minute > 59:
        raise _Bad(f"the minutes must be 00 to 59, not {minute}")
    return time(hour, minute)


def parse_date(text: str, *, today: date) -> date:
    """Read the whole of text as a date, or raise UserError saying what is accepted."""
    words = _words(text, "date", ACCEPTED_DATES)
    try:
        found = _read(words, today)
    except _Bad as bad:
        raise _error(text, "date", ACCEPTED_DATES, bad.reason) from None
    if found is None:
        raise _error(text, "date", ACCEPTED_DATES)
    return _plain(found)


# When an action is due, as minutes write it (`parse_due`).
ACCEPTED_DUES = "21/04/2015, 21 Apr, by Friday, end of April, w/c 20 April or in 2 weeks"
_WEEK_OF = {"w/c", "wc", "w/b", "wb"}
_WEEK_STARTING = {"commencing", "beginning", "starting", "of"}  # after "week"
_NO_DAY = {"ongoing", "asap", "tbc", "tba", "tbd", "immediately", "immediate", "n/a", "various", "continuous"}


def parse_due(text: str, *, today: date) -> date:
    """When an action is due, read as minutes write it: any date `parse_date`
    reads, after `by` too ("by 20 April"); a month ("April", "April 2015", "end
    of April"), by its last weekday; a week ("w/c 20 April", "week commencing
    20/4"), by its Friday. A month or week without its year is the next one
    that has not ended. What names no day ("Ongoing", "ASAP") is refused."""
    words = _words(text, "due date", ACCEPTED_DUES)
    try:
        found = _read_due([w for w in words if w], today)
    except _Bad as bad:
        raise _error(text, "due date", ACCEPTED_DUES, bad.reason) from None
    if found is None:
        raise _error(text, "due date", ACCEPTED_DUES)
    return _plain(found)


def _read_due(words: list[str], today: date) -> date | None:
    if words[:1] == ["by"]:
        words = words[1:]
    if " ".join(words) in _NO_DAY:
        raise _Bad("an action needs the day it is due by")
    if (found := _read(words, today)) is not None:
        return found
    if words[:1] and words[0] in _WEEK_OF:
        return _week_of(words[1:], today)
    if len(words) > 2 and words[0] == "week" and words[1] in _WEEK_STARTING:
        return _week_of(words[2:], today)
    return _month_end(words, today)


def _week_of(words: list[str], today: date) -> date:
    start = _read(words, today)
    if start is None:
        raise _Bad("say which week by a day in it, e.g. w/c 20 April")
    return start + timedelta(days=(4 - start.weekday()) % 7)  # the Friday on or after it


def _month_end(words: list[str], today: date) -> date | None:
    for lead in (["the", "end", "of"], ["end", "of"], ["end"]):  # "by" is already taken off
        if words[: len(lead)] == lead:
            words = words[len(lead) :]
            break
    if not 1 <= len(words) <= 2 or words[0] not in _MONTHS:
        return None
    month = _MONTHS[words[0]]
    if len(words) == 2:
        if not _YEAR.fullmatch(words[1]):
            return None
        year = int(words[1])
    else:
        year = today.year if month >= today.month else today.year + 1
    last = _make(year, month, calendar.monthrange(year, month)[1])
    return last - timedelta(days=max(0, last.weekday() - 4))  # its last weekday, as its week ends on a Friday


def parse_time(text: str) -> time:
    """Read the whole of text as a time of day, or raise UserError."""
    words = _words(text, "time", ACCEPTED_TIMES)
    try:
        found = _read_time(words)
    except _Bad as bad:
        raise _error(text, "time", ACCEPTED_TIMES, bad.reason) from None
    if found is None:
        raise _error(text, "time", ACCEPTED_TIMES)
    return found


def _take(
    text: str, most: int, read: Callable[[list[str]], _T | None], kind: str, accepted: str
) -> tuple[_T | None, str]:
    # Only the first few words can be a date or time, so a 100k-character reason
    # costs one lazy scan, never a parse of the whole thing.
    spans = list(itertools.islice(_WORD.finditer(text), most))
    for k in range(len(spans), 0, -1):
        try:
            found = read([_norm(m[0]) for m in spans[:k]])
        except _Bad as bad:
            raise _error(text[spans[0].start() : spans[k - 1].end()], kind, accepted, bad.reason) from None
        if found is not None:
            return found, text[spans[k - 1].end() :].strip()
    return None, text.strip()


def take_date(text: str, *, today: date) -> tuple[date | None, str]:
    """Split a leading date (the longest run of words that reads as one) off text.

    Returns (None, text stripped) when the text does not start with a date; raises
    UserError when it starts with something plainly meant as a date that cannot be.
    """
    found, rest = _take(text, _MAX_DATE_WORDS, lambda w: _read(w, today), "date", ACCEPTED_DATES)
    return (None if found is None else _plain(found)), rest


def take_meeting_date(text: str, *, today: date) -> tuple[tuple[date, ...], str]:
    """`take_date` for a meeting that may be over (its minutes, its attendance):
    the days the leading date may mean, the nearer to today first. A date typed
    without its year is the next such day or the one a year before ("10 Feb"
    typed in April: February's, two months ago); any other, the one day. None
    when the text does not start with a date."""
    found, rest = _take(text, _MAX_DATE_WORDS, lambda w: _read(w, today), "date", ACCEPTED_DATES)
    if found is None:
        return (), rest
    day = _plain(found)
    if not isinstance(found, _YearImplied):
        return (day,), rest
    try:
        before = date(day.year - 1, day.month, day.day)
    except ValueError:  # 29 February
        return (day,), rest
    return tuple(sorted((day, before), key=lambda d: abs(d - today))), rest


def take_time(text: str) -> tuple[time | None, str]:
    """Split a leading time off text, as take_date does for dates."""
    return _take(text, _MAX_TIME_WORDS, _read_time, "time", ACCEPTED_TIMES)
