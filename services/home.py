"""What a person's App Home shows: their open actions, their next meetings with
their apology state, and their workstreams with the last status; and for an
officer, the open actions they are reminded of for others. A handful of queries,
whatever the numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, nulls_last, or_, select
from sqlalchemy.orm import Session

from services import actions, meetings, updates, workstreams
from services import groups as groups_service
from services.actions import ListedAction, Listing
from storage.models import Action, Apology, Meeting, Person, Update, Workstream

NEXT_MEETINGS = 5


@dataclass(frozen=True)
class MeetingState:
    meeting: Meeting
    apologies_sent: bool


@dataclass(frozen=True)
class WorkstreamState:
    workstream: Workstream
    role: str  # "lead" or "contributor"
    last: Update | None


@dataclass(frozen=True)
class Home:
    person: Person
    actions: Listing
    meetings: list[MeetingState]
    workstreams: list[WorkstreamState]
    # Open actions of owners written as free text or who have left, of the groups
    # the person is an officer of (and of no group): the reminders about them go to
    # the officers (services/chasing.py). Empty for anyone else.
    chased: Listing


def gather(session: Session, *, person: Person, now: datetime, action_limit: int, chased_limit: int) -> Home:
    listing = actions.listing(session, owner=person, limit=action_limit)
    officer_of = [
        group_id for group_id, role in groups_service.roles_of(session, person).items() if role == "officer"
    ]
    upcoming = meetings.upcoming(
        session, groups=groups_service.of_person(session, person), now=now, limit=NEXT_MEETINGS
    )
    sent = set()
    if upcoming:
        sent = set(
            session.scalars(
                select(Apology.meeting_id).where(
                    Apology.person_id == person.id,
                    Apology.meeting_id.in_([m.id for m in upcoming]),
                    Apology.withdrawn_at.is_(None),
                )
            )
        )
    roles = [r for r in workstreams.of_person(session, person) if r.workstream.is_open]
    latest = updates.latest_of(session, [r.workstream.id for r in roles])
    return Home(
        person=person,
        actions=listing,
        meetings=[MeetingState(m, m.id in sent) for m in upcoming],
        workstreams=[WorkstreamState(r.workstream, r.role, latest.get(r.workstream.id)) for r in roles],
        chased=chased_for_others(session, officer_of=officer_of, limit=chased_limit)
        if officer_of
        else Listing(actions=[], total=0),
    )


def chased_for_others(session: Session, *, officer_of: list[int], limit: int) -> Listing:
    """The open actions an officer of these groups is reminded of for others, oldest
    due first, with how many there are: those whose owner is free text or has left,
    belonging to one of the groups (by their meeting, else their workstream) or to none."""
    group = func.coalesce(Meeting.group_id, Workstream.group_id)
    rows = session.execute(
        select(
            Action.number,
            Action.what,
            Person.name,
            Action.owner_text,
            Action.due,
            Action.status,
            Action.snoozed_until,
            Action.owner_id,
            Meeting.group_id,
            Person.left_at,
            func.count().over().label("total"),
        )
        .select_from(Action)
        .outerjoin(Person, Person.id == Action.owner_id)
        .outerjoin(Meeting, Meeting.id == Action.meeting_id)
        .outerjoin(Workstream, Workstream.id == Action.workstream_id)
        .where(
            Action.status == "open",
            or_(Action.owner_id.is_(None), Person.left_at.is_not(None)),
            or_(group.in_(officer_of), group.is_(None)),
        )
        .order_by(nulls_last(Action.due.asc()), Action.number)
        .limit(limit)
    ).all()
    listed = [
        ListedAction(number, what, f"{name} (has left)" if left_at is not None else name, *rest)
        for number, what, name, *rest, left_at, _ in rows
    ]
    return Listing(actions=listed, total=rows[0].total if rows else 0)
