"""The partnership file (SPEC section 3): a good file is loaded whole and a
second load changes nothing; a bad file is refused whole, with every problem
named by its path, and nothing is written."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from storage.models import (
    Action,
    AuditEntry,
    Base,
    Group,
    Meeting,
    Membership,
    Partnership,
    Person,
    Workstream,
    WorkstreamMember,
)
from storage.partnership_file import LoadResult, PartnershipFileError, load, read_file
from tests.statements import counting

FILES = Path(__file__).parent / "files"
SPEC_EXAMPLE = FILES / "spec_example.yaml"
DEMO = Path(__file__).parents[2] / "storage" / "examples" / "chorley.yaml"
LONDON = ZoneInfo("Europe/London")
UTC = UTC


def spec_example() -> dict:
    return read_file(SPEC_EXAMPLE)


def load_again(db, data: dict, clock) -> LoadResult:
    """Load `data` in a session of its own, as a later `partnerbot load` does."""
    with db() as again:
        result = load(again, data, now=clock.now())
        again.commit()
    return result


def dump(session) -> dict[str, list[tuple]]:
    """Every row of every table, in key order."""
    session.flush()
    return {
        table.name: [
            tuple(row) for row in session.execute(select(table).order_by(*table.primary_key.columns))
        ]
        for table in Base.metadata.sorted_tables
    }


def counts(session) -> dict[str, int]:
    return {name: len(rows) for name, rows in dump(session).items()}


def people(session) -> dict[str, Person]:
    return {person.key: person for person in session.scalars(select(Person))}


def members_of(session, slug: str) -> dict[str, str]:
    rows = session.execute(
        select(Person.key, Membership.role)
        .join(Membership, Membership.person_id == Person.id)
        .join(Group, Group.id == Membership.group_id)
        .where(Group.slug == slug)
    )
    return dict(rows.all())


def audit_count(session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEntry))


def refused(session, data: dict) -> list[str]:
    """Loading `data` is refused and writes nothing; the problems it lists."""
    before = dump(session)
    with pytest.raises(PartnershipFileError) as refusal:
        load(session, data, now=datetime(2015, 4, 13, 8, tzinfo=UTC))
    assert dump(session) == before
    assert "nothing was changed" in str(refusal.value)
    return refusal.value.problems


def refused_text(session, tmp_path: Path, text: str) -> list[str]:
    """The same, for a file as written: read_file and load together."""
    path = tmp_path / "partnership.yaml"
    path.write_text(text, encoding="utf-8")
    before = dump(session)
    with pytest.raises(PartnershipFileError) as refusal:
        load(session, read_file(path), now=datetime(2015, 4, 13, 8, tzinfo=UTC))
    assert dump(session) == before
    return refusal.value.problems


MINIMAL = """\
partnership: {name: Chorley Public Service Reform Partnership}
groups:
  - {slug: board, name: Chorley Public Service Reform Board, abbreviation: CPSRB,
     location: Committee Room 1}
"""


# -- The SPEC example -----------------------------------------------------------------


def test_the_spec_example_loads_and_stores_what_it_says(session, clock):
    result = load(session, spec_example(), now=clock.now())
    session.commit()

    assert result.created == {
        "partnership": 1,
        "organisation": 2,
        "person": 3,
        "group": 1,
        "membership": 3,
        "workstream": 1,
        "workstream_member": 1,
        "meeting": 1,
        "action": 2,
    }
    assert result.updated == {} and result.removed == {} and result.changed

    partnership = session.get(Partnership, 1)
    assert (partnership.name, partnership.timezone, partnership.channel) == (
        "Chorley Public Service Reform Partnership",
        "Europe/London",
        "CPARTNER1",
    )
    assert (partnership.digest_day, partnership.digest_time) == (0, time(9, 0))
    assert partnership.organiser_email == "psr@example.org"
    assert partnership.holidays == "england-and-wales"

    everyone = people(session)
    chair, fire = everyone["chair"], everyone["fire"]
    assert (chair.name, chair.title, chair.email, chair.slack_user_id) == (
        "Alex Bradley",
        "Leader of the Council",
        "alex.bradley@example.org",
        "U0CHAIR01",
    )
    assert chair.organisation.key == "cbc"
    assert fire.organisation.name == "Lancashire Fire and Rescue Service"
    assert fire.email is None and fire.slack_user_id == "U0FIRE001"

    board = session.scalars(select(Group)).one()
    assert (board.slug, board.abbreviation, board.channel) == ("board", "CPSRB", "CBOARD001")
    assert board.location.startswith("Committee Room 1, Chorley Town Hall")
    assert (board.start_time, board.minutes) == (time(16, 0), 90)
    assert (board.items_due_days, board.publish_days) == (10, 5)
    assert (board.explain_after, board.resign_after) == (2, 3)
    assert members_of(session, "board") == {"chair": "chair", "clerk": "officer", "fire": "member"}

    workstream = session.scalars(select(Workstream)).one()
    assert (workstream.slug, workstream.group_id, workstream.is_open) == (
        "joint-commissioning",
        board.id,
        True,
    )
    assert [(m.person_id, m.role) for m in workstream.members] == [(fire.id, "lead")]

    meeting = session.scalars(select(Meeting)).one()
    assert meeting.starts_at == datetime(2015, 4, 21, 15, 0, tzinfo=UTC)  # 16:00 BST
    assert meeting.ends_at.astimezone(LONDON).time() == time(17, 30)
    assert (meeting.location, meeting.url, meeting.status) == ("Committee Room 1", None, "scheduled")
    assert meeting.uid.endswith("@partnerbot") and meeting.sequence == 0
    assert meeting.created_at == meeting.updated_at == clock.now()

    first, second = session.scalars(select(Action).order_by(Action.number))
    assert (first.ref, first.what, first.due) == ("A1", "Circulate Away Day outcomes", date(2015, 2, 17))
    assert (first.owner.key, first.owner_text, first.status) == ("clerk", None, "open")
    assert (second.ref, second.owner_id, second.owner_text) == ("A2", None, "Group Leads")
    assert second.done_at is None and second.created_at == clock.now()


def test_every_row_the_load_creates_is_audited_to_the_partnership_file(session, clock):
    load(session, spec_example(), now=clock.now())
    entries = {entry.subject: entry for entry in session.scalars(select(AuditEntry))}

    assert len(entries) == 15
    assert all(
        e.what == "load.create"
        and e.actor == "partnership file"
        and e.actor_id is None
        and e.at == clock.now()
        and e.before is None
        for e in entries.values()
    )
    assert entries["person fire"].after == {
        "key": "fire",
        "name": "John Burke",
        "title": "Group Manager",
        "email": None,
        "slack_user_id": "U0FIRE001",
        "organisation": "lfrs",
    }
    assert entries["membership board clerk"].after == {"group": "board", "person": "clerk", "role": "officer"}
    meeting = entries["meeting board 2015-04-21"].after
    assert meeting["starts_at"] == "2015-04-21T15:00:00+00:00"
    assert meeting["ends_at"] == "2015-04-21T16:30:00+00:00"
    assert entries["action A1"].after["due"] == "2015-02-17"
    assert entries["action A1"].after["owner"] == "clerk"
    assert entries["partnership"].after["digest_time"] == "09:00:00"


def test_what_the_file_leaves_out_takes_the_spec_defaults(session, clock, tmp_path):
    path = tmp_path / "minimal.yaml"
    path.write_text(
        MINIMAL
        + """\
