"""The console: the same commands typed in a terminal, with a clock to move."""

from __future__ import annotations

import io

from sqlalchemy import select

from bot.console import Console
from services import outbox
from storage.models import Person


def session_log(demo, clock, lines: str, person: str | None = "clerk") -> str:
    out = io.StringIO()
    Console(sessions=demo, clock=clock, person_key=person, out=out).loop(io.StringIO(lines))
    return out.getvalue()


def test_a_member_checks_the_next_meeting_and_sends_apologies(demo, clock):
    text = session_log(demo, clock, "/meeting next\nas fire\n/apologies Off sick\n/apologies list\n")
    assert "You are Jess Marland (Policy and Engagement Assistant). Clock: Mon 13 Apr 2015, 09:00" in text
    assert "Next meeting: Chorley Public Service Reform Board" in text  # mrkdwn stars removed
    assert "*" not in text
    assert "You are now Ray Cottam (Group Manager)." in text
    assert "Apologies sent for the Chorley Public Service Reform Board meeting on Tue 21 Apr 2015" in text


def test_typing_in_a_group_channel_scopes_the_command(demo, clock):
    text = session_log(demo, clock, "in implementation\n/meeting next\n", person="fire")
    assert "fire #implementation › /meeting next" in text
    assert "Next meeting: Implementation Group" in text


def test_moving_the_clock_shows_what_falls_due(demo, clock):
    with demo() as session, session.begin():
        outbox.enqueue(
            session,
            key="test:reminder",
            kind="channel",
            target="CBOARD001",
            payload={"text": "The *Board* meets tomorrow & the room is booked"},
            due_at=clock.now().replace(day=20),
            now=clock.now(),
        )
    text = session_log(demo, clock, "clock +2d\nclock 20/04/2015 09:00\n")
    before, after = text.split("The clock says Wed 15 Apr 2015, 09:00.")
    assert "meets tomorrow" not in before
    assert "▸ #board\n    The Board meets tomorrow & the room is booked" in after
    assert "The clock says Mon 20 Apr 2015, 09:00." in after


def test_mistakes_are_answered_not_crashed_on(demo, clock):
    text = session_log(demo, clock, "as nobody\nin nowhere\nclock 31/02/2015\n/nope\nfrobnicate\n")
    assert "There is no person 'nobody'" in text
    assert "There is no group 'nowhere'" in text
    assert "there is no 31 February 2015" in text
    assert "There is no /nope command" in text
    assert "I don't know 'frobnicate'" in text


def test_people_lists_whom_you_can_be_with_their_titles_where_they_have_one(demo, clock):
    with demo() as session, session.begin():
        session.scalar(select(Person).where(Person.key == "fire")).title = None
    lines = session_log(demo, clock, "people\n").splitlines()
    assert "  clerk          Jess Marland — Policy and Engagement Assistant" in lines
    assert "  fire           Ray Cottam" in lines


def test_people_says_who_has_left(demo, clock, leave):
    leave("fire")
    lines = session_log(demo, clock, "people\n").splitlines()
    assert "  fire           Ray Cottam — Group Manager (has left the partnership)" in lines
    assert "  clerk          Jess Marland — Policy and Engagement Assistant" in lines


def test_before_any_partnership_is_loaded_the_console_says_what_to_do(db, clock):
    text = session_log(db, clock, "/meeting next\n", person=None)
    assert text.count("No partnership is loaded yet") == 1
    assert "partnerbot load FILE.yaml" in text


def test_a_form_is_asked_one_field_at_a_time_and_a_blank_keeps_the_preset(demo, clock):
    from sqlalchemy import select

    from storage.models import Apology

    text = session_log(demo, clock, "as fire\n/apologies\n\nAt a conference\n\nKim Lee\n")
    assert (
        "Send apologies: answer each question; a blank answer keeps what is in [brackets], "
        "and `cancel` leaves the form." in text
    )
    assert "  1. Tue 21 Apr 2015 16:00 — Chorley Public Service Reform Board" in text
    assert "Meeting [Tue 21 Apr 2015 16:00 — Chorley Public Service Reform Board]: \n" in text
    assert "Reason (optional) (end with a blank line) []: At a conference" in text
    assert "Apologies sent for the Chorley Public Service Reform Board meeting on Tue 21 Apr 2015" in text
    assert "Substitute: Kim Lee. The terms of reference ask members to attend in person" in text
    with demo() as session:
        apology = session.scalars(select(Apology)).one()
    assert (apology.reason, apology.substitute) == ("At a conference", "Kim Lee")


def test_a_wrong_choice_is_asked_again_and_an_unfinished_form_saves_nothing(demo, clock):
    from tests.conftest import count_rows

    before = count_rows(demo)
    text = session_log(demo, clock, "as fire\n/apologies\n99\nthe board\n2\n")
    assert "Type a number from 1 to 10, or a blank line to keep the preset." in text
    assert "Form left unfinished: nothing was saved." in text
    assert count_rows(demo) == before


