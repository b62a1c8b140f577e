"""/action: the board's What / Who / When table, typed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update

from bot.commands.action import Add, Assign, Change, DueForm, ListActions, Reschedule, Snooze, parse
from services.errors import UserError
from storage.models import Action, AuditEntry, Person
from tests.conftest import count_rows

TODAY = date(2015, 4, 13)


def shown(reply) -> str:
    """The reply as the person sees it: its text, then each section."""
    return "\n".join([reply.text, *(section.text for section in reply.sections)])


def stored(sessions, what: str) -> Action | None:
    with sessions() as session:
        # The newest, since the demo's minutes may hold an action of the same wording.
        return session.scalar(
            select(Action).where(Action.what == what).order_by(Action.number.desc()).limit(1)
        )


# -- parsing, pure ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        (
            "add Circulate Away Day outcomes | clerk | 17.02.15",
            Add("Circulate Away Day outcomes", "clerk", date(2015, 2, 17)),
        ),
        ("add  Book room |<@U0FIRE001|ray>| 21 Apr", Add("Book room", "<@U0FIRE001|ray>", date(2015, 4, 21))),
        ("", ListActions("mine")),
        ("list", ListActions("mine")),
        ("list ALL", ListActions("all")),
        ("list overdue", ListActions("overdue")),
        ("list Group Leads", ListActions("Group Leads")),
        ("list me", ListActions("mine")),
        ("list @Me", ListActions("mine")),
        ("done A12", Change("done", "A12")),
        ("reopen a3", Change("reopen", "a3")),
        ("drop A1", Change("drop", "A1")),
        ("due A4 in 2 weeks", Reschedule("A4", date(2015, 4, 27))),
        ("due A4 w/c 20 April", Reschedule("A4", date(2015, 4, 24))),  # as minutes write deadlines
        ("due A4 by the next meeting", Reschedule("A4", None)),  # its group's
        ("add Book room | clerk | end of May", Add("Book room", "clerk", date(2015, 5, 29))),
        ("add Report back | fire | by the next meeting", Add("Report back", "fire", None)),  # its group's
        ("due A4", DueForm("A4")),
        ("snooze A4", Snooze("A4")),
        ("assign A4 <@U0FIRE001|ray>", Assign("A4", "<@U0FIRE001|ray>")),
        ("assign A4 to Group Leads", Assign("A4", "Group Leads")),
    ],
)
def test_the_grammar_reads_each_form(text, intent):
    assert parse(text, today=TODAY) == intent


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("add Circulate outcomes | clerk", "three parts"),
        ("add | clerk | 17/02/2015", "This action has no WHAT: `/action add WHAT | WHO | WHEN`"),
        ("add Circulate outcomes |  | ", "This action has no WHO or WHEN"),
        ("add a | b | c | d", "three parts"),
        ("add Circulate outcomes | clerk | 31/02/2015", "31 February"),
        ("add Circulate outcomes | clerk | whenever", "Try 21/04/2015"),
        ("done", "Say which action"),
        ("done A1 A2", "One action at a time: `/action done A1`, then `/action done A2`."),
        ("drop A1, A2, A3", "One action at a time: `/action drop A1`, then `/action drop A2`."),
        ("due", "new date"),
        ("snooze", "Say which action"),
        ("assign", "Say which action and whom to give it to: `/action assign A12 @Caroline`"),
        ("assign A4", "Say which action and whom"),
        ("assign A4 to", "Say which action and whom"),
        ("frobnicate A4", "I don't know `/action frobnicate`"),
        ("<!channel> A4", "I don't know `/action <!channel>`"),
    ],
)
def test_wrong_input_is_refused_with_what_is_accepted(text, says):
    with pytest.raises(UserError) as refused:
        parse(text, today=TODAY)
    assert says in refused.value.message
    assert "Nothing was changed" in refused.value.message


# -- end to end through the command core, on both databases ---------------------------


def test_a_member_adds_an_action_for_a_mentioned_owner(type_command, demo):
    reply = type_command("/action add Circulate Away Day outcomes | <@U0FIRE001|ray> | 17.02.15")
    action = stored(demo, "Circulate Away Day outcomes")
    assert action is not None and action.due == date(2015, 2, 17)
    assert action.owner is not None and action.owner.key == "fire"
    assert reply.ok
    assert f"Added *{action.ref}* Circulate Away Day outcomes — Ray Cottam, due Tue 17 Feb 2015" in reply.text
    assert "already overdue" in reply.text  # 17 Feb is before the demo's 13 Apr
    with demo() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.subject == action.ref))
    assert entry.what == "action.add" and entry.actor == "Jess Marland"


def test_refs_are_numbered_after_the_loaded_ones(type_command, demo):
    with demo() as session:
        before = max(session.scalars(select(Action.number)))
    type_command("/action add Book the Town Hall | clerk | 1 May")
    assert stored(demo, "Book the Town Hall").number == before + 1


def test_an_owner_who_is_not_a_person_is_kept_as_free_text_and_told_so(type_command, demo):
    reply = type_command("/action add Working Group updates at CPSRB | Group Leads | 20/4/15")
    action = stored(demo, "Working Group updates at CPSRB")
    # The demo file already has one due 10 Apr; this is a second, due 20 Apr.
    assert reply.ok and "'Group Leads' is not a person in the partnership" in reply.text
    with demo() as session:
        owners = session.execute(
            select(Action.owner_id, Action.owner_text).where(Action.due == date(2015, 4, 20))
        ).all()
    assert owners == [(None, "Group Leads")]
    assert action is not None


def test_an_owner_with_no_slack_id_is_added_and_the_reply_says_no_reminder_reaches_them(type_command, demo):
    with demo() as session, session.begin():
        session.scalar(select(Person).where(Person.key == "fire")).slack_user_id = None
    reply = type_command("/action add Send the estates data | fire | 20/04/2015")
    assert reply.ok and stored(demo, "Send the estates data").owner_id is not None
    assert reply.text.splitlines()[1] == (
        "Ray Cottam has no Slack id in the partnership file, so partnerbot cannot remind them; the weekly "
        "digest lists the action once it is overdue."
    )
    assert "Slack id" not in type_command("/action add Send the fire data | police | 20/04/2015").text


def test_next_meeting_as_when_is_the_day_of_the_channel_s_group_s_next_meeting(type_command, demo, clock):
    reply = type_command("/action add Report back on the pilot | fire | next meeting", channel="CBOARD001")
    assert reply.ok
    assert reply.text.splitlines()[:2] == [
        "Added *A17* Report back on the pilot — Ray Cottam, due Tue 21 Apr 2015.",
        "That is the day of the Chorley Public Service Reform Board's next meeting.",
    ]
    assert stored(demo, "Report back on the pilot").due == date(2015, 4, 21)
    executive = type_command(
        "/action add Share the timetable | dwp | by the next meeting", channel="CEXEC0001"
    )
    assert executive.ok and "due Thu 14 May 2015" in executive.text

    # An action's new due date: the next meeting of its meeting's (or workstream's) group, wherever typed.
    moved = type_command("/action due A7 next meeting")
    assert moved.ok and moved.text == (
        "A7 is now due Tue 21 Apr 2015 (the Chorley Public Service Reform Board's next meeting)."
    )
    # A17, added above, belongs to no meeting (none of the Board's in the 14 days before) nor workstream:
    # the next meeting of the channel's group.
    given = type_command("/action due A17 next meeting", channel="CEXEC0001")
    assert given.ok and given.text.startswith(
        "A17 is now due Thu 14 May 2015 (the Chorley Public Service Reform Executive's next meeting)."
    ), given.text
    before = count_rows(demo)
    elsewhere = type_command("/action add Report back | fire | next meeting")
    assert not elsewhere.ok and elsewhere.text == (
        "`next meeting` is a due date only in a group's channel, where it means that group's next meeting: "
        "here, give a date such as 21/04/2015. Nothing was changed."
    )
    assert not type_command("/action due A17 next meeting").ok  # nor typed in a group's channel
    clock.set(datetime(2017, 1, 9, 9, tzinfo=UTC))  # past the demo's last meeting
    none_ahead = type_command("/action add Report back | fire | next meeting", channel="CBOARD001")
    assert not none_ahead.ok and none_ahead.text.startswith(
        "The Chorley Public Service Reform Board has no meeting ahead to date it by"
    )
    assert count_rows(demo) == before


def test_the_same_open_action_typed_again_is_not_added_twice(type_command, demo):
    first = type_command("/action add Send the estates data | fire | 20/04/2015")
    ref = stored(demo, "Send the estates data").ref
    before = count_rows(demo)
    again = type_command("/action add send the  estates data | <@U0FIRE001> | 20 Apr 2015")
    assert first.ok and not again.ok
    assert again.text == (
        f"{ref} already says that: Send the estates data — Ray Cottam, due Mon 20 Apr 2015. Nothing was changed."
    )
    assert count_rows(demo) == before
    free_text = "/action add Working Group updates at CPSRB | Group Leads | 10/4/15"  # the demo's A2
    assert type_command(free_text).text.startswith("A2 already says that")
    # Another due date, another owner, or once the first is done: a new action.
    assert type_command("/action add Send the estates data | fire | 27/04/2015").ok
    assert type_command("/action add Send the estates data | police | 20/04/2015").ok
    assert type_command(f"/action done {ref}", person="fire").ok
    assert type_command("/action add Send the estates data | fire | 20/04/2015").ok


@pytest.mark.parametrize(("owner", "key"), [("@Caroline", "ccg"), ("@fire", "fire"), ("@ray cottam", "fire")])
def test_an_at_name_typed_not_chosen_from_slack_s_list_finds_the_person(type_command, demo, owner, key):
    reply = type_command(f"/action add Chase the scoping paper | {owner} | 24/04/2015")
    assert reply.ok and "free text" not in reply.text
    assert stored(demo, "Chase the scoping paper").owner.key == key


def test_two_people_as_one_action_s_owner_are_refused_as_two_not_as_a_link(type_command, demo):
    before = count_rows(demo)
    reply = type_command("/action add Send figures | <@U0FIRE001|ray> <@U0CHAIR01> | 1 May")
    assert reply.text == (
        "That is 2 people: name one here, with an @mention, their id or part of their name. Nothing was changed."
    )
    assert count_rows(demo) == before


@pytest.mark.parametrize("owner", ["@nobody", "@"])
def test_an_at_name_that_is_no_one_is_refused_not_kept_as_free_text(type_command, demo, owner):
    before = count_rows(demo)
    reply = type_command(f"/action add Chase the scoping paper | {owner} | 24/04/2015")
    assert not reply.ok and "Nothing was changed" in reply.text
    assert count_rows(demo) == before


@pytest.mark.parametrize("owner", ["me", "@me", "Me", "myself"])
def test_me_as_the_owner_is_whoever_typed_it_not_a_name_starting_so(type_command, demo, owner):
    # "Me" is also the start of Sarah Mellor's name; a person naming themselves means themselves.
    reply = type_command(f"/action add Chase the scoping paper | {owner} | 24/04/2015", person="fire")
    assert reply.ok and "free text" not in reply.text
    assert stored(demo, "Chase the scoping paper").owner.key == "fire"


def test_part_of_a_name_finds_the_person(type_command, demo):
    type_command("/action add Send estates data | cottam | next friday")
    action = stored(demo, "Send estates data")
    assert action.owner.key == "fire" and action.due == date(2015, 4, 17)


def test_someone_who_has_left_is_given_no_action_and_their_own_still_show(type_command, demo):
    assert (
        "could be Priya Raman, Ray Cottam" in type_command("/action add Book the room | ra | 30/04/2015").text
    )
    with demo() as session, session.begin():  # as a partnership file without them leaves them
        session.execute(
            update(Person).where(Person.key == "fire").values(left_at=datetime(2015, 4, 13, 8, 0, tzinfo=UTC))
        )
    before = count_rows(demo)
    for line in (
        "/action add Book the room | fire | 30/04/2015",
        "/action add Book the room | <@U0FIRE001> | 30/04/2015",
        "/action assign A12 Ray Cottam",
    ):
        reply = type_command(line)
        assert not reply.ok and reply.text == (
            "Ray Cottam has left the partnership (they are not in its file), so they can't be given "
            "anything: name someone else. Nothing was changed."
        )
    assert count_rows(demo) == before
    listed = shown(type_command("/action list fire"))
    assert listed.startswith("Open actions of Ray Cottam, who has left the partnership (`/action assign")
    assert "*A11* Send station and estates data" in listed
    # Part of a name means those still in the partnership: "ra" is Priya Raman now.
    assert type_command("/action add Book the room | ra | 30/04/2015").ok
    assert stored(demo, "Book the room").owner.key == "publichealth"
    assert type_command("/action add Order the tea | @ra | 30/04/2015").ok  # typed, not chosen
    assert stored(demo, "Order the tea").owner.key == "publichealth"


LEFT = (
    "You left the partnership on Mon 13 Apr 2015 (the partnership file loaded then does not list "
    "you), so partnerbot can't do this for you: if that is wrong, ask an officer to put you back in "
    "the file. Nothing was changed."
)


def test_someone_who_has_left_changes_nothing_not_even_their_own_actions(type_command, demo, leave):
    leave("fire")  # Ray Cottam still owns A11
    before = count_rows(demo)
    for line in (
        "/action done A11",
        "/action due A11 30/04/2015",
        "/action snooze A11",
        "/action assign A11 clerk",
        "/action due A11",
        "/action add Book the room | me | 30/04/2015",
        "/action list",
        "/apologies 21/04/2015 Away",
        "/update joint green On track",
        "/agenda add Estates review",
    ):
        reply = type_command(line, person="fire", channel="CBOARD001")
        assert (reply.ok, reply.text) == (False, LEFT), line
    assert count_rows(demo) == before
    assert type_command("/meeting next", person="fire").ok  # as anyone may
    assert type_command("/action done A11").ok  # the officers may


def test_an_action_added_in_the_board_channel_after_a_meeting_belongs_to_it(type_command, demo, clock):
    clock.set(clock.now().replace(month=4, day=23))  # two days after the 21 Apr board
    reply = type_command("/action add Circulate slides | clerk | 30/04/2015", channel="CBOARD001")
    assert "belongs to the Chorley Public Service Reform Board meeting of Tue 21 Apr 2015" in reply.text
    assert stored(demo, "Circulate slides").meeting_id is not None


@pytest.mark.parametrize(
    "line",
    [
        "/action add Circulate outcomes | clerk | 31/02/2015",
        "/action add Circulate outcomes | clerk",
        "/action add Circulate outcomes | <@U0NOBODY1> | 17/02/2015",
        "/action add Circulate outcomes | <#C0GENERAL|general> | 17/02/2015",
        "/action add " + "x" * 1200 + " | clerk | 17/02/2015",
        "/action add Circulate outcomes | " + "y" * 300 + " | 17/02/2015",
        "/action add " + "z" * 5000,
    ],
    ids=[
        "impossible date",
        "missing when",
        "unknown mention",
        "channel as owner",
        "huge what",
        "huge owner",
        "over Slack's limit",
    ],
)
def test_bad_input_gets_a_clear_error_and_stores_nothing(type_command, demo, line):
    before = count_rows(demo)
    reply = type_command(line)
    assert not reply.ok
    assert "Nothing was changed" in reply.text
    assert count_rows(demo) == before


def test_hostile_text_is_kept_as_typed_for_the_front_end_to_escape_once(type_command, demo):
    reply = type_command("/action add Tell <!channel> & <@U0CHAIR01> | Police & Fire leads | 1 May")
    assert "Tell <!channel> & <@U0CHAIR01> — Police & Fire leads (free text)" in reply.text
    assert stored(demo, "Tell <!channel> & <@U0CHAIR01>") is not None  # stored as typed


def test_someone_not_in_the_partnership_cannot_add(type_command, demo):
    before = count_rows(demo)
    reply = type_command("/action add Do a thing | clerk | 1 May", person=None)
    assert not reply.ok and "not in the partnership file" in reply.text
    assert count_rows(demo) == before


def test_my_open_actions_are_listed_oldest_due_first(type_command):
    reply = type_command("/action list", person="fire")
    assert reply.text == "Your open actions (2):"
    lines = shown(reply).splitlines()[1:]
    assert "Send station and estates data" in lines[0] and "overdue" in lines[0]
    assert "Bring options for a joint early help commission" in lines[1]


def test_a_long_list_shows_the_twenty_due_first_and_says_how_many_more(type_command):
    for day in range(30, 0, -1):  # added latest due first: the list puts them in due order
        reply = type_command(f"/action add Check return {day:02d} | clerk | {day}/5/2015")
        assert reply.ok, reply.text
    reply = type_command("/action list clerk")
    assert reply.text == "Open actions of Jess Marland (32):"  # the demo's two, and these
    lines = shown(reply).splitlines()[1:]
    assert len(lines) == 21 and lines[-1].startswith("…and 12 more")
    returns = [line.split("Check return ")[1][:2] for line in lines if "Check return" in line]
    assert returns == [f"{day:02d}" for day in range(1, len(returns) + 1)] and len(returns) >= 18


def test_list_overdue_and_by_free_text_owner(type_command):
    overdue = shown(type_command("/action list overdue"))
    assert "Circulate Away Day outcomes" in overdue
    assert "Consult the Youth Council" not in overdue  # due 30 Apr
    leads = shown(type_command("/action list Group Leads"))
    assert "Working Group updates at CPSRB" in leads


def test_the_owner_marks_an_action_done_and_can_reopen_it(type_command, demo):
    action = stored(demo, "Send station and estates data for the asset register")
    reply = type_command(f"/action done {action.ref}", person="fire")
    assert reply.ok and f"{action.ref} is now done" in reply.text
    assert stored(demo, action.what).status == "done"
    assert stored(demo, action.what).done_at is not None
    again = type_command(f"/action done {action.ref}", person="fire")
    assert f"{action.ref} is already done: nothing changed." in again.text
    type_command(f"/action reopen {action.ref}", person="fire")
    assert stored(demo, action.what).status == "open"
    open_already = type_command(f"/action reopen {action.ref}", person="fire")
    assert f"{action.ref} is already open: nothing changed." in open_already.text


def test_an_action_owned_in_free_text_is_changed_by_the_officers_and_the_refusal_says_so(type_command, demo):
    action = stored(demo, "Confirm lead officer for Wellbeing and Resilience")  # owner: "Chief Officers"
    reply = type_command(f"/action drop {action.ref}", person="fire")
    assert not reply.ok
    assert reply.text.startswith(f"Only an officer or the chair can drop {action.ref}: ask ")
    assert stored(demo, action.what).status == "open"


def test_someone_else_may_not_close_an_action_and_is_told_who_may(type_command, demo):
    action = stored(demo, "Send station and estates data for the asset register")
    before = count_rows(demo)
    reply = type_command(f"/action done {action.ref}", person="college")
    assert not reply.ok
    assert f"Only its owner (Ray Cottam), an officer or the chair can mark {action.ref} done:" in reply.text
    assert count_rows(demo) == before and stored(demo, action.what).status == "open"


def test_an_officer_moves_a_due_date(type_command, demo):
    action = stored(demo, "Circulate Away Day outcomes")
    reply = type_command(f"/action due {action.ref} 24/4/2015", person="clerk")
    assert f"{action.ref} is now due Fri 24 Apr 2015" in reply.text
    assert stored(demo, action.what).due == date(2015, 4, 24)


def test_an_officer_gives_an_action_to_someone_else_who_is_told(type_command, demo):
    action = stored(demo, "Consult the Youth Council on wellbeing priorities")  # Amira Hussain's
    reply = type_command(f"/action assign {action.ref} to <@U0FIRE001|ray>", person="clerk")
    assert reply.ok and reply.text == f"{action.ref} now belongs to Ray Cottam (told by direct message)."
    assert shown(reply).endswith(
        "Consult the Youth Council on wellbeing priorities — Ray Cottam, due Thu 30 Apr 2015"
    )
    [told] = [p for p in reply.posts if p.kind == "direct"]
    assert told.target == "U0FIRE001"
    assert told.text == f"Jess Marland has given you {action.ref}: its reminders now come to you."
    assert [b.command for s in told.message.sections for b in s.buttons][0] == f"/action done {action.ref}"
    with demo() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.what == "action.owner"))
    assert (entry.actor, entry.before, entry.after) == (
        "Jess Marland",
        {"owner": "Amira Hussain"},
        {"owner": "Ray Cottam"},
    )
    assert action.what in shown(type_command("/action list", person="fire"))
    before = count_rows(demo)
    again = type_command(f"/action assign {action.ref} fire", person="clerk")
    assert again.ok and again.text == f"{action.ref} belongs to Ray Cottam already: nothing changed."
    assert count_rows(demo) == before and not again.posts


def test_an_owner_hands_an_action_on_and_a_free_text_or_unremindable_owner_is_said_so(type_command, demo):
    action = stored(demo, "Send station and estates data for the asset register")  # Ray Cottam's
    to_text = type_command(f"/action assign {action.ref} Estates Team", person="fire")
    assert to_text.ok and to_text.text == (
        f"{action.ref} now belongs to Estates Team. 'Estates Team' is not a person in the partnership, so it is "
        "kept as free text and the officers will be nudged about it."
    )
    assert all(p.kind != "direct" for p in to_text.posts)  # nobody to tell
    assert (stored(demo, action.what).owner_id, stored(demo, action.what).owner_text) == (
        None,
        "Estates Team",
    )
    # Now only the officers and the chair may change it: its owner is free text.
    refused = type_command(f"/action assign {action.ref} fire", person="fire")
    assert not refused.ok and refused.text.startswith(
        f"Only an officer or the chair can give {action.ref} to someone else"
    )
    to_youth = type_command(f"/action assign {action.ref} youth", person="clerk")
    assert to_youth.text == (
        f"{action.ref} now belongs to Amira Hussain. Amira Hussain has no Slack id in the partnership file, so "
        "partnerbot cannot remind them; the weekly digest lists the action once it is overdue."
    )


@pytest.mark.parametrize(
    ("line", "person", "says"),
    [
        (
            "/action assign {ref} police",
            "college",
            "Only its owner (Ray Cottam), an officer or the chair can give",
        ),
        ("/action assign {ref} <!channel>", "clerk", "That looks like a channel or a link, not a person"),
        ("/action assign {ref} @nobody", "clerk", "is no one"),
        ("/action assign {ref} " + "x" * 250, "clerk", "at most 200 characters"),
        ("/action assign A999 fire", "clerk", "There is no action A999"),
        ("/action assign {done} fire", "clerk", "is done: only an open action is given to someone else"),
        (
            "/action assign {ref} police",
            None,
            "Only its owner (Ray Cottam), an officer or the chair can give",
        ),
    ],
)
def test_giving_an_action_away_wrongly_is_refused_and_stores_nothing(type_command, demo, line, person, says):
    with demo() as session:
        done = session.scalars(select(Action).where(Action.status == "done")).first().ref
    refs = {"ref": stored(demo, "Send station and estates data for the asset register").ref, "done": done}
    before = count_rows(demo)
    reply = type_command(line.format(**refs), person=person)
    assert not reply.ok and says in reply.text, reply.text
    assert "Nothing was changed" in reply.text
    assert count_rows(demo) == before


def test_an_unknown_ref_is_refused(type_command):
    assert "There is no action A999" in type_command("/action done A999").text
    assert "not an action ref" in type_command("/action done B7").text


def test_help_shows_the_grammar_and_an_example(type_command):
    text = type_command("/action help").text
    assert "/action add WHAT | WHO | WHEN" in text and "Circulate Away Day outcomes" in text


def test_list_by_workstream_slug_or_its_prefix(type_command):
    for scope in ("joint-commissioning", "JOINT"):
        text = shown(type_command(f"/action list {scope}"))
        assert text.startswith("Open actions of Joint Commissioning (2):")
        assert "Circulate joint commissioning scoping paper" in text
        assert "Bring options for a joint early help commission" in text


def test_a_person_s_id_is_theirs_though_a_workstream_s_slug_starts_with_it(type_command):
    # `intel` is Fiona Rigby's id, and the start of intelligence-sharing.
    assert shown(type_command("/action list intel")).startswith("Open actions of Fiona Rigby (1):")
    assert shown(type_command("/action list INTEL")).startswith("Open actions of Fiona Rigby (1):")
    assert shown(type_command("/action list intell")).startswith("Open actions of Intelligence Sharing (2):")
    whole = shown(type_command("/action list intelligence-sharing"))
    assert whole.startswith("Open actions of Intelligence Sharing (2):")


def test_list_by_an_owner_written_as_free_text(type_command):
    text = shown(type_command("/action list all partners"))
    assert text.startswith("Open actions of 'all partners' (1):")
    assert "Nominate a contact for the single front door pilot" in text


def test_list_by_a_name_nobody_goes_by_says_what_would_be_understood(type_command):
    reply = type_command("/action list Ray Cotam")
    assert not reply.ok
    assert reply.text == (
        "No open action is owed by 'Ray Cotam', and no one and no workstream in the partnership goes "
        "by that name. Name a person (an @mention, their id or part of their name), a workstream "
        "(integrated-assets, intelligence-sharing, joint-commissioning, wellbeing-and-resilience), "
        "or say `all` or `overdue`. Nothing was changed."
    )


@pytest.mark.parametrize(
    "line",
    [
        "/action done <!channel>",
        "/action add x | <!here> " + "y" * 300 + " | 1 May",
        "/action list <@U0FIRE001> <!everyone>",
    ],
)
def test_hostile_text_is_refused_and_echoed_short(type_command, demo, line):
    before = count_rows(demo)
    reply = type_command(line)
    assert not reply.ok and "Nothing was changed" in reply.text and len(reply.text) < 600
    assert count_rows(demo) == before


@pytest.mark.parametrize(
    "line",
    ["/action done {ref}", "/action drop {ref}", "/action due {ref} 1 May", "/action snooze {ref}"],
)
def test_a_change_says_what_happened_then_shows_the_action_once(type_command, demo, line):
    action = stored(demo, "Send station and estates data for the asset register")
    reply = type_command(line.format(ref=action.ref), person="fire")
    assert reply.ok and reply.text.startswith(f"{action.ref} is ")
    [section] = reply.sections
    assert section.text.startswith(f"*{action.ref}* Send station and estates data")
    assert action.what not in reply.text  # in Slack the text is shown above the section
