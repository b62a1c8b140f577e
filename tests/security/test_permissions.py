"""Who may do what (SPEC 4), as one table: every command and button press, the
channel it is typed in, and the roles allowed. Every row is run for every role
through the command core: an allowed role gets its answer (and its change is
stored); every other role is refused with a reply that says who may act, and
nothing at all is stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.commands import COMMANDS, FORMS
from bot.commands.core import Reply, run, submit
from storage.models import Action, Group, Meeting, Membership, PartnershipLoad, Person
from tests.calendar.conftest import SITE
from tests.conftest import count_rows

LONDON = ZoneInfo("Europe/London")
BOARD = "CBOARD001"  # the Board's channel
STRANGER = "U0NOBODY9"  # a Slack user id nobody in the partnership file has

# One person per role, from the demo file (storage/examples/chorley.yaml), all on the Board:
# the Board's chair and clerk; a member who leads nothing; the lead and a contributing
# partner of Joint Commissioning (reporting to the Board); an observer added below, since
# the file's Board observer also leads a workstream; and a stranger.
ROLES = {
    "chair": "chair",
    "officer": "clerk",
    "member": "opposition",
    "observer": "watcher",
    "lead": "fire",
    "contributor": "lcft",
    "left": "gone",
    "stranger": None,
}
IN_FILE = frozenset(ROLES) - {"stranger", "left"}
EVERYONE = frozenset(ROLES)
OFFICERS = frozenset({"chair", "officer"})
OWNER_OR_OFFICERS = OFFICERS | {"lead"}  # {owned} is the lead's action
REPORTERS = OFFICERS | {"lead", "contributor"}


@dataclass(frozen=True)
class Row:
    line: str  # as typed (or as a button's command); {owned}, {done} and {item} filled in
    allowed: frozenset[str]
    changes: bool  # an allowed run stores something
    channel: str | None = BOARD
    values: tuple[tuple[str, str], ...] = ()  # a form's answers: `line` is then the form's name
    state: tuple[tuple[str, str], ...] = ()  # and the state the form carries


def form(name: str, allowed: frozenset[str], changes: bool, *, state=(), **values: str) -> Row:
    """A filled-in form sent (a modal in Slack, prompts in the console)."""
    return Row(name, allowed, changes, values=tuple(values.items()), state=tuple(state))


# fmt: off
MATRIX = [
    # /meeting: anyone views; officers and the chair change
    Row("/meeting next", EVERYONE, False),
    Row("/meeting list", EVERYONE, False),
    Row("/meeting add 7 Jul 2015", OFFICERS, True),
    Row("/meeting move 16/06/2015 to 23/06/2015", OFFICERS, True),
    Row("/meeting cancel 16/06/2015", OFFICERS, True),
    Row("/meeting attendance 21/04/2015 absent opposition", OFFICERS, True),
    Row("/meeting interest 21/04/2015 {item} Trustee of a local charity", IN_FILE, True),
    Row("/meeting minutes 21/04/2015", IN_FILE, False),
    # /agenda: members submit; officers remove and publish
    Row("/agenda", IN_FILE, False),
    Row("/agenda add Estates review -- for decision", IN_FILE, True),
    Row("/agenda add restricted para 3 Sale of the depot", IN_FILE, True),
    Row("/agenda remove {june_item}", OFFICERS, True),
    Row("/agenda publish", OFFICERS, True),
    # /apologies: any member
    Row("/apologies 16/06/2015 At a conference in Leeds", IN_FILE, True),
    Row("/apologies 16/06/2015 At a conference in Leeds", IN_FILE, True, None),
    Row("/apologies list 16/06/2015", IN_FILE, False),
    # /action: members create; owners and officers change (the buttons are these commands)
    Row("/action add Draft the locality plan | fire | 30/04/2015", IN_FILE, True),
    Row("/action add Draft the locality plan | fire | 30/04/2015", IN_FILE, True, None),
    Row("/action list", IN_FILE, False),
    Row("/action list all", IN_FILE, False),
    Row("/action done {owned}", OWNER_OR_OFFICERS, True),
    Row("/action done {owned}", OWNER_OR_OFFICERS, True, None),
    Row("/action drop {owned}", OWNER_OR_OFFICERS, True),
    Row("/action due {owned} 05/06/2015", OWNER_OR_OFFICERS, True),
    Row("/action snooze {owned}", OWNER_OR_OFFICERS, True),
    Row("/action assign {owned} police", OWNER_OR_OFFICERS, True),
    Row("/action reopen {done}", OFFICERS, True),
    # /update: leads, contributors and the reporting group's officers
    Row("/update joint-commissioning amber Pooled budget delayed to Q3", REPORTERS, True),
    Row("/update joint-commissioning amber Pooled budget delayed to Q3", REPORTERS, True, None),
    Row("/update joint-commissioning history", IN_FILE, False),
    Row("/update joint-commissioning close", OFFICERS, True),
    Row("/update wellbeing-and-resilience reopen", OFFICERS, True),  # closed by the clerk below
    # /calendar, /digest
    Row("/calendar", IN_FILE, True),
    Row("/calendar group reset", OFFICERS, True),
    Row("/digest", IN_FILE, False),
    Row("/digest post", OFFICERS, True),
    Row("/calendar group", IN_FILE, True),
    # Commands that open a form, and the forms sent (the Home tab's and the nudges'
    # buttons are these same commands and forms)
    Row("/apologies", IN_FILE, False),
    Row("/meeting attendance 21/04/2015", OFFICERS, False),
    Row("/update joint-commissioning", REPORTERS, False),
    Row("/action due {owned}", OWNER_OR_OFFICERS, False),
    Row("/action import", IN_FILE, False),
    form("apologies", IN_FILE, True, meeting="{june}", reason="A conference", substitute="A deputy"),
    form("attendance", OFFICERS, True, state=[("meeting", "{april}")], opposition="absent"),
    form("update-highlight", REPORTERS, True, state=[("workstream", "joint-commissioning")], rag="amber",
         progress="Scoping paper agreed", risks="Budget"),
    form("action-due", OWNER_OR_OFFICERS, True, state=[("ref", "{owned}")], due="2015-06-05"),
    form("action-import", IN_FILE, True, meeting="{april}", table="Draft the locality plan | fire | 30.04.15"),
]
# fmt: on


@pytest.fixture
def board(demo, clock):
    """The Board the day after its April meeting (Wed 22 Apr 2015, 09:00), with an
    observer, a declared-on item on the April agenda, an item on the June draft,
    one of the scoping paper's actions done, and Wellbeing and Resilience closed."""
    run_as = _runner(demo, clock)
    assert run_as("/agenda add Locality plan -- for decision", "clerk", BOARD).ok  # on 21 Apr's agenda
    with demo() as session, session.begin():
        watcher = Person(key="watcher", name="Wendy Watcher", slack_user_id="U0WATCH01")
        session.add(watcher)
        session.flush()
        board_id = session.scalar(select(Group.id).where(Group.slug == "board"))
        session.add(Membership(group_id=board_id, person_id=watcher.id, role="observer"))
        gone = datetime(2015, 4, 13, 8, 0, tzinfo=LONDON)
        session.add(Person(key="gone", name="Gus Gone", slack_user_id="U0GONE001", left_at=gone))
        # As `partnerbot load` does: each process's remembered groups and people are now out of date.
        session.add(PartnershipLoad(version="with-a-watcher", loaded_at=clock.now()))
        owned = session.scalar(select(Action).where(Action.what.like("Bring options for a joint early%")))
        done = session.scalar(select(Action).where(Action.what.like("Circulate joint commissioning%")))
        refs = {"owned": owned.ref, "done": done.ref}
    clock.set(datetime(2015, 4, 22, 9, 0, tzinfo=LONDON))
    assert run_as(f"/action done {refs['done']}", "clerk", None).ok
    assert run_as("/update wellbeing-and-resilience close", "clerk", BOARD).ok
    june = run_as("/agenda add Budget monitoring", "clerk", BOARD)
    assert june.ok, june.text
    refs |= {"item": "3", "june_item": "3"}
    with demo() as session:
        starts = {
            meeting.starts_at.astimezone(LONDON).date().isoformat(): str(meeting.id)
            for meeting in session.scalars(select(Meeting).join(Group).where(Group.slug == "board"))
        }
    refs |= {
        "april": starts["2015-04-21"],
        "june": starts["2015-06-16"],
    }  # after the welcome and the last minutes
    return refs


