"""Apologies for absence: sent, updated, withdrawn and listed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from services import audit, meetings
from services import groups as groups_service
from services.dates import format_date
from services.errors import PermissionDenied, UserError
from services.meetings import Scheduled, Upcoming, local_date
from services.partnership import zone as zone_of
from storage.models import Apology, Group, Meeting, Partnership, Person
from storage.prepared import Prepared
from storage.session import at_commit

MAX_REASON = 1000
MAX_SUBSTITUTE = 200


@dataclass(frozen=True)
class Sent:
    meeting: Scheduled
    updated: bool  # True when this replaced an earlier apology's reason


@dataclass(frozen=True)
class Earlier:
    """A person's apology to a meeting as sending another reads it first (`row`:
    its id and when it was withdrawn; None if they have sent none)."""

    row: Any | None


def find_to_send(
    session: Session, *, person: Person, groups: list[Group], day: date | None, now: datetime, zone: ZoneInfo
) -> tuple[Upcoming, Earlier]:
    """The meeting apologies are for (as `meetings.find_to_read`) and the
    person's earlier apology to it, asked with it: one round trip on PostgreSQL."""
    meeting, rows = meetings.find_to_read_with(
        session,
        groups=groups,
        day=day,
        now=now,
        zone=zone,
        about=_of_person_in,
        parameters={"person": person.id},
    )
    return meeting, Earlier(next((row for row in rows if row.meeting_id == meeting.id), None))


def send(
    session: Session,
    *,
    now: datetime,
    partnership: Partnership,
    person: Person,
    meeting: Scheduled,
    reason: str | None,
    substitute: str | None = None,
    earlier: Earlier | None = None,
    typed: bool = False,
) -> Sent:
    """Send (or update) `person`'s apologies to `meeting`; `earlier`: their
    apology to it as `find_to_send` read it, if it did. `typed` (`/apologies
    [DATE] [REASON]`, which names no substitute): an update keeps the substitute
    given in the form, and the reason too unless a new one is given."""
    _check_can_send(session, person=person, meeting=meeting, now=now, partnership=partnership)
    reason = (reason or "").strip() or None
    if reason and len(reason) > MAX_REASON:
        raise UserError(
            f"A reason can be at most {MAX_REASON} characters (yours is {len(reason)}). Nothing was changed."
        )
    if substitute and len(substitute) > MAX_SUBSTITUTE:
        raise UserError(
            f"A substitute's name can be at most {MAX_SUBSTITUTE} characters. Nothing was changed."
        )
    # Plain statements: sending apologies is a hot write, and an Apology object
    # through the session's unit of work cost more than the statements. Nothing
    # after reads the apology back, so it is written as the transaction commits
    # (on PostgreSQL in COMMIT's round trip).
    given = {"meeting": meeting.id, "person": person.id}
    found = _OF_PERSON.first(session.connection(), given) if earlier is None else earlier.row
    updated = found is not None and found.withdrawn_at is None
    values = {"reason": reason, "substitute": substitute, "withdrawn_at": None, "updated_at": now}
    if found is None:
        at_commit(session, _INSERT, given | values | {"created_at": now})
    elif typed and updated:
        at_commit(session, _UPDATE_TYPED, {"apology": found.id, "reason": reason, "updated_at": now})
    else:
        at_commit(session, _UPDATE, {"apology": found.id} | values)
    # Reasons are private: the audit trail records that one was given, not what it said.
    audit.record(
        session,
        actor=person,
        what="apology.update" if updated else "apology.send",
        subject=f"meeting {meeting.id}",
        at=now,
        after={"person": person.key, "reason_given": bool(reason), "substitute": substitute},
    )
    return Sent(meeting=meeting, updated=updated)


_OF_PERSON = Prepared(
    select(Apology.id, Apology.withdrawn_at).where(
        Apology.meeting_id == bindparam("meeting"), Apology.person_id == bindparam("person")
    )
)


def _of_person_in(meeting_ids: Select) -> Select:
    """:person's apologies to these meetings (see `meetings.read_with`)."""
    return select(Apology.meeting_id, Apology.id, Apology.withdrawn_at).where(
        Apology.meeting_id.in_(meeting_ids), Apology.person_id == bindparam("person")
    )


