"""What a person's App Home shows: their open actions, their next meetings with
their apology state, and their workstreams with the last status. A handful of
queries, whatever the numbers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services import actions, meetings, updates, workstreams
from services import groups as groups_service
from storage.models import Apology, Meeting, Person, Update, Workstream

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
    actions: actions.Listing
    meetings: list[MeetingState]
    workstreams: list[WorkstreamState]


def gather(session: Session, *, person: Person, now: datetime, action_limit: int) -> Home:
    listing = actions.listing(session, owner=person, limit=action_limit)
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
    )
