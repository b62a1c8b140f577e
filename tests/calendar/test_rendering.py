"""The feed's VEVENT writer gives exactly what icalendar itself writes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Event, vText

from services.calendar import _serialise


@settings(max_examples=300, deadline=None)
@given(summary=st.text(max_size=120), description=st.text(max_size=400), location=st.text(max_size=90))
def test_short_lines_skip_the_folder_and_come_out_the_same(summary, description, location):
    event = Event()
    event["summary"] = vText(summary)
    event["description"] = vText(description)
    event["location"] = vText(location)
    assert _serialise(event) == event.to_ical()


def test_lines_either_side_of_the_fold_come_out_the_same():
    for length in range(60, 90):
        for tail in ("x", "é", "\\", ",", "€"):
            event = Event()
            event["summary"] = vText("S" * (length - 9) + tail * 3)
            assert _serialise(event) == event.to_ical(), (length, tail)
