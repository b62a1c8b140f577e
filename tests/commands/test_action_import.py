"""/action import: the board's February 2015 action table, pasted from the minutes."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, update

from bot.commands import action_import
from bot.commands.action_table import read_table
from bot.commands.core import Command, run
from services.errors import UserError
from storage.models import Action, AuditEntry, Group, Meeting, Organisation, Person
from tests.conftest import LONDON, count_rows
from tests.statements import counting

MINUTES = (Path(__file__).parent / "data" / "minutes-2015-02-actions.tsv").read_text(encoding="utf-8")
BOARD_DAY = date(2015, 2, 10)

EXPECTED = [
    ("Circulate Away Day outcomes", "Hannah Hurst", date(2015, 2, 17)),
    ("Develop evidence base", "Hannah Hurst", date(2015, 2, 20)),
    ("Commission Working Group", "Deborah Grant", date(2015, 3, 13)),
    ("Data Share Activity and Operational Group", "CI Teresa O’Grady", date(2015, 3, 20)),
    ("Develop high level vision, strategy and tasks", "Hannah Hurst", date(2015, 3, 20)),
    ("Consult partners on priorities", "Hannah Hurst", date(2015, 4, 3)),
    ("Formalise partner commitments", "Hannah Hurst", date(2015, 4, 3)),
    ("Develop work plan for agreement at CPSRB", "Hannah Hurst", date(2015, 4, 10)),
    ("Working Group Updates at CPSRB", "Group Leads", date(2015, 4, 10)),
]


def as_pipes(text: str) -> str:
    return "\n".join(f"| {' | '.join(line.split(chr(9)))} |" for line in text.splitlines())


def as_spaces(text: str) -> str:
    return text.replace("\t", "   ")


# -- reading, pure --------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [str, as_pipes, as_spaces], ids=["tabs", "pipes", "spaces"])
def test_the_february_table_reads_exactly_in_every_shape(shape):
    table = read_table(shape(MINUTES), today=BOARD_DAY)
    assert table.header is True
    assert table.problems == ()
    assert [(r.what, r.who, r.due) for r in table.rows] == EXPECTED


def test_a_markdown_rule_under_the_header_and_blank_lines_are_skipped():
    pasted = "| What | Who | When |\n|---|---|---|\n\n| Book room | Jess | 17.02.15 |\n\n"
    table = read_table(pasted, today=BOARD_DAY)
    assert [(r.what, r.who, r.due) for r in table.rows] == [("Book room", "Jess", date(2015, 2, 17))]


def test_a_table_without_a_header_keeps_its_first_row():
    table = read_table("Book room\tJess\t17/02/2015\n", today=BOARD_DAY)
    assert table.header is False and len(table.rows) == 1


def test_a_row_starting_with_the_word_action_is_not_taken_for_a_header():
    table = read_table("Action plan refresh | Jess | 17.02.15", today=BOARD_DAY)
    assert table.header is False and table.rows[0].what == "Action plan refresh"


@pytest.mark.parametrize(
    "when",
    [
        "17.02.15",
        "17/02/2015",
        "17/2/15",
        "17.02.2015",
        "2015-02-17",
        "17 February 2015",
        "17 Feb",
        "Tue 17 Feb",
    ],
)
def test_every_date_form_reads(when):
    [row] = read_table(f"Book room | Jess | {when}", today=BOARD_DAY).rows
    assert row.due == date(2015, 2, 17)


@pytest.mark.parametrize(
    ("when", "due"),
    [
        ("March", date(2015, 3, 31)),
        ("End of March 2015", date(2015, 3, 31)),
        ("by 13 March", date(2015, 3, 13)),
        ("w/c 16 March", date(2015, 3, 20)),
        ("Next meeting", date(2015, 4, 21)),
        ("by the next meeting", date(2015, 4, 21)),
    ],
)
def test_the_dates_minutes_write_for_a_deadline_read(when, due):
    [row] = read_table(f"Book room | Jess | {when}", today=BOARD_DAY, next_meeting=date(2015, 4, 21)).rows
    assert row.due == due, row.problem


def test_a_numbered_table_drops_the_item_number():
    [row] = read_table("3.\tBook room\tJess\t17.02.15", today=BOARD_DAY).rows
    assert (row.what, row.who) == ("Book room", "Jess")


def test_owners_naming_two_people_or_all_partners_are_read_as_written():
    rows = read_table(
        "A | Hannah Hurst and Deborah Grant | 1/3/15\nB | All partners | 1/3/15", today=BOARD_DAY
    ).rows
    assert [r.who for r in rows] == ["Hannah Hurst and Deborah Grant", "All partners"]


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("Commission Working Group\tDeborah Grant\t31.02.15", "31 February"),
        (
            "Commission Working Group\tDeborah Grant\tongoing",
            "I can't read 'ongoing' as a due date: an action needs the day it is due by",
        ),
        (
            "Commission Working Group\tDeborah Grant\tNext meeting",
            "the group has no next meeting to date it by",
        ),
        ("Commission Working Group\tDeborah Grant", "2 columns, not three"),
        ("Commission Working Group\tDeborah Grant\t13.03.15\tnotes\textra", "5 columns"),
        ("| | Deborah Grant | 13.03.15 |", "does not say what the action is"),
        ("| Commission Working Group | | 13.03.15 |", "does not say who owns"),
        ("| Commission Working Group | Deborah Grant | |", "has no date"),
        ("x" * 1001 + "\tDeborah Grant\t13.03.15", "at most 1,000"),
    ],
)
def test_a_row_that_cannot_be_read_says_why(line, why):
    table = read_table("What\tWho\tWhen\nBook room\tJess\t17.02.15\n" + line, today=BOARD_DAY)
    [bad] = table.problems
    assert bad.line == 3 and why in (bad.problem or "")
    assert "Nothing was changed" not in (bad.problem or "")


@pytest.mark.parametrize(
    ("pasted", "says"),
    [
        ("", "There is no table there"),
        ("What\tWho\tWhen\n", "There is no table there"),
        ("a | b | 1/3/15\n" * 201, "at most 200"),
        ("x" * 40_001, "at most 40,000"),
    ],
)
def test_an_empty_or_huge_paste_is_refused(pasted, says):
    with pytest.raises(UserError) as refused:
        read_table(pasted, today=BOARD_DAY)
    assert says in refused.value.message and "Nothing was changed" in refused.value.message


# -- reading and saving, through the command core --------------------------------------------------


@pytest.fixture
def board(demo):
    """The demo board, with the people the February minutes name."""
    with demo() as session, session.begin():
        police = session.scalar(select(Organisation).where(Organisation.key == "police"))
        session.add_all(
            [
                Person(key="hhurst", name="Hannah Hurst", organisation_id=police.id),
                Person(key="tograd", name="Teresa O'Grady", organisation_id=police.id),
            ]
        )
        meeting_id = session.scalar(
            select(Meeting.id).join(Group).where(Group.slug == "board").order_by(Meeting.starts_at).limit(1)
        )
        # The demo's A2 is the minutes' last row, "Working Group updates at CPSRB"
        # (an open action already is not imported again): done, so all nine are new.
        session.execute(update(Action).where(Action.number == 2).values(status="done"))
    return demo, str(meeting_id)


def form_command(handler) -> Command:
    return Command(name="/action", help="", handle=lambda context, _text: handler(context))


def submit(board, clock, table: str, *, person="clerk", meeting=None):
    sessions, board_meeting = board
    values = {"meeting": meeting or board_meeting, "table": table}
    command = form_command(lambda context: action_import.submit(context, values, {}))
    return run(command, "import", sessions=sessions, clock=clock, person_key=person)


def press(reply, board, clock, *, person="clerk"):
    sessions, _ = board
    [button] = [b for s in reply.sections for b in s.buttons]
    name, _, text = button.command.partition(" ")
    from bot.commands import COMMANDS

    return run(COMMANDS[name], text, sessions=sessions, clock=clock, person_key=person)


def imported(sessions) -> list[Action]:
    with sessions() as session:
        return list(
            session.scalars(select(Action).where(Action.import_id.is_not(None)).order_by(Action.number))
        )


def test_the_clerk_imports_the_february_table_and_saves_it_once(board, clock):
    sessions, _ = board
    before = count_rows(sessions)
    shown = submit(board, clock, MINUTES)
    assert shown.ok
    assert shown.text.startswith(
        "I read 9 actions for the Chorley Public Service Reform Board meeting on Tue 10 Feb 2015 at 16:00 "
        "(the header row was skipped): all of them are already overdue. Nothing is saved until you press Save."
    )
    lines = "\n".join(s.text for s in shown.sections).splitlines()
    assert lines[0] == "1. Circulate Away Day outcomes — Hannah Hurst, due Tue 17 Feb 2015 (already overdue)"
    assert lines[3] == (
        "4. Data Share Activity and Operational Group — Teresa O'Grady, due Fri 20 Mar 2015 (already overdue)"
    )
    assert lines[8] == (
        "9. Working Group Updates at CPSRB — Group Leads (free text: not a person in the partnership), "
        "due Fri 10 Apr 2015 (already overdue)"
    )
    assert "Deborah Grant (free text" in lines[2]  # not in the partnership file
    assert count_rows(sessions) == before | {"action_import": 1}  # read, not saved

    saved = press(shown, board, clock)
    assert saved.ok and saved.text.startswith(
        "Saved 9 actions for the Chorley Public Service Reform Board meeting"
    )
    actions = imported(sessions)
    assert [(a.what, a.owner.name if a.owner else a.owner_text, a.due) for a in actions] == [
        (what, "Teresa O'Grady" if "Grady" in who else who, due) for what, who, due in EXPECTED
    ]
    assert {a.meeting_id for a in actions} == {int(board[1])}
    with sessions() as session:
        audited = session.scalars(select(AuditEntry.what).where(AuditEntry.actor == "Jess Marland")).all()
    assert audited.count("action.add") == 9 and audited.count("action.import") == 1

    after = count_rows(sessions)
    again = press(shown, board, clock)
    assert again.ok and "saved already" in again.text and f"{actions[0].ref}–{actions[-1].ref}" in again.text
    assert count_rows(sessions) == after


def test_the_rows_already_overdue_are_counted_and_marked(board, clock):
    clock.set(datetime(2015, 2, 19, 9, 0, tzinfo=LONDON))  # after the board, before most are due
    shown = submit(board, clock, MINUTES)
    assert shown.ok and "(the header row was skipped): 1 of them is already overdue. Nothing" in shown.text
    lines = "\n".join(s.text for s in shown.sections).splitlines()
    assert [line.endswith("(already overdue)") for line in lines] == [True] + [False] * 8


def test_reading_the_same_table_twice_is_one_import(board, clock):
    first = submit(board, clock, MINUTES)
    second = submit(board, clock, as_pipes(MINUTES))
    assert [b.command for s in first.sections for b in s.buttons] == [
        b.command for s in second.sections for b in s.buttons
    ]
    press(first, board, clock)
    press(second, board, clock)
    assert len(imported(board[0])) == 9
    third = submit(board, clock, MINUTES)
    assert "is an open action already" in third.text and not any(s.buttons for s in third.sections)


def test_rows_open_already_as_actions_are_shown_and_not_saved_again(board, clock, type_command):
    sessions, _ = board
    type_command("/action reopen A2")  # "Working Group updates at CPSRB | Group Leads | 10.04.15"
    type_command("/action add Circulate Away Day outcomes | Hannah Hurst | 17.02.15")  # during the meeting
    shown = submit(board, clock, MINUTES)
    assert shown.text.startswith(
        "I read 9 actions for the Chorley Public Service Reform Board meeting on Tue 10 Feb 2015 at 16:00 "
        "(the header row was skipped): all of them are already overdue; 2 are open already (A17, A2): "
        "not saved again."
    )
    lines = "\n".join(s.text for s in shown.sections).splitlines()
    assert lines[0] == (
        "~1. Circulate Away Day outcomes — Hannah Hurst, due Tue 17 Feb 2015~ (open already as A17: not saved again)"
    )
    assert lines[8].startswith("~9. Working Group Updates at CPSRB") and lines[8].endswith(
        "as A2: not saved again)"
    )
    assert [b.label for s in shown.sections for b in s.buttons] == ["Save 7 actions"]
    assert press(shown, board, clock).text.startswith("Saved 7 actions")
    assert [a.what for a in imported(sessions)] == [what for what, _, _ in EXPECTED[1:8]]

    before = count_rows(sessions)
    everything = submit(board, clock, MINUTES)
    assert everything.text == (
        "Every row of this table is an open action already (A17, A18, A19, A20, A21, A22, A23, A24, A2): "
        "nothing to save."
    )
    assert count_rows(sessions) == before


def test_a_rank_and_a_curly_apostrophe_find_the_person_in_an_added_action_too(board, clock, type_command):
    reply = type_command("/action add Data share | CI Teresa O’Grady | 20.03.15")
    assert "Teresa O'Grady, due Fri 20 Mar 2015" in reply.text


def test_without_the_person_a_ranked_name_is_kept_as_free_text(demo, clock):
    with demo() as session:
        meeting_id = session.scalar(select(Meeting.id).order_by(Meeting.starts_at).limit(1))
    reply = submit((demo, str(meeting_id)), clock, "Data share\tCI Teresa O’Grady\t20.03.15")
    assert "Data share — CI Teresa O’Grady (free text" in reply.sections[0].text


def test_next_meeting_in_the_table_is_the_group_s_next_after_the_minutes_meeting(board, clock):
    reply = submit(board, clock, "Report back on the pilot | fire | Next meeting")
    assert "1. Report back on the pilot — Ray Cottam, due Tue 21 Apr 2015" in "\n".join(
        section.text for section in reply.sections
    ), reply.text


def test_a_table_with_a_bad_date_shows_that_row_and_saves_nothing(board, clock):
    sessions, _ = board
    before = count_rows(sessions)
    broken = MINUTES.replace("13.03.15", "31.02.15")
    reply = submit(board, clock, broken)
    assert not reply.ok and reply.sections == ()
    said = reply.errors["table"]  # under the table, which stays in the form to be put right
    assert said.startswith("I could not read 1 of the 9 rows, so nothing was saved:\n")
    assert "✗ line 4: Commission Working Group | Deborah Grant | 31.02.15 — I can't read '31.02.15'" in said
    assert "31 February" in said
    assert count_rows(sessions) == before


def test_an_ambiguous_owner_is_a_row_that_cannot_be_read(board, clock):
    sessions, _ = board
    before = count_rows(sessions)
    reply = submit(board, clock, "Book room\tHa\t17.02.15")  # Hannah Hurst, Nadia Hartley, ...
    assert not reply.ok
    assert "✗ line 1: Book room | Ha | 17.02.15 — 'Ha' could be" in reply.errors["table"]
    assert "Hannah Hurst" in reply.errors["table"]
    assert count_rows(sessions) == before


def test_an_owner_who_has_left_is_a_row_that_cannot_be_read(board, clock):
    sessions, _ = board
    with sessions() as session, session.begin():  # as a partnership file without her leaves her
        session.execute(update(Person).where(Person.key == "hhurst").values(left_at=clock.now()))
    before = count_rows(sessions)
    reply = submit(board, clock, "Book room\tHannah Hurst\t17.02.15")
    assert not reply.ok
    assert (
        "✗ line 1: Book room | Hannah Hurst | 17.02.15 — Hannah Hurst has left the partnership"
        in reply.errors["table"]
    )
    assert count_rows(sessions) == before


def test_only_members_import(board, clock):
    sessions, _ = board
    before = count_rows(sessions)
    reply = submit(board, clock, MINUTES, person="hhurst")  # in no group
    assert not reply.ok and "Only members of the partnership's groups can import actions" in reply.text
    assert count_rows(sessions) == before


@pytest.mark.parametrize("meeting", ["", "999999", "not a number"])
def test_a_meeting_that_was_not_held_is_refused(board, clock, meeting):
    sessions, _ = board
    before = count_rows(sessions)
    reply = submit(board, clock, MINUTES, meeting=meeting or "x")
    assert not reply.ok and "Choose a meeting that has been held" in reply.text
    assert count_rows(sessions) == before


def test_the_paste_form_presets_the_groups_last_held_meeting(type_command):
    reply = type_command("/action import", channel="CBOARD001")
    assert reply.form is not None and reply.form.name == "action-import"
    table, meeting = reply.form.fields
    assert meeting.choices[0].label == "CPSRB Tue 10 Feb 2015" and meeting.preset == meeting.choices[0].value
    assert table.kind == "long_text"


def test_an_unknown_save_key_is_refused(type_command, demo):
    before = count_rows(demo)
    reply = type_command("/action import save 0123456789abcdef")
    assert not reply.ok and "There is no table of actions waiting" in reply.text
    assert count_rows(demo) == before


@pytest.mark.parametrize(
    "line", ["/action import now please", "/action import save", "/action import save a b"]
)
def test_import_takes_nothing_typed_after_it(type_command, demo, line):
    before = count_rows(demo)
    reply = type_command(line)
    assert not reply.ok and "Nothing was changed" in reply.text
    assert count_rows(demo) == before


def test_reading_and_saving_a_long_table_takes_a_bounded_number_of_queries(board, clock, engine):

    table = "\n".join(
        f"Task {n}\t{'Hannah Hurst' if n % 2 else 'Group Leads'}\t{1 + n % 28}/5/2015" for n in range(200)
    )
    with counting(engine) as statements:
        shown = submit(board, clock, table)
        read = len(statements)
        saved = press(shown, board, clock)
    assert shown.ok and saved.ok and saved.text.startswith("Saved 200 actions")
    assert read < 30 and len(statements) - read < 40
