"""/apologies: a member sends apologies without e-mailing the clerk."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select, update

from bot.commands.apologies import ListApologies, Send, Withdraw, parse
from storage.models import Apology, AuditEntry, Meeting, Person
from storage.partnership_file import load, read_file
from tests.conftest import DEMO_FILE, LONDON, count_rows

TODAY = date(2015, 4, 13)
BOARD = "the Chorley Public Service Reform Board meeting on Tue 21 Apr 2015 at 16:00"


def apologies_of(sessions, person: str) -> list[Apology]:
    with sessions() as session:
        return list(session.scalars(select(Apology).join(Person).where(Person.key == person)))


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("", Send(None, "")),
        ("Off sick", Send(None, "Off sick")),
        ("21/04/2015 At a conference in Leeds", Send(date(2015, 4, 21), "At a conference in Leeds")),
        ("Tue 21 Apr hospital appointment", Send(date(2015, 4, 21), "hospital appointment")),
        ("tomorrow", Send(date(2015, 4, 14), "")),
        ("withdraw", Withdraw(None)),
        ("withdraw 21 Apr", Withdraw(date(2015, 4, 21))),
        ("list", ListApologies(None)),
    ],
)
def test_the_grammar_reads_each_form(text, intent):
    assert parse(text, today=TODAY) == intent


def test_a_member_sends_apologies_for_their_next_meeting(type_command, demo):
    # The fire group manager sits on the Board and the Implementation Group; the
    # next of those after Mon 13 Apr is the board on 21 Apr.
    reply = type_command("/apologies 21/04/2015 At a conference in Leeds", person="fire")
    assert reply.ok and reply.text.startswith(f"Apologies sent for {BOARD}.")
    assert "seen only by you, the officers and the chair" in reply.text
    [apology] = apologies_of(demo, "fire")
    assert apology.reason == "At a conference in Leeds" and apology.withdrawn_at is None
    assert [p for p in reply.posts if p.kind != "home"] == []  # reasons are never posted to a channel


def test_sending_again_updates_the_reason_and_says_so(type_command, demo):
    type_command("/apologies 21 Apr At a conference", person="fire")
    reply = type_command("/apologies 21 Apr Family emergency", person="fire")
    assert f"Your apologies for {BOARD} were already in: your reason is updated." in reply.text
    [apology] = apologies_of(demo, "fire")
    assert apology.reason == "Family emergency"


def test_sending_again_by_form_and_by_command_changes_only_what_is_said(type_command, demo, clock):
    from bot.commands import FORMS
    from bot.commands.core import submit

    form = type_command("/apologies", person="fire").form
    values = {"meeting": form.fields[0].preset, "reason": "At a conference", "substitute": "Dr Kim Lee"}
    assert submit(FORMS["apologies"], values, form.state, sessions=demo, clock=clock, person_key="fire").ok

    # The form opened again shows what was sent to the meeting it presets.
    again = type_command("/apologies", person="fire").form
    assert [f.preset for f in again.fields[1:]] == ["At a conference", "Dr Kim Lee"]

    # Typed again with no reason: nothing it sent is lost.
    reply = type_command("/apologies 21 Apr", person="fire")
    assert reply.text == f"Your apologies for {BOARD} were already in: they stand as they were."
    [apology] = apologies_of(demo, "fire")
    assert (apology.reason, apology.substitute) == ("At a conference", "Dr Kim Lee")

    # Typed with a reason: the reason changes, the substitute given in the form stays.
    type_command("/apologies 21 Apr Family emergency", person="fire")
    [apology] = apologies_of(demo, "fire")
    assert (apology.reason, apology.substitute) == ("Family emergency", "Dr Kim Lee")

    # Withdrawn and sent again is a fresh apology: the old substitute does not come back.
    type_command("/apologies withdraw 21 Apr", person="fire")
    assert [f.preset for f in type_command("/apologies", person="fire").form.fields[1:]] == ["", ""]
    type_command("/apologies 21 Apr Ill", person="fire")
    [apology] = apologies_of(demo, "fire")
    assert (apology.reason, apology.substitute, apology.withdrawn_at) == ("Ill", None, None)


def test_the_audit_trail_records_the_apology_but_not_its_reason(type_command, demo):
    type_command("/apologies 21 Apr Hospital appointment", person="fire")
    with demo() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.what == "apology.send"))
    assert entry.actor == "Ray Cottam"
    assert "Hospital" not in str(entry.after) and entry.after["reason_given"] is True


def test_in_a_group_channel_the_apology_is_for_that_group(type_command):
    reply = type_command("/apologies Off sick", person="fire", channel="CIMPL0001")
    assert "Implementation Group meeting on" in reply.text


def test_a_date_with_no_meeting_is_refused_with_the_upcoming_ones(type_command, demo):
    before = count_rows(demo)
    reply = type_command("/apologies 22/04/2015 Off sick", person="fire")
    assert not reply.ok
    assert "no meeting on Wed 22 Apr 2015" in reply.text
    assert "Upcoming: Tue 21 Apr 2015 (CPSRB)" in reply.text
    assert "Near" not in reply.text  # the day is among the next few: they are enough
    assert count_rows(demo) == before


def test_a_date_further_off_than_the_next_few_meetings_is_answered_with_those_near_it(type_command, demo):
    before = count_rows(demo)
    reply = type_command("/apologies 17/06/2015 Leave", person="fire")
    assert not reply.ok
    assert reply.text.endswith(
        "Wed 10 Jun 2015 (CPSIG). Near Wed 17 Jun 2015: Tue 16 Jun 2015 (CPSRB), Thu 2 Jul 2015 (CPSRE). "
        "Nothing was changed."
    )
    assert count_rows(demo) == before


def test_a_meeting_already_held_is_refused(type_command, demo):
    reply = type_command("/apologies 10/02/2015 Off sick", person="fire")
    assert not reply.ok and "has already taken place" in reply.text
    assert apologies_of(demo, "fire") == []


def test_a_meeting_under_way_is_refused_as_started_not_as_over(type_command, demo, clock):
    clock.set(datetime(2015, 4, 21, 16, 30, tzinfo=LONDON))  # the board meets 16:00-17:30
    reply = type_command("/apologies 21 Apr Stuck in traffic", person="fire")
    assert reply.text == (
        "The Chorley Public Service Reform Board meeting on Tue 21 Apr 2015 has already started: apologies "
        "can only be sent before a meeting. Nothing was changed."
    )
    moved = type_command("/meeting move 21 Apr to 28 Apr", channel="CBOARD001")
    assert "has already started, so it can't be moved" in moved.text
    clock.set(datetime(2015, 4, 21, 17, 30, tzinfo=LONDON))
    assert "has already taken place" in type_command("/apologies 21 Apr Late", person="fire").text
    assert apologies_of(demo, "fire") == []


def test_a_cancelled_meeting_is_refused(type_command, demo):
    with demo() as session, session.begin():
        session.execute(
            update(Meeting)
            .where(Meeting.starts_at == datetime(2015, 4, 21, 16, 0, tzinfo=LONDON))
            .values(status="cancelled")
        )
    reply = type_command("/apologies 21/04/2015 Off sick", person="fire")
    assert not reply.ok and "is cancelled" in reply.text
    assert apologies_of(demo, "fire") == []
    listed = type_command("/apologies list 21/04/2015", person="fire")
    assert listed.text == f"No apologies yet for {BOARD} (cancelled)."


def test_an_impossible_date_is_refused_not_taken_as_a_reason(type_command, demo):
    reply = type_command("/apologies 31/02/2015 Off sick", person="fire")
    assert not reply.ok and "31 February" in reply.text
    assert apologies_of(demo, "fire") == []


def test_someone_not_in_the_file_is_told_to_ask_an_officer(type_command, demo):
    before = count_rows(demo)
    reply = type_command("/apologies Off sick", person=None)
    assert not reply.ok and "not in the partnership file" in reply.text
    assert count_rows(demo) == before


def test_a_non_member_of_the_channel_group_is_refused_and_told_who_to_ask(type_command, demo):
    reply = type_command("/apologies Off sick", person="college", channel="CEXEC0001")
    assert not reply.ok
    assert "You are not a member of the" in reply.text and "ask" in reply.text
    assert apologies_of(demo, "college") == []


def test_a_huge_or_hostile_reason(type_command, demo):
    huge = type_command("/apologies 21 Apr " + "x" * 1500, person="fire")
    assert not huge.ok and "at most 1000 characters" in huge.text
    assert apologies_of(demo, "fire") == []
    hostile = type_command("/apologies 21 Apr <!channel> come to my party", person="fire")
    assert hostile.ok and "<!channel>" not in hostile.text


def test_withdrawing_and_listing(type_command, demo):
    type_command("/apologies 21 Apr Conference", person="fire")
    type_command("/apologies 21 Apr Leave", person="college")
    member_view = type_command("/apologies list 21 Apr", person="fire").text
    # A member sees their own reason, never another's.
    assert "• Ray Cottam — Conference" in member_view and "Leave" not in member_view
    officer_view = type_command("/apologies list 21 Apr", person="clerk").text
    assert "Ray Cottam — Conference" in officer_view
    reply = type_command("/apologies withdraw 21 Apr", person="fire")
    assert "Apologies withdrawn" in reply.text
    assert apologies_of(demo, "fire")[0].withdrawn_at is not None
    assert "Ray Cottam" not in type_command("/apologies list 21 Apr", person="clerk").text


def test_someone_who_leaves_is_no_longer_sending_apologies_for_meetings_ahead(
    type_command, demo, clock, leave
):
    assert type_command("/apologies 21/04/2015 Away", person="fire").ok
    assert type_command("/apologies 16/06/2015 At a conference", person="fire").ok
    clock.set(datetime(2015, 4, 22, 9, 0, tzinfo=LONDON))  # the April Board held
    leave("fire")
    june = type_command("/apologies list 16/06/2015", person="clerk", channel="CBOARD001")
    assert june.ok and "Ray Cottam" not in june.text
    april = type_command("/apologies list 21/04/2015", person="clerk", channel="CBOARD001")
    assert "• Ray Cottam — Away" in april.text  # a meeting held keeps its record
    with demo() as session:
        withdrawn = session.scalars(select(AuditEntry).where(AuditEntry.what == "load.update")).all()
        assert [(e.subject, e.after) for e in withdrawn if e.subject.startswith("apology")] == [
            ("apology board 2015-06-16 fire", {"withdrawn_at": "2015-04-22T08:00:00+00:00"})
        ]


def test_someone_taken_out_of_a_group_has_its_apologies_withdrawn_until_put_back(type_command, demo, clock):
    assert type_command("/apologies 16/06/2015 At a conference", person="fire").ok  # the Board's
    assert type_command("/apologies 14/05/2015 Leave", person="fire").ok  # the Executive's

    def load_with_the_board(members: list[dict]) -> None:
        data = read_file(DEMO_FILE)
        for group in data["groups"]:
            if group["slug"] == "board":
                group["members"] = members
        with demo.begin() as session:
            load(session, data, now=clock.now())

    board = next(g for g in read_file(DEMO_FILE)["groups"] if g["slug"] == "board")["members"]
    clock.set(datetime(2015, 4, 22, 9, 0, tzinfo=LONDON))
    load_with_the_board([m for m in board if m["person"] != "fire"])
    june = type_command("/apologies list 16/06/2015", person="clerk", channel="CBOARD001")
    assert june.ok and "Ray Cottam" not in june.text
    may = type_command("/apologies list 14/05/2015", person="clerk", channel="CEXEC0001")
    assert "• Ray Cottam — Leave" in may.text  # still on the Executive

    clock.set(datetime(2015, 4, 29, 9, 0, tzinfo=LONDON))
    load_with_the_board(board)
    june = type_command("/apologies list 16/06/2015", person="clerk", channel="CBOARD001")
    assert "• Ray Cottam — At a conference" in june.text


def test_someone_put_back_in_the_file_has_the_apologies_their_leaving_withdrew(
    type_command, demo, clock, leave
):
    assert type_command("/apologies 16/06/2015 At a conference", person="fire").ok
    assert type_command("/apologies 14/05/2015 Leave", person="fire").ok  # the Executive's
    assert type_command("/apologies 13/05/2015 Training", person="fire").ok  # the Implementation Group's
    assert type_command("/apologies withdraw 13/05/2015", person="fire").ok  # theirs, not the load's
    clock.set(datetime(2015, 4, 22, 9, 0, tzinfo=LONDON))
    leave("fire")
    clock.set(datetime(2015, 4, 23, 9, 0, tzinfo=LONDON))
    with demo.begin() as session:  # back in the file, but the Executive no longer has them
        data = read_file(DEMO_FILE)
        for group in data["groups"]:
            if group["slug"] == "executive":
                group["members"] = [m for m in group["members"] if m["person"] != "fire"]
        result = load(session, data, now=clock.now())
    assert result.updated["apology"] == 1
    june = type_command("/apologies list 16/06/2015", person="clerk", channel="CBOARD001")
    assert "• Ray Cottam — At a conference" in june.text
    with demo() as session:
        withdrawn = dict(
            session.execute(
                select(Meeting.starts_at, Apology.withdrawn_at.is_not(None))
                .join(Apology, Apology.meeting_id == Meeting.id)
                .join(Person, Person.id == Apology.person_id)
                .where(Person.key == "fire")
            ).all()
        )
        assert sorted((when.date().isoformat(), gone) for when, gone in withdrawn.items()) == [
            ("2015-05-13", True),  # withdrawn by them: stays so
            ("2015-05-14", True),  # the Executive's: they are not back in it
            ("2015-06-16", False),
        ]
        restored = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.what == "load.update", AuditEntry.subject == "apology board 2015-06-16 fire")
            .order_by(AuditEntry.id)
        ).all()
        assert [e.after for e in restored] == [
            {"withdrawn_at": "2015-04-22T08:00:00+00:00"},
            {"withdrawn_at": None},
        ]


def test_apologies_without_a_date_while_a_meeting_is_under_way_say_so_and_how_to_take_them_back(
    type_command, demo, clock
):
    clock.set(datetime(2015, 4, 21, 16, 30, tzinfo=LONDON))  # the Board, 16:00-17:30
    late = type_command("/apologies Sorry, running late", person="fire")
    assert late.ok
    assert late.text == (
        "Apologies sent for the Implementation Group meeting on Wed 13 May 2015 at 14:00. Your reason is seen "
        "only by you, the officers and the chair. The Chorley Public Service Reform Board meeting is under way "
        "now (Tue 21 Apr 2015, 16:00–17:30): if you meant that one, it is too late to send apologies for it, so "
        "tell its chair or an officer, and `/apologies withdraw` takes these back."
    )
    back = type_command("/apologies withdraw", person="fire")
    assert back.ok and "Implementation Group meeting on Wed 13 May 2015" in back.text
    assert all(a.withdrawn_at is not None for a in apologies_of(demo, "fire"))
    # With a date, or in another group's channel (that group's next meeting), nothing is said.
    dated = type_command("/apologies Wed 13 May 2015 Sorry", person="fire")
    assert dated.ok and "under way" not in dated.text
    executive = type_command("/apologies Leave", person="fire", channel="CEXEC0001")
    assert executive.ok and "under way" not in executive.text
    clock.set(datetime(2015, 4, 21, 17, 30, tzinfo=LONDON))  # it has ended
    after = type_command("/apologies Leave", person="fire")
    assert after.ok and "under way" not in after.text
