"""Tests for bot.commands.dates: UK day-first dates, times, and their error messages."""

from __future__ import annotations

import calendar
import time as clock
from datetime import date, datetime, time, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.commands.dates import (
    ACCEPTED_DATES,
    ACCEPTED_TIMES,
    parse_date,
    parse_due,
    parse_time,
    take_date,
    take_meeting_date,
    take_time,
)
from services.dates import format_date, format_time, format_when
from services.errors import UserError

MONDAY = date(2015, 4, 13)  # the fixed "today" for most tables
D = date


# --- parse_date: every accepted form ---------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        # numeric, day-first
        ("21/04/2015", D(2015, 4, 21)),
        ("21/4/15", D(2015, 4, 21)),
        ("21.04.15", D(2015, 4, 21)),
        ("21.04.2015", D(2015, 4, 21)),
        ("21-04-2015", D(2015, 4, 21)),
        ("1/2/2015", D(2015, 2, 1)),  # day-first: 1 February, not 2 January
        ("2015-04-21", D(2015, 4, 21)),
        ("2015-4-1", D(2015, 4, 1)),
        # two-digit years pivot at 70
        ("1/1/00", D(2000, 1, 1)),
        ("1/1/69", D(2069, 1, 1)),
        ("1/1/70", D(1970, 1, 1)),
        ("1/1/99", D(1999, 1, 1)),
        # numeric with no year: next such date on or after today
        ("21/4", D(2015, 4, 21)),
        ("13/4", D(2015, 4, 13)),
        ("12/4", D(2016, 4, 12)),
        # month names
        ("21 April 2015", D(2015, 4, 21)),
        ("21 Apr 2015", D(2015, 4, 21)),
        ("21 apr", D(2015, 4, 21)),
        ("21 Sept", D(2015, 9, 21)),
        ("21 sep 2016", D(2016, 9, 21)),
        ("1 January", D(2016, 1, 1)),
        ("21st April", D(2015, 4, 21)),
        ("2nd May 2015", D(2015, 5, 2)),
        ("21 Apr. 2015", D(2015, 4, 21)),
        # weekday prefixes
        ("Tue 21 Apr", D(2015, 4, 21)),
        ("Tue 21 Apr 2015", D(2015, 4, 21)),
        ("Tuesday 21 April 2015", D(2015, 4, 21)),
        ("Tue, 21 Apr", D(2015, 4, 21)),
        ("Tues 21/04/2015", D(2015, 4, 21)),
        ("Thurs 23 Apr", D(2015, 4, 23)),
        # case, surrounding whitespace, trailing punctuation
        ("  21 APR 2015  ", D(2015, 4, 21)),
        ("21 April 2015.", D(2015, 4, 21)),
        ("21/04/2015,", D(2015, 4, 21)),
        ("TOMORROW.", D(2015, 4, 14)),
        ("\t21\u00a0Apr\n", D(2015, 4, 21)),  # tab, no-break space, newline are whitespace
        # relative words
        ("today", MONDAY),
        ("tomorrow", D(2015, 4, 14)),
        ("yesterday", D(2015, 4, 12)),
        # bare weekday and "next": strictly after today
        ("tuesday", D(2015, 4, 14)),
        ("monday", D(2015, 4, 20)),
        ("sun", D(2015, 4, 19)),
        ("Tue", D(2015, 4, 14)),
        ("next tuesday", D(2015, 4, 14)),
        ("next monday", D(2015, 4, 20)),
        ("Next Friday", D(2015, 4, 17)),
        # "this": on or after today
        ("this monday", MONDAY),
        ("this friday", D(2015, 4, 17)),
        # "in N units"
        ("in 3 days", D(2015, 4, 16)),
        ("in 1 day", D(2015, 4, 14)),
        ("in 0 days", MONDAY),
        ("in 2 weeks", D(2015, 4, 27)),
        ("in a week", D(2015, 4, 20)),
        ("in two weeks", D(2015, 4, 27)),
        ("in 1 month", D(2015, 5, 13)),
        ("in 12 months", D(2016, 4, 13)),
    ],
)
def test_parse_date_accepts(text: str, expected: date) -> None:
    assert parse_date(text, today=MONDAY) == expected


