"""/meeting next and /meeting list, in the partnership's time, whatever the server's."""

from __future__ import annotations

import time
from datetime import datetime

import pytest
from sqlalchemy import select

from storage.models import Group, Meeting
from tests.conftest import LONDON


@pytest.fixture(params=["UTC", "America/New_York", "Asia/Kolkata"])
def server_zone(request, monkeypatch):
    """The server's own zone must never leak into what the board sees."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def test_the_next_board_across_the_clock_change_is_at_four_local(type_command, clock, server_zone):
    clock.set(datetime(2015, 3, 28, 12, 0, tzinfo=LONDON))  # GMT; the board on 21 Apr is in BST
    text = type_command("/meeting next", channel="CBOARD001").text
    assert "Next meeting: Chorley Public Service Reform Board" in text
    assert "When: Tue 21 Apr 2015, 16:00–17:30" in text
    assert "items due by Sat 11 Apr 2015; to be published by Thu 16 Apr 2015" in text


def test_deadlines_pass_at_local_midnight_not_utc(type_command, clock):
    # 00:30 on Fri 17 Apr in Chorley is still Thu 16 Apr in UTC.
    clock.set(datetime(2015, 4, 17, 0, 30, tzinfo=LONDON))
    text = type_command("/meeting next", channel="CBOARD001").text
    assert "to be published by Thu 16 Apr 2015 (passed)" in text


def test_a_winter_meeting_is_at_four_too(type_command, clock):
    clock.set(datetime(2015, 1, 20, 9, 0, tzinfo=LONDON))
    assert "When: Tue 10 Feb 2015, 16:00–17:30" in type_command("/meeting next", channel="CBOARD001").text


def test_next_meeting_names_the_apologies_so_far(type_command):
    type_command("/apologies 21 Apr Conference", person="fire")
    text = type_command("/meeting next", channel="CBOARD001").text
    assert "Apologies so far: 1 — Ray Cottam" in text and "Conference" not in text


def test_next_meeting_names_only_its_own_apologies_not_withdrawn(type_command, demo, clock):
    with demo() as session:
        board = session.scalar(select(Group.id).where(Group.channel == "CBOARD001"))
        days = session.scalars(
            select(Meeting.starts_at)
            .where(Meeting.group_id == board, Meeting.status == "scheduled", Meeting.starts_at > clock.now())
            .order_by(Meeting.starts_at)
            .limit(2)
        ).all()
    following = days[1].astimezone(LONDON).strftime("%d/%m/%Y")
    assert type_command(f"/apologies {following} Away", person="fire", channel="CBOARD001").ok
    assert type_command("/apologies 21 Apr Conference", person="ccg", channel="CBOARD001").ok
    assert type_command("/apologies withdraw 21 Apr", person="ccg", channel="CBOARD001").ok
    text = type_command("/meeting next", channel="CBOARD001").text
    assert "Tue 21 Apr 2015" in text and "Apologies so far: none" in text


def test_a_list_of_one_group_s_meetings_names_the_group_once(type_command):
    lines = type_command("/meeting list", person="youth").text.splitlines()
    assert lines[:3] == [
        "Upcoming meetings of Chorley Public Service Reform Board:",
        "• Tue 21 Apr 2015, 16:00–17:30, Committee Room 1",
        "• Tue 16 Jun 2015, 16:00–17:30, Committee Room 1, Chorley Town Hall, Market Street, Chorley, PR7 1DP",
    ]


def test_list_shows_the_person_s_groups_soonest_first(type_command):
    text = type_command("/meeting list", person="fire").text
    lines = text.splitlines()
    assert lines[0] == (
        "Upcoming meetings of Chorley Public Service Reform Board, "
        "Chorley Public Service Reform Executive, Implementation Group:"
    )
    assert "*Chorley Public Service Reform Board*: Tue 21 Apr 2015, 16:00–17:30" in lines[1]
    days = [
        datetime.strptime(" ".join(line.split(": ", 1)[1].split(",")[0].split()[1:]), "%d %b %Y")
        for line in lines[1:-1]
    ]
    assert days == sorted(days) and len(days) == 10
    # Ten of the year's meetings, and a word that there are more.
    assert lines[-1] == "…and more after Wed 12 Aug 2015."  # (and where feeds are published, a link to them)
    board_only = type_command("/meeting list", channel="CBOARD001").text.splitlines()
    assert len(board_only) == 1 + 5 and "…and more" not in board_only[-1]  # the board's five: all shown


def test_list_counts_each_meeting_s_apologies(type_command):
    assert type_command("/apologies 21 Apr Leave", person="fire", channel="CBOARD001").ok
    lines = type_command("/meeting list", channel="CBOARD001").text.splitlines()
    assert lines[1].endswith("Committee Room 1 — 1 apology")
    assert type_command("/apologies 21 Apr Conference", person="ccg", channel="CBOARD001").ok
    lines = type_command("/meeting list", channel="CBOARD001").text.splitlines()
    assert lines[1].endswith("Committee Room 1 — 2 apologies")
    assert "apolog" not in lines[2]


def test_an_online_meeting_shows_its_link(type_command, clock):
    clock.set(datetime(2015, 7, 1, 9, 0, tzinfo=LONDON))
    text = type_command("/meeting next", channel="CIMPL0001").text
    assert "Where: online: https://meet.example.org/cpsig-2015-07" in text


def test_a_meeting_both_in_a_room_and_online_shows_both(type_command, demo, clock):
    # As a partnership file may give it (location and url): neither hides the other.
    with demo() as session, session.begin():
        july = session.scalar(select(Meeting).where(Meeting.url == "https://meet.example.org/cpsig-2015-07"))
        july.location = "Lancastrian Room"
    clock.set(datetime(2015, 7, 1, 9, 0, tzinfo=LONDON))
    text = type_command("/meeting next", channel="CIMPL0001").text
    assert "Where: Lancastrian Room, or online: https://meet.example.org/cpsig-2015-07" in text


def test_unknown_forms_are_refused(type_command):
    refused = type_command("/meeting <!here>").text
    assert "I don't know `/meeting <!here>`" in refused
    for verb in ("next", "list"):
        assert type_command(f"/meeting {verb} please").text == (
            f"`/meeting {verb}` takes nothing after it (`/meeting help` shows the rest). Nothing was changed."
        )
