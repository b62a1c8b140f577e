"""The feed's VEVENT writer gives exactly what icalendar itself writes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from icalendar import Event, vText

from services.calendar import _serialise

# Escapes, folding's traps (multi-byte characters of every width) and plain text.
TRICKY = st.text(alphabet=st.sampled_from(list('ab ,;:\\^\n"é€𝄞•x')), max_size=600)


@settings(max_examples=400, deadline=None)
@given(summary=st.text(max_size=200), description=TRICKY, location=st.text(max_size=160))
def test_a_vevent_comes_out_byte_for_byte_as_icalendar_writes_it(summary, description, location):
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
