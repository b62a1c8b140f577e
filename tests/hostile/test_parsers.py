"""The pure parsers fed the hostile corpus and fuzzed: UK dates and times
(bot/commands/dates.py) and the partnership file (read, then checked). Each
gives a value or its own clear error, never another exception, and quickly."""

from __future__ import annotations

import tempfile
import time as clock
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.commands.dates import MAX_YEAR, MIN_YEAR, parse_date, parse_due, parse_time, take_date, take_time
from services.errors import UserError
from storage.partnership_file import PartnershipFileError, load, read_file
from storage.partnership_file.problems import MAX_PROBLEMS
from storage.partnership_file.validation import validate
from tests.conftest import count_rows
from tests.hostile.corpus import HOSTILE, YAML_BOMBS

MONDAY = date(2015, 4, 13)
NOW = datetime(2015, 4, 13, 9, 0, tzinfo=ZoneInfo("Europe/London"))
FAST = 0.5  # seconds: a parser never takes longer, whatever it is fed
FUZZ = settings(max_examples=200, deadline=1000)

DATE_WORDS = st.sampled_from(
    [
        "21",
        "4",
        "29",
        "31",
        "0",
        "2015",
        "15",
        "1900",
        "2201",
        "Apr",
        "april",
        "sept",
        "Feb",
        "tue",
        "tuesday",
    ]
    + ["next", "this", "in", "2", "a", "weeks", "months", "days", "today", "tomorrow", "yesterday", "st"]
    + ["21/04/2015", "21/4/15", "21.04.15", "2015-04-21", "29/2", "31/02/2015", "1/2/3/4", "99999"]
    + ["16:00", "4pm", "4.30", "pm", "am", "noon", "12", "25:00", "4.00", "p.m."]
    + ["by", "end", "of", "the", "w/c", "week", "commencing", "june", "ongoing", "ASAP"]
)
DATE_TEXT = st.lists(
    st.one_of(DATE_WORDS, st.text(max_size=6), st.sampled_from(list(HOSTILE.values()))), max_size=6
).map(" ".join)


def refusal_is_clear(error: UserError) -> None:
    message = error.message
    assert message.endswith("Nothing was changed."), message
    assert len(message) < 300 and all(c.isprintable() for c in message), repr(message)


def within(seconds: float, call, *args, **kwargs):
    started = clock.perf_counter()
    try:
        return call(*args, **kwargs)
    finally:
        assert clock.perf_counter() - started < seconds, f"{call.__name__} took too long"


def check_date_parsers(text: str) -> None:
    for parse in (lambda t: parse_date(t, today=MONDAY), lambda t: parse_due(t, today=MONDAY), parse_time):
        try:
            found = within(FAST, parse, text)
        except UserError as error:
            refusal_is_clear(error)
        else:
            assert isinstance(found, date) and MIN_YEAR <= found.year <= MAX_YEAR or isinstance(found, time)
    for take, parse in ((lambda t: take_date(t, today=MONDAY), lambda t: parse_date(t, today=MONDAY)),
                        (take_time, parse_time)):  # fmt: skip
        try:
            found, rest = within(FAST, take, text)
        except UserError as error:
            refusal_is_clear(error)
            continue
        if found is None:
            assert rest == text.strip()
        else:
            # What was taken off the front reads, on its own, as the same value.
            assert text.rstrip().endswith(rest)
            taken = text.rstrip()[: len(text.rstrip()) - len(rest)]
            assert parse(taken) == found


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_text_gets_a_date_or_a_clear_refusal(name):
    check_date_parsers(HOSTILE[name])
    check_date_parsers(f"21 Apr {HOSTILE[name]}")


@FUZZ
@given(text=DATE_TEXT)
def test_fuzzed_dates_and_times_get_a_value_or_a_clear_refusal(text):
    check_date_parsers(text)


# The partnership file: read (YAML text) then checked (plain data).