@pytest.mark.parametrize(
    "today, text, expected",
    [
        # year rollover for dates with no year
        (D(2015, 12, 20), "5 Jan", D(2016, 1, 5)),
        (D(2015, 12, 20), "5/1", D(2016, 1, 5)),
        (D(2015, 12, 20), "20 Dec", D(2015, 12, 20)),
        (D(2015, 12, 20), "19 Dec", D(2016, 12, 19)),
        (D(2015, 12, 20), "Tue 5 Jan", D(2016, 1, 5)),
        (D(2015, 12, 31), "tomorrow", D(2016, 1, 1)),
        (D(2016, 1, 1), "yesterday", D(2015, 12, 31)),
        # 29 February with no year: the next one, if within the coming year
        (D(2015, 4, 13), "29 Feb", D(2016, 2, 29)),
        (D(2016, 2, 29), "29/2", D(2016, 2, 29)),
        # months clamp to the end of a shorter month
        (D(2015, 1, 31), "in 1 month", D(2015, 2, 28)),
        (D(2016, 1, 31), "in 1 month", D(2016, 2, 29)),
        (D(2015, 3, 31), "in a month", D(2015, 4, 30)),
        (D(2015, 12, 31), "in 13 months", D(2017, 1, 31)),
        (D(2015, 11, 15), "in 2 months", D(2016, 1, 15)),
        # weekdays across a year end
        (D(2015, 12, 31), "next monday", D(2016, 1, 4)),  # 31 Dec 2015 was a Thursday
        (D(2015, 12, 31), "this thursday", D(2015, 12, 31)),
        (D(2015, 12, 31), "thursday", D(2016, 1, 7)),
    ],
)
def test_parse_date_relative_to_today(today: date, text: str, expected: date) -> None:
    assert parse_date(text, today=today) == expected


def test_leap_day_with_explicit_year() -> None:
    assert parse_date("29/02/2016", today=MONDAY) == D(2016, 2, 29)
    assert parse_date("29/02/2000", today=MONDAY) == D(2000, 2, 29)  # 400-year rule
    with pytest.raises(UserError, match="there is no 29 February 2015"):
        parse_date("29/02/2015", today=MONDAY)
    with pytest.raises(UserError, match="there is no 29 February 2100"):
        parse_date("29 Feb 2100", today=MONDAY)  # 100-year rule


# --- parse_date: refusals ------------------------------------------------------------


def test_impossible_date_message_matches_spec_exactly() -> None:
    with pytest.raises(UserError) as caught:
        parse_date("31/02/2015", today=MONDAY)
    assert caught.value.message == (
        "I can't read '31/02/2015' as a date: there is no 31 February 2015. "
        "Try 21/04/2015, 21 Apr 2015, tomorrow, next tuesday or in 2 weeks. "
        "Nothing was changed."
    )


def test_unreadable_date_message_matches_spec() -> None:
    with pytest.raises(UserError) as caught:
        parse_date("blah", today=MONDAY)
    assert caught.value.message == (
        f"I can't read 'blah' as a date. Try {ACCEPTED_DATES}. Nothing was changed."
    )