def _runner(demo, clock):
    def run_as(line: str, role_person: str | None, channel: str | None, form: Row | None = None) -> Reply:
        if form is not None:
            who = {"slack_user_id": STRANGER} if role_person is None else {"person_key": role_person}
            return submit(
                FORMS[line], dict(form.values), dict(form.state), sessions=demo, clock=clock, channel_id=channel,
                site=SITE, **who,
            )  # fmt: skip
        name, _, text = line.partition(" ")
        if role_person is None:
            return run(
                COMMANDS[name],
                text,
                sessions=demo,
                clock=clock,
                slack_user_id=STRANGER,
                channel_id=channel,
                site=SITE,
            )
        return run(
            COMMANDS[name],
            text,
            sessions=demo,
            clock=clock,
            person_key=role_person,
            channel_id=channel,
            site=SITE,
        )

    return run_as


def _case_id(row: Row, role: str) -> str:
    where = "in the Board channel" if row.channel else "elsewhere"
    what = f"the {row.line} form" if row.values else row.line
    return f"{what} {where} as {role}"


CASES = [pytest.param(row, role, id=_case_id(row, role)) for row in MATRIX for role in ROLES]


@pytest.mark.parametrize(("row", "role"), CASES)
def test_the_permission_matrix(board, demo, clock, row, role):
    line = row.line.format(**board)
    filled = Row(
        line,
        row.allowed,
        row.changes,
        values=tuple((k, v.format(**board)) for k, v in row.values),
        state=tuple((k, v.format(**board)) for k, v in row.state),
    )
    before = count_rows(demo)
    reply = _runner(demo, clock)(line, ROLES[role], row.channel, filled if row.values else None)
    after = count_rows(demo)
    if role in row.allowed:
        assert reply.ok, f"{role} was refused `{line}`: {reply.text}"
        if row.changes:
            assert after != before, f"`{line}` by {role} stored nothing"
    else:
        assert not reply.ok, f"{role} may not `{line}`, yet got: {reply.text}"
        assert after == before, f"`{line}` refused for {role} yet stored something"
        assert "Nothing was changed" in reply.text
        assert _says_who_may(reply.text), f"the refusal of `{line}` for {role} says not who may: {reply.text}"


def _says_who_may(text: str) -> bool:
    return "Only " in text or "ask an officer" in text or "ask one of" in text


def test_a_forged_import_form_cannot_file_actions_under_another_group_s_meeting(board, demo, clock):
    """Fiona Rigby is in the Implementation Group only: the import form offers her
    its meetings; a Board meeting's id put in by hand is refused."""
    before = count_rows(demo)
    reply = submit(
        FORMS["action-import"],
        {"meeting": board["april"], "table": "Draft the locality plan | fire | 30.04.15"},
        {},
        sessions=demo,
        clock=clock,
        person_key="intel",
        site=SITE,
    )
    assert not reply.ok and "Choose a meeting" in reply.text
    assert count_rows(demo) == before