def test_the_attendance_form_lists_its_four_choices_once_and_again_after_a_wrong_answer(demo, clock):
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from storage.models import Attendance

    clock.set(datetime(2015, 4, 21, 18, 0, tzinfo=ZoneInfo("Europe/London")))
    answers = "\n\n\nabsent\n\n5\n" + "\n" * 14  # the 18 on the form, one asked twice
    text = session_log(demo, clock, f"in board\n/meeting attendance 21 Apr\n{answers}")
    listing = "    1. present\n    2. apologies\n    3. absent\n    4. in attendance\n"
    assert text.count(listing) == 2
    assert f"Type a number from 1 to 4, or a blank line to keep the preset.\n{listing}" in text
    assert "  Derek Pilling (member) [present]: \n  Graham Oldroyd (member) [present]: 5\n" in text
    assert (
        "Attendance recorded for the Chorley Public Service Reform Board meeting on Tue 21 Apr 2015" in text
    )
    with demo() as session:
        absent = session.scalars(select(Attendance.person_id).where(Attendance.status == "absent")).all()
        caroline = session.scalar(select(Person.id).where(Person.key == "ccg"))
        assert absent == [caroline]


def test_a_slash_command_typed_at_a_question_leaves_the_form_and_runs(demo, clock):
    from tests.conftest import count_rows

    before = count_rows(demo)
    text = session_log(demo, clock, "as fire\n/action due A11\n/action due A11 next friday\n")
    assert "Form left for that command: nothing was saved." in text
    after = text.split("Form left for that command")[1]
    assert "A11 is now due Fri 17 Apr 2015" in after, after
    assert "I can't read '/action due A11" not in text
    assert count_rows(demo)["action"] == before["action"]


def test_a_slash_command_on_a_line_of_a_long_answer_leaves_the_form_and_runs(demo, clock):
    from tests.conftest import count_rows

    before = count_rows(demo)
    lines = "as ccg\n/update joint\n\nScoping paper drafted\n/update joint history\n"
    text = session_log(demo, clock, lines)
    assert "Form left for that command: nothing was saved." in text
    assert "Joint Commissioning" in text.split("Form left for that command")[1]  # the history, shown
    assert count_rows(demo)["update"] == before["update"]


def test_cancel_at_any_question_leaves_the_form_and_the_console_goes_on(demo, clock):
    from tests.conftest import count_rows

    before = count_rows(demo)
    text = session_log(demo, clock, "as fire\n/apologies\n\ncancel\n/meeting next\n")
    assert "Form cancelled: nothing was saved." in text
    assert "Next meeting: Chorley Public Service Reform Board" in text.split("Form cancelled")[1]
    assert count_rows(demo) == before


def test_buttons_are_shown_as_the_commands_to_type(demo, clock):
    from bot.commands.shapes import Button, Message, Section
    from bot.console import message_text

    shown = message_text(
        Message(
            "*Your actions*",
            (
                Section(
                    "*A12* Circulate",
                    (Button("Done", command="/action done A12"), Button("Due", form="action-due")),
                ),
            ),
        )
    )
    assert shown == "Your actions\nA12 Circulate\n[Done: /action done A12]  [Due: form action-due]"


def test_the_clerk_pastes_the_february_action_table_up_to_a_blank_line_and_saves_it(demo, clock):
    from pathlib import Path

    from sqlalchemy import func, select

    from storage.models import Action

    table = (Path(__file__).parent / "commands" / "data" / "minutes-2015-02-actions.tsv").read_text()
    with demo() as session:
        before = session.scalar(select(func.count()).select_from(Action))
    # Pasted straight after the command, as its prompt asks; then a blank line ends
    # the table and another keeps the meeting preset.
    text = session_log(demo, clock, f"in board\n/action import\n{table}\n\n/action list Group Leads\n")
    assert "What / Who / When table (end with a blank line) []: What\tWho\tWhen\n  … Circulate Away" in text
    assert (
        "Meeting [CPSRB Tue 10 Feb 2015]: \n" in text.split("Working Group Updates at CPSRB\tGroup Leads")[1]
    )
    assert "I read 9 actions for the Chorley Public Service Reform Board meeting on Tue 10 Feb 2015" in text
    # The demo's A2 is that last row: open already, it is not saved again.
    assert "9. Working Group Updates at CPSRB — Group Leads (free text" in text
    assert "(open already as A2: not saved again)" in text
    [save] = [line.strip() for line in text.splitlines() if "[Save 8 actions: " in line]
    command = save.split(": ", 1)[1].rstrip("]")
    with demo() as session:
        assert session.scalar(select(func.count()).select_from(Action)) == before  # not yet saved
    saved = session_log(demo, clock, f"{command}\n{command}\n")
    assert "Saved 8 actions for the Chorley Public Service Reform Board meeting on Tue 10 Feb 2015" in saved
    assert "This table was saved already" in saved
    with demo() as session:
        assert session.scalar(select(func.count()).select_from(Action)) == before + 8


