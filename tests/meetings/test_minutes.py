"""Declarations of interest and the draft minutes skeleton."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.commands import FORMS
from bot.commands.core import submit
from storage.models import AuditEntry, Declaration
from tests.conftest import count_rows

LONDON = ZoneInfo("Europe/London")
BOARD = "CBOARD001"


def test_a_member_declares_an_interest_in_an_item_by_its_number(type_command, demo):
    type_command("/agenda add Locality plan -- for decision", channel=BOARD)
    reply = type_command("/meeting interest 21/04/2015 3 My partner works for the provider", person="fire")
    assert reply.ok and reply.text == (
        "Interest declared in item 3 (Locality plan) of the Chorley Public Service Reform Board meeting on Tue 21 Apr 2015."
    )
    with demo() as session:
        declaration = session.scalars(select(Declaration)).one()
        assert declaration.nature == "My partner works for the provider"
        assert session.scalar(select(AuditEntry.what).where(AuditEntry.what == "interest.declare"))


@pytest.mark.parametrize(
    ("text", "person", "says"),
    [
        (
            "21/04/2015 3 Works there",
            "intel",
            "Only members of the Chorley Public Service Reform Board declare interests",
        ),
        (
            "21/04/2015 7 Works there",
            "fire",
            "'7' is not a submitted item of the Chorley Public Service Reform Board agenda for Tue 21 Apr 2015: "
            "the only one is item 3",
        ),
        ("21/04/2015 3", "fire", "What is the nature of the interest?"),
        ("21/04/2015", "fire", "Which item?"),
        ("3 Works there", "fire", "Which meeting?"),
        ("21/04/2015 3 " + "x" * 1200, "fire", "at most 1000 characters"),
    ],
)
def test_declarations_that_cannot_be_taken_are_refused(type_command, demo, text, person, says):
    type_command("/agenda add Locality plan", channel=BOARD)
    before = count_rows(demo)
    reply = type_command(f"/meeting interest {text}", person=person, channel=BOARD)
    assert not reply.ok and says in reply.text, reply.text
    assert count_rows(demo) == before


def test_the_minutes_skeleton_numbers_on_through_the_year(type_command, demo, clock):
    clock.set(datetime(2015, 2, 1, 9, tzinfo=LONDON))
    type_command("/agenda add Away Day outcomes", channel=BOARD)  # the 10 Feb board: one item
    clock.set(datetime(2015, 4, 13, 9, tzinfo=LONDON))
    type_command("/agenda add Locality plan -- for decision", channel=BOARD)
    type_command("/agenda add restricted para 3 Depot disposal", channel=BOARD)
    type_command("/apologies 21 Apr Hospital appointment", person="health")
    type_command("/meeting interest 21 Apr 3 Partner works for the provider", person="fire", channel=BOARD)
    clock.set(datetime(2015, 4, 21, 18, tzinfo=LONDON))
    type_command("/meeting attendance 21 Apr present fire, chair, college", channel=BOARD)
    type_command("/meeting attendance 21 Apr apologies health", channel=BOARD)
    type_command("/meeting attendance 21 Apr absent police", channel=BOARD)
    type_command("/meeting attendance 21 Apr in attendance publichealth", channel=BOARD)

    text = type_command("/meeting minutes 21 Apr", channel=BOARD).text
    lines = text.splitlines()
    assert (
        lines[0]
        == "*Draft minutes: Chorley Public Service Reform Board, Tue 21 Apr 2015, 16:00–17:30, Committee Room 1*"
    )
    # The chair first, as minutes list them; then in name order, each with their organisation.
    assert (
        "*Present:* Rosalind Ashcroft (Chair, Chorley Council), Andrew Sumner (Runshaw College), "
        "Ray Cottam (Lancashire Fire and Rescue Service)"
    ) in lines
    assert "*Also in attendance:* Priya Raman (Lancashire County Council)" in lines
    assert "*Apologies:* Peter Kenyon" in lines and "Hospital" not in text
    assert "*Not present:* Sarah Mellor" in lines
    assert "• Ray Cottam, minute 15.CPSRB.10 (agenda item 3): Partner works for the provider" in lines
    # The February board used 15.CPSRB.1-6 (five standing lines and one item), so April starts at 7.
    assert "*15.CPSRB.7* Welcome and apologies for absence" in lines
    assert "*15.CPSRB.10* Locality plan — for decision — Jess Marland" in lines
    assert (
        "*15.CPSRB.11* Depot disposal (Restricted item: paragraph 3 of Part 1 of Schedule 12A) — Jess Marland"
        in lines
    )
    assert "*15.CPSRB.13* Date of next meeting — Tue 16 Jun 2015 at 16:00" in lines
    assert lines[-3:] == [
        "*Actions:*",
        "What | Who | When",
        "Bring options for a joint early help commission to the June Board | Ray Cottam | 29.05.15",
    ]
    member_view = type_command("/meeting minutes 21 Apr", person="fire", channel=BOARD).text
    assert "*15.CPSRB.11* Restricted item" in member_view and "Depot" not in member_view


def test_the_same_interest_declared_twice_is_kept_once(type_command, demo):
    type_command("/agenda add Locality plan", channel=BOARD)
    type_command("/meeting interest 21/04/2015 3 Partner works for the provider", person="fire")
    before = count_rows(demo)
    again = type_command("/meeting interest 21/04/2015 3 partner works  for the provider", person="fire")
    assert not again.ok
    assert again.text == "You have already declared that interest in item 3. Nothing was changed."
    assert count_rows(demo) == before
    other = type_command("/meeting interest 21/04/2015 3 Trustee of the provider", person="fire")
    assert other.ok
    text = type_command("/meeting minutes 21 Apr", channel=BOARD).text
    assert "• Ray Cottam, minute 15.CPSRB.9 (agenda item 3): Partner works for the provider" in text
    assert "• Ray Cottam, minute 15.CPSRB.9 (agenda item 3): Trustee of the provider" in text


def test_a_declaration_about_an_item_removed_since_is_still_minuted(type_command):
    type_command("/agenda add Locality plan", channel=BOARD)
    type_command("/agenda add Depot disposal", channel=BOARD)
    type_command("/meeting interest 21/04/2015 4 Trustee of the depot's buyer", person="fire")
    type_command("/agenda remove 3", channel=BOARD)
    type_command("/meeting interest 21/04/2015 3 Owns the depot next door", person="college")
    lines = type_command("/meeting minutes 21 Apr", channel=BOARD).text.splitlines()
    # Depot disposal is item 3 now, and the second minute after the standing three.
    assert "• Andrew Sumner, minute 15.CPSRB.9 (agenda item 3): Owns the depot next door" in lines
    assert "• Ray Cottam, minute 15.CPSRB.9 (agenda item 3): Trustee of the depot's buyer" in lines
    type_command("/agenda remove 3", channel=BOARD)
    lines = type_command("/meeting minutes 21 Apr", channel=BOARD).text.splitlines()
    assert "• Ray Cottam, an agenda item since removed: Trustee of the depot's buyer" in lines


def test_someone_who_sent_apologies_and_came_after_all_is_minuted_as_present_only(type_command, clock):
    type_command("/apologies 21 Apr Training course", person="fire")
    type_command("/apologies 21 Apr Leave", person="health")
    clock.set(datetime(2015, 4, 21, 18, tzinfo=LONDON))
    type_command("/meeting attendance 21 Apr present fire", channel=BOARD)
    lines = type_command("/meeting minutes 21 Apr", channel=BOARD).text.splitlines()
    assert "*Present:* Ray Cottam (Lancashire Fire and Rescue Service)" in lines
    assert "*Apologies:* Peter Kenyon" in lines


def test_members_not_yet_recorded_are_named_until_everyone_is(type_command, demo, clock):
    type_command("/apologies 21 Apr Leave", person="health")
    clock.set(datetime(2015, 4, 21, 18, tzinfo=LONDON))
    type_command("/meeting attendance 21 Apr present fire, chair", channel=BOARD)
    lines = type_command("/meeting minutes 21 Apr", channel=BOARD).text.splitlines()
    unrecorded = next(line for line in lines if line.startswith("_Not recorded yet:_ "))
    named = unrecorded.removeprefix("_Not recorded yet:_ ").removesuffix(
        " (`/meeting attendance Tue 21 Apr 2015`)"
    )
    # Every other member of the board, the officers and the observer too; not
    # those recorded, nor Peter Kenyon, whose apologies the minutes list.
    assert named.split(", ")[:3] == ["Amira Hussain", "Andrew Sumner", "Bernadette Quayle"]
    assert "Jess Marland" in named and "Priya Raman" in named
    assert "Ray Cottam" not in named and "Rosalind Ashcroft" not in named and "Peter Kenyon" not in named

    form = type_command("/meeting attendance 21 Apr", channel=BOARD).form
    values = {field.name: field.preset for field in form.fields}
    recorded = submit(FORMS["attendance"], values, form.state, sessions=demo, clock=clock, person_key="clerk")
    assert recorded.ok, recorded.text
    text = type_command("/meeting minutes 21 Apr", channel=BOARD).text
    assert "Not recorded yet" not in text and "*Apologies:* Peter Kenyon" in text


def test_a_substitute_shows_in_the_minutes_apologies(type_command, demo, clock):
    form = type_command("/apologies", person="health").form
    values = {"meeting": form.fields[0].preset, "reason": "Leave", "substitute": "Dr Kim Lee"}
    sent = submit(FORMS["apologies"], values, form.state, sessions=demo, clock=clock, person_key="health")
    assert sent.ok
    text = type_command("/meeting minutes 21 Apr", channel=BOARD).text
    assert "*Apologies:* Peter Kenyon (substitute: Dr Kim Lee)" in text
    assert "_Attendance not recorded yet" in text and "Leave" not in text


def test_a_date_without_its_year_finds_the_meeting_held_before_as_well(type_command, demo, clock):
    clock.set(datetime(2015, 4, 13, 9, tzinfo=LONDON))  # the board met on 10 Feb, and meets on 21 Apr
    february = type_command("/meeting minutes 10 Feb", channel=BOARD)
    assert february.ok
    assert february.text.startswith("*Draft minutes: Chorley Public Service Reform Board, Tue 10 Feb 2015,")
    april = type_command("/meeting minutes 21 Apr", channel=BOARD)
    assert april.text.startswith("*Draft minutes: Chorley Public Service Reform Board, Tue 21 Apr 2015,")

    recorded = type_command("/meeting attendance 10 Feb absent police", channel=BOARD)
    assert recorded.ok and "Sarah Mellor" in recorded.text and "Tue 10 Feb 2015" in recorded.text

    # Where the command is about what is to come, "10 Feb" is still the next one: none that day.
    cancel = type_command("/meeting cancel 10 Feb", channel=BOARD)
    assert not cancel.ok and "no meeting on Wed 10 Feb 2016" in cancel.text
    nowhere = type_command("/meeting minutes 11 Feb", channel=BOARD)
    assert not nowhere.ok and "no meeting on Wed 11 Feb 2015" in nowhere.text  # the nearer day
