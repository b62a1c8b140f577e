"""The weekly digest's content: one bounded set of queries (at most 20 SQL
statements whatever the size of the partnership), each section capped with a
count of what was left out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from services import attendance, groups, outbox
from services import meetings as meetings_service
from services.meetings import Deadlines
from storage.models import Action, Meeting, Partnership, Person, Update, Workstream

WEEK = timedelta(days=7)
MEETINGS_AHEAD = timedelta(days=14)
ACTIONS_AHEAD = timedelta(days=7)
SILENT_AFTER = timedelta(days=28)
LIMIT = 10  # lines per section; the rest are counted ("and N more")
OVERDUE_ROWS = 200  # overdue actions read, oldest first, to group by owner


@dataclass(frozen=True)
class Capped:
    """Some rows and how many there are in all."""

    rows: list[Any]
    total: int

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


@dataclass(frozen=True)
class MeetingAhead:
    meeting: Meeting
    deadlines: Deadlines
    apologies: int


@dataclass(frozen=True)
class OwnerOverdue:
    owner: str
    actions: list[Action]  # oldest first


@dataclass(frozen=True)
class UpdateLine:
    update: Update
    workstream: str
    author: str | None


@dataclass(frozen=True)
class Silent:
    workstream: Workstream
    last_update: datetime | None


@dataclass(frozen=True)
class Digest:
    today: date
    # The last digest's time: "done since", "updates since" hold what happened
    # after it, up to and including the digest's own time.
    since: datetime
    zone: ZoneInfo
    meetings: list[MeetingAhead]
    due_soon: Capped
    overdue: Capped  # rows: OwnerOverdue, owners with the oldest action first; total: actions
    done: Capped
    updates: Capped  # rows: UpdateLine
    silent: Capped  # rows: Silent
    # Members who have missed `explain_after` or `resign_after` consecutive meetings
    # (the rule is services/attendance.py's); none, and the section is left out.
    attendance_flags: list[attendance.Flag] = field(default_factory=list)


def digest_time(partnership: Partnership, now: datetime) -> datetime:
    """The latest scheduled digest time at or before `now` (digest day and time, local)."""
    zone = ZoneInfo(partnership.timezone)
    local = now.astimezone(zone)
    day = local.date() - timedelta(days=(local.weekday() - partnership.digest_day) % 7)
    at = partnership.digest_time or time(9, 0)
    moment = datetime.combine(day, at, zone)
    return moment if moment <= now else datetime.combine(day - timedelta(days=7), at, zone)


def scheduled_on(partnership: Partnership, day: date) -> datetime | None:
    """The digest's time on this local day, if it is the partnership's digest day."""
    if day.weekday() != partnership.digest_day:
        return None
    return datetime.combine(day, partnership.digest_time or time(9, 0), ZoneInfo(partnership.timezone))


def last_digest_before(partnership: Partnership, now: datetime) -> datetime:
    """The scheduled digest before this instant: what "since the last digest" means
    where none went out (no channel, or the bot down)."""
    latest = digest_time(partnership, now)
    return latest if latest < now else latest - WEEK


def key_of(day: date) -> str:
    """The outbox key of the weekly digest of this local day: one a day, however posted."""
    return f"digest:{day.isoformat()}"


def since_the_one_before(session: Session, partnership: Partnership, moment: datetime) -> datetime:
    """Where the digest due at `moment` begins: when the one a week before went
    out, early (`/digest post`) or late (caught up after downtime), so that nothing
    is in both; else when it was due."""
    before = moment - WEEK
    return _went_out(session, partnership, [before]).get(before, before)


def since_the_last(session: Session, partnership: Partnership, now: datetime) -> datetime:
    """Where this week's digest as it stands now begins: when the latest went out,
    else when it was due (the one a week before if this one is due this very instant)."""
    latest = digest_time(partnership, now)
    went_out = _went_out(session, partnership, [latest, latest - WEEK])
    if latest in went_out and went_out[latest] <= now:
        return went_out[latest]
    last = last_digest_before(partnership, now)
    return went_out.get(last, last)


def _went_out(
    session: Session, partnership: Partnership, moments: list[datetime]
) -> dict[datetime, datetime]:
    """When the digests due at these moments were queued, for those that were: by
    the outbox's unique key."""
    zone = ZoneInfo(partnership.timezone)
    keys = {key_of(moment.astimezone(zone).date()): moment for moment in moments}
    return {keys[key]: created for key, created in outbox.queued_times(session, keys).items()}