def test_a_bad_row_in_a_pasted_table_is_shown_and_asked_again(demo, clock):
    from tests.conftest import count_rows

    before = count_rows(demo)
    pasted = "Book room\tclerk\t31.02.15\n"
    text = session_log(demo, clock, f"in board\n/action import\n{pasted}\n\n")
    assert "✗ line 1: Book room | clerk | 31.02.15 — I can't read '31.02.15' as a due date" in text
    assert "Form left unfinished: nothing was saved." in text
    assert count_rows(demo) == before


def test_a_lead_fills_in_the_highlight_report(demo, clock):
    text = session_log(
        demo,
        clock,
        "as fire\n/update\n\n2\nPooled budget agreed in principle\nwith the CCG\n\n"
        "Provider market thin\n\n\nScope the early help commission\n\n\n",
    )
    assert "1. Joint Commissioning (lead)" in text
    assert "Joint Commissioning update: answer each question" in text  # the whole title, not Slack's 24
    assert "Overall status [🟢 Green]: " in text
    assert (
        "Saved and posted to the Chorley Public Service Reform Board channel: Joint Commissioning — 🟠 Amber."
        in text
    )
    assert (
        "▸ #board" in text
        and "Progress made\n    Pooled budget agreed in principle\n    with the CCG" in text
    )


def test_a_question_the_form_needs_answered_is_asked_again_when_left_blank(demo, clock):
    # As a Slack form will not send with a required field empty: progress made is one.
    text = session_log(demo, clock, "as fire\n/update joint\n\n\nBudget agreed\n\n\n\n\n\n\n\n")
    progress = "  Progress made (end with a blank line) []: "
    assert text.count(progress) == 2
    assert (
        f"{progress}\n  This one needs an answer, or type `cancel` to leave the form.\n{progress}Budget agreed"
        in text
    )
    assert "Status: 🟢 Green\n    Budget agreed" in text  # posted with it


def test_quick_updates_history_refusals_and_closing_in_the_console(demo, clock):
    from tests.conftest import count_rows

    text = session_log(
        demo,
        clock,
        "as fire\n/update joint amber Pooled budget delayed to Q3\n/update joint history\n"
        "/update jont green ok\nas college\n/update joint green Fine\n/update joint close\n"
        "as clerk\n/update joint close\n/update joint green After closing\n",
    )
    assert "▸ #board\n    Joint Commissioning — update from Ray Cottam" in text
    assert "Status: 🟠 Amber" in text
    assert "The only update of Joint Commissioning:" in text
    assert "Did you mean joint-commissioning?" in text
    assert "Only the leads of Joint Commissioning (Caroline Entwistle, Ray Cottam)" in text
    assert "Only the officers of the Chorley Public Service Reform Board or its chair can close" in text
    assert "Joint Commissioning is now closed" in text
    assert "was closed, so it takes no more updates" in text
    before = count_rows(demo)
    session_log(demo, clock, "as college\n/update joint green Fine\n/update nowhere green Fine\n")
    assert count_rows(demo) == before


def test_action_buttons_are_shown_as_commands_and_snooze_works_in_the_console(demo, clock):
    text = session_log(demo, clock, "as fire\n/action list\n/action snooze A11\n/action snooze A11\n")
    assert (
        "[Done: /action done A11]  [Snooze a week: /action snooze A11]  [New due date: /action due A11]"
        in text
    )
    assert "A11 is snoozed: no reminders about it until Mon 20 Apr 2015" in text
    assert "A11 is already snoozed until Mon 20 Apr 2015: nothing changed." in text


def test_home_shows_the_home_tab_as_slack_does_with_its_buttons_as_commands(demo, clock):
    text = session_log(demo, clock, "/apologies 21/04/2015 On leave\nhome\n", person="fire")
    tab = text.split("fire › home", 1)[1]
    assert "partnerbot for Ray Cottam" in tab
    assert "Your open actions (2), oldest due first" in tab
    assert "Chorley Public Service Reform Board: Tue 21 Apr 2015" in tab
    assert "— you have sent apologies\n  [Withdraw apologies: /apologies withdraw 21/04/2015]" in tab
    assert "Joint Commissioning (lead) — no updates yet" in tab


def test_home_needs_someone_to_be(demo, clock):
    text = session_log(demo, clock, "home\n", person=None)
    assert "The Home tab is a person's own: be someone first (`as PERSON`)." in text


def test_slack_s_bold_italic_and_strike_through_marks_are_taken_off_as_slack_would_show_them():
    from bot.console import plain

    assert plain("*A12* Circulate — _Tue 16 Jun 2015 at 16:00_") == "A12 Circulate — Tue 16 Jun 2015 at 16:00"
    assert plain("~A3 | Send it | fire~ (open already as A3: not saved again)") == (
        "A3 | Send it | fire (open already as A3: not saved again)"
    )
    assert plain("(*agenda not out*, _and 3 more_)") == "(agenda not out, and 3 more)"
    assert plain("*_both_*") == "both"
    # What Slack leaves alone stays: marks inside words, or with a space inside them.
    for text in ("snake_case_name", "2*3*4", "a * b * c", "_ not italic _", "x~y~z", "*"):
        assert plain(text) == text