@pytest.mark.parametrize(
    "text, reason",
    [
        ("31/02/2015", "there is no 31 February 2015"),
        ("29/02/2015", "there is no 29 February 2015"),
        ("0/1/2015", "there is no 0 January 2015"),
        ("32/1/2015", "there is no 32 January 2015"),
        ("31/04/15", "there is no 31 April 2015"),
        ("31 Apr 2015", "there is no 31 April 2015"),
        ("31 June", "there is no 31 June"),
        ("31/4", "there is no 31 April"),
        ("0 May", "there is no 0 May"),
        ("1/13/2015", "there is no month 13"),
        ("1/0/2015", "there is no month 0"),
        ("2015-02-30", "there is no 30 February 2015"),
        ("2015-13-01", "there is no month 13"),
        ("21/04/1800", "I only handle years 1900 to 2200"),
        ("21/04/2201", "I only handle years 1900 to 2200"),
        ("1 Jan 2299", "I only handle years 1900 to 2200"),
        ("in 9999 weeks", "I only handle years 1900 to 2200"),
        ("in 9999 months", "I only handle years 1900 to 2200"),
        ("Wed 21 Apr 2015", "21 Apr 2015 is a Tuesday, not a Wednesday"),
        ("Wednesday, 21 April 2015", "21 Apr 2015 is a Tuesday, not a Wednesday"),
        ("Wed 21 Apr", "21 Apr 2015 is a Tuesday, not a Wednesday"),
        ("Mon 21/04/2015", "21 Apr 2015 is a Tuesday, not a Monday"),
        ("", "it is empty"),
        ("   ", "it is empty"),
    ],
)
def test_parse_date_refuses_impossible(text: str, reason: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_date(text, today=MONDAY)
    message = caught.value.message
    assert f": {reason}" in message
    assert f"Try {ACCEPTED_DATES}." in message
    assert message.endswith("Nothing was changed.")


def test_29_february_without_year_refused_when_none_in_coming_year() -> None:
    with pytest.raises(UserError, match="give the year"):
        parse_date("29 Feb", today=D(2016, 3, 1))


@pytest.mark.parametrize(
    "text",
    [
        "blah",
        "21",
        "April",
        "21 Smarch 2015",
        "next",
        "next week",
        "this",
        "in weeks",
        "in 2 fortnights",
        "in -1 days",
        "in 2.5 weeks",
        "21/04/201",
        "21/04.2015",
        "2015/04/21",
        "21.4",
        "21-4",
        "16.00",
        "21 Apr 1800",
        "21 Apr 15",
        "tue tomorrow",
        "in tuesday",
        "this 21 Apr",
        "21 Apr 2015 2015",
        "1/2/3/4",
        "tomorrow tomorrow",
        "٢١/٠٤/٢٠١٥",  # Arabic-Indic digits: not what a UK board types
    ],
)
def test_parse_date_refuses_unreadable(text: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_date(text, today=MONDAY)
    assert f"Try {ACCEPTED_DATES}. Nothing was changed." in caught.value.message


# --- hostile input ---------------------------------------------------------------------

HOSTILE = [
    "<!channel>",
    "<!here> 21 Apr",
    "\x00",
    "21/04/2015\x00",
    "21\u200bApr",  # zero-width space is not whitespace and not printable
    "\x1b[31m21 Apr",
    "1" * 5000,  # beyond Python's int-from-str digit limit if ever converted
    "9" * 5000 + "/1/2015",
    "100000".join(["in ", " days"]),
    "in 99999999999999999999 days",
    100_000 * "1/",
    100_000 * "a",
    100_000 * " ",
    "21 " * 50_000,
]


@pytest.mark.parametrize("text", HOSTILE, ids=lambda t: repr(t[:20]))
def test_hostile_dates_refused_quickly_and_safely(text: str) -> None:
    start = clock.perf_counter()
    with pytest.raises(UserError) as caught:
        parse_date(text, today=MONDAY)
    assert clock.perf_counter() - start < 0.5
    message = caught.value.message
    assert len(message) < 300  # the echo of the input is truncated
    assert all(c.isprintable() for c in message)


@pytest.mark.parametrize("text", HOSTILE, ids=lambda t: repr(t[:20]))
def test_hostile_times_refused_quickly_and_safely(text: str) -> None:
    start = clock.perf_counter()
    with pytest.raises(UserError) as caught:
        parse_time(text)
    assert clock.perf_counter() - start < 0.5
    assert len(caught.value.message) < 300
    assert all(c.isprintable() for c in caught.value.message)


@pytest.mark.parametrize("text", ["\x00", "21/04/2015\x00", "21\u200bApr", "\x1b[31m21 Apr"])
def test_control_characters_named_in_message(text: str) -> None:
    with pytest.raises(UserError, match="hidden control characters"):
        parse_date(text, today=MONDAY)
    with pytest.raises(UserError, match="hidden control characters"):
        parse_time(text)


def test_the_refusal_quotes_what_was_typed_for_the_front_end_to_escape() -> None:
    with pytest.raises(UserError) as caught:
        parse_date("<!channel>", today=MONDAY)
    assert "'<!channel>'" in caught.value.message


def test_long_input_is_truncated_in_message() -> None:
    with pytest.raises(UserError) as caught:
        parse_date(100_000 * "1/", today=MONDAY)
    assert "'1/1/1/" in caught.value.message
    assert "…'" in caught.value.message
    assert "far too long" in caught.value.message


# --- take_date -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("21 Apr Off sick", (D(2015, 4, 21), "Off sick")),
        ("Off sick", (None, "Off sick")),
        ("tomorrow  hospital appointment", (D(2015, 4, 14), "hospital appointment")),
        ("  Tue 21 Apr 2015   away at conference ", (D(2015, 4, 21), "away at conference")),
        ("Tuesday, 21 April 2015. Leave", (D(2015, 4, 21), "Leave")),
        ("21 Apr, then leave", (D(2015, 4, 21), "then leave")),
        ("21 Apr 2016 training", (D(2016, 4, 21), "training")),
        ("21/04/2015", (D(2015, 4, 21), "")),
        ("next tuesday on leave", (D(2015, 4, 14), "on leave")),
        ("Tuesday sick", (D(2015, 4, 14), "sick")),
        ("in 2 weeks time", (D(2015, 4, 27), "time")),
        ("in a week: holiday", (D(2015, 4, 20), "holiday")),
        ("21 Apr 1600 board", (D(2015, 4, 21), "1600 board")),  # 1600 is not a year
        ("21/4 16:00", (D(2015, 4, 21), "16:00")),
        ("today\nline two", (MONDAY, "line two")),
        ("tomorrow: hospital", (D(2015, 4, 14), "hospital")),
        ("", (None, "")),
        ("   ", (None, "")),
        ("May I be excused", (None, "May I be excused")),
        ("3 people off", (None, "3 people off")),
        ("today's meeting clashes", (None, "today's meeting clashes")),
        ("next week holiday", (None, "next week holiday")),
        ("1.5 hours late", (None, "1.5 hours late")),
        ("16.00 meeting", (None, "16.00 meeting")),
        ("2-3 days", (None, "2-3 days")),
        ("<!channel> ping", (None, "<!channel> ping")),
        ("\x00 hi", (None, "\x00 hi")),
    ],
)
def test_take_date(text: str, expected: tuple[date | None, str]) -> None:
    assert take_date(text, today=MONDAY) == expected


