"""Meetings: which is next, which fall on a day, and their agenda deadlines."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from typing import Any, Protocol
from uuid import uuid4
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, Select, bindparam, func, literal_column, select
from sqlalchemy.orm import Session

from services import audit
from services.dates import format_date, format_time
from services.errors import NotFound, UserError
from services.groups import require_officer
from storage.models import AgendaItem, Apology, FeedToken, Group, Meeting, Person
from storage.prepared import Prepared, in_padded, padded, padded_size, pipelines, read_together

UPCOMING_LIMIT = 10

# Built once, the values given as parameters: the commands that read them run
# on every request, and building a statement costs about as much as running it.
_IN_GROUPS = Meeting.group_id.in_(bindparam("groups", expanding=True))
# Scheduled and not started ("now"), and on a local day ("start" to "end").
_NOT_STARTED = (_IN_GROUPS, Meeting.status == "scheduled", Meeting.starts_at > bindparam("now"))
_ON_THE_DAY = (_IN_GROUPS, Meeting.starts_at >= bindparam("start"), Meeting.starts_at < bindparam("end"))
_UPCOMING = (
    select(Meeting)
    .where(*_NOT_STARTED)
    .order_by(Meeting.starts_at, Meeting.group_id)
    .limit(bindparam("limit"))
)
_HELD_BEFORE = (
    select(Meeting.starts_at)
    .where(
        Meeting.group_id == bindparam("group"),
        Meeting.starts_at < bindparam("starts"),
        Meeting.status != "cancelled",
    )
    .order_by(Meeting.starts_at.desc())
    .limit(1)
)
_NEXT_AFTER = (
    select(Meeting.starts_at)
    .where(
        Meeting.group_id == bindparam("group"),
        Meeting.starts_at > bindparam("starts"),
        Meeting.status == "scheduled",
    )
    .order_by(Meeting.starts_at)
    .limit(1)
)
_AROUND = Prepared(
    select(
        _HELD_BEFORE.scalar_subquery().label("previous_held"),
        _NEXT_AFTER.scalar_subquery().label("next_scheduled"),
    )
)
_ON_DAY = select(Meeting).where(*_ON_THE_DAY).order_by(Meeting.starts_at, Meeting.group_id)
# The same, read as plain rows for the replies that only show them (see Upcoming),
# with the count of items submitted to each one's agenda.
_AS_READ = (
    Meeting.id,
    Meeting.group_id,
    Meeting.starts_at,
    Meeting.ends_at,
    Meeting.location,
    Meeting.url,
    Meeting.status,
    Meeting.agenda_published_at,
    select(func.count())
    .select_from(AgendaItem)
    .where(AgendaItem.meeting_id == Meeting.id)
    .scalar_subquery()
    .label("agenda_items"),
)


# The group's live calendar feed, as "nonce:hash" (see services/feed_tokens), for
# the calendar link of `/meeting next`: read in the same statement as the meeting.
_GROUP_FEED = (
    select(FeedToken.nonce + ":" + FeedToken.token_hash)
    .where(FeedToken.group_id == Meeting.group_id, FeedToken.revoked_at.is_(None))
    .order_by(FeedToken.id.desc())
    .limit(1)
    .scalar_subquery()
    .label("group_feed")
)


@cache
def _as_read(groups: int, *, next_only: bool, feed: bool = False) -> Prepared:
    """Meetings of the groups in this many slots (see `padded`), as read: the
    next not started (`next_only`), or those on a day; with the group's feed
    token (`feed`)."""
    columns = (*_AS_READ, _GROUP_FEED) if feed else _AS_READ
    return Prepared(_looked_among(select(*columns), groups, next_only=next_only))


def _looked_among(columns: Select, groups: int, *, next_only: bool) -> Select:
    """`columns` of the meetings a read looks among, in one order that ties
    cannot change: a question about the next asks about the same one."""
    criteria = _NOT_STARTED if next_only else _ON_THE_DAY
    statement = columns.where(
        in_padded(Meeting.group_id, "group", groups),
        *criteria[1:],  # criteria[0] is the expanding IN
    ).order_by(Meeting.starts_at, Meeting.group_id, Meeting.id)
    # LIMIT 1 written into the SQL, not sent as a parameter: PostgreSQL plans a
    # prepared statement once for any values, and not knowing the limit it took
    # the question about the next meeting (`IN (SELECT ... LIMIT $11)`) to match
    # many, reading every apology (0.8 ms against 0.2: bench/README.md).
    return statement.limit(_ONE) if next_only else statement


_ONE = literal_column("1", Integer)


# A question about the meetings a read looks among, given the SELECT of their ids
# (see `read_with`), as `select(...).where(Apology.meeting_id.in_(ids))`: a
# function of a module, each built into statements once and kept (never a lambda).
About = Callable[[Select], Select]


@cache
def _asked(about: About, groups: int, *, next_only: bool) -> Prepared:
    return Prepared(about(_looked_among(select(Meeting.id), groups, next_only=next_only)))


@cache
def _asked_of_one(about: About) -> Prepared:
    """`about` the meeting whose id is :meeting."""
    return Prepared(about(select(bindparam("meeting", type_=Integer))))


MAX_LOCATION = 300
MAX_URL = 500
MAX_DATES_AT_ONCE = 24


class Scheduled(Protocol):
    """What a reply reads of a meeting: a Meeting, or an Upcoming."""

    @property
    def id(self) -> int: ...
    @property
    def group(self) -> Group: ...
    @property
    def starts_at(self) -> datetime: ...
    @property
    def ends_at(self) -> datetime: ...
    @property
    def location(self) -> str | None: ...
    @property
    def url(self) -> str | None: ...
    @property
    def status(self) -> str: ...
    @property
    def agenda_published_at(self) -> datetime | None: ...


@dataclass(frozen=True, slots=True)
class Upcoming:
    """A meeting read as a plain row, for a reply that only shows it (`/meeting
    next`, `/agenda`, on every request): loading it as a Meeting, with its group
    joined and both put in the session, cost more than the rest of the reply.
    `group` is the one the caller passed in; nothing here can be changed."""

    id: int
    group: Group
    starts_at: datetime
    ends_at: datetime
    location: str | None
    url: str | None
    status: str
    agenda_published_at: datetime | None
    agenda_items: int  # submitted to its agenda so far
    group_feed: str | None = None  # the group's live feed token as "nonce:hash", when asked for


@dataclass(frozen=True)
class Deadlines:
    items_due: date  # agenda items must be in by the end of this day
    publish_by: date  # agenda and reports circulated no less than N days before

    @classmethod
    def of(cls, meeting: Scheduled, zone: ZoneInfo) -> Deadlines:
        day = local_date(meeting, zone)
        return cls(
            items_due=day - timedelta(days=meeting.group.items_due_days),
            publish_by=day - timedelta(days=meeting.group.publish_days),
        )


def local_date(meeting: Scheduled, zone: ZoneInfo) -> date:
    return meeting.starts_at.astimezone(zone).date()


def upcoming(
    session: Session, *, groups: list[Group], now: datetime, limit: int = UPCOMING_LIMIT
) -> list[Meeting]:
    """Scheduled meetings of these groups that have not started, soonest first."""
    if not groups:
        return []
    found = session.scalars(_UPCOMING, {"groups": [g.id for g in groups], "now": now, "limit": limit})
    return list(found)


def under_way(session: Session, *, groups: list[Group], now: datetime) -> Meeting | None:
    """A meeting of these groups running at `now` (started, not yet ended, not cancelled)."""
    if not groups:
        return None
    return session.scalar(
        select(Meeting)
        .where(
            Meeting.group_id.in_([g.id for g in groups]),
            Meeting.starts_at <= now,
            Meeting.ends_at > now,
            Meeting.status != "cancelled",
        )
        .order_by(Meeting.starts_at.desc())  # the latest started: back from now, not on from the first
        .limit(1)
    )


def read_with(
    session: Session,
    *,
    groups: list[Group],
    day: date | None,
    now: datetime,
    zone: ZoneInfo,
    about: About | None = None,
    parameters: Mapping[str, object] | None = None,
    feed: bool = False,
) -> tuple[list[Upcoming], list[Any]]:
    """The next meeting of these groups not started (`day` None) or those on a
    day, as plain rows with their groups taken from `groups` (and, with `feed`,
    each group's live feed token); and the rows of
    `about` (asked with `parameters`) about the one found, if it is given. On
    PostgreSQL both go in one round trip (each is a fifth of a command), the
    question asked about the meetings looked among; elsewhere the question is
    asked about the meeting found, by its id, and not at all unless one was."""
    if not groups:
        return [], []
    ids = [g.id for g in groups]
    size, next_only = padded_size(len(ids)), day is None
    given = ({"now": now} if day is None else _on_the_day(groups, day, zone)) | padded("group", ids)
    meetings = _as_read(size, next_only=next_only, feed=feed)
    connection = session.connection()
    asked: list[Any] = []
    if about is not None and pipelines(connection):
        rows, asked = read_together(
            connection,
            (meetings, given),
            (_asked(about, size, next_only=next_only), given | dict(parameters or {})),
        )
    else:
        rows = meetings.rows(connection, given)
        if about is not None and len(rows) == 1:
            asked = _asked_of_one(about).rows(connection, {**(parameters or {}), "meeting": rows[0].id})
    return [_upcoming(row, groups) for row in rows], asked


def _on_the_day(groups: list[Group], day: date, zone: ZoneInfo) -> dict[str, object]:
    """The parameters of `_ON_THE_DAY`."""
    return {
        "groups": [g.id for g in groups],
        "start": datetime.combine(day, time(0), zone),
        "end": datetime.combine(day + timedelta(days=1), time(0), zone),
    }


def _upcoming(row: Any, groups: list[Group]) -> Upcoming:
    group = next(g for g in groups if g.id == row.group_id)
    return Upcoming(
        row.id,
        group,
        row.starts_at,
        row.ends_at,
        row.location,
        row.url,
        row.status,
        row.agenda_published_at,
        row.agenda_items,
        getattr(row, "group_feed", None),
    )


def on_day(session: Session, *, groups: list[Group], day: date, zone: ZoneInfo) -> list[Meeting]:
    """Meetings of these groups, in any state, on a local day."""
    if not groups:
        return []
    return list(session.scalars(_ON_DAY, _on_the_day(groups, day, zone)))


def find(
    session: Session,
    *,
    groups: list[Group],
    day: date | None,
    now: datetime,
    zone: ZoneInfo,
) -> Meeting:
    """The meeting on `day`, else the next one; refusals list the upcoming ones."""
    found = (
        upcoming(session, groups=groups, now=now, limit=1)
        if day is None
        else on_day(session, groups=groups, day=day, zone=zone)
    )
    if len(found) != 1:
        raise _not_one(session, found, groups=groups, day=day, now=now, zone=zone)
    return found[0]


def find_to_read(
    session: Session,
    *,
    groups: list[Group],
    day: date | None,
    now: datetime,
    zone: ZoneInfo,
) -> Upcoming:
    """`find`, as an Upcoming with its group from `groups`, read as a plain row
    (see `Upcoming`)."""
    found, _ = read_with(session, groups=groups, day=day, now=now, zone=zone)
    return _the_one(session, found, groups=groups, day=day, now=now, zone=zone)


def find_to_read_with(
    session: Session,
    *,
    groups: list[Group],
    day: date | None,
    now: datetime,
    zone: ZoneInfo,
    about: About,
    parameters: Mapping[str, object],
) -> tuple[Upcoming, list[Any]]:
    """`find_to_read`, and the rows of a question about the meetings it looked
    among, asked with it (see `read_with`)."""
    found, asked = read_with(
        session, groups=groups, day=day, now=now, zone=zone, about=about, parameters=parameters
    )
    return _the_one(session, found, groups=groups, day=day, now=now, zone=zone), asked


def _the_one(
    session: Session,
    found: list[Upcoming],
    *,
    groups: list[Group],
    day: date | None,
    now: datetime,
    zone: ZoneInfo,
) -> Upcoming:
    if len(found) != 1:
        raise _not_one(session, found, groups=groups, day=day, now=now, zone=zone)
    return found[0]


def _not_one(
    session: Session,
    found: Sequence[Scheduled],
    *,
    groups: list[Group],
    day: date | None,
    now: datetime,
    zone: ZoneInfo,
) -> UserError:
    """Why `find` found no meeting, or more than one."""
    if day is None:
        return _no_upcoming(groups)
    if not found:
        return NotFound(
            f"{_names(groups)} {_have(groups)} no meeting on {format_date(day)}. "
            + _upcoming_line(session, groups=groups, now=now, zone=zone, near=day)
            + " Nothing was changed."
        )
    listed = "; ".join(f"{m.group.name}" for m in found)
    return UserError(
        f"There is more than one meeting on {format_date(day)} ({listed}): type the "
        "command in the group's own channel to say which. Nothing was changed."
    )


def _no_upcoming(groups: list[Group]) -> NotFound:
    return NotFound(f"{_names(groups)} {_have(groups)} no upcoming meeting. Nothing was changed.")


def apology_counts(session: Session, meetings: list[Meeting]) -> dict[int, int]:
    if not meetings:
        return {}
    rows = session.execute(
        select(Apology.meeting_id, func.count())
        .where(Apology.meeting_id.in_([m.id for m in meetings]), Apology.withdrawn_at.is_(None))
        .group_by(Apology.meeting_id)
    )
    return {meeting_id: count for meeting_id, count in rows}


NEAR_DAYS = 7  # a day asked for with no meeting: those from a week before it are shown


def _upcoming_line(
    session: Session, *, groups: list[Group], now: datetime, zone: ZoneInfo, near: date | None = None
) -> str:
    """The next few meetings; and, when the day asked for (`near`) is further
    off than those, the meetings around it, which were most likely meant."""
    meetings = upcoming(session, groups=groups, now=now, limit=5)
    if not meetings:
        return "There are no upcoming meetings."
    line = f"Upcoming: {_days(meetings, zone)}."
    if near is not None and near > local_date(meetings[-1], zone):
        since = datetime.combine(near - timedelta(days=NEAR_DAYS), time(0), zone)
        around = [
            m for m in upcoming(session, groups=groups, now=max(now, since), limit=3) if m not in meetings
        ]
        if around:
            line += f" Near {format_date(near)}: {_days(around, zone)}."
    return line


def _days(meetings: list[Meeting], zone: ZoneInfo) -> str:
    return ", ".join(f"{format_date(local_date(m, zone))} ({m.group.abbreviation})" for m in meetings)


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


# -- changes: add, move, cancel ----------------------------------------------------------


def add(
    session: Session,
    *,
    person: Person | None,
    group: Group,
    days: list[date],
    at: time | None,
    location: str | None,
    url: str | None,
    now: datetime,
    zone: ZoneInfo,
) -> list[Meeting]:
    """New meetings of `group` on `days`; the group's defaults fill the time,
    length and place. Refused whole if any day is past or already has a meeting."""
    require_officer(session, person, group, "add meetings")
    _check_place(location, url)
    if len(days) > MAX_DATES_AT_ONCE:
        raise UserError(f"At most {MAX_DATES_AT_ONCE} dates at once, please. Nothing was changed.")
    if len(set(days)) != len(days):
        twice = sorted({d for d in days if days.count(d) > 1})
        raise UserError(f"{', '.join(format_date(d) for d in twice)} is given twice. Nothing was changed.")
    start_time = at or group.start_time
    starts = [_starting(day, start_time, zone) for day in days]
    past = [day for day, s in zip(days, starts, strict=True) if s <= now]
    if past:
        listed = ", ".join(format_date(day) for day in past)
        raise UserError(
            f"{listed} {'is' if len(past) == 1 else 'are'} in the past: meetings are added ahead. Nothing was changed."
        )
    existing = _on_days(session, group=group, days=days, zone=zone)
    taken = [m for m in existing if m.status != "cancelled"]
    if taken:
        listed = "; ".join(
            f"{format_date(local_date(m, zone))} at {format_time(m.starts_at.astimezone(zone))}"
            for m in taken
        )
        raise UserError(
            f"The {group.name} already meets on {listed}: move "
            f"{'that meeting' if len(taken) == 1 else 'those meetings'} instead "
            "(`/meeting move DATE to DATE`). Nothing was changed."
        )
    if location is None and url is None:
        location = group.location
    cancelled = {m.starts_at: m for m in existing}
    added = []
    for start in starts:
        meeting = cancelled.get(start)
        if meeting is not None:  # the same slot, cancelled before: it is back on
            meeting.status = "scheduled"
            meeting.sequence += 1
            meeting.location, meeting.url = location, url
            meeting.updated_at = now
        else:
            meeting = Meeting(
                group_id=group.id,
                starts_at=start,
                ends_at=start + timedelta(minutes=group.minutes),
                location=location,
                url=url,
                status="scheduled",
                uid=f"{uuid4()}@partnerbot",
                sequence=0,
                created_at=now,
                updated_at=now,
            )
            session.add(meeting)
        meeting.group = group
        session.flush()
        audit.record(
            session,
            actor=person,
            what="meeting.add",
            subject=f"meeting {meeting.id}",
            at=now,
            after={"group": group.slug, "starts_at": meeting.starts_at, "location": location, "url": url},
        )
        added.append(meeting)
    return added


def _starting(day: date, at: time, zone: ZoneInfo) -> datetime:
    """`at` on `day` as the board's clocks show it, as a UTC instant: a meeting's
    length is then added in real minutes, whatever the clocks do meanwhile. A time
    the clocks skip is refused; one they show twice (the night they go back) is
    the first of the two, as the partnership file takes it."""
    local = datetime.combine(day, at, zone)
    start = local.astimezone(UTC)
    if start.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise UserError(
            f"There is no {format_time(at)} on {format_date(day)} in {zone.key}: the clocks go forward "
            "an hour that night. Choose another time. Nothing was changed."
        )
    return start


def move(
    session: Session,
    *,
    person: Person | None,
    meeting: Meeting,
    day: date,
    at: time | None,
    now: datetime,
    zone: ZoneInfo,
    location: str | None = None,
    url: str | None = None,
) -> Meeting:
    """Move a meeting to another day (and time), keeping its length; and to
    another place (`location`) or online (`url`), if given."""
    group = meeting.group
    require_officer(session, person, group, "move meetings")
    _check_changeable(meeting, now, zone, "moved")
    _check_place(location, url)
    old_start = meeting.starts_at.astimezone(zone)
    start_time = at or old_start.time()
    start = _starting(day, start_time, zone)
    if start <= now:
        raise UserError(
            f"{format_date(day)} at {format_time(start_time)} is in the past. Nothing was changed."
        )
    place = (meeting.location, meeting.url) if location is None and url is None else (location, url)
    # As instants: a local time the clocks show twice equals no other zone's.
    if start == meeting.starts_at and place == (meeting.location, meeting.url):
        raise UserError("That is when and where the meeting already is. Nothing was changed.")
    clash = [
        m
        for m in _on_days(session, group=group, days=[day], zone=zone)
        if m.id != meeting.id and m.status != "cancelled"
    ]
    if clash:
        raise UserError(
            f"The {group.name} already meets on {format_date(day)} at "
            f"{format_time(clash[0].starts_at.astimezone(zone))}. Nothing was changed."
        )

    def state() -> dict[str, Any]:
        return {
            "starts_at": meeting.starts_at,
            "ends_at": meeting.ends_at,
            "location": meeting.location,
            "url": meeting.url,
            "sequence": meeting.sequence,
        }

    before = state()
    length = meeting.ends_at - meeting.starts_at
    stale = [
        m
        for m in _on_days(session, group=group, days=[day], zone=zone)
        if m.starts_at == start and m.id != meeting.id
    ]
    for old in stale:  # a cancelled meeting in the very slot gives way
        session.delete(old)
    session.flush()
    meeting.starts_at = start
    meeting.ends_at = start + length
    meeting.location, meeting.url = place
    meeting.sequence += 1
    meeting.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=person,
        what="meeting.move",
        subject=f"meeting {meeting.id}",
        at=now,
        before=before,
        after=state(),
    )
    return meeting


def cancel(
    session: Session, *, person: Person | None, meeting: Meeting, now: datetime, zone: ZoneInfo
) -> Meeting:
    require_officer(session, person, meeting.group, "cancel meetings")
    _check_changeable(meeting, now, zone, "cancelled")
    meeting.status = "cancelled"
    meeting.sequence += 1
    meeting.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=person,
        what="meeting.cancel",
        subject=f"meeting {meeting.id}",
        at=now,
        before={"status": "scheduled"},
        after={"status": "cancelled", "sequence": meeting.sequence},
    )
    return meeting


@dataclass(frozen=True)
class Around:
    """When the group's last meeting before one (not cancelled) began, and when its
    next scheduled one begins: what an agenda's minutes and closing lines name."""

    previous_held: datetime | None
    next_scheduled: datetime | None


def around_asked(meeting: Scheduled) -> tuple[Prepared, dict[str, object]]:
    """The question of the meetings around this one, to ask with others
    (`read_together`): one row, an `Around`'s fields (a select of two subqueries)."""
    return _AROUND, {"group": meeting.group.id, "starts": meeting.starts_at}


def begun(meeting: Scheduled, now: datetime) -> str:
    """How far a meeting past its start is: "started" while it runs, else "taken place"."""
    return "started" if meeting.status != "held" and now < meeting.ends_at else "taken place"


def _check_changeable(meeting: Meeting, now: datetime, zone: ZoneInfo, done: str) -> None:
    when = format_date(local_date(meeting, zone))
    if meeting.status == "cancelled":
        again = (
            f" `/meeting add {when}` puts it back on, and `/meeting move` moves it then."
            if done == "moved"
            else ""
        )
        raise UserError(
            f"The {meeting.group.name} meeting on {when} is already cancelled.{again} Nothing was changed."
        )
    if meeting.status == "held" or meeting.starts_at <= now:
        raise UserError(
            f"The {meeting.group.name} meeting on {when} has already {begun(meeting, now)}, so it can't be {done}. "
            "Nothing was changed."
        )


def _check_place(location: str | None, url: str | None) -> None:
    if location is not None and len(location) > MAX_LOCATION:
        raise UserError(f"A place can be at most {MAX_LOCATION} characters. Nothing was changed.")
    if url is not None and len(url) > MAX_URL:
        raise UserError(f"An online link can be at most {MAX_URL} characters. Nothing was changed.")


def _on_days(session: Session, *, group: Group, days: list[date], zone: ZoneInfo) -> list[Meeting]:
    """The group's meetings, in any state, on any of these local days (one query)."""
    if not days:
        return []
    start = datetime.combine(min(days), time(0), zone)
    end = datetime.combine(max(days) + timedelta(days=1), time(0), zone)
    found = session.scalars(
        select(Meeting).where(
            Meeting.group_id == group.id, Meeting.starts_at >= start, Meeting.starts_at < end
        )
    )
    wanted = set(days)
    return [m for m in found if local_date(m, zone) in wanted]