def build(session: Session, *, partnership: Partnership, now: datetime, since: datetime) -> Digest:
    zone = ZoneInfo(partnership.timezone)
    today = now.astimezone(zone).date()
    coming = meetings_service.starting_between(session, after=now, until=now + MEETINGS_AHEAD)
    counts = meetings_service.apology_counts(session, coming)
    open_actions = select(Action).where(Action.status == "open")
    return Digest(
        today=today,
        since=since,
        zone=zone,
        meetings=[MeetingAhead(m, Deadlines.of(m, zone), counts.get(m.id, 0)) for m in coming],
        due_soon=_capped(
            session,
            open_actions.where(Action.due >= today, Action.due <= today + ACTIONS_AHEAD).order_by(
                Action.due, Action.number
            ),
        ),
        overdue=_overdue(session, today),
        done=_capped(
            session,
            select(Action)
            .where(Action.status == "done", Action.done_at > since, Action.done_at <= now)
            .order_by(Action.done_at, Action.number),
        ),
        updates=_updates(session, since=since, now=now),
        silent=_silent(session, now=now),
        attendance_flags=attendance.flags_for(session, groups=groups.every(session)),
    )


def _first(session: Session, query: Select, limit: int) -> tuple[list[Action], int]:
    """The first actions of a query and how many there are, in two statements: a
    count over all of them with the rows would read every one (24,000 overdue
    actions at ten times the county's data: a second), the count alone only the index."""
    rows = list(session.scalars(query.limit(limit)).unique())
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    return rows, total or 0


def _capped(session: Session, query: Select, limit: int = LIMIT) -> Capped:
    rows, total = _first(session, query, limit)
    return Capped(rows=rows, total=total)


def _overdue(session: Session, today: date) -> Capped:
    rows, total = _first(
        session,
        select(Action).where(Action.status == "open", Action.due < today).order_by(Action.due, Action.number),
        OVERDUE_ROWS,
    )
    owners: dict[str, list[Action]] = {}
    for action in rows:
        name = action.owner.name if action.owner else (action.owner_text or "nobody")
        if action.owner is not None and action.owner.left_at is not None:
            name += " (has left)"  # for an officer to give their actions to someone else
        owners.setdefault(name, []).append(action)
    grouped = [OwnerOverdue(owner, actions) for owner, actions in owners.items()]
    return Capped(rows=grouped, total=total)


def _updates(session: Session, *, since: datetime, now: datetime) -> Capped:
    rows = session.execute(
        select(Update, Workstream.name, Person.name, func.count().over())
        .join(Workstream, Workstream.id == Update.workstream_id)
        .outerjoin(Person, Person.id == Update.author_id)
        .where(Update.created_at > since, Update.created_at <= now)
        .order_by(Update.created_at, Update.id)
        .limit(LIMIT)
    ).all()
    return Capped(
        rows=[UpdateLine(update, workstream, author) for update, workstream, author, _ in rows],
        total=rows[0][-1] if rows else 0,
    )


def _silent(session: Session, *, now: datetime) -> Capped:
    # Each open workstream's newest update, found by its index (workstream, time):
    # grouping every update by workstream read all of them (35-47 ms at ten times
    # the county's data on PostgreSQL).
    newest = (
        select(func.max(Update.created_at))
        .where(Update.workstream_id == Workstream.id)
        .correlate(Workstream)
        .scalar_subquery()
    )
    last = select(Workstream.id, newest.label("last")).where(Workstream.is_open.is_(True)).subquery()
    rows = session.execute(
        select(Workstream, last.c.last, func.count().over())
        .join(last, last.c.id == Workstream.id)
        .where(last.c.last.is_(None) | (last.c.last < now - SILENT_AFTER))
        .order_by(last.c.last.is_not(None), last.c.last, Workstream.name)
        .limit(LIMIT)
    ).all()
    return Capped(
        rows=[Silent(workstream, _aware(last_update)) for workstream, last_update, _ in rows],
        total=rows[0][-1] if rows else 0,
    )


def _aware(moment: datetime | None) -> datetime | None:
    # A max() over a column loses the column's type on SQLite: the value comes back naive UTC.
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=ZoneInfo("UTC"))