_INSERT = Prepared(
    insert(Apology).values(
        meeting_id=bindparam("meeting"),
        person_id=bindparam("person"),
        reason=bindparam("reason"),
        substitute=bindparam("substitute"),
        withdrawn_at=bindparam("withdrawn_at"),
        created_at=bindparam("created_at"),
        updated_at=bindparam("updated_at"),
    )
)
_UPDATE = Prepared(
    update(Apology)
    .where(Apology.id == bindparam("apology"))
    .values(
        reason=bindparam("reason"),
        substitute=bindparam("substitute"),
        withdrawn_at=bindparam("withdrawn_at"),
        updated_at=bindparam("updated_at"),
    )
)
_UPDATE_TYPED = Prepared(  # what `/apologies [DATE] [REASON]` says, and nothing it does not
    update(Apology)
    .where(Apology.id == bindparam("apology"))
    .values(
        reason=func.coalesce(bindparam("reason", type_=Apology.reason.type), Apology.reason),
        updated_at=bindparam("updated_at"),
    )
)
_FOR_MEETING = (  # built once: `/apologies list` and the minutes read it
    select(Apology)
    .join(Person, Person.id == Apology.person_id)
    .where(Apology.meeting_id == bindparam("meeting"), Apology.withdrawn_at.is_(None))
    .order_by(Person.name)
)


@dataclass(frozen=True, slots=True)
class Received:
    """An apology as `/meeting next` lists it: who, and their substitute."""

    name: str
    substitute: str | None


def next_with_received(
    session: Session, *, groups: list[Group], now: datetime, zone: ZoneInfo, feed: bool = False
) -> tuple[Upcoming | None, list[Received]]:
    """The next meeting of these groups (as `meetings.read_with` reads it, with
    its group's feed token if `feed`) and who has sent apologies to it, none
    withdrawn, by name, as plain rows; asked together: one round trip on PostgreSQL."""
    found, rows = meetings.read_with(
        session, groups=groups, day=None, now=now, zone=zone, about=_names_in, parameters={}, feed=feed
    )
    return (found[0] if found else None), [Received(row.name, row.substitute) for row in rows]


def _names_in(meeting_ids: Select) -> Select:
    """Who has sent apologies to these meetings, none withdrawn, by name."""
    return (
        select(Person.name, Apology.substitute)
        .join(Person, Person.id == Apology.person_id)
        .where(Apology.meeting_id.in_(meeting_ids), Apology.withdrawn_at.is_(None))
        .order_by(Person.name)
    )


def of_person(session: Session, *, person: Person, meeting: Scheduled) -> Apology | None:
    """The person's apologies to the meeting, if sent and not withdrawn."""
    return session.scalar(
        select(Apology).where(
            Apology.meeting_id == meeting.id, Apology.person_id == person.id, Apology.withdrawn_at.is_(None)
        )
    )


def for_meeting(session: Session, meeting: Scheduled) -> list[Apology]:
    return list(session.scalars(_FOR_MEETING, {"meeting": meeting.id}))


def _check_can_send(
    session: Session, *, person: Person, meeting: Scheduled, now: datetime, partnership: Partnership
) -> None:
    when = format_date(local_date(meeting, zone_of(partnership)))
    if meeting.status == "cancelled":
        raise UserError(
            f"The {meeting.group.name} meeting on {when} is cancelled, so no apologies are "
            "needed. Nothing was changed."
        )
    if meeting.status == "held" or meeting.starts_at <= now:
        raise UserError(
            f"The {meeting.group.name} meeting on {when} has already {meetings.begun(meeting, now)}: apologies "
            "can only be sent before a meeting. Nothing was changed."
        )
    if not groups_service.is_member(session, person, meeting.group):
        ask = groups_service.officer_names(session, meeting.group)
        raise PermissionDenied(
            f"You are not a member of the {meeting.group.name}, so only its members send "
            f"apologies to it: ask {ask} if you should be. Nothing was changed."
        )


def withdraw(session: Session, *, now: datetime, person: Person, meeting: Scheduled) -> bool:
    """Withdraw the person's apologies; False when there were none to withdraw."""
    apology = session.scalar(
        select(Apology).where(
            Apology.meeting_id == meeting.id,
            Apology.person_id == person.id,
            Apology.withdrawn_at.is_(None),
        )
    )
    if apology is None:
        return False
    if meeting.starts_at <= now or meeting.status != "scheduled":
        raise UserError(
            "That meeting has taken place or is cancelled, so its apologies stand. Nothing was changed."
        )
    apology.withdrawn_at = now
    apology.updated_at = now
    audit.record(
        session,
        actor=person,
        what="apology.withdraw",
        subject=f"meeting {meeting.id}",
        at=now,
        before={"person": person.key},
    )
    return True


def for_meetings(session: Session, meetings: list[Meeting]) -> dict[int, list[Apology]]:
    """Apologies standing for each of these meetings, by meeting id: one query."""
    if not meetings:
        return {}
    found: dict[int, list[Apology]] = {m.id: [] for m in meetings}
    for apology in session.scalars(
        select(Apology)
        .join(Person, Person.id == Apology.person_id)
        .where(Apology.meeting_id.in_(list(found)), Apology.withdrawn_at.is_(None))
        .order_by(Person.name)
    ):
        found[apology.meeting_id].append(apology)
    return found
