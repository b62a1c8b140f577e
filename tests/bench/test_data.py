"""The generated county-scale partnership (bench/data.py), at a small scale: the
rows it says it wrote are there, shaped like a real board's, and the commands a
member types still answer on it within what Slack shows."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bench.data import Generated, generate
from bench.rhythm import GROUPS
from bot.blocks.messages import reply_payload
from bot.commands import COMMANDS
from bot.commands.core import Reply, run
from services.clock import MovableClock
from storage.models import Action, Apology, Meeting, Membership, Partnership, Person
from tests.conftest import count_rows

NOW = datetime(2020, 3, 2, 9, 0, tzinfo=ZoneInfo("Europe/London"))
SCALE = 0.05  # 2,500 actions: enough that some lists reach their 50-line limit
SLACK_TEXT_LIMIT = 4000
SLACK_SECTION_LIMIT = 3000
SLACK_MESSAGE_BLOCKS = 50


@pytest.fixture
def county(engine) -> Generated:
    return generate(engine, scale=SCALE, now=NOW)


def type_as(db, line: str, person: str, channel: str | None = None) -> Reply:
    name, _, text = line.partition(" ")
    return run(
        COMMANDS[name], text, sessions=db, clock=MovableClock(NOW), person_key=person, channel_id=channel
    )


def fits_in_slack(reply: Reply) -> bool:
    """Within Slack's limits once rendered: the text, each section block, the block count."""
    blocks = reply_payload(reply.message).get("blocks", [])
    return (
        len(reply.text) <= SLACK_TEXT_LIMIT
        and len(blocks) <= SLACK_MESSAGE_BLOCKS
        and all(len(b.get("text", {}).get("text", "")) <= SLACK_SECTION_LIMIT for b in blocks)
    )


def test_every_row_it_counted_is_stored(county, db):
    stored = count_rows(db)
    assert {name: stored[name] for name in county.counts} == county.counts
    assert county.counts["action"] == 2500
    assert county.counts["update"] == 500
    assert county.counts["apology"] + county.counts["attendance"] == 1000
    assert county.counts["group"] == len(GROUPS) == 6
    assert county.counts["organisation"] == 12


def test_ten_years_of_meetings_to_each_groups_rhythm(county, db):
    with db() as session:
        partnership = session.scalar(select(Partnership))
        by_group = dict(
            session.execute(select(Meeting.group_id, func.count()).group_by(Meeting.group_id)).all()
        )
        upcoming = session.scalar(
            select(func.count()).where(Meeting.starts_at > NOW, Meeting.status == "scheduled")
        )
    assert (partnership.timezone, partnership.name) == (
        "Europe/London",
        "County Public Service Reform Partnership",
    )
    # Ten years, month by month, inclusive at both ends: the board 5 a year, the executive 12.
    assert 50 <= by_group[1] <= 52 and 120 <= by_group[2] <= 121
    assert 40 <= upcoming <= 60  # dates agreed a year ahead


def test_roles_owners_and_states_are_all_represented(county, db):
    with db() as session:
        roles = set(session.scalars(select(Membership.role).distinct()))
        statuses = dict(session.execute(select(Action.status, func.count()).group_by(Action.status)).all())
        overdue = session.scalar(select(func.count()).where(Action.status == "open", Action.due < NOW.date()))
        free_text = session.scalar(select(func.count()).where(Action.owner_id.is_(None)))
        on_slack = session.scalar(select(func.count()).where(Person.slack_user_id.is_not(None)))
        with_email = session.scalar(select(func.count()).where(Person.email.is_not(None)))
        withdrawn = session.scalar(select(func.count()).where(Apology.withdrawn_at.is_not(None)))
    people = county.counts["person"]
    assert roles == {"chair", "officer", "member", "observer"}
    assert statuses["done"] > statuses["dropped"] > 0 and statuses["open"] > overdue > 50
    assert 0 < free_text < county.counts["action"] // 4
    assert 0 < on_slack < people and 0 < with_email < people
    assert withdrawn > 0


def test_it_refuses_a_database_that_already_holds_a_partnership(county, engine, db):
    before = count_rows(db)
    with pytest.raises(ValueError, match="already holds a partnership"):
        generate(engine, scale=SCALE, now=NOW)
    assert count_rows(db) == before


@pytest.mark.parametrize("line", ["/meeting next", "/meeting list", "/action list", "/apologies list"])
def test_an_officer_gets_answers_that_fit_in_slack(county, db, line):
    reply = type_as(db, line, county.clerk)
    assert reply.ok and reply.text, reply.text
    assert fits_in_slack(reply), f"{line}: {len(reply.text):,} characters"


def test_the_next_meeting_names_its_group_and_apologies_so_far(county, db):
    reply = type_as(db, "/meeting next", county.member, channel=county.board_channel)
    assert reply.text.startswith("*Next meeting: County Public Service Reform Board*")
    assert "Apologies so far:" in reply.text


@pytest.mark.parametrize("line", ["/action list overdue", "/action list all"])
def test_long_action_lists_show_the_first_and_say_how_many_more(county, db, line):
    reply = type_as(db, line, county.clerk)
    assert reply.ok and "more" in reply.sections[-1].text


@pytest.mark.parametrize("line", ["/action list overdue", "/action list all"])
def test_long_action_lists_fit_in_one_slack_message(county, db, line):
    reply = type_as(db, line, county.clerk)
    assert fits_in_slack(reply), f"{line}: {len(reply.text):,} characters"
