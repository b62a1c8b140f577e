"""Every command runs a fixed number of SQL statements, however much the
partnership holds: the same count on the demo file as on the demo with ten years'
worth more meetings, actions, updates and apologies (issue 16, SPEC 9)."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from sqlalchemy import func, insert, select

from bot.commands import COMMANDS
from bot.commands.core import run
from storage.models import Action, Apology, Attendance, Group, Meeting, Membership, Update, Workstream
from tests.statements import counting

# What the clerk types (the demo's clock: Mon 13 Apr 2015, a week before the board);
# `{n}` makes each write new.
LINES = [
    "/action list",
    "/action list overdue",
    "/meeting next",
    "/meeting list",
    "/apologies 2015-04-21 On leave that week, {n}",
    "/apologies On leave that week, {n}",
    "/update joint-commissioning amber Pooled budget delayed, {n}",
    "/agenda",
    "/digest",
]
MOST = 30  # statements any one of them may run


def statements_of(engine, demo, clock, line: str, n: int) -> list[str]:
    """The statements of `line`, typed a second time (the first warms the
    lookups a running server keeps), each write with new text."""
    name, _, text = line.partition(" ")
    for attempt in (f"{n}a", f"{n}b"):
        with counting(engine) as statements:
            reply = run(
                COMMANDS[name], text.format(n=attempt), sessions=demo, clock=clock, person_key="clerk"
            )
        assert reply.ok, (line, reply.text)
    return statements


def grow(engine, now, *, meetings_per_group: int = 40, actions: int = 1500, updates: int = 300) -> None:
    """Add, in bulk: past and coming meetings for every group with apologies
    from and attendance of all its members, and many actions and updates."""
    with engine.begin() as connection:
        groups = connection.scalars(select(Group.id)).all()
        members = connection.execute(select(Membership.group_id, Membership.person_id)).all()
        people = sorted({person for _, person in members})
        streams = connection.scalars(select(Workstream.id)).all()
        first_number = connection.scalar(select(func.max(Action.number))) or 0
        start = now.astimezone(UTC).replace(hour=10, minute=0, second=0, microsecond=0)
        rows = []
        for group in groups:
            for k in range(meetings_per_group):
                # Half of them in the ten years before, half from 100 days ahead on.
                offset = (
                    timedelta(days=-3650 + 73 * k)
                    if k < meetings_per_group // 2
                    else timedelta(days=100 + 7 * k)
                )
                starts = start + offset + timedelta(minutes=group)
                rows.append(
                    {
                        "group_id": group,
                        "starts_at": starts,
                        "ends_at": starts + timedelta(hours=1),
                        "location": "County Hall",
                        "status": "held" if starts < now else "scheduled",
                        "uid": f"grown-{group}-{k}@partnerbot.test",
                        "sequence": 0,
                        "created_at": now - timedelta(days=4000),
                        "updated_at": now - timedelta(days=4000),
                    }
                )
        connection.execute(insert(Meeting), rows)
        grown = connection.execute(
            select(Meeting.id, Meeting.group_id, Meeting.starts_at).where(Meeting.uid.like("grown-%"))
        ).all()
        by_group: dict[int, list[int]] = {}
        for group, person in members:
            by_group.setdefault(group, []).append(person)
        connection.execute(
            insert(Apology),
            [
                {
                    "meeting_id": meeting,
                    "person_id": person,
                    "reason": "Leave",
                    "created_at": now - timedelta(days=4000),
                    "updated_at": now - timedelta(days=4000),
                }
                for meeting, group, _ in grown
                for person in by_group.get(group, [])[::2]
            ],
        )
        connection.execute(
            insert(Attendance),
            [
                {"meeting_id": meeting, "person_id": person, "status": "present", "recorded_at": starts}
                for meeting, group, starts in grown
                if starts.replace(tzinfo=UTC) < now
                for person in by_group.get(group, [])[1::2]
            ],
        )
        today = now.date()
        connection.execute(
            insert(Action),
            [
                {
                    "number": first_number + i,
                    "what": f"Grown action {i}",
                    "owner_id": people[i % len(people)],
                    "due": today + timedelta(days=(i % 400) - 200),
                    "status": ("open", "open", "done", "dropped")[i % 4],
                    "meeting_id": grown[i % len(grown)][0] if i % 3 else None,
                    "workstream_id": streams[i % len(streams)] if i % 2 else None,
                    "created_at": now - timedelta(days=(i % 400) + 1),
                    "updated_at": now - timedelta(days=(i % 10)),
                    "done_at": now - timedelta(days=i % 10) if i % 4 == 2 else None,
                }
                for i in range(1, actions + 1)
            ],
        )
        connection.execute(
            insert(Update),
            [
                {
                    "workstream_id": streams[i % len(streams)],
                    "author_id": people[i % len(people)],
                    "rag": ("green", "amber", "red")[i % 3],
                    "progress": f"Grown update {i}",
                    "created_at": now - timedelta(hours=i),
                }
                for i in range(1, updates + 1)
            ],
        )


@pytest.mark.parametrize("line", LINES)
def test_a_commands_statements_do_not_grow_with_the_data(engine, demo, clock, line):
    small = statements_of(engine, demo, clock, line, 1)
    grow(engine, clock.now())
    large = statements_of(engine, demo, clock, line, 2)
    assert len(large) == len(small), "\n".join(
        ["statements on the demo:", *small, "", "statements with more rows:", *large]
    )
    assert len(large) <= MOST, "\n".join(large)