@pytest.mark.parametrize(
    "text, reason",
    [
        ("31/02/2015 sick", "there is no 31 February 2015"),
        ("31 Apr sick", "there is no 31 April"),
        ("Wed 21 Apr 2015 sick", "is a Tuesday, not a Wednesday"),
        ("Wed 21 Apr sick", "is a Tuesday, not a Wednesday"),
        ("21/13 sick", "there is no month 13"),
        ("21/04/201 sick", ""),
        ("1/2/3/4 sick", ""),
    ],
)
def test_take_date_refuses_impossible_leading_date(text: str, reason: str) -> None:
    with pytest.raises(UserError) as caught:
        take_date(text, today=MONDAY)
    message = caught.value.message
    assert reason in message
    assert "sick" not in message  # only the date part is quoted back
    assert "Nothing was changed." in message


def test_take_date_on_huge_text_is_fast() -> None:
    start = clock.perf_counter()
    assert take_date("x" * 100_000, today=MONDAY) == (None, "x" * 100_000)
    reason = "sick " * 20_000
    assert take_date("21 Apr " + reason, today=MONDAY) == (D(2015, 4, 21), reason.strip())
    with pytest.raises(UserError):
        take_date(100_000 * "1/" + " sick", today=MONDAY)
    assert clock.perf_counter() - start < 1


