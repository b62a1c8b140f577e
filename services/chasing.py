"""Who is chased about which action: open actions with due dates, and the people
reminders about them go to (owners; officers for free-text owners and owners
who have left; workstream leads for escalations). Loaded in a fixed number of
queries, whatever the number of actions."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from storage.models import Action, Meeting, Person, Workstream, WorkstreamMember


@dataclass(frozen=True)
class Chased:
    """An open action with a due date, and the group it belongs to, if any."""

    action: Action
    group_id: int | None


@dataclass
class Chasing:
    actions: list[Chased]
    officers_by_group: dict[int, list[Person]] = field(default_factory=dict)
    leads_by_workstream: dict[int, list[Person]] = field(default_factory=dict)

    def officers_for(self, chased: Chased) -> list[Person]:
        """The officers of the action's group, or of every group if it has none."""
        if chased.group_id is not None and self.officers_by_group.get(chased.group_id):
            return self.officers_by_group[chased.group_id]
        everyone = {p.id: p for people in self.officers_by_group.values() for p in people}
        return sorted(everyone.values(), key=lambda p: p.name)

    def chasers(self, chased: Chased) -> list[Person]:
        """Who is reminded of an action: its owner; the officers for an owner
        written as free text, or for one who has left the partnership."""
        owner = chased.action.owner
        return [owner] if owner is not None and owner.left_at is None else self.officers_for(chased)

    def leads_for(self, chased: Chased) -> list[Person]:
        """The workstream's leads, else the officers."""
        workstream_id = chased.action.workstream_id
        if workstream_id is not None and self.leads_by_workstream.get(workstream_id):
            return self.leads_by_workstream[workstream_id]
        return self.officers_for(chased)


# What a reminder says of an action, and no more: thousands are read every run
# (each column left out is a value not converted, for every open action).
# Anything else asked of them raises rather than being read one action at a time.
_CHASED_COLUMNS = load_only(
    Action.id,
    Action.number,
    Action.what,
    Action.owner_id,
    Action.owner_text,
    Action.due,
    Action.status,
    Action.workstream_id,
    Action.snoozed_until,
    raiseload=True,
)


def load(session: Session, *, due_by: date, officers: dict[int, list[Person]]) -> Chasing:
    """Open actions due on or before `due_by` (overdue ones included). `officers`:
    each group's officers (groups.people_by_role), read once per run."""
    rows = session.execute(
        select(Action, Meeting.group_id, Workstream.group_id)
        .options(_CHASED_COLUMNS)
        .outerjoin(Meeting, Meeting.id == Action.meeting_id)
        .outerjoin(Workstream, Workstream.id == Action.workstream_id)
        .where(Action.status == "open", Action.due.is_not(None), Action.due <= due_by)
        .order_by(Action.due, Action.number)
    ).all()
    actions = [
        Chased(action, meeting_group or workstream_group) for action, meeting_group, workstream_group in rows
    ]
    leads: dict[int, list[Person]] = defaultdict(list)
    for workstream_id, person in session.execute(
        select(WorkstreamMember.workstream_id, Person)
        .join(Person, Person.id == WorkstreamMember.person_id)
        .where(WorkstreamMember.role == "lead")
        .order_by(Person.name)
    ):
        leads[workstream_id].append(person)
    return Chasing(actions=actions, officers_by_group=officers, leads_by_workstream=dict(leads))
