"""Attendance: who was present, sent apologies, was absent or in attendance; and
the terms of reference's rule on missed meetings.

The rule: a member who has missed `explain_after` (2) consecutive held meetings
of a group may be asked for a written explanation; `resign_after` (3) counts as
resignation unless there are exceptional reasons. Apologies and absence both
count as missed (and are told apart); observers are exempt; a cancelled meeting
is no meeting at all, so it neither breaks a run nor counts in one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services import audit, groups, people
from services.errors import UserError
from storage.models import ATTENDANCE_STATUSES, Attendance, AuditEntry, Group, Meeting, Membership, Person

MISSED = ("apologies", "absent")
LABELS = {
    "present": "present",
    "apologies": "apologies",
    "absent": "absent",
    "in_attendance": "in attendance",
}


@dataclass(frozen=True)
class Flag:
    """A member who has now missed `len(missed)` consecutive held meetings."""

    person: Person
    group: Group
    missed: tuple[tuple[Meeting, str], ...]  # newest first, with "apologies" or "absent"
    resign: bool  # reached resign_after, not only explain_after

    @property
    def latest(self) -> Meeting:
        return self.missed[0][0]


@dataclass(frozen=True)
class Member:
    """Someone whose attendance a meeting records, with their role in its group."""

    person: Person
    role: str
    gone: bool = False  # taken out of the group since the meeting


def members_of(session: Session, meeting: Meeting) -> list[Member]:
    """Whom a meeting's attendance is recorded for, in name order: the group's
    members, and those the partnership file has taken out of it since the
    meeting began (as the audit log records each removal, with the role they
    had), so that attendance recorded a few days late still names everyone
    who was a member on the day."""
    members = [
        Member(person, role)
        for person, role in session.execute(
            select(Person, Membership.role)
            .join(Membership, Membership.person_id == Person.id)
            .where(Membership.group_id == meeting.group_id)
        )
    ]
    prefix = f"membership {meeting.group.slug} "
    removed = session.execute(
        select(AuditEntry.subject, AuditEntry.before)
        .where(
            AuditEntry.at >= meeting.starts_at,
            AuditEntry.what == "load.remove",
            AuditEntry.subject.startswith(prefix, autoescape=True),
        )
        .order_by(AuditEntry.id)
    ).all()
    roles = {
        subject.removeprefix(prefix): (before or {}).get("role") or "member" for subject, before in removed
    }
    current = {m.person.key for m in members}
    missing = [key for key in roles if key not in current]
    gone = people.by_keys(session, missing) if missing else {}
    members += [Member(person, roles[key], gone=True) for key, person in gone.items()]
    return sorted(members, key=lambda m: (m.person.name, m.person.id))


def recorded(session: Session, meeting: Meeting) -> dict[int, str]:
    """Statuses recorded for the meeting, by person id."""
    rows = session.execute(
        select(Attendance.person_id, Attendance.status).where(Attendance.meeting_id == meeting.id)
    )
    return {person_id: status for person_id, status in rows}


def check_recordable(meeting: Meeting, *, now: datetime) -> None:
    """Attendance is recorded at or after a meeting that was held: refused, and why, otherwise."""
    if meeting.status == "cancelled":
        raise UserError(
            "That meeting was cancelled, so there is no attendance to record. Nothing was changed."
        )
    if meeting.starts_at > now:
        raise UserError(
            "That meeting has not started yet: attendance is recorded at or after it. Nothing was changed."
        )


def record(
    session: Session,
    *,
    actor: Person | None,
    meeting: Meeting,
    statuses: dict[int, str],
    now: datetime,
) -> dict[int, str]:
    """Record statuses by person id (insert or update); the meeting is then held.
    Returns what changed, by person id."""
    groups.require_officer(session, actor, meeting.group, "record attendance")
    check_recordable(meeting, now=now)
    bad = sorted({s for s in statuses.values() if s not in ATTENDANCE_STATUSES})
    if bad:
        raise UserError(
            f"'{bad[0]}' is not an attendance: say present, apologies, absent or in attendance. Nothing was changed."
        )
    existing = {
        row.person_id: row
        for row in session.scalars(select(Attendance).where(Attendance.meeting_id == meeting.id))
    }
    changed: dict[int, str] = {}
    for person_id, status in statuses.items():
        row = existing.get(person_id)
        if row is None:
            session.add(
                Attendance(meeting_id=meeting.id, person_id=person_id, status=status, recorded_at=now)
            )
            changed[person_id] = status
        elif row.status != status:
            row.status, row.recorded_at = status, now
            changed[person_id] = status
    before_status = meeting.status
    meeting.status = "held"
    meeting.updated_at = now
    session.flush()
    if changed or before_status != "held":
        audit.record(
            session,
            actor=actor,
            what="attendance.record",
            subject=f"meeting {meeting.id}",
            at=now,
            before={"status": before_status},
            after={"status": "held", "attendance": {str(k): v for k, v in changed.items()}},
        )
    return changed


def flags(session: Session, *, group: Group, up_to: Meeting | None = None) -> list[Flag]:
    """Members of `group` (observers exempt) whose latest held meetings, up to and
    including `up_to` (else the latest held one), are `explain_after` or more
    misses in a row."""
    return flags_for(session, groups=[group], up_to=up_to)


def flags_for(session: Session, *, groups: list[Group], up_to: Meeting | None = None) -> list[Flag]:
    """The attendance flags of several groups at once (e.g. for the weekly digest):
    four queries, whatever the number of groups, members or years of meetings."""
    if not groups:
        return []
    by_id = {g.id: g for g in groups}
    depth = max(g.resign_after for g in groups)
    held = select(
        Meeting.id,
        func.row_number()
        .over(partition_by=Meeting.group_id, order_by=Meeting.starts_at.desc())
        .label("recency"),
    ).where(Meeting.group_id.in_(by_id), Meeting.status == "held")
    if up_to is not None:
        held = held.where(Meeting.starts_at <= up_to.starts_at)
    ranked = held.subquery()
    recent = list(
        session.scalars(
            select(Meeting)
            .join(ranked, ranked.c.id == Meeting.id)
            .where(ranked.c.recency <= depth)
            .order_by(Meeting.group_id, Meeting.starts_at.desc())
        )
    )
    # No early return when nothing is held yet: the same statements whatever the data.
    # Members as ids: at ten times the county's size that is thousands of rows,
    # and only the few flagged are loaded whole, below.
    members = session.execute(
        select(Membership.person_id, Membership.group_id)
        .join(Person, Person.id == Membership.person_id)
        .where(Membership.group_id.in_(by_id), Membership.role != "observer")
        .order_by(Person.name, Person.id)
    ).all()
    rows = session.execute(
        select(Attendance.meeting_id, Attendance.person_id, Attendance.status).where(
            Attendance.meeting_id.in_([m.id for m in recent])
        )
    )
    status = {(meeting_id, person_id): value for meeting_id, person_id, value in rows}
    meetings_of: dict[int, list[Meeting]] = {}
    for meeting in recent:
        meetings_of.setdefault(meeting.group_id, []).append(meeting)
    runs = []
    for person_id, group_id in members:
        group = by_id[group_id]
        run: list[tuple[Meeting, str]] = []
        for meeting in meetings_of.get(group_id, [])[: group.resign_after]:
            value = status.get((meeting.id, person_id))
            if value not in MISSED:
                break
            run.append((meeting, value))
        if len(run) >= group.explain_after:
            runs.append((person_id, group, tuple(run)))
    flagged = session.scalars(select(Person).where(Person.id.in_({person_id for person_id, _, _ in runs})))
    people = {person.id: person for person in flagged}
    found = [
        Flag(person=people[person_id], group=group, missed=run, resign=len(run) >= group.resign_after)
        for person_id, group, run in runs
    ]
    return found