# --- times -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("21/04/2015", date(2015, 4, 21)),  # every date parse_date reads
        ("next tuesday", date(2015, 4, 14)),
        ("by 20 April", date(2015, 4, 20)),
        ("by Friday", date(2015, 4, 17)),
        ("April", date(2015, 4, 30)),  # a month: its last weekday; this one has not ended
        ("March", date(2016, 3, 31)),  # ... this one has
        ("June 2015", date(2015, 6, 30)),
        ("end of June", date(2015, 6, 30)),
        ("by the end of Feb 2016", date(2016, 2, 29)),
        ("End May.", date(2015, 5, 29)),  # its last weekday: 31 May 2015 is a Sunday
        ("w/c 20 April", date(2015, 4, 24)),  # a week: its Friday
        ("W/C 20/4", date(2015, 4, 24)),
        ("week commencing Wed 22 Apr", date(2015, 4, 24)),
        ("week beginning 27.04.15", date(2015, 5, 1)),
    ],
)
def test_parse_due_reads_what_minutes_write(text: str, expected: date) -> None:
    assert parse_due(text, today=MONDAY) == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("Ongoing", "an action needs the day it is due by"),
        ("ASAP", "an action needs the day it is due by"),
        ("TBC", "an action needs the day it is due by"),
        ("w/c soon", "say which week by a day in it"),
        ("end of Smarch", "Try 21/04/2015, 21 Apr, by Friday, end of April, w/c 20 April or in 2 weeks"),
        ("June 1600", "Try 21/04/2015"),
        ("31/02/2015", "there is no 31 February 2015"),
        ("", "it is empty"),
    ],
)
def test_parse_due_refuses_what_names_no_day(text: str, says: str) -> None:
    with pytest.raises(UserError) as refused:
        parse_due(text, today=MONDAY)
    assert says in refused.value.message and refused.value.message.endswith("Nothing was changed.")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("16:00", time(16, 0)),
        ("16.00", time(16, 0)),
        ("4pm", time(16, 0)),
        ("4 pm", time(16, 0)),
        ("4.00 pm", time(16, 0)),
        ("4:30pm", time(16, 30)),
        ("4:30 PM", time(16, 30)),
        ("4 p.m.", time(16, 0)),
        ("9am", time(9, 0)),
        ("09:05", time(9, 5)),
        (" 9:05. ", time(9, 5)),
        ("0:00", time(0, 0)),
        ("23:59", time(23, 59)),
        ("12am", time(0, 0)),
        ("12:30 am", time(0, 30)),
        ("12pm", time(12, 0)),
        ("noon", time(12, 0)),
        ("Midday", time(12, 0)),
        ("12 noon", time(12, 0)),
    ],
)
def test_parse_time_accepts(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    "text, reason",
    [
        ("24:00", "the hour must be 0 to 23"),
        ("25.30", "the hour must be 0 to 23"),
        ("13pm", "with am or pm the hour must be 1 to 12"),
        ("0am", "with am or pm the hour must be 1 to 12"),
        ("16:00 pm", "with am or pm the hour must be 1 to 12"),
        ("16:60", "the minutes must be 00 to 59"),
        ("", "it is empty"),
        ("4", ""),
        ("1600", ""),
        ("4:5", ""),
        ("16:00:00", ""),
        ("teatime", ""),
        ("4 o'clock", ""),
    ],
)
def test_parse_time_refuses(text: str, reason: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_time(text)
    message = caught.value.message
    assert reason in message
    assert message.endswith(f"Try {ACCEPTED_TIMES}. Nothing was changed.")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("16:00 in the hall", (time(16, 0), "in the hall")),
        ("4 pm in the hall", (time(16, 0), "in the hall")),
        ("4.00 pm, room 2", (time(16, 0), "room 2")),
        ("noon lunch", (time(12, 0), "lunch")),
        ("12 noon lunch", (time(12, 0), "lunch")),
        ("meeting at 4pm", (None, "meeting at 4pm")),
        ("4 people", (None, "4 people")),
        ("", (None, "")),
    ],
)
def test_take_time(text: str, expected: tuple[time | None, str]) -> None:
    assert take_time(text) == expected


@pytest.mark.parametrize("text", ["25:00 meeting", "13pm meeting", "24:00"])
def test_take_time_refuses_impossible_leading_time(text: str) -> None:
    with pytest.raises(UserError, match="Nothing was changed"):
        take_time(text)


# --- formatting ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (D(2015, 4, 21), "Tue 21 Apr 2015"),
        (D(2015, 4, 5), "Sun 5 Apr 2015"),
        (D(2015, 9, 30), "Wed 30 Sep 2015"),
        (D(2100, 12, 31), "Fri 31 Dec 2100"),
    ],
)
def test_format_date(value: date, expected: str) -> None:
    assert format_date(value) == expected


def test_format_time_and_when() -> None:
    assert format_time(time(16, 0)) == "16:00"
    assert format_time(time(9, 5)) == "09:05"
    assert format_time(time(0, 0)) == "00:00"
    assert format_when(datetime(2015, 4, 21, 16, 0)) == "Tue 21 Apr 2015, 16:00"
    assert format_when(datetime(2015, 4, 5, 9, 30)) == "Sun 5 Apr 2015, 09:30"


def test_accepted_forms_are_one_short_line() -> None:
    for line in (ACCEPTED_DATES, ACCEPTED_TIMES):
        assert "\n" not in line and len(line) < 100


# --- properties ------------------------------------------------------------------------

dates = st.dates(min_value=D(1990, 1, 1), max_value=D(2100, 12, 31))
times = st.builds(time, st.integers(0, 23), st.integers(0, 59))


@given(d=dates, today=dates)
def test_format_date_round_trips(d: date, today: date) -> None:
    assert parse_date(format_date(d), today=today) == d


@given(d=dates, today=dates)
def test_numeric_day_first_round_trips(d: date, today: date) -> None:
    assert parse_date(d.strftime("%d/%m/%Y"), today=today) == d
    assert parse_date(f"{d.day}.{d.month}.{d.year}", today=today) == d
    assert parse_date(d.isoformat(), today=today) == d


@given(d=st.dates(min_value=D(1970, 1, 1), max_value=D(2069, 12, 31)), today=dates)
def test_two_digit_years_round_trip(d: date, today: date) -> None:
    assert parse_date(d.strftime("%d/%m/%y"), today=today) == d


