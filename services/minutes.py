"""What the minutes need: declarations of interest, minute numbers running on
through the year (YY.ABBR.N), and the meeting's actions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from services import agenda, audit, groups
from services.errors import PermissionDenied, UserError
from storage.models import (
    Action,
    AgendaItem,
    Attendance,
    Declaration,
    Meeting,
    Membership,
    Organisation,
    Person,
)

MAX_NATURE = 1000
STANDING_LINES = 5  # 1 welcome, 2 minutes, 2a matters arising, any other business, date of next meeting


def declare(
    session: Session,
    *,
    person: Person,
    meeting: Meeting,
    number: str,
    nature: str,
    now: datetime,
    zone: ZoneInfo,
) -> tuple[Declaration, AgendaItem]:
    """A member declares an interest in submitted agenda item `number`."""
    group = meeting.group
    if not groups.is_member(session, person, group):
        officers = groups.officer_names(session, group)
        raise PermissionDenied(
            f"Only members of the {group.name} declare interests at its meetings: ask {officers}. Nothing was changed."
        )
    if meeting.status == "cancelled":
        raise UserError("That meeting was cancelled. Nothing was changed.")
    nature = " ".join(nature.split())
    if not nature:
        raise UserError(
            "What is the nature of the interest? e.g. `/meeting interest 21/04/2015 3 My partner works for the "
            "provider`. Nothing was changed."
        )
    if len(nature) > MAX_NATURE:
        raise UserError(
            f"The nature of an interest can be at most {MAX_NATURE} characters. Nothing was changed."
        )
    item = agenda.by_number(session, meeting, number, zone)
    said_before = session.scalars(
        select(Declaration.nature).where(
            Declaration.meeting_id == meeting.id,
            Declaration.person_id == person.id,
            Declaration.agenda_item_id == item.id,
        )
    )
    if any(before.casefold() == nature.casefold() for before in said_before):
        raise UserError(f"You have already declared that interest in item {number}. Nothing was changed.")
    declaration = Declaration(
        meeting_id=meeting.id, person_id=person.id, agenda_item_id=item.id, nature=nature, created_at=now
    )
    session.add(declaration)
    session.flush()
    audit.record(
        session,
        actor=person,
        what="interest.declare",
        subject=f"meeting {meeting.id}",
        at=now,
        after={"item": item.id, "nature": nature},
    )
    return declaration, item


def declarations(session: Session, meeting: Meeting) -> list[tuple[Declaration, Person]]:
    return list(
        session.execute(
            select(Declaration, Person)
            .join(Person, Person.id == Declaration.person_id)
            .where(Declaration.meeting_id == meeting.id)
            .order_by(Person.name, Declaration.id)
        )
    )


@dataclass(frozen=True)
class Attendee:
    """Someone whose attendance was recorded, as the minutes name them."""

    person_id: int
    name: str
    organisation: str | None
    role: str | None  # in the meeting's group: chair, officer, member, observer; None if not in it
    status: str  # attendance.LABELS: present, apologies, absent, in_attendance


def attendees(session: Session, meeting: Meeting) -> list[Attendee]:
    """Everyone recorded for the meeting, the chair first, then in name order: one query."""
    rows = session.execute(
        select(Person.id, Person.name, Organisation.name, Membership.role, Attendance.status)
        .join(Person, Person.id == Attendance.person_id)
        .outerjoin(Organisation, Organisation.id == Person.organisation_id)
        .outerjoin(
            Membership,
            and_(Membership.person_id == Person.id, Membership.group_id == meeting.group_id),
        )
        .where(Attendance.meeting_id == meeting.id)
        .order_by(Person.name, Person.id)
    )
    found = [Attendee(*row) for row in rows]
    return sorted(found, key=lambda a: a.role != "chair")  # stable: name order otherwise


def first_number(session: Session, meeting: Meeting, zone: ZoneInfo) -> int:
    """The first minute number of this meeting: on from the group's earlier
    (not cancelled) meetings in the same calendar year, one per agenda line."""
    year = meeting.starts_at.astimezone(zone).year
    start = datetime.combine(date(year, 1, 1), time(0), zone)
    earlier = (
        select(Meeting.id)
        .where(
            Meeting.group_id == meeting.group_id,
            Meeting.starts_at >= start,
            Meeting.starts_at < meeting.starts_at,
            Meeting.status != "cancelled",
        )
        .subquery()
    )
    meetings_before = session.scalar(select(func.count()).select_from(earlier)) or 0
    items_before = (
        session.scalar(
            select(func.count())
            .select_from(AgendaItem)
            .where(AgendaItem.meeting_id.in_(select(earlier.c.id)))
        )
        or 0
    )
    return 1 + meetings_before * STANDING_LINES + items_before


def actions(session: Session, meeting: Meeting) -> list[Action]:
    return list(
        session.scalars(select(Action).where(Action.meeting_id == meeting.id).order_by(Action.number))
    )