meetings:
  - {group: board, start: "2015-06-16T16:00"}
  - {group: board, start: 2015-07-14T16:00:00, url: https://meet.example.org/board}
"""
    )
    load(session, read_file(path), now=clock.now())

    partnership = session.get(Partnership, 1)
    assert (partnership.timezone, partnership.digest_day, partnership.digest_time) == (
        "Europe/London",
        0,
        time(9, 0),
    )
    assert partnership.holidays == "england-and-wales" and partnership.channel is None
    board = session.scalars(select(Group)).one()
    assert (
        board.start_time,
        board.minutes,
        board.items_due_days,
        board.publish_days,
        board.explain_after,
        board.resign_after,
    ) == (time(16, 0), 90, 10, 5, 2, 3)
    in_the_room, online = session.scalars(select(Meeting).order_by(Meeting.starts_at))
    assert (in_the_room.location, in_the_room.url) == ("Committee Room 1", None)
    assert (online.location, online.url) == (None, "https://meet.example.org/board")
    assert online.starts_at == datetime(2015, 7, 14, 15, 0, tzinfo=UTC)
    assert online.ends_at - online.starts_at == timedelta(minutes=90)


def test_a_meeting_in_the_autumn_fold_takes_the_first_of_the_two_times(session, clock, tmp_path):
    path = tmp_path / "fold.yaml"
    path.write_text(MINIMAL + "meetings: [{group: board, start: 2015-10-25T01:30, minutes: 60}]\n")
    load(session, read_file(path), now=clock.now())

    meeting = session.scalars(select(Meeting)).one()
    assert meeting.starts_at == datetime(2015, 10, 25, 0, 30, tzinfo=UTC)  # 01:30 BST
    assert meeting.ends_at == datetime(2015, 10, 25, 1, 30, tzinfo=UTC)


# -- Loading again ----------------------------------------------------------------------


def test_loading_the_same_file_twice_changes_nothing(session, db, clock):
    load(session, spec_example(), now=clock.now())
    session.commit()
    before, audited = dump(session), audit_count(session)

    clock.advance(timedelta(days=1))
    result = load_again(db, spec_example(), clock)

    assert result == LoadResult({}, {}, {}) and not result.changed
    assert dump(session) == before
    assert audit_count(session) == audited


def test_a_changed_file_updates_just_what_changed(session, db, clock):
    load(session, spec_example(), now=clock.now())
    session.commit()
    before = dump(session)
    changed = spec_example()
    changed["people"][2]["title"] = "Area Manager"
    changed["groups"][0]["minutes"] = 120
    changed["groups"][0]["members"] = [
        {"person": "chair", "role": "chair"},
        {"person": "fire", "role": "observer"},
    ]
    changed["actions"][0]["status"] = "done"
    changed["actions"].append({"what": "Book the June venue", "owner": "clerk", "due": "2015-05-01"})

    clock.advance(timedelta(hours=2))
    result = load_again(db, changed, clock)

    assert result.created == {"action": 1}
    assert result.updated == {"person": 1, "group": 1, "membership": 1, "meeting": 1, "action": 1}
    assert result.removed == {"membership": 1}
    after = dump(session)
    for untouched in ("partnership", "organisation", "workstream", "workstream_member"):
        assert after[untouched] == before[untouched]
    session.expire_all()
    assert people(session)["fire"].title == "Area Manager"
    assert members_of(session, "board") == {"chair": "chair", "fire": "observer"}
    meeting = session.scalars(select(Meeting)).one()
    # A longer board meeting ends later; calendars see it through a higher SEQUENCE.
    assert meeting.ends_at.astimezone(LONDON).time() == time(18, 0)
    assert (meeting.sequence, meeting.updated_at) == (1, clock.now())
    a1, a2, a3 = session.scalars(select(Action).order_by(Action.number))
    assert (a1.status, a1.done_at, a1.updated_at) == ("done", clock.now(), clock.now())
    assert a2.updated_at < clock.now()
    assert (a3.ref, a3.what, a3.due, a3.owner.key) == ("A3", "Book the June venue", date(2015, 5, 1), "clerk")

    entries = {e.subject: e for e in session.scalars(select(AuditEntry).where(AuditEntry.at == clock.now()))}
    assert entries["person fire"].what == "load.update"
    assert (entries["person fire"].before, entries["person fire"].after) == (
        {"title": "Group Manager"},
        {"title": "Area Manager"},
    )
    assert entries["membership board clerk"].what == "load.remove"
    assert entries["membership board clerk"].before == {"role": "officer"}
    assert entries["membership board fire"].after == {"role": "observer"}
    assert entries["meeting board 2015-04-21"].after["sequence"] == 1
    assert set(entries) == {
        "person fire",
        "group board",
        "membership board fire",
        "membership board clerk",
        "meeting board 2015-04-21",
        "action A1",
        "action A3",
    }


def test_a_person_left_out_of_the_file_keeps_their_row_and_actions_and_loses_their_memberships(
    session, db, clock
):
    first = spec_example()
    first["actions"].append({"what": "Send the estates data", "owner": "fire", "due": "2015-04-30"})
    load(session, first, now=clock.now())
    session.commit()
    left = spec_example()
    left["people"] = [p for p in left["people"] if p["id"] != "fire"]
    left["groups"][0]["members"] = [m for m in left["groups"][0]["members"] if m["person"] != "fire"]
    left["workstreams"][0]["leads"] = ["clerk"]
    result = load_again(db, left, clock)
    assert result.removed == {"membership": 1, "workstream_member": 1}
    assert result.updated == {"person": 1}
    assert result.owners_left == {"John Burke (fire)": ["A3"]}
    session.expire_all()
    assert "fire" in people(session) and "fire" not in members_of(session, "board")
    assert people(session)["fire"].left_at == clock.now()
    owner = session.scalar(select(Action.owner_id).where(Action.what == "Send the estates data"))
    assert owner == people(session)["fire"].id  # still theirs, in the minutes and the digest

    # A later file of meetings alone lists no people: no one else has left.
    later = {"partnership": spec_example()["partnership"], "meetings": []}
    assert not load_again(db, later, clock).changed
    session.expire_all()
    assert [key for key, person in people(session).items() if person.left_at] == ["fire"]

    clock.advance(timedelta(days=1))
    back = load_again(db, first, clock)  # back in the partnership, and in the Board
    assert back.updated == {"person": 1} and back.created == {"membership": 1, "workstream_member": 1}
    assert not back.owners_left
    session.expire_all()
    assert people(session)["fire"].left_at is None


def test_meetings_and_actions_keep_what_the_bot_changed_unless_the_file_changes_it(session, db, clock):
    load(session, spec_example(), now=clock.now())
    meeting = session.scalars(select(Meeting)).one()
    meeting.status, meeting.location = "cancelled", "Council Chamber"
    a2 = session.scalars(select(Action).where(Action.number == 2)).one()
    a2.status, a2.done_at = "done", clock.now()
    session.commit()

    result = load_again(db, spec_example(), clock)
    # The file still names the place it named before: the one set in Slack stands.
    assert not result.changed, result
    session.expire_all()
    assert (meeting.status, meeting.location, a2.status) == ("cancelled", "Council Chamber", "done")

    data = spec_example()
    data["meetings"][0]["location"] = "Committee Room 2"
    assert load_again(db, data, clock).updated == {"meeting": 1}
    session.expire_all()
    assert (meeting.location, meeting.sequence) == ("Committee Room 2", 1)


def test_a_meeting_moved_in_slack_is_not_added_again_when_the_file_is_loaded_again(session, db, clock):
    load(session, spec_example(), now=clock.now())
    session.commit()
    meeting = session.scalars(select(Meeting)).one()
    meeting.starts_at += timedelta(days=7)  # `/meeting move 21 Apr to 28 Apr`
    meeting.ends_at += timedelta(days=7)
    session.commit()

    result = load_again(db, spec_example(), clock)
    assert not result.changed, result
    assert session.scalar(select(func.count()).select_from(Meeting)) == 1
    # The file lengthens it: from when it starts now, on the 28th.
    data = spec_example()
    data["groups"][0]["minutes"] = 120
    assert load_again(db, data, clock).updated == {"group": 1, "meeting": 1}
    session.expire_all()
    [meeting] = session.scalars(select(Meeting))
    assert meeting.starts_at.astimezone(LONDON) == datetime(2015, 4, 28, 16, 0, tzinfo=LONDON)
    assert meeting.ends_at.astimezone(LONDON) == datetime(2015, 4, 28, 18, 0, tzinfo=LONDON)

    # A file naming both days means two meetings: the moved one where it is, and one on the 21st.
    data["meetings"].append({"group": "board", "start": "2015-04-28T16:00"})
    assert load_again(db, data, clock).created == {"meeting": 1}
    days = sorted(m.starts_at.astimezone(LONDON).day for m in session.scalars(select(Meeting)))
    assert days == [21, 28]


def test_an_action_changed_in_slack_keeps_the_change_when_the_file_is_loaded_again(session, db, clock):
    load(session, spec_example(), now=clock.now())
    session.commit()
    # In Slack: `/action due A1 3/3/2015`, `/action assign A1 fire`, `/action done A2`.
    a1, a2 = session.scalars(select(Action).order_by(Action.number))
    a1.due, a1.owner_id = date(2015, 3, 3), people(session)["fire"].id
    a2.status, a2.done_at = "done", clock.now()
    session.commit()

    result = load_again(db, spec_example(), clock)
    # A1 is found by the due the file gave it, not added again; nothing the file
    # still says as it did is put back over what was changed since.
    assert not result.changed, result
    session.expire_all()
    assert [(a.ref, a.due, a.owner_id, a.owner_text, a.status) for a in session.scalars(select(Action))] == [
        ("A1", date(2015, 3, 3), people(session)["fire"].id, None, "open"),
        ("A2", date(2015, 4, 10), None, "Group Leads", "done"),
    ]

    # What the file itself changes is applied, and only that.
    data = spec_example()
    data["actions"][0]["owner"] = "chair"
    data["actions"][1]["owner"] = "Programme Office"
    result = load_again(db, data, clock)
    assert result.updated == {"action": 2} and not result.created
    session.expire_all()
    assert (a1.due, a1.owner.key) == (date(2015, 3, 3), "chair")
    assert (a2.owner_text, a2.status) == ("Programme Office", "done")


def test_a_file_changed_to_agree_with_slack_does_not_undo_a_later_change_in_slack(session, db, clock):
    load(session, spec_example(), now=clock.now())
    session.commit()
    a1 = session.scalars(select(Action).where(Action.number == 1)).one()
    a1.due = date(2015, 3, 3)  # `/action due A1 3/3/2015`
    session.commit()
    data = spec_example()
    data["actions"][0]["due"] = "2015-03-03"  # the minutes catch up with Slack
    assert not load_again(db, data, clock).changed

    a1.due = date(2015, 3, 10)  # `/action due A1 10/3/2015`
    session.commit()
    assert not load_again(db, data, clock).changed
    session.expire_all()
    assert a1.due == date(2015, 3, 10)


def test_a_workstream_closed_in_slack_stays_closed_unless_the_file_says_open(session, db, clock):
    load(session, spec_example(), now=clock.now())
    workstream = session.scalars(select(Workstream)).one()
    workstream.is_open = False  # `/update joint-commissioning close`
    session.commit()

    assert load_again(db, spec_example(), clock).changed is False
    session.expire_all()
    assert workstream.is_open is False

    data = spec_example()
    data["workstreams"][0]["open"] = True
    assert load_again(db, data, clock).updated == {"workstream": 1}
    session.expire_all()
    assert workstream.is_open is True

    data["workstreams"][0]["open"] = False
    data["workstreams"].append({"slug": "estates", "name": "Estates", "group": "board"})
    load_again(db, data, clock)
    opened = dict(session.execute(select(Workstream.slug, Workstream.is_open)).all())
    assert opened == {"joint-commissioning": False, "estates": True}

    # Reopened in Slack, it is not closed again by the file that closed it.
    session.expire_all()
    workstream.is_open = True  # `/update joint-commissioning reopen`
    session.commit()
    assert load_again(db, data, clock).changed is False
    session.expire_all()
    assert workstream.is_open is True


def test_actions_are_matched_by_ref_and_new_ones_numbered_after_the_highest(session, db, clock):
    data = spec_example()
    data["actions"] = [
        {"ref": "A7", "what": "Circulate Away Day outcomes", "owner": "clerk", "due": "2015-02-17"},
        {"what": "Working Group updates at CPSRB", "owner": "Group Leads", "due": "2015-04-10"},
    ]
    load(session, data, now=clock.now())
    session.commit()
    assert [a.number for a in session.scalars(select(Action).order_by(Action.number))] == [7, 8]

    data["actions"][0]["what"] = "Circulate the Away Day outcomes to all partners"
    data["actions"].append({"what": "Confirm the June date", "owner": "chair", "due": "2015-04-30"})
    result = load_again(db, data, clock)

    assert (result.created, result.updated) == ({"action": 1}, {"action": 1})
    session.expire_all()
    actions = {a.number: a for a in session.scalars(select(Action))}
    assert sorted(actions) == [7, 8, 9]
    assert actions[7].what == "Circulate the Away Day outcomes to all partners"
    assert actions[9].owner.key == "chair"


def test_two_people_can_swap_slack_ids_in_one_load(session, db, clock):
    load(session, spec_example(), now=clock.now())
    session.commit()
    data = spec_example()
    data["people"][0]["slack"], data["people"][1]["slack"] = "U0CLERK01", "U0CHAIR01"

    result = load_again(db, data, clock)

    assert result.updated == {"person": 2}
    session.expire_all()
    everyone = people(session)
    assert (everyone["chair"].slack_user_id, everyone["clerk"].slack_user_id) == ("U0CLERK01", "U0CHAIR01")
    entry = session.scalars(
        select(AuditEntry).where(AuditEntry.subject == "person chair", AuditEntry.what == "load.update")
    ).one()
    assert (entry.before, entry.after) == ({"slack_user_id": "U0CHAIR01"}, {"slack_user_id": "U0CLERK01"})


def test_a_second_load_runs_the_same_few_queries_however_big_the_file(session, db, clock):
    def statements_to_reload(data: dict) -> int:
        with db() as first:
            load(first, data, now=clock.now())
            first.commit()
        with counting(session.get_bind()) as seen, db() as again:
            load(again, data, now=clock.now())
        return len(seen)

    small = statements_to_reload(spec_example())
    big = spec_example()
    big["meetings"] += [{"group": "board", "start": f"2016-{m:02d}-15T16:00"} for m in range(1, 13)]
    big["actions"] += [{"what": f"Action {n}", "owner": "fire", "due": "2015-06-01"} for n in range(40)]
    # Each kind of row read once, and what files last set on the stored meetings and actions.
    assert statements_to_reload(big) == small <= 14


def test_a_later_file_may_name_people_groups_and_meetings_stored_by_an_earlier_one(session, db, clock):
    load(session, spec_example(), now=clock.now())
    session.commit()
    later = {
        "partnership": spec_example()["partnership"],
        "meetings": [{"group": "board", "start": "2015-06-16T16:00"}],
        "actions": [
            {
                "what": "Bring the NEET figures",
                "owner": "fire",
                "due": "2015-06-16",
                "meeting": "board/2015-04-21",
                "workstream": "joint-commissioning",
            }
        ],
    }

    result = load_again(db, later, clock)

    assert result.created == {"meeting": 1, "action": 1} and not result.updated
    action = session.scalars(select(Action).where(Action.number == 3)).one()
    april = session.scalars(select(Meeting).order_by(Meeting.starts_at)).first()
    assert (action.owner.key, action.meeting_id) == ("fire", april.id)
    # The board's membership is not in this file, so it is left as it was.
    assert members_of(session, "board") == {"chair": "chair", "clerk": "officer", "fire": "member"}


def test_leads_and_contributors_are_made_to_match_the_file(session, db, clock):
    load(session, spec_example(), now=clock.now())
    session.commit()
    data = spec_example()
    data["workstreams"][0].update(leads=["chair"], contributors=["fire", "clerk"])

    result = load_again(db, data, clock)

    assert (result.created, result.updated, result.removed) == (
        {"workstream_member": 2},
        {"workstream_member": 1},
        {},
    )
    session.expire_all()
    everyone = {p.id: p.key for p in session.scalars(select(Person))}
    roles = {everyone[m.person_id]: m.role for m in session.scalars(select(WorkstreamMember))}
    assert roles == {"chair": "lead", "fire": "contributor", "clerk": "contributor"}


# -- Refused files ----------------------------------------------------------------------


def test_an_unknown_member_is_named_by_its_path(session, clock):
    load(session, spec_example(), now=clock.now())
    data = spec_example()
    data["groups"][0]["members"].append({"person": "jdoe", "role": "member"})

    assert refused(session, data) == ["groups[0].members[3].person: unknown person 'jdoe'"]


def test_a_bad_file_is_refused_whole_with_every_problem(session, clock, tmp_path):
    load(session, spec_example(), now=clock.now())
    session.commit()
    text = SPEC_EXAMPLE.read_text()
    text = text.replace("holidays: england-and-wales", "holidays: wales")
    text = text.replace("{id: lfrs,", "{id: cbc,")
    text = text.replace("organisation: lfrs, title: Group", "organisation: fire-service, title: Group")
    text = text.replace("slack: U0FIRE001", "slack: U0CLERK01")
    text = text.replace("{person: clerk, role: officer}", "{person: jdoe, role: officer}")
    text = text.replace("    minutes: 90", "    minutes: ninety\n    colour: red")
    text = text.replace("{person: fire, role: member}", "{person: fire, role: deputy}")
    text = text.replace("leads: [fire]", "leads: fire")
    text = text.replace("due: 2015-02-17", "due: 2015-02-31")
    text = text.replace("start: 2015-04-21T16:00", "start: 2015-03-29T01:30")

    assert refused_text(session, tmp_path, text) == [
        "partnership.holidays: 'wales' is not one of england-and-wales, scotland, northern-ireland",
        "organisations[1].id: duplicate organisation id 'cbc'; already used at organisations[0].id",
        "people[2].organisation: unknown organisation 'fire-service'",
        "people[2].slack: duplicate Slack id 'U0CLERK01'; already used at people[1].slack",
        "groups[0].colour: unknown key; expected one of slug, name, abbreviation, channel, "
        "location, start, minutes, agenda, attendance, members",
        "groups[0].minutes: expected a whole number from 1 to 1440; got text",
        "groups[0].members[2].role: 'deputy' is not one of chair, member, officer, observer",
        "groups[0].members[1].person: unknown person 'jdoe'",
        "workstreams[0].leads: expected a list; got text",
        "meetings[0].start: 2015-03-29 01:30 does not exist in Europe/London "
        "(the clocks go forward then); choose another time",
        "actions[0].due: '2015-02-31' is not a date (day is out of range for month)",
    ]


def test_a_local_time_lost_when_the_clocks_go_forward_is_refused(session, clock):
    data = spec_example()
    data["meetings"] = [{"group": "board", "start": "2015-03-29T01:30"}]

    assert refused(session, data) == [
        "meetings[0].start: 2015-03-29 01:30 does not exist in Europe/London "
        "(the clocks go forward then); choose another time"
    ]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda d: d.pop("partnership"),
            "partnership: missing; the file needs a partnership block with at least a name",
        ),
        (
            lambda d: d["people"].append({"id": "chair", "name": "Alex Again"}),
            "people[3].id: duplicate person id 'chair'; already used at people[0].id",
        ),
        (lambda d: d["people"][0].update(name=42), "people[0].name: expected text; got a number"),
        (
            lambda d: d["people"][0].update(email="alex at example.org"),
            "people[0].email: 'alex at example.org' is not an e-mail address such as name@example.org",
        ),
        (
            lambda d: d["people"][1].update(slack="lou"),
            "people[1].slack: 'lou' is not a Slack user id: U or W and 8 to 11 capital letters "
            "or digits, e.g. U0CHAIR01",
        ),
        (
            lambda d: d["partnership"].update(channel="#board"),
            "partnership.channel: '#board' is not a Slack channel id such as C0123ABCD "
            "(the id, not the #name)",
        ),
        (
            lambda d: d["partnership"].update(digest={"day": "funday", "time": "09:30"}),
            "partnership.digest.day: 'funday' is not one of monday, tuesday, wednesday, "
            "thursday, friday, saturday, sunday",
        ),
        (
            lambda d: d["partnership"].update(holidays="wales"),
            "partnership.holidays: 'wales' is not one of england-and-wales, scotland, northern-ireland",
        ),
        (
            lambda d: d["groups"][0].update(start=960),
            'groups[0].start: expected a time "HH:MM" in quotes, e.g. "16:00"; unquoted, '
            "YAML reads it as a number",
        ),
        (lambda d: d["groups"][0].pop("abbreviation"), "groups[0].abbreviation: required"),
        (
            lambda d: d["groups"][0].update(abbreviation="C.P.S.R.B."),
            "groups[0].abbreviation: 'C.P.S.R.B.' is not 2 to 16 letters or digits, e.g. CPSRB",
        ),
        (
            lambda d: d["groups"][0].update(agenda={"items_due_days": 3, "publish_days": 5}),
            "groups[0].agenda.publish_days: 5 is more than items_due_days (3); the agenda goes "
            "out after items are due",
        ),
        (
            lambda d: d["groups"][0].update(attendance={"explain_after": 3, "resign_after": 3}),
            "groups[0].attendance.resign_after: 3 must be more than explain_after (3)",
        ),
        (
            lambda d: d["groups"][0].update(minutes=True),
            "groups[0].minutes: expected a whole number from 1 to 1440; got true/false",
        ),
        (
            lambda d: d["groups"][0].update(minutes=10**30),
            "groups[0].minutes: 1000000000000000000000000000000 is out of range; expected 1 to 1440",
        ),
        (lambda d: d["workstreams"][0].update(group="exec"), "workstreams[0].group: unknown group 'exec'"),
        (
            lambda d: d["workstreams"][0].update(contributors=["fire"]),
            "workstreams[0].contributors[0]: duplicate person 'fire'; already used at "
            "workstreams[0].leads[0]",
        ),
        (
            lambda d: d["meetings"].append({"group": "board", "start": "2015-04-21T16:00"}),
            "meetings[1].start: duplicate meeting: board already meets then at meetings[0]",
        ),
        (
            lambda d: d["meetings"][0].update(start="21/04/2015 16:00"),
            "meetings[0].start: '21/04/2015 16:00' is not a date and time; expected "
            "YYYY-MM-DDTHH:MM, e.g. 2015-04-21T16:00",
        ),
        (
            lambda d: d["meetings"][0].update(status="postponed"),
            "meetings[0].status: 'postponed' is not one of scheduled, cancelled, held",
        ),
        (
            lambda d: d["actions"][0].update(due="2015-02-31"),
            "actions[0].due: '2015-02-31' is not a date (day is out of range for month)",
        ),
        (
            lambda d: d["actions"][0].update(meeting="board/2015-04-22"),
            "actions[0].meeting: no board meeting on 2015-04-22 in the file or stored",
        ),
        (
            lambda d: d["actions"][0].update(workstream="assets"),
            "actions[0].workstream: unknown workstream 'assets'",
        ),
        (lambda d: d["actions"][1].update(ref="12"), "actions[1].ref: '12' is not an action ref such as A12"),
        (
            lambda d: d["actions"].append(dict(d["actions"][0])),
            "actions[2]: same what and due as actions[0]; give each a ref (A1, A2, ...) if they "
            "are different actions",
        ),
        (
            lambda d: d.update(minutes=[]),
            "minutes: unknown key; expected one of partnership, organisations, people, groups, "
            "workstreams, meetings, actions",
        ),
    ],
)
def test_a_bad_entry_is_refused_with_its_path(session, clock, change, problem):
    data = spec_example()
    change(data)

    assert refused(session, data) == [problem]
    assert counts(session) == dict.fromkeys(counts(session), 0)


def test_a_slack_id_already_stored_for_someone_not_in_the_file_is_refused(session, clock):
    load(session, spec_example(), now=clock.now())
    data = spec_example()
    data["people"] = data["people"][:2] + [
        {"id": "newfire", "name": "Ray Cottam", "organisation": "lfrs", "slack": "U0FIRE001"}
    ]
    data["groups"][0]["members"][2]["person"] = "newfire"
    data["workstreams"][0]["leads"] = ["newfire"]

    assert refused(session, data) == ["people[2].slack: Slack id U0FIRE001 already belongs to person 'fire'"]


def test_someone_who_leaves_loses_their_places_in_groups_and_workstreams_the_file_leaves_alone(
    session, db, clock
):
    load(session, spec_example(), now=clock.now())
    session.commit()
    data = spec_example()
    data["people"] = [p for p in data["people"] if p["id"] != "fire"]
    del data["groups"][0]["members"]  # the Board's members stay as they are...
    del data["workstreams"][0]["leads"]  # ...and so do the workstream's leads
    result = load_again(db, data, clock)
    assert result.removed == {"membership": 1, "workstream_member": 1}  # but for the one who left
    session.expire_all()
    assert members_of(session, "board") == {"chair": "chair", "clerk": "officer"}
    assert not load_again(db, data, clock).changed


def test_a_file_that_leaves_someone_out_of_its_people_may_not_keep_them_in_a_group(session, clock):
    load(session, spec_example(), now=clock.now())
    data = spec_example()
    data["people"] = [p for p in data["people"] if p["id"] != "fire"]
    data["actions"][0]["owner"] = "fire"  # the minutes' record of who took it on may stay

    leaving = "person 'fire' is not in this file's people, so it would have them leave the partnership"
    assert refused(session, data) == [
        f"groups[0].members[2].person: {leaving}; add them to people, or leave them out here",
        f"workstreams[0].leads[0]: {leaving}; add them to people, or leave them out here",
    ]


def test_a_ten_megabyte_string_is_refused_without_being_echoed(session, clock, tmp_path):
    data = spec_example()
    data["partnership"]["name"] = "x" * (10 * 1024 * 1024)

    problems = refused(session, data)
    assert problems == ["partnership.name: too long (10,485,760 characters; at most 200)"]

    path = tmp_path / "huge.yaml"
    path.write_text(SPEC_EXAMPLE.read_text() + f"# {'x' * 10 * 1024 * 1024}\n")
    with pytest.raises(PartnershipFileError) as refusal:
        read_file(path)
    assert refusal.value.problems == [
        f"{path}: {path.stat().st_size:,} bytes; a partnership file is at most 2,097,152"
    ]


def test_junk_handed_straight_to_load_gets_problems_not_a_crash(session):
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    loop: dict = {"person": "chair"}
    loop["role"] = loop
    data = spec_example()
    data["groups"][0]["members"] = [deep, loop]
    data["people"][0]["name"] = {"first": deep}

    assert refused(session, data) == [
        "people[0].name: expected text; got a mapping",
        "groups[0].members[0]: expected a mapping with keys person, role; got a list",
        "groups[0].members[1].role: expected text: one of chair, member, officer, observer; got a mapping",
    ]


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path):
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for previous, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")

    with pytest.raises(PartnershipFileError) as refusal:
        read_file(path)
    [problem] = refusal.value.problems
    assert problem.startswith(f"{path}: line ")
    assert "expand the file past 200,000 values; refused as an alias bomb" in problem


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "partnership: " + "[" * 5000 + "]" * 5000,
            "line 1, column 45: nested more than 32 deep; no partnership file is",
        ),
        ("partnership: &p {name: *p}\n", "line 1, column 14: an alias refers to the value that contains it"),
        ("partnership: {name: A, name: B}\n", "line 1, column 24: key 'name' is given twice in one mapping"),
        (
            "partnership:\n  name: [Chorley\n  timezone: Europe/London\n",
            "line 3, column 11: expected ',' or ']', but got ':'",
        ),
        ("- partnership\n", "line 1: expected a mapping starting with 'partnership:'; got list"),
        ("", "line 1: expected a mapping starting with 'partnership:'; got an empty file"),
    ],
)
def test_a_file_that_is_not_a_partnership_file_is_refused_naming_the_line(tmp_path, text, problem):
    path = tmp_path / "bad.yaml"
    path.write_text(text)

    with pytest.raises(PartnershipFileError) as refusal:
        read_file(path)
    assert refusal.value.problems == [f"{path}: {problem}"]


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(PartnershipFileError) as refusal:
        read_file(tmp_path / "nowhere.yaml")
    assert refusal.value.problems == [f"{tmp_path / 'nowhere.yaml'}: no such file"]


def test_a_value_cut_at_a_comma_gets_a_hint(session, tmp_path):
    text = MINIMAL + "meetings: [{group: board, start: 2015-06-16T16:00, location: Room 1, Town Hall}]\n"

    assert refused_text(session, tmp_path, text) == [
        "meetings[0].Town Hall: unknown key; expected one of group, start, location, url, "
        "minutes, status; if it is the end of a value cut at a comma, put that value in quotes"
    ]


# -- Refused by the models: every key, every value, every reference ---------------------


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            lambda d: d["partnership"]["digest"].update(hour=9),
            "partnership.digest.hour: unknown key; expected one of day, time",
        ),
        (
            lambda d: d["groups"][0]["agenda"].update(papers_due_days=3),
            "groups[0].agenda.papers_due_days: unknown key; expected one of items_due_days, publish_days",
        ),
        (
            lambda d: d["groups"][0]["members"][1].update(nickname="Lou"),
            "groups[0].members[1].nickname: unknown key; expected one of person, role",
        ),
        (
            lambda d: d["actions"][1].update(priority="high"),
            "actions[1].priority: unknown key; expected one of what, owner, due, ref, workstream, "
            "meeting, status",
        ),
        (lambda d: d["people"][2].update({7: "seven"}), "people[2]: keys must be text; got 7"),
        (
            lambda d: d["people"].append("jdoe"),
            "people[3]: expected a mapping with keys id, name, organisation, title, email, slack; got text",
        ),
        (
            lambda d: d["groups"][0].update(
                members=[{"person": "chair"}, {"person": "chair", "role": "officer"}]
            ),
            "groups[0].members[1].person: duplicate person 'chair'; already used at groups[0].members[0].person",
        ),
        (
            lambda d: d["groups"].append(
                dict(d["groups"][0], slug="exec", channel=None, abbreviation="cpsrb")
            ),
            "groups[1].abbreviation: duplicate abbreviation 'cpsrb'; already used at groups[0].abbreviation",
        ),
        (
            lambda d: d["groups"].append(dict(d["groups"][0], abbreviation="EXEC", channel=None)),
            "groups[1].slug: duplicate group slug 'board'; already used at groups[0].slug",
        ),
        (
            lambda d: d["groups"][0].update(start="25:00"),
            'groups[0].start: \'25:00\' is not a time; expected "HH:MM" from "00:00" to "23:59"',
        ),
        (lambda d: d["groups"][0].update(name="   "), "groups[0].name: empty; expected text"),
        (
            lambda d: d["groups"][0].update(name="Board\x07"),
            "groups[0].name: contains control characters or line breaks",
        ),
        (
            lambda d: d["people"][0].update(name="Ray \u202eyaR"),
            "people[0].name: contains control characters or line breaks",
        ),
        (
            lambda d: d["partnership"].update(timezone="Europe/Chorley"),
            "partnership.timezone: 'Europe/Chorley' is not a time zone; expected an IANA name such as "
            "Europe/London",
        ),
        (
            lambda d: d["workstreams"][0].update(open="yes"),
            "workstreams[0].open: expected true or false; got text",
        ),
        (
            lambda d: d["workstreams"][0].update(leads=["fire", "jdoe"]),
            "workstreams[0].leads[1]: unknown person 'jdoe'",
        ),
        (
            lambda d: d["workstreams"][0].update(leads=[None]),
            "workstreams[0].leads[0]: expected text: an id: letters, digits, '.', '_' or '-', starting "
            "with a letter or digit; got nothing",
        ),
        (
            lambda d: d["meetings"][0].update(start=date(2015, 4, 21)),
            "meetings[0].start: expected a date and time, e.g. 2015-04-21T16:00; got a date alone",
        ),
        (lambda d: d["meetings"][0].update(group="exec"), "meetings[0].group: unknown group 'exec'"),
        (
            lambda d: d["actions"][0].update(due=datetime(2015, 2, 17, 9)),
            "actions[0].due: expected a date YYYY-MM-DD without a time; got 2015-02-17 09:00:00",
        ),
        (
            lambda d: d["actions"][0].update(meeting="exec/2015-04-21"),
            "actions[0].meeting: unknown group 'exec'",
        ),
        (
            lambda d: (
                d["meetings"].append({"group": "board", "start": "2015-04-21T10:00"})
                or d["actions"][0].update(meeting="board/2015-04-21")
            ),
            "actions[0].meeting: board meets more than once on 2015-04-21 (10:00, 16:00); the file "
            "cannot say which",
        ),
        (
            lambda d: d["actions"][1].update(ref="A0"),
            "actions[1].ref: 'A0' is out of range; expected A1 to A1000000",
        ),
        (
            lambda d: [action.update(ref="a4") for action in d["actions"]],
            "actions[1].ref: duplicate action ref A4; already used at actions[0].ref",
        ),
        (
            lambda d: d["people"].extend({"id": f"p{n}", "name": "P"} for n in range(20_000)),
            "people: 20,003 entries; at most 20,000",
        ),
        (
            lambda d: d.update(workstreams="joint-commissioning"),
            "workstreams: expected a list; got text",
        ),
    ],
)
def test_every_part_of_the_file_is_checked_by_its_path(session, clock, change, problem):
    data = spec_example()
    change(data)

    assert refused(session, data) == [problem]


def test_something_other_than_a_mapping_is_refused_as_a_whole(session):
    assert refused(session, ["partnership"]) == [
        "file: expected a mapping with keys partnership, organisations, people, groups, workstreams, "
        "meetings, actions; got a list"
    ]


def test_a_person_whose_entry_is_bad_is_not_also_reported_unknown(session):
    data = spec_example()
    data["people"][2]["email"] = "john burke"

    assert refused(session, data) == [
        "people[2].email: 'john burke' is not an e-mail address such as name@example.org"
    ]


def test_a_key_given_no_value_takes_its_default(session, clock, tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text(
        MINIMAL.replace("location: Committee Room 1}", "location: Committee Room 1, minutes: , members:}")
        + "people:\nactions:\n"
    )
    load(session, read_file(path), now=clock.now())

    board = session.scalars(select(Group)).one()
    assert (board.minutes, members_of(session, "board")) == (90, {})


def test_a_file_with_hundreds_of_problems_lists_the_first_two_hundred(session):
    data = spec_example()
    data["people"] += [{"id": f"p{n}", "name": "P", "email": "none"} for n in range(250)]

    problems = refused(session, data)
    assert len(problems) == 201
    assert problems[0] == "people[3].email: 'none' is not an e-mail address such as name@example.org"
    assert problems[-1] == "file: and 50 more problems"


def test_a_channel_stored_for_a_group_not_in_the_file_is_refused(session, clock):
    load(session, spec_example(), now=clock.now())
    data = spec_example()
    data["groups"][0]["slug"] = "exec"
    data["groups"][0]["abbreviation"] = "EXEC"
    data["workstreams"][0]["group"] = "exec"
    data["meetings"] = []

    assert refused(session, data) == ["groups[0].channel: channel CBOARD001 already belongs to group 'board'"]


# -- The bundled demo -------------------------------------------------------------------


def test_the_bundled_demo_partnership_loads_cleanly_and_again_changes_nothing(session, db, clock):
    result = load(session, read_file(DEMO), now=clock.now())
    session.commit()
    assert result.created["meeting"] > 10 and result.created["action"] > 10
    before, audited = dump(session), audit_count(session)

    second = load_again(db, read_file(DEMO), clock)

    assert not second.changed
    assert dump(session) == before and audit_count(session) == audited