def _next_occurrence(day: int, month: int, today: date) -> date | None:
    """Reference answer by brute force: walk forward a day at a time to the end of
    next year (a date without its year is the next such date, this year or next)."""
    candidate = today
    while candidate.year <= today.year + 1:
        if (candidate.day, candidate.month) == (day, month):
            return candidate
        candidate += timedelta(days=1)
    return None


@given(d=dates, today=dates)
@example(d=date(2004, 2, 29), today=date(2003, 1, 10))  # next year's 29 Feb, 415 days ahead
@example(d=date(2004, 2, 29), today=date(2004, 3, 1))  # none this year or next
def test_date_without_year_is_next_occurrence(d: date, today: date) -> None:
    text = f"{d.day} {calendar.month_abbr[d.month]} "
    expected = _next_occurrence(d.day, d.month, today)
    if expected is None:  # only 29 Feb can be absent from this year and the next
        assert (d.day, d.month) == (29, 2)
        with pytest.raises(UserError, match="give the year"):
            parse_date(text, today=today)
        return
    found = parse_date(text, today=today)
    assert found == expected
    # Within a year, but for a 29 Feb in next year's February (from January, 425 days).
    assert today <= found and (found - today).days <= (425 if (d.day, d.month) == (29, 2) else 365)
    assert parse_date(f"{d.day}/{d.month}", today=today) == found


@given(today=dates, n=st.integers(0, 3000))
def test_in_n_days_and_weeks(today: date, n: int) -> None:
    assert parse_date(f"in {n} days", today=today) == today + timedelta(days=n)
    if today.year + n // 52 + 1 < 2200:
        assert parse_date(f"in {n} weeks", today=today) == today + timedelta(weeks=n)


@given(today=dates, wd=st.integers(0, 6))
def test_weekday_words(today: date, wd: int) -> None:
    name = calendar.day_name[wd]
    bare = parse_date(name, today=today)
    this = parse_date(f"this {name[:3]}", today=today)
    assert bare == parse_date(f"next {name}", today=today)
    assert bare.weekday() == this.weekday() == wd
    assert 1 <= (bare - today).days <= 7
    assert 0 <= (this - today).days <= 6


@given(d=dates, today=dates, reason=st.sampled_from(["Off sick", "on leave", "x", ""]))
def test_take_date_splits_formatted_date(d: date, today: date, reason: str) -> None:
    assert take_date(f"{format_date(d)} {reason}", today=today) == (d, reason)


@given(t=times)
def test_format_time_round_trips(t: time) -> None:
    assert parse_time(format_time(t)) == t
    twelve = f"{(t.hour - 1) % 12 + 1}:{t.minute:02d}{'am' if t.hour < 12 else 'pm'}"
    assert parse_time(twelve) == t


@given(text=st.text(max_size=200))
def test_parse_date_only_ever_raises_user_error(text: str) -> None:
    try:
        parse_date(text, today=MONDAY)
    except UserError as error:
        assert error.message.endswith("Nothing was changed.")


@given(text=st.text(max_size=200))
def test_take_and_parse_time_only_ever_raise_user_error(text: str) -> None:
    for call in (parse_time, take_time, lambda s: take_date(s, today=MONDAY)):
        try:
            call(text)
        except UserError:
            pass


@pytest.mark.parametrize(
    "text, days",
    [
        ("10 Feb", (date(2015, 2, 10), date(2016, 2, 10))),  # two months ago is nearer
        ("21 Apr", (date(2015, 4, 21), date(2014, 4, 21))),  # eight days ahead is nearer
        ("13/4", (date(2015, 4, 13), date(2014, 4, 13))),  # today
        ("10 Feb 2016", (date(2016, 2, 10),)),  # a year typed is the one meant
        ("tomorrow", (date(2015, 4, 14),)),
        ("29 Feb", (date(2016, 2, 29),)),  # no 29 February in 2015
    ],
)
def test_a_meeting_date_without_its_year_may_be_the_one_a_year_before(text, days):
    assert take_meeting_date(f"{text} rest", today=date(2015, 4, 13)) == (days, "rest")
    assert all(type(day) is date for day in days)


def test_a_date_read_without_its_year_leaves_as_a_plain_date():
    # Written to JSON (an audit entry's before and after) and to the database as itself.
    assert type(parse_date("21 Apr", today=date(2015, 4, 13))) is date
    assert type(take_date("21 Apr Leave", today=date(2015, 4, 13))[0]) is date