YAML_PIECES = st.sampled_from(
    ["partnership:", "people:", "groups:", "meetings:", "actions:", "organisations:", "workstreams:"]
    + ["  name: x", "  timezone: Europe/London", "- {id: a, name: A}", "- id: a", "  members: [", "]", "}"]
    + ["{", "[", ":", "- ", "  ", "\t", "&a", "*a", "<<: *a", "!!python/object:os.system", "!!binary", "---"]
    + ["...", "%YAML 1.1", "? ", "|", ">", "'", '"', "#", "2015-02-31", "16:00", "2015-04-21T16:00", "~"]
    + ["yes", "no", "0x1F", "1e400", ".nan", "-.inf", "0o777", "\ufeff", "\x85", "\u2028"]
)
YAML_TEXT = st.lists(st.one_of(YAML_PIECES, st.text(max_size=10)), max_size=25).map(
    lambda pieces: "".join(p + ("\n" if i % 3 == 2 else " ") for i, p in enumerate(pieces))
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.sampled_from(list(HOSTILE.values())),
    st.dates(),
    st.datetimes(),
    st.datetimes(timezones=st.just(ZoneInfo("Europe/London"))),
)
FILE_KEYS = st.sampled_from(
    ["partnership", "organisations", "people", "groups", "workstreams", "meetings", "actions", "id", "name"]
    + ["person", "role", "members", "slug", "group", "start", "due", "owner", "what", "slack", "email"]
    + ["timezone", "digest", "day", "time", "ref", "status", "leads", "contributors", "abbreviation"]
)
NESTED = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(FILE_KEYS, SCALARS), children, max_size=5),
    ),
    max_leaves=30,
)
# Near a real file: the top-level keys, each holding anything.
NEAR_FILE = st.fixed_dictionaries(
    {},
    optional={
        key: NESTED
        for key in ("partnership", "organisations", "people", "groups", "workstreams", "meetings", "actions")
    },
)


def read_text(text: str) -> dict | None:
    """Read text as a partnership file: its data, or None after a clear refusal."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "partnership.yaml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            data = within(2.0, read_file, path)
        except PartnershipFileError as refusal:
            assert refusal.problems and all(str(path) in problem for problem in refusal.problems)
            return None
    assert isinstance(data, dict)
    return data


def problems_of(data) -> list[str]:
    """What the checker says of `data`: no problems, or the problems it refused it with."""
    try:
        within(2.0, validate, data)
    except PartnershipFileError as refusal:
        return refusal.problems
    return []


def check_data(data) -> None:
    problems = problems_of(data)
    assert len(problems) <= MAX_PROBLEMS + 1
    assert all(isinstance(problem, str) and len(problem) < 2_000 for problem in problems)


@pytest.mark.parametrize("name", sorted(YAML_BOMBS))
def test_a_hostile_partnership_file_is_refused_when_read_or_checked(name):
    data = read_text(YAML_BOMBS[name])
    if data is not None:  # YAML that reads (a !!binary value) but is no partnership file
        assert problems_of(data)


def test_a_control_character_in_a_file_is_refused_with_its_line():
    with pytest.raises(PartnershipFileError) as refusal, tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "partnership.yaml"
        path.write_text("partnership:\n  name: Chorley\x00\n")
        read_file(path)
    assert refusal.value.problems == [
        f"{path}: line 2: character #x0000 is not allowed in a partnership file"
    ]


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_text_in_every_value_of_a_file_is_checked_not_crashed_on(name):
    value = HOSTILE[name]
    data = {
        "partnership": {"name": value, "timezone": value, "channel": value, "digest": {"day": value}},
        "people": [{"id": value, "name": value, "slack": value, "email": value, "organisation": value}],
        "groups": [{"slug": value, "name": value, "abbreviation": value, "start": value, "members": [value]}],
        "meetings": [{"group": value, "start": value, "url": value}],
        "actions": [{"what": value, "owner": value, "due": value, "ref": value, "meeting": value}],
    }
    check_data(data)
    check_data(read_text(yaml.safe_dump(data, allow_unicode=True)))


@FUZZ
@given(text=YAML_TEXT)
def test_fuzzed_yaml_is_read_or_refused_and_what_is_read_is_checked(text):
    data = read_text(text)
    if data is not None:
        check_data(data)


@FUZZ
@given(data=st.one_of(NESTED, NEAR_FILE))
def test_fuzzed_data_is_checked_into_problems_never_a_crash(data):
    check_data(data)


@settings(
    max_examples=60,
    deadline=3000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=NEAR_FILE)
def test_a_fuzzed_file_loaded_over_the_demo_is_refused_whole_or_loaded(demo, data):
    before = count_rows(demo)
    try:
        with demo() as session, session.begin():
            load(session, data, now=NOW)
    except PartnershipFileError as refusal:
        assert refusal.problems
        assert count_rows(demo) == before


def test_an_unknown_key_is_quoted_short_and_on_one_line():
    problems = problems_of({"y" * 5000 + "\n": None, "partnership": {"name": "A", "x\x1b[31m": 1}})
    assert problems[0].startswith("y" * 57 + "...: unknown key; expected one of partnership, ")
    assert problems[1].startswith("partnership.x?[31m: unknown key; expected one of name, ")
