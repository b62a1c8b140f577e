"""Officers schedule the board's year: add, move and cancel meetings."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from bot.commands import meeting_changes
from services import meetings as meetings_service
from storage.models import AuditEntry, Meeting
from tests.conftest import count_rows

BOARD = "CBOARD001"


def board_meetings(demo):
    with demo() as session:
        return session.scalars(
            select(Meeting)
            .join(Meeting.group)
            .where(Meeting.group.has(slug="board"))
            .order_by(Meeting.starts_at)
        ).all()


@pytest.fixture
def changes(monkeypatch):
    """Every call of the meeting_changed hook, as (meeting id, sequence, status)."""
    calls = []
    real = meeting_changes.meeting_changed

    def spy(context, meeting, headline, *, key):
        calls.append((meeting.id, meeting.sequence, meeting.status))
        return real(context, meeting, headline, key=key)

    monkeypatch.setattr(meeting_changes, "meeting_changed", spy)
    return calls


def test_the_board_agrees_its_year_of_dates_at_once(type_command, demo, board_post_texts, changes):
    reply = type_command("/meeting add 14 Jul 2015, 13 Oct 2015, 12 Jan 2016", channel=BOARD)
    assert reply.ok, reply.text
    assert reply.text.startswith("Added 3 meetings of the Chorley Public Service Reform Board:")
    assert "• Tue 14 Jul 2015, 16:00–17:30, Committee Room 1, Chorley Town Hall" in reply.text
    added = [m for m in board_meetings(demo) if m.created_at.year == 2015 and m.starts_at.month in (7, 10, 1)]
    assert [m.starts_at.astimezone().date().isoformat() for m in added] == [
        "2015-07-14",
        "2015-10-13",
        "2016-01-12",
    ]
    assert all(m.sequence == 0 and m.status == "scheduled" and m.uid.endswith("@partnerbot") for m in added)
    assert all(m.ends_at - m.starts_at == timedelta(minutes=90) for m in added)
    assert (
        len(board_post_texts()) == 3
        and "*Meeting added*: Chorley Public Service Reform Board, Tue 13 Oct" in board_post_texts()[1]
    )
    assert [c[1:] for c in changes] == [(0, "scheduled")] * 3
    with demo() as session:
        audits = session.scalars(select(AuditEntry).where(AuditEntry.what == "meeting.add")).all()
    assert len(audits) == 3 and audits[0].actor == "Jess Marland"


def test_a_meeting_on_a_weekend_or_a_bank_holiday_is_added_and_said_to_be(type_command, demo):
    reply = type_command("/meeting add 28 Dec 2015, 29 Dec 2015, 2 Jan 2016 at Room 2", channel=BOARD)
    assert reply.ok, reply.text
    assert reply.text.splitlines()[1:] == [
        "• Mon 28 Dec 2015, 16:00–17:30, Room 2 — a bank holiday: Boxing Day (substitute day)",
        "• Tue 29 Dec 2015, 16:00–17:30, Room 2",
        "• Sat 2 Jan 2016, 16:00–17:30, Room 2 — a Saturday",
    ]
    moved = type_command("/meeting move 29 Dec 2015 to 25 Dec 2015", channel=BOARD)
    assert (
        "to Fri 25 Dec 2015, 16:00–17:30, Room 2 — a bank holiday: Christmas Day. The group's" in moved.text
    )


def test_a_meeting_too_soon_for_its_agenda_to_go_out_in_time_is_added_and_said_to_be(type_command, demo):
    # Mon 13 Apr 2015: a meeting on Thu 16 Apr needed its agenda out by Sat 11 Apr.
    reply = type_command("/meeting add 16 Apr 2015, 18 Apr 2015 at Room 2", channel=BOARD)
    assert reply.ok, reply.text
    assert reply.text.splitlines()[1:3] == [
        "• Thu 16 Apr 2015, 16:00–17:30, Room 2 — short notice: its agenda was due out by Sat 11 Apr 2015, "
        "five days before",
        "• Sat 18 Apr 2015, 16:00–17:30, Room 2 — a Saturday",
    ]
    moved = type_command("/meeting move 21 Apr to 17 Apr", channel=BOARD)
    assert (
        "Room 1 — short notice: its agenda was due out by Sun 12 Apr 2015, five days before. The"
        in moved.text
    )
    assert type_command("/agenda publish", channel=BOARD).ok  # the 16 Apr agenda, late
    # Its agenda is out (and /agenda publish said it was late): nothing more to say.
    again = type_command("/meeting move 16 Apr to 15 Apr", channel=BOARD)
    assert again.ok and "short notice" not in again.text


def test_a_time_and_a_place_or_an_online_link_can_be_given(type_command, demo):
    assert type_command("/meeting add 7 Jul 2015 4.30 pm at Council Chamber", channel=BOARD).ok
    assert type_command("/meeting add 28 Jul 2015 at https://meet.example.org/board-july", channel=BOARD).ok
    assert type_command("/meeting add 4 Aug 2015 at 10:00", channel=BOARD).ok
    found = {
        m.starts_at.astimezone(meetings_service.ZoneInfo("Europe/London")).strftime("%d %b %H:%M"): m
        for m in board_meetings(demo)
    }
    assert found["07 Jul 16:30"].location == "Council Chamber"
    assert found["28 Jul 16:00"].url == "https://meet.example.org/board-july"
    assert (
        found["04 Aug 10:00"].location
        == "Committee Room 1, Chorley Town Hall, Market Street, Chorley, PR7 1DP"
    )


def test_a_date_that_already_has_a_meeting_is_refused_by_name(type_command, demo):
    before = count_rows(demo)
    reply = type_command("/meeting add 1 Jul 2015, 16 Jun 2015", channel=BOARD)
    assert not reply.ok
    assert (
        "The Chorley Public Service Reform Board already meets on Tue 16 Jun 2015 at 16:00: move that meeting instead"
        in reply.text
    )
    assert "Nothing was changed." in reply.text
    reply = type_command("/meeting add 16 Jun 2015, 15 Sep 2015", channel=BOARD)
    assert (
        "already meets on Tue 16 Jun 2015 at 16:00; Tue 15 Sep 2015 at 16:00: move those meetings instead"
        in (reply.text)
    )
    assert count_rows(demo) == before


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Which date?"),
        ("31/02/2015", "there is no 31 February 2015"),
        ("1 Apr 2015", "in the past"),
        ("banana", "'banana' is not a date"),
        ("16 Jul 2015 16:00, 17 Jul 2015 17:00", "one time for them all"),
        ("16 Jul 2015, 16 Jul 2015", "is given twice"),
        ("16 Jul 2015 at <!channel>", "is not a link I can use"),
        ("16 Jul 2015 at " + "x" * 400, "at most 300 characters"),
        ("16 Jul 2015 with cake", "not 'with cake'"),
        (", ".join(f"{d} Jul 2015" for d in range(1, 30)), "At most 24 dates"),
    ],
)
def test_bad_dates_and_places_are_refused_and_nothing_is_stored(type_command, demo, text, says):
    before = count_rows(demo)
    reply = type_command(f"/meeting add {text}", channel=BOARD)
    assert not reply.ok and says in reply.text, reply.text
    assert count_rows(demo) == before


def test_a_member_may_not_change_meetings_and_is_told_who_may(type_command, demo):
    before = count_rows(demo)
    for line in (
        "/meeting add 14 Jul 2015",
        "/meeting move 16 Jun 2015 to 17 Jun 2015",
        "/meeting cancel 16 Jun 2015",
    ):
        reply = type_command(line, person="fire", channel=BOARD)
        assert not reply.ok
        assert "Only the officers and the chair of the Chorley Public Service Reform Board" in reply.text
        assert "Jess Marland, Nadia Hartley, Rosalind Ashcroft" in reply.text
    assert count_rows(demo) == before


def test_outside_a_channel_the_group_is_the_one_you_run_or_you_are_asked(type_command, demo):
    assert type_command("/meeting add 14 Jul 2015", person="chair").ok  # the chair runs only the board
    reply = type_command("/meeting add 14 Jul 2015", person="clerk")
    assert "type the command in the group's channel (#board, #executive, #implementation)" in reply.text
    member = type_command("/meeting add 14 Jul 2015", person="countycllr")
    assert (
        "Only the officers and the chair of the Chorley Public Service Reform Board add meetings"
        in member.text
    )


def test_those_who_sent_apologies_to_a_moved_meeting_are_told_they_stand(type_command, demo):
    from storage.models import Delivery

    type_command("/apologies 21 Apr Away", person="fire")
    type_command("/apologies 21 Apr Leave", person="health")
    reply = type_command("/meeting move 21 Apr 2015 to 28 Apr 2015", channel=BOARD)
    assert reply.text.endswith(
        "The group's channel is told, and so are the 2 who sent apologies (they stand unless withdrawn)."
    )
    with demo() as session:
        told = session.scalars(select(Delivery).where(Delivery.key.like("meeting-moved-apologies:%"))).all()
    assert sorted(d.target for d in told) == ["U0FIRE001", "U0HLTH001"] and all(
        d.kind == "direct" for d in told
    )
    assert (
        told[0]
        .payload["text"]
        .endswith(
            "is now on Tue 28 Apr 2015, 16:00–17:30, Committee Room 1. Your apologies still stand; if you can "
            "come now, `/apologies withdraw 28/04/2015`."
        )
    )
    assert type_command("/apologies withdraw 28/04/2015", person="fire").ok


def test_moving_a_meeting_raises_its_sequence_and_tells_the_channel(
    type_command, demo, board_post_texts, changes
):
    reply = type_command("/meeting move 16 Jun 2015 to 23 Jun 2015 17:00", channel=BOARD)
    assert reply.ok, reply.text
    assert (
        "from Tue 16 Jun 2015, 16:00–17:30" in reply.text and "to Tue 23 Jun 2015, 17:00–18:30" in reply.text
    )
    moved = next(m for m in board_meetings(demo) if m.starts_at.month == 6)
    assert moved.sequence == 1 and moved.starts_at.hour == 16  # 17:00 BST is 16:00 UTC
    assert "*Meeting moved*" in board_post_texts()[-1]
    assert changes == [(moved.id, 1, "scheduled")]
    again = type_command("/meeting move 23 Jun 2015 to 24 Jun 2015", channel=BOARD)
    assert again.ok and "Wed 24 Jun 2015, 17:00–18:30" in again.text  # the time stays
    assert next(m for m in board_meetings(demo) if m.starts_at.month == 6).sequence == 2


def test_a_meeting_moved_to_another_place_or_online_is_sent_there(
    type_command, demo, board_post_texts, changes
):
    reply = type_command("/meeting move 16 Jun 2015 to 17 Jun 2015 17:00 at Council Chamber", channel=BOARD)
    assert reply.ok, reply.text
    assert "to Wed 17 Jun 2015, 17:00–18:30, Council Chamber." in reply.text
    assert "is now on Wed 17 Jun 2015, 17:00–18:30, Council Chamber." in board_post_texts()[-1]
    online = type_command(
        "/meeting move 17 Jun 2015 to 17 Jun 2015 at https://meet.example.org/cpsrb", channel=BOARD
    )
    assert (
        online.ok
        and "to Wed 17 Jun 2015, 17:00–18:30, online: https://meet.example.org/cpsrb." in online.text
    )
    moved = next(m for m in board_meetings(demo) if m.starts_at.month == 6 and m.starts_at.day == 17)
    assert (moved.location, moved.url, moved.sequence) == (None, "https://meet.example.org/cpsrb", 2)
    assert changes == [(moved.id, 1, "scheduled"), (moved.id, 2, "scheduled")]
    # A new place alone, on the same day and at the same time, as the reply's grammar shows.
    back = type_command("/meeting move 17 Jun 2015 to 17 Jun 2015 at Committee Room 1", channel=BOARD)
    assert back.ok and "to Wed 17 Jun 2015, 17:00–18:30, Committee Room 1." in back.text
    moved = next(m for m in board_meetings(demo) if m.starts_at.month == 6 and m.starts_at.day == 17)
    assert (moved.location, moved.url, moved.sequence) == ("Committee Room 1", None, 3)
    with demo() as session:
        audited = session.scalars(
            select(AuditEntry).where(AuditEntry.what == "meeting.move").order_by(AuditEntry.id)
        ).all()
    assert [(a.before["url"], a.after["location"]) for a in audited][-1] == (
        "https://meet.example.org/cpsrb",
        "Committee Room 1",
    )


def test_a_meeting_moved_with_no_place_keeps_its_own(type_command, demo):
    type_command("/meeting move 16 Jun 2015 to 17 Jun 2015 at Council Chamber", channel=BOARD)
    reply = type_command("/meeting move 17 Jun 2015 to 18 Jun 2015", channel=BOARD)
    assert reply.ok and "to Thu 18 Jun 2015, 16:00–17:30, Council Chamber." in reply.text


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("16 Jun 2015 to 15 Sep 2015", "already meets on Tue 15 Sep 2015"),
        ("16 Jun 2015 to 1 Apr 2015", "in the past"),
        ("16 Jun 2015", "Type `/meeting move DATE to DATE [TIME] [at PLACE or an online link]`"),
        ("17 Jun 2015 to 18 Jun 2015", "no meeting on Wed 17 Jun 2015"),
        ("10 Feb 2015 to 18 Jun 2015", "already taken place"),
        ("16 Jun 2015 to 16 Jun 2015", "That is when and where the meeting already is"),
        (
            "16 Jun 2015 to 16 Jun 2015 16:00 at Committee Room 1, Chorley Town Hall, Market Street, Chorley, PR7 1DP",
            "already is",
        ),
        ("16 Jun 2015 to soon", "is not a date to move it to"),
        ("16 Jun 2015 to 17 Jun 2015 at", "I read the new date but not 'at' after it"),
        ("16 Jun 2015 to 17 Jun 2015 at <http://evil.example.org|Teams>", "is not a link I can use"),
        ("16 Jun 2015 to 17 Jun 2015 at " + "x" * 600, "A place can be at most"),
        (
            "16 Jun 2015 to 17 Jun 2015 at https://meet.example.org/" + "x" * 2100,
            "An online link can be at most",
        ),
        ("16 Jun 2015 to 17 Jun 2015 in the Chamber", "I read the new date but not 'in the Chamber'"),
    ],
)
def test_moves_that_cannot_be_are_refused(type_command, demo, text, says):
    before = count_rows(demo)
    reply = type_command(f"/meeting move {text}", channel=BOARD)
    assert not reply.ok and says in reply.text, reply.text
    assert count_rows(demo) == before


def test_cancelling_a_meeting_keeps_it_as_cancelled_with_a_higher_sequence(
    type_command, demo, board_post_texts, changes
):
    reply = type_command("/meeting cancel 16 Jun 2015", channel=BOARD)
    assert (
        reply.ok
        and "Cancelled the Chorley Public Service Reform Board meeting of Tue 16 Jun 2015" in reply.text
    )
    cancelled = next(m for m in board_meetings(demo) if m.starts_at.month == 6)
    assert (cancelled.status, cancelled.sequence) == ("cancelled", 1)
    assert "*Meeting cancelled*" in board_post_texts()[-1]
    assert changes == [(cancelled.id, 1, "cancelled")]
    before = count_rows(demo)
    assert "already cancelled" in type_command("/meeting cancel 16 Jun 2015", channel=BOARD).text
    moved = type_command("/meeting move 16 Jun 2015 to 23 Jun 2015", channel=BOARD)
    assert not moved.ok and moved.text == (
        "The Chorley Public Service Reform Board meeting on Tue 16 Jun 2015 is already cancelled. "
        "`/meeting add Tue 16 Jun 2015` puts it back on, and `/meeting move` moves it then. Nothing was changed."
    )
    assert count_rows(demo) == before
    # The same slot can be added again: the cancelled meeting is back on, with a higher sequence.
    assert type_command("/meeting add 16 Jun 2015", channel=BOARD).ok
    back = next(m for m in board_meetings(demo) if m.starts_at.month == 6)
    assert (back.id, back.status, back.sequence) == (cancelled.id, "scheduled", 2)


def test_a_meeting_added_across_the_clock_change_keeps_its_local_time(type_command, demo, clock):
    clock.set(datetime(2015, 10, 20, 9, 0, tzinfo=meetings_service.ZoneInfo("Europe/London")))
    assert type_command("/meeting add 27 Oct 2015, 3 Nov 2015", channel=BOARD).ok
    zone = meetings_service.ZoneInfo("Europe/London")
    added = [m for m in board_meetings(demo) if m.starts_at.month in (10, 11) and m.starts_at.day in (27, 3)]
    assert [m.starts_at.astimezone(zone).time() for m in added] == [time(16, 0), time(16, 0)]


@pytest.mark.parametrize(
    "line",
    ["/meeting add 27 Mar 2016 01:30", "/meeting move 16 Jun 2015 to 27 Mar 2016 01:30"],
)
def test_a_time_the_clocks_skip_is_refused_and_nothing_is_stored(type_command, demo, line):
    # The clocks go forward from 01:00 to 02:00 on Sun 27 Mar 2016: 01:30 never happens.
    before = count_rows(demo)
    reply = type_command(line, channel=BOARD)
    assert not reply.ok
    assert reply.text == (
        "There is no 01:30 on Sun 27 Mar 2016 in Europe/London: the clocks go forward an hour "
        "that night. Choose another time. Nothing was changed."
    )
    assert count_rows(demo) == before


def test_a_meeting_across_the_night_the_clocks_go_back_lasts_its_length(type_command, demo):
    # 01:30 comes twice on Sun 25 Oct 2015: the meeting takes the first, in summer
    # time, and ends 90 minutes later, at 02:00 winter time, as it says.
    reply = type_command("/meeting add 25 Oct 2015 01:30", channel=BOARD)
    assert reply.ok and "• Sun 25 Oct 2015, 01:30 BST–02:00 GMT, Committee Room 1" in reply.text
    added = next(m for m in board_meetings(demo) if m.starts_at.month == 10 and m.starts_at.day == 25)
    assert (added.starts_at.hour, added.starts_at.minute) == (0, 30)  # 01:30 BST
    assert added.ends_at - added.starts_at == timedelta(minutes=90)
    same = type_command("/meeting move 25 Oct 2015 to 25 Oct 2015", channel=BOARD)
    assert same.text == "That is when and where the meeting already is. Nothing was changed."
    moved = type_command("/meeting move 25 Oct 2015 to 26 Oct 2015", channel=BOARD)
    assert moved.ok and "to Mon 26 Oct 2015, 01:30–03:00" in moved.text
    again = next(m for m in board_meetings(demo) if m.starts_at.month == 10 and m.starts_at.day == 26)
    assert again.ends_at - again.starts_at == timedelta(minutes=90)
