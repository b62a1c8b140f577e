"""Done, Snooze a week, New due date: the buttons on every message that shows
someone's actions, pressed once, twice, or by someone who may not."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from bot.commands.action import submit_due
from bot.commands.core import Command, run
from storage.models import Action, AuditEntry
from tests.conftest import count_rows

ESTATES = "Send station and estates data for the asset register"  # Ray Cottam's, due 20 Mar 2015


def action(sessions, what: str = ESTATES) -> Action:
    with sessions() as session:
        return session.scalar(select(Action).where(Action.what == what))


def press(type_command, reply, label: str, *, ref: str, person: str = "fire"):
    """Press a button on a message: it types its command as the presser."""
    [command] = [
        b.command for s in reply.sections for b in s.buttons if b.label == label and ref in b.command
    ]
    return type_command(command, person=person)


def test_my_actions_carry_done_snooze_and_new_due_date(type_command, demo):
    ref = action(demo).ref
    listed = type_command("/action list", person="fire")
    mine = [s for s in listed.sections if ref in s.text][0]
    assert [(b.label, b.command) for b in mine.buttons] == [
        ("Done", f"/action done {ref}"),
        ("Snooze a week", f"/action snooze {ref}"),
        ("New due date", f"/action due {ref}"),
    ]


def _buttoned(reply) -> dict[str, bool]:
    """Each listed action's ref, and whether it carries buttons."""
    return {s.text.split("*")[1]: bool(s.buttons) for s in reply.sections if s.text.startswith("*A")}


def test_a_list_carries_buttons_only_on_the_actions_its_reader_may_change(type_command, demo):
    def ref(what: str) -> str:
        return action(demo, what).ref

    youth = ref("Consult the Youth Council on wellbeing priorities")
    joint = ref("Circulate joint commissioning scoping paper")  # agreed by the Board
    nominate = ref("Nominate a contact for the single front door pilot")  # the Board's; a free-text owner
    timetable = ref("Share Universal Credit roll-out timetable for Chorley")  # agreed at no meeting
    by_member = _buttoned(type_command("/action list all", person="youth"))
    assert by_member.pop(youth) is True
    assert by_member and not any(by_member.values()), by_member  # a member: their own only
    # The Implementation Group's officer: its meetings' actions, and those no meeting agreed.
    by_officer = _buttoned(type_command("/action list all", person="programme"))
    assert by_officer[ref(ESTATES)] is True
    assert by_officer[timetable] is True
    assert by_officer[joint] is False
    assert by_officer[nominate] is False
    assert all(_buttoned(type_command("/action list all", person="clerk")).values())  # officer of every group


def test_done_pressed_twice_acts_once(type_command, demo):
    listed = type_command("/action list", person="fire")
    ref = action(demo).ref
    first = press(type_command, listed, "Done", ref=ref)
    assert first.ok and f"{ref} is now done" in first.text
    assert first.sections and first.sections[0].buttons == ()  # the message shows it done
    after = count_rows(demo)
    second = press(type_command, listed, "Done", ref=ref)
    assert f"{ref} is already done: nothing changed" in second.text
    assert count_rows(demo) == after
    with demo() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.subject == ref)).all()
    assert [e.what for e in entries] == ["action.done"]


def test_snooze_a_week_pauses_reminders_and_keeps_the_due_date(type_command, demo, clock):
    listed = type_command("/action list", person="fire")
    ref = action(demo).ref
    reply = press(type_command, listed, "Snooze a week", ref=ref)
    assert reply.ok
    assert (
        f"{ref} is snoozed: no reminders about it until Mon 20 Apr 2015. It is still due Fri 20 Mar 2015."
        in reply.text
    )
    snoozed = action(demo)
    assert (snoozed.snoozed_until, snoozed.due) == (date(2015, 4, 20), date(2015, 3, 20))
    assert "reminders snoozed until Mon 20 Apr 2015" in reply.sections[0].text
    after = count_rows(demo)
    again = press(type_command, listed, "Snooze a week", ref=ref)
    assert "already snoozed until Mon 20 Apr 2015: nothing changed" in again.text
    assert count_rows(demo) == after
    with demo() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.what == "action.snooze"))
    assert entry.after == {"snoozed_until": "2015-04-20"} and entry.actor == "Ray Cottam"


def test_new_due_date_opens_a_small_form_and_saving_it_twice_changes_it_once(type_command, demo, clock):
    listed = type_command("/action list", person="fire")
    ref = action(demo).ref
    opened = press(type_command, listed, "New due date", ref=ref)
    assert opened.form is not None and opened.form.name == "action-due"
    assert opened.form.state == {"ref": ref} and opened.form.fields[0].preset == "2015-03-20"

    def submit(values):
        command = Command("/action", "", lambda context, _: submit_due(context, values, opened.form.state))
        return run(command, "due", sessions=demo, clock=clock, person_key="fire")

    changed = submit({"due": "24/04/2015"})
    assert changed.ok and f"{ref} is now due Fri 24 Apr 2015" in changed.text
    after = count_rows(demo)
    again = submit({"due": "24/04/2015"})
    assert f"{ref} is already due Fri 24 Apr 2015: nothing changed" in again.text
    assert count_rows(demo) == after
    before = count_rows(demo)
    bad = submit({"due": "31/02/2015"})
    assert not bad.ok and "31 February" in bad.text and count_rows(demo) == before
    assert action(demo).due == date(2015, 4, 24)


@pytest.mark.parametrize("label", ["Done", "Snooze a week", "New due date"])
def test_a_presser_who_may_not_change_it_is_refused_with_who_may(type_command, demo, label):
    listed = type_command("/action list", person="fire")
    ref = action(demo).ref
    before = count_rows(demo)
    reply = press(type_command, listed, label, ref=ref, person="college")
    assert not reply.ok and reply.form is None
    assert "Only its owner (Ray Cottam), an officer or the chair can" in reply.text
    assert count_rows(demo) == before


def test_an_officer_may_press_for_an_owner(type_command, demo):
    listed = type_command("/action list fire", person="clerk")
    ref = action(demo).ref
    assert press(type_command, listed, "Snooze a week", ref=ref, person="clerk").ok


def test_snoozing_a_closed_action_is_refused(type_command, demo):
    ref = action(demo).ref
    type_command(f"/action done {ref}", person="fire")
    before = count_rows(demo)
    reply = type_command(f"/action snooze {ref}", person="fire")
    assert not reply.ok and "nothing to snooze" in reply.text and count_rows(demo) == before


def test_two_hundred_open_actions_list_within_slacks_limits(type_command, demo):
    for n in range(200):
        assert type_command(f"/action add Task {n + 1} | fire | {1 + n % 28}/5/2015", person="clerk").ok
    reply = type_command("/action list", person="fire")
    assert reply.text == "Your open actions (202):"
    blocks = sum(2 if s.buttons else 1 for s in reply.sections) + 1
    assert blocks <= 50
    assert reply.sections[-1].text.startswith("…and 182 more")
    assert all(len(s.text) <= 3000 for s in reply.sections)


def test_reminders_resume_on_the_day_the_snooze_ends(type_command, demo, clock):
    from services.actions import is_snoozed

    ref = action(demo).ref
    type_command(f"/action snooze {ref}", person="fire")  # Mon 13 Apr 2015: until Mon 20 Apr
    snoozed = action(demo)
    assert is_snoozed(snoozed, date(2015, 4, 19))
    assert not is_snoozed(snoozed, date(2015, 4, 20))
