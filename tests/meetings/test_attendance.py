"""Attendance: recorded by form or typed, and the attendance watch over a run of
meetings (apologies and absence alike, observers exempt, cancelled meetings
neither breaking a run nor counting in one)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.commands import FORMS
from bot.commands.core import submit
from services import attendance
from storage.models import Attendance, Delivery, Group, Meeting, Person
from tests.conftest import count_rows
from tests.statements import counting

LONDON = ZoneInfo("Europe/London")
BOARD = "CBOARD001"
OFFICERS = {"U0CHAIR01", "U0CLERK01", "U0POLICY1"}  # the board's chair and officers


def watch_messages(demo) -> list[Delivery]:
    with demo() as session:
        return session.scalars(
            select(Delivery).where(Delivery.key.like("attendance-watch:%")).order_by(Delivery.id)
        ).all()


def record_after(type_command, clock, when: datetime, *lines: str) -> list[str]:
    clock.set(when.replace(tzinfo=LONDON))
    replies = [type_command(f"/meeting attendance {line}", channel=BOARD) for line in lines]
    assert all(r.ok for r in replies), [r.text for r in replies]
    return [r.text for r in replies]


def test_the_attendance_rule_over_six_meetings_with_a_cancelled_one_and_an_observer(
    type_command, demo, clock
):
    # Sep 15 is cancelled before it happens: it neither breaks nor counts.
    assert type_command("/meeting cancel 15 Sep 2015", channel=BOARD).ok

    record_after(
        type_command, clock, datetime(2015, 2, 10, 18), "10 Feb 2015 absent fire, college, publichealth"
    )
    assert watch_messages(demo) == []  # one miss is nothing yet

    texts = record_after(
        type_command,
        clock,
        datetime(2015, 4, 21, 18),
        "21 Apr 2015 apologies fire",
        "21 Apr 2015 present college",
        "21 Apr 2015 absent publichealth",
    )
    assert "Attendance watch: Ray Cottam" in texts[0]
    sent = watch_messages(demo)
    assert {d.target for d in sent} == OFFICERS and all(d.kind == "direct" for d in sent)
    assert sent[0].payload["text"] == (
        "*Attendance watch*: Ray Cottam has now missed 2 consecutive meetings of the Chorley Public Service "
        "Reform Board: Tue 21 Apr 2015 (apologies), Tue 10 Feb 2015 (absent). The terms of reference say a "
        "member who misses 2 consecutive meetings may be asked for a written explanation."
    )
    assert "Priya Raman" not in " ".join(d.payload["text"] for d in sent)  # an observer is exempt

    # Recording again for the same meeting tells nobody twice, and says nothing of it.
    [again] = record_after(type_command, clock, datetime(2015, 4, 21, 19), "21 Apr 2015 apologies fire")
    assert len(watch_messages(demo)) == 3 and "Attendance watch" not in again

    record_after(
        type_command,
        clock,
        datetime(2015, 6, 16, 18),
        "16 Jun 2015 absent fire",
        "16 Jun 2015 present college",
    )
    third = watch_messages(demo)[3:]
    assert len(third) == 3
    assert "Ray Cottam has now missed 3 consecutive meetings" in third[0].payload["text"]
    assert (
        "count missing 3 consecutive meetings as resignation unless there are exceptional reasons. If "
        "they have resigned, the engineer who runs partnerbot takes them out of the group's members in "
        "the partnership file (out of its people too, if they leave the partnership) and loads it again."
        in third[0].payload["text"]
    )

    record_after(
        type_command,
        clock,
        datetime(2015, 12, 15, 18),
        "15 Dec 2015 present fire",
        "15 Dec 2015 absent college",
    )
    assert len(watch_messages(demo)) == 6  # fire came back; college missed one

    record_after(type_command, clock, datetime(2016, 3, 15, 18), "15 Mar 2016 apologies college")
    last = watch_messages(demo)[6:]
    assert len(last) == 3
    assert (
        "Andrew Sumner has now missed 2 consecutive meetings of the Chorley Public Service Reform Board: "
        "Tue 15 Mar 2016 (apologies), Tue 15 Dec 2015 (absent)." in last[0].payload["text"]
    )

    # The digest can list the same flags at any time.
    with demo() as session:
        board = session.scalar(select(Group).where(Group.slug == "board"))
        flags = attendance.flags(session, group=board)
        assert [(f.person.key, len(f.missed), f.resign) for f in flags] == [("college", 2, False)]
        june = session.scalar(
            select(Meeting).where(
                Meeting.group_id == board.id, Meeting.starts_at == datetime(2015, 6, 16, 16, tzinfo=LONDON)
            )
        )
        assert [(f.person.key, f.resign) for f in attendance.flags(session, group=board, up_to=june)] == [
            ("fire", True)
        ]


def test_an_earlier_meeting_recorded_late_completes_a_run_and_is_told(type_command, demo, clock):
    """The clerk records April first, then catches up with February: the run of
    two (and then three) ends in April, and the chair and officers hear of it."""
    [april] = record_after(type_command, clock, datetime(2015, 4, 21, 18), "21 Apr 2015 absent opposition")
    assert "Attendance watch" not in april and watch_messages(demo) == []

    [february] = record_after(type_command, clock, datetime(2015, 4, 22, 9), "10 Feb 2015 absent opposition")
    assert "Attendance watch: Derek Pilling" in february
    sent = watch_messages(demo)
    assert {d.target for d in sent} == OFFICERS
    assert (
        "Derek Pilling has now missed 2 consecutive meetings of the Chorley Public Service Reform Board: "
        "Tue 21 Apr 2015 (absent), Tue 10 Feb 2015 (absent)." in sent[0].payload["text"]
    )

    # A third, further back still (a January meeting, held), makes it three: told
    # again, as the rule's second step.
    with demo() as session, session.begin():
        board = session.scalar(select(Group).where(Group.slug == "board"))
        session.add(
            Meeting(
                group_id=board.id,
                starts_at=datetime(2015, 1, 13, 16, tzinfo=LONDON),
                ends_at=datetime(2015, 1, 13, 17, 30, tzinfo=LONDON),
                status="held",
                uid="jan-2015@partnerbot",
                created_at=datetime(2015, 1, 1, tzinfo=LONDON),
                updated_at=datetime(2015, 1, 1, tzinfo=LONDON),
            )
        )
    record_after(type_command, clock, datetime(2015, 4, 22, 10), "13 Jan 2015 apologies opposition")
    third = watch_messages(demo)[3:]
    assert len(third) == 3
    assert "Derek Pilling has now missed 3 consecutive meetings" in third[0].payload["text"]
    assert "resignation" in third[0].payload["text"]


def test_the_watch_says_so_when_no_chair_or_officer_can_be_told(type_command, demo, clock):
    with demo() as session, session.begin():
        for person in session.scalars(select(Person).where(Person.slack_user_id.in_(OFFICERS))):
            person.slack_user_id = None
    record_after(type_command, clock, datetime(2015, 2, 10, 18), "10 Feb 2015 absent fire")
    [april] = record_after(type_command, clock, datetime(2015, 4, 21, 18), "21 Apr 2015 absent fire")
    assert april.endswith(
        "Attendance watch: Ray Cottam — no chair or officer of the Chorley Public Service Reform Board has a "
        "Slack id in the partnership file to be told by direct message; the weekly digest lists it."
    )
    assert watch_messages(demo) == []


def test_the_attendance_form_is_preset_from_the_apologies_received(type_command, demo, clock):
    type_command("/apologies 21 Apr Hospital appointment", person="fire")
    clock.set(datetime(2015, 4, 21, 18, tzinfo=LONDON))
    reply = type_command("/meeting attendance 21 Apr", channel=BOARD)
    form = reply.form
    assert form is not None and form.name == "attendance" and form.title == "Attendance"
    presets = {f.name: f.preset for f in form.fields}
    assert len(form.fields) == 18  # every member of the board, the observer too
    assert presets["fire"] == "apologies" and presets["college"] == "present"
    # Officers and observers are "in attendance", as minutes list them; the chair is a member present.
    assert presets["clerk"] == presets["policy"] == presets["publichealth"] == "in_attendance"
    assert presets["chair"] == "present"
    assert next(f.label for f in form.fields if f.name == "publichealth") == "Priya Raman (observer)"
    assert [c.label for c in form.fields[0].choices] == ["present", "apologies", "absent", "in attendance"]

    values = presets | {"college": "absent"}
    done = submit(FORMS["attendance"], values, form.state, sessions=demo, clock=clock, person_key="clerk")
    assert done.ok and done.text == (
        "Attendance recorded for the Chorley Public Service Reform Board meeting on Tue 21 Apr 2015: "
        "13 present, 1 with apologies, 1 absent, 3 in attendance."
    )
    with demo() as session:
        meeting = session.get(Meeting, int(form.state["meeting"]))
        assert meeting.status == "held"
        stored = dict(session.execute(select(Attendance.person_id, Attendance.status)).all())
        assert len(stored) == 18 and sorted(set(stored.values())) == [
            "absent",
            "apologies",
            "in_attendance",
            "present",
        ]


def test_a_bad_attendance_form_is_refused_field_by_field_and_nothing_is_stored(type_command, demo, clock):
    clock.set(datetime(2015, 4, 21, 18, tzinfo=LONDON))
    form = type_command("/meeting attendance 21 Apr", channel=BOARD).form
    before = count_rows(demo)
    values = {f.name: f.preset or "" for f in form.fields} | {"fire": "asleep", "nobody": "present"}
    refused = submit(FORMS["attendance"], values, form.state, sessions=demo, clock=clock, person_key="clerk")
    assert not refused.ok
    assert refused.errors == {
        "fire": "Choose present, apologies, absent or in attendance.",
        "nobody": "Not a member of the group any more.",
    }
    assert count_rows(demo) == before


@pytest.mark.parametrize(
    ("line", "person", "says"),
    [
        (
            "21 Apr absent fire",
            "fire",
            "Only the officers and the chair of the Chorley Public Service Reform Board record attendance",
        ),
        ("21 Apr", "fire", "Only the officers and the chair"),
        ("16 Jun absent fire", "clerk", "has not started yet"),
        ("16 Jun", "clerk", "That meeting has not started yet: attendance is recorded at or after it."),
        ("21 Apr asleep fire", "clerk", "'asleep' is not an attendance"),
        ("21 Apr absent", "clerk", "Who?"),
        ("21 Apr absent nobody at all", "clerk", "'nobody at all' is not a person in the partnership"),
        (
            "21 Apr absent Sarah Mellor, intel",
            "clerk",
            "Fiona Rigby is not a member of the Chorley Public Service Reform Board: record them `in "
            "attendance` if they came to present or advise.",
        ),
        ("21 Apr in the room fire", "clerk", "'in' is not an attendance"),
        ("22 Apr absent fire", "clerk", "no meeting on Wed 22 Apr 2015"),
        ("21 Apr absent " + ", ".join(["fire"] * 50), "clerk", "At most 40 people at once"),
        ("21 Apr absent <!channel>", "clerk", "looks like a channel or a link"),
    ],
)
def test_attendance_that_cannot_be_recorded_is_refused(type_command, demo, clock, line, person, says):
    clock.set(datetime(2015, 4, 21, 18, tzinfo=LONDON))
    before = count_rows(demo)
    reply = type_command(f"/meeting attendance {line}", person=person, channel=BOARD)
    assert not reply.ok and says in reply.text, reply.text
    assert count_rows(demo) == before


@pytest.mark.parametrize("line", ["16 Jun", "16 Jun present chair"], ids=["form", "typed"])
def test_a_cancelled_meeting_has_no_attendance_to_record(type_command, demo, clock, line):
    assert type_command("/meeting cancel 16 Jun", channel=BOARD).ok
    clock.set(datetime(2015, 6, 17, 9, tzinfo=LONDON))
    before = count_rows(demo)
    reply = type_command(f"/meeting attendance {line}", channel=BOARD)
    assert not reply.ok and reply.form is None
    assert "That meeting was cancelled, so there is no attendance to record." in reply.text, reply.text
    assert count_rows(demo) == before


def test_in_attendance_and_several_people_at_once(type_command, demo, clock):
    clock.set(datetime(2015, 4, 21, 18, tzinfo=LONDON))
    reply = type_command("/meeting attendance 21 Apr in attendance publichealth, <@U0FIRE001>", channel=BOARD)
    assert reply.ok and reply.text.startswith("Recorded in attendance for Priya Raman, Ray Cottam")
    with demo() as session:
        assert sorted(session.scalars(select(Attendance.status))) == ["in_attendance", "in_attendance"]


def test_someone_not_in_the_group_may_be_in_attendance_and_is_minuted_so(type_command, demo, clock):
    clock.set(datetime(2015, 4, 21, 18, tzinfo=LONDON))
    reply = type_command("/meeting attendance 21 Apr in attendance intel", channel=BOARD)  # not a member
    assert reply.ok and reply.text.startswith("Recorded in attendance for Fiona Rigby")
    minutes = type_command("/meeting minutes 21 Apr", channel=BOARD).text
    assert "*Also in attendance:* Fiona Rigby (Lancashire Constabulary)" in minutes


def test_attendance_recorded_late_still_names_a_member_taken_out_of_the_group_since(
    type_command, demo, clock, leave
):
    clock.set(datetime(2015, 4, 22, 9, tzinfo=LONDON))  # the morning after the April Board
    leave("police")  # the file that takes Sarah Mellor out is loaded before the clerk records it
    form = type_command("/meeting attendance 21 Apr", channel=BOARD).form
    assert form is not None and len(form.fields) == 18
    label = next(f.label for f in form.fields if f.name == "police")
    assert label == "Sarah Mellor (member, since taken out of the group)"
    assert type_command("/meeting attendance 21 Apr present police", channel=BOARD).ok
    minutes = type_command("/meeting minutes 21 Apr", channel=BOARD).text
    assert "Sarah Mellor (Lancashire Constabulary)" in minutes.split("*Present:*")[1].split("\n")[0]
    # A meeting after she was taken out is not hers: only "in attendance" names her there.
    clock.set(datetime(2015, 6, 16, 18, tzinfo=LONDON))
    june = type_command("/meeting attendance 16 Jun", channel=BOARD).form
    assert june is not None and "police" not in {f.name for f in june.fields}
    refused = type_command("/meeting attendance 16 Jun absent police", channel=BOARD)
    assert not refused.ok and "is not a member of the Chorley Public Service Reform Board" in refused.text


def test_the_digest_gets_every_groups_flags_in_four_queries(type_command, demo, clock):
    record_after(type_command, clock, datetime(2015, 2, 10, 18), "10 Feb 2015 absent fire")
    record_after(type_command, clock, datetime(2015, 4, 21, 18), "21 Apr 2015 absent fire")
    clock.set(datetime(2015, 4, 22, 9, tzinfo=LONDON))
    assert type_command("/meeting attendance 8 Apr 2015 apologies fire", channel="CIMPL0001").ok
    assert type_command("/meeting attendance 11 Mar 2015 absent fire", channel="CIMPL0001").ok
    with demo() as session:
        every = session.scalars(select(Group)).all()
        with counting(session.get_bind()) as statements:
            found = attendance.flags_for(session, groups=every)
    assert sorted((f.group.slug, f.person.key, [s for _, s in f.missed]) for f in found) == [
        ("board", "fire", ["absent", "absent"]),
        ("implementation", "fire", ["apologies", "absent"]),
    ]
    assert len(statements) == 4


def test_the_chair_records_themselves_present_as_me(type_command, demo, clock):
    # "me" is whoever typed it, not Sarah Mellor, whose name starts so.
    clock.set(datetime(2015, 4, 21, 18, tzinfo=LONDON))
    reply = type_command("/meeting attendance 21 Apr present me", person="chair", channel=BOARD)
    assert reply.ok, reply.text
    with demo() as session:
        recorded = session.execute(select(Attendance.person_id, Attendance.status)).all()
        chair = session.scalar(select(Person.id).where(Person.key == "chair"))
    assert recorded == [(chair, "present")]


@pytest.mark.parametrize(
    "who",
    [
        "<@U0FIRE001|ray> <@U0CHAIR01>",  # as Slack's picker leaves two mentions
        "<@U0FIRE001> and <@U0CHAIR01>",
        "fire chair",
        "Ray Cottam and Rosalind Ashcroft",
        "Cottam & chair",
        "fire, chair",
    ],
)
def test_several_people_named_without_commas_are_each_recorded(type_command, demo, clock, who):
    clock.set(datetime(2015, 4, 21, 18, tzinfo=LONDON))
    reply = type_command(f"/meeting attendance 21 Apr absent {who}", channel=BOARD)
    assert reply.text.startswith("Recorded absent for Ray Cottam, Rosalind Ashcroft at"), reply.text
    with demo() as session:
        recorded = session.execute(
            select(Person.key, Attendance.status).join(Person, Person.id == Attendance.person_id)
        ).all()
    assert sorted(recorded) == [("chair", "absent"), ("fire", "absent")]


@pytest.mark.parametrize(
    ("who", "says"),
    [
        ("fire nobody", "'fire nobody' is not a person in the partnership"),  # not every word an id
        ("Ray Cottam and nobody", "'nobody' is not a person in the partnership"),
        ("<@U0FIRE001> <@U0NOBODY1>", "<@U0NOBODY1> is not in the partnership file"),
        ("<@U0FIRE001> <#C0BOARD01>", "looks like a channel or a link"),
        (" ".join(["fire"] * 41), "At most 40 people at once"),
    ],
)
def test_several_people_named_without_commas_are_all_someone_or_none_is_recorded(
    type_command, demo, clock, who, says
):
    clock.set(datetime(2015, 4, 21, 18, tzinfo=LONDON))
    before = count_rows(demo)
    reply = type_command(f"/meeting attendance 21 Apr absent {who}", channel=BOARD)
    assert not reply.ok and says in reply.text, reply.text
    assert count_rows(demo) == before


def test_recording_absent_someone_who_sent_apologies_says_how_to_record_the_apologies(type_command, clock):
    type_command("/apologies 21 Apr Training course", person="fire")
    clock.set(datetime(2015, 4, 21, 18, tzinfo=LONDON))
    reply = type_command("/meeting attendance 21 Apr absent fire, police", channel=BOARD)
    assert reply.ok
    assert reply.text.startswith(
        "Recorded absent for Ray Cottam, Sarah Mellor at the Chorley Public Service Reform Board meeting on "
        "Tue 21 Apr 2015. Ray Cottam had sent apologies for it, so the minutes list them as not present rather "
        "than with apologies: `/meeting attendance Tue 21 Apr 2015 apologies Ray Cottam` records the apologies "
        "instead."
    ), reply.text
    again = type_command("/meeting attendance 21 Apr absent fire", channel=BOARD)
    assert "had sent apologies" not in again.text  # said once, when recorded

    instead = type_command("/meeting attendance Tue 21 Apr 2015 apologies Ray Cottam", channel=BOARD)
    assert instead.ok and instead.text.startswith("Recorded apologies for Ray Cottam"), instead.text
    lines = type_command("/meeting minutes 21 Apr", channel=BOARD).text.splitlines()
    assert "*Apologies:* Ray Cottam" in lines and "*Not present:* Sarah Mellor" in lines
