"""Meetings: which is next, which fall on a day, and their agenda deadlines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.dates import format_date
from services.errors import NotFound, UserError
from storage.models import AgendaItem, Apology, Group, Meeting

UPCOMING_LIMIT = 10


@dataclass(frozen=True)
class Deadlines:
    items_due: date  # agenda items must be in by the end of this day
    publish_by: date  # agenda and reports circulated no less than N days before

    @classmethod
    def of(cls, meeting: Meeting, zone: ZoneInfo) -> Deadlines:
        day = local_date(meeting, zone)
        return cls(
            items_due=day - timedelta(days=meeting.group.items_due_days),
            publish_by=day - timedelta(days=meeting.group.publish_days),
        )


def local_date(meeting: Meeting, zone: ZoneInfo) -> date:
    return meeting.starts_at.astimezone(zone).date()


def upcoming(
    session: Session, *, groups: list[Group], now: datetime, limit: int = UPCOMING_LIMIT
) -> list[Meeting]:
    """Scheduled meetings of these groups that have not started, soonest first."""
    if not groups:
        return []
    return list(
        session.scalars(
            select(Meeting)
            .where(
                Meeting.group_id.in_([g.id for g in groups]),
                Meeting.status == "scheduled",
                Meeting.starts_at > now,
            )
            .order_by(Meeting.starts_at, Meeting.group_id)
            .limit(limit)
        )
    )


def on_day(session: Session, *, groups: list[Group], day: date, zone: ZoneInfo) -> list[Meeting]:
    """Meetings of these groups, in any state, on a local day."""
    if not groups:
        return []
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    return list(
        session.scalars(
            select(Meeting)
            .where(
                Meeting.group_id.in_([g.id for g in groups]),
                Meeting.starts_at >= start,
                Meeting.starts_at < end,
            )
            .order_by(Meeting.starts_at, Meeting.group_id)
        )
    )


def find(
    session: Session,
    *,
    groups: list[Group],
    day: date | None,
    now: datetime,
    zone: ZoneInfo,
) -> Meeting:
    """The meeting on `day`, else the next one; refusals list the upcoming ones."""
    if day is None:
        meetings = upcoming(session, groups=groups, now=now, limit=1)
        if not meetings:
            raise NotFound(f"{_names(groups)} {_have(groups)} no upcoming meeting. Nothing was changed.")
        return meetings[0]
    meetings = on_day(session, groups=groups, day=day, zone=zone)
    if not meetings:
        raise NotFound(
            f"{_names(groups)} {_have(groups)} no meeting on {format_date(day)}. "
            + _upcoming_line(session, groups=groups, now=now, zone=zone)
            + " Nothing was changed."
        )
    if len(meetings) > 1:
        listed = "; ".join(f"{m.group.name}" for m in meetings)
        raise UserError(
            f"There is more than one meeting on {format_date(day)} ({listed}): type the "
            "command in the group's own channel to say which. Nothing was changed."
        )
    return meetings[0]


def apology_counts(session: Session, meetings: list[Meeting]) -> dict[int, int]:
    if not meetings:
        return {}
    rows = session.execute(
        select(Apology.meeting_id, func.count())
        .where(Apology.meeting_id.in_([m.id for m in meetings]), Apology.withdrawn_at.is_(None))
        .group_by(Apology.meeting_id)
    )
    return {meeting_id: count for meeting_id, count in rows}


def agenda_item_count(session: Session, meeting: Meeting) -> int:
    count = session.scalar(
        select(func.count()).select_from(AgendaItem).where(AgendaItem.meeting_id == meeting.id)
    )
    return count or 0


def _upcoming_line(session: Session, *, groups: list[Group], now: datetime, zone: ZoneInfo) -> str:
    meetings = upcoming(session, groups=groups, now=now, limit=5)
    if not meetings:
        return "There are no upcoming meetings."
    days = ", ".join(f"{format_date(local_date(m, zone))} ({m.group.abbreviation})" for m in meetings)
    return f"Upcoming: {days}."


def _names(groups: list[Group]) -> str:
    if not groups:
        return "You are in no group, so you"
    if len(groups) == 1:
        return f"The {groups[0].name}" if not groups[0].name.startswith("The ") else groups[0].name
    return "Your groups"


def _have(groups: list[Group]) -> str:
    return "has" if len(groups) == 1 else "have"


def starting_between(session: Session, *, after: datetime, until: datetime) -> list[Meeting]:
    """Scheduled meetings of every group starting in (after, until], soonest first."""
    return list(
        session.scalars(
            select(Meeting)
            .where(Meeting.status == "scheduled", Meeting.starts_at > after, Meeting.starts_at <= until)
            .order_by(Meeting.starts_at, Meeting.group_id)
        )
    )


def place(meeting: Meeting) -> str | None:
    """Where it is: its own location or link, else the group's usual place."""
    return meeting.location or meeting.url or meeting.group.location
