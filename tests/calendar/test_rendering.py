"""A feed's VEVENTs are written straight out, and must be exactly what
icalendar itself writes for the same facts, byte for byte."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Event, vText

from services.calendar import EventFacts, _serialise, event_of, render_event

# Escapes, folding's traps (multi-byte characters of every width) and plain text.
TRICKY = st.text(alphabet=st.sampled_from(list('ab ,;:\\^\n"é€𝄞•x')), max_size=600)
ZONES = [ZoneInfo(key) for key in ("Europe/London", "UTC", "America/New_York", "Asia/Kolkata")]
MOMENTS = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1))
ZONED = st.builds(lambda moment, zone: moment.replace(tzinfo=zone), MOMENTS, st.sampled_from(ZONES))
WHEN = st.one_of(ZONED, st.dates(min_value=date(1990, 1, 1), max_value=date(2060, 1, 1)))
FACTS = st.builds(
    EventFacts,
    uid=st.text(min_size=1, max_size=80),
    sequence=st.one_of(st.none(), st.integers(0, 10_000)),
    stamp=ZONED,
    last_modified=ZONED,
    start=WHEN,
    end=WHEN,
    summary=st.one_of(st.text(max_size=200), TRICKY),
    description=TRICKY,
    status=st.sampled_from(["CONFIRMED", "CANCELLED"]),
    location=st.one_of(st.none(), st.text(min_size=1, max_size=160)),
    url=st.one_of(
        st.none(), st.from_regex(r"https://[a-z0-9.-]{1,40}/[A-Za-z0-9/_.~%-]{0,120}", fullmatch=True)
    ),
    transparent=st.booleans(),
    organiser=st.none(),
    attendees=st.just(()),
)


@settings(max_examples=500, deadline=None)
@given(facts=FACTS)
def test_a_feed_vevent_is_byte_for_byte_what_icalendar_writes(facts):
    render_event.cache_clear()
    assert render_event(facts) == event_of(facts).to_ical()


def test_a_meeting_in_london_in_summer_and_winter():
    for start in (datetime(2015, 4, 21, 16, tzinfo=ZONES[0]), datetime(2015, 2, 10, 16, tzinfo=ZONES[0])):
        facts = EventFacts(
            uid="u@partnerbot",
            sequence=2,
            stamp=datetime(2015, 4, 13, 8, tzinfo=UTC),
            last_modified=datetime(2015, 4, 13, 8, tzinfo=UTC),
            start=start,
            end=start.replace(hour=17),
            summary="Chorley Public Service Reform Board",
            description="Draft agenda:\n• Restricted item",
            status="CONFIRMED",
            location="Committee Room 1, Chorley Town Hall, Market Street, Chorley, PR7 1DP",
        )
        written = render_event(facts)
        assert written == event_of(facts).to_ical()
        assert f"DTSTART;TZID=Europe/London:{start:%Y%m%d}T160000\r\n".encode() in written


@settings(max_examples=300, deadline=None)
@given(summary=st.text(max_size=200), description=TRICKY, location=st.text(max_size=160))
def test_lines_are_folded_exactly_as_icalendar_folds_them(summary, description, location):
    event = Event()
    event["summary"] = vText(summary)
    event["description"] = vText(description)
    event["location"] = vText(location)
    assert _serialise(event) == event.to_ical()


def test_lines_either_side_of_the_fold_come_out_the_same():
    for length in range(60, 160):
        for tail in ("x", "é", "\\", ",", "€", "𝄞", "^"):
            event = Event()
            event["summary"] = vText("S" * (length - 9) + tail * 3)
            event["description"] = vText(tail * length)
            assert _serialise(event) == event.to_ical(), (length, tail)
