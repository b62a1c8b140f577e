"""Agendas in the board's own order: standing items, submitted items, any other
business and the date of the next meeting; the item and publication deadlines;
restricted (exempt) items masked for everyone but the officers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, Select, bindparam, func, literal_column, select
from sqlalchemy.orm import Session, aliased

from services import audit, groups, meetings
from services.dates import format_date, format_time
from services.errors import PermissionDenied, UserError
from services.text import clip
from storage.models import AgendaItem, AuditEntry, Meeting, Person
from storage.prepared import Prepared, read_together

MAX_TITLE = 300
MAX_PURPOSE = 2000
FIRST_SUBMITTED = 3  # 1 welcome and apologies, 2 minutes (2a matters arising), then items
PARAGRAPHS = range(1, 8)  # Part 1 of Schedule 12A to the Local Government Act 1972
NUMBER_WORDS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


@dataclass(frozen=True)
class Line:
    number: str  # as the agenda shows it: "1", "2a", "3"
    title: str
    detail: str = ""  # purpose and presenter


def restricted_label(paragraph: int | None, *, officer: bool) -> str:
    """How a restricted item shows: to officers with its Schedule 12A paragraph."""
    if not officer:
        return "Restricted item"
    if paragraph:
        return f"Restricted item: paragraph {paragraph} of Part 1 of Schedule 12A"
    return "Restricted item"


def items(session: Session, meeting: Meeting) -> list[AgendaItem]:
    return list(
        session.scalars(
            select(AgendaItem)
            .where(AgendaItem.meeting_id == meeting.id)
            .order_by(AgendaItem.position, AgendaItem.id)
        )
    )


# The submitted items as the agenda shows them, with whoever presents each (or
# submitted it), read as plain rows: `/agenda` shows them on every request.
_ITEMS_TO_SHOW = Prepared(
    select(
        AgendaItem.title,
        AgendaItem.purpose,
        AgendaItem.restricted,
        AgendaItem.restricted_paragraph,
        Person.name.label("presenter"),
    )
    .outerjoin(Person, Person.id == func.coalesce(AgendaItem.presenter_id, AgendaItem.submitted_by_id))
    .where(AgendaItem.meeting_id == bindparam("meeting"))
    .order_by(AgendaItem.position, AgendaItem.id)
)


def drafted(meeting_ids: Select) -> Select:
    """What `draft` reads, about each of these meetings, in one question that
    `meetings.read_with` can ask with the meeting itself (`/agenda`: one round
    trip fewer on PostgreSQL): when the group's meetings around it began, and
    its items as `_ITEMS_TO_SHOW` reads them, a row each (one row of NULLs for
    none), the meeting's id first."""
    this, other = aliased(Meeting), aliased(Meeting)
    one = literal_column("1", Integer)  # written into the SQL: see meetings._looked_among
    previous_held = (
        select(other.starts_at)
        .where(other.group_id == this.group_id, other.starts_at < this.starts_at, other.status != "cancelled")
        .order_by(other.starts_at.desc())
        .limit(one)
        .scalar_subquery()
    )
    next_scheduled = (
        select(other.starts_at)
        .where(other.group_id == this.group_id, other.starts_at > this.starts_at, other.status == "scheduled")
        .order_by(other.starts_at)
        .limit(one)
        .scalar_subquery()
    )
    return (
        select(
            this.id.label("meeting_id"),
            previous_held.label("previous_held"),
            next_scheduled.label("next_scheduled"),
            AgendaItem.title,
            AgendaItem.purpose,
            AgendaItem.restricted,
            AgendaItem.restricted_paragraph,
            Person.name.label("presenter"),
        )
        .select_from(this)
        .outerjoin(AgendaItem, AgendaItem.meeting_id == this.id)
        .outerjoin(Person, Person.id == func.coalesce(AgendaItem.presenter_id, AgendaItem.submitted_by_id))
        .where(this.id.in_(meeting_ids))
        .order_by(this.id, AgendaItem.position, AgendaItem.id)
    )


def draft(
    session: Session,
    *,
    meeting: meetings.Scheduled,
    zone: ZoneInfo,
    officer: bool,
    read: list[Any] | None = None,
) -> list[Line]:
    """The agenda as the board's packs show it; restricted items masked unless
    `officer`. `read`: the rows of `drafted` asked with the meeting, if they were
    (read afresh if they hold none of it: on PostgreSQL two reads outside a
    transaction may each see a meeting added or moved between them)."""
    mine = [row for row in read if row.meeting_id == meeting.id] if read else []
    if mine:
        around = meetings.Around(mine[0].previous_held, mine[0].next_scheduled)
        items = [row for row in mine if row.title is not None]
    else:
        session.flush()  # what follows reads rows, not the session's objects
        # The meetings around this one and its items, asked together (one round trip on PostgreSQL).
        (around_row,), items = read_together(
            session.connection(), meetings.around_asked(meeting), (_ITEMS_TO_SHOW, {"meeting": meeting.id})
        )
        around = meetings.Around(*around_row)
    last = around.previous_held
    minutes = (
        f"To confirm the minutes of the {meeting.group.name} held on "
        f"{format_date(last.astimezone(zone).date())} as a correct record"
        if last
        else "To confirm the minutes of the previous meeting as a correct record"
    )
    lines = [
        Line("1", "Welcome and apologies for absence"),
        Line("2", "Minutes", minutes),
        Line("2a", "Matters arising"),
    ]
    number = FIRST_SUBMITTED
    for item in items:
        if item.restricted:
            label = restricted_label(item.restricted_paragraph, officer=officer)
            title = f"{item.title} ({label})" if officer else label
            detail = _detail(item.purpose, item.presenter) if officer else ""
        else:
            title, detail = item.title, _detail(item.purpose, item.presenter)
        lines.append(Line(str(number), title, detail))
        number += 1
    lines.append(Line(str(number), "Any other business"))
    following = around.next_scheduled
    when = (
        f"{format_date(following.astimezone(zone).date())} at {format_time(following.astimezone(zone))}"
        if following
        else "to be agreed"
    )
    lines.append(Line(str(number + 1), "Date of next meeting", when))
    return lines


def add(
    session: Session,
    *,
    person: Person,
    meeting: Meeting,
    title: str,
    purpose: str | None,
    restricted: bool,
    paragraph: int | None,
    now: datetime,
    zone: ZoneInfo,
) -> tuple[AgendaItem, str]:
    """Submit an item; members before the item deadline, officers at any time
    until the meeting. Returns the item and its number as the agenda shows it."""
    group = meeting.group
    if not groups.is_member(session, person, group):
        officers = groups.officer_names(session, group)
        raise PermissionDenied(
            f"Only members of the {group.name} submit agenda items to it: ask {officers}. Nothing was changed."
        )
    if meeting.status != "scheduled" or meeting.starts_at <= now:
        raise UserError(
            f"The {group.name} meeting on {_day(meeting, zone)} is not ahead, so its agenda is closed. Nothing was changed."
        )
    officer = groups.is_officer(session, person, group)
    deadlines = meetings.Deadlines.of(meeting, zone)
    if not officer and now.astimezone(zone).date() > deadlines.items_due:
        officers = groups.officer_names(session, group, or_else="")
        ask = f"an officer or the chair ({officers})" if officers else "an officer"
        raise PermissionDenied(
            f"Items for the {group.name} meeting on {_day(meeting, zone)} were due by "
            f"{format_date(deadlines.items_due)}: ask {ask} to add it. Nothing was changed."
        )
    title = " ".join(title.split())
    if not title:
        raise UserError(
            "What is the item called? e.g. `/agenda add Locality plan -- for decision`. Nothing was changed."
        )
    if len(title) > MAX_TITLE:
        raise UserError(
            f"An item's title can be at most {MAX_TITLE} characters (this is {len(title)}). Nothing was changed."
        )
    if purpose and len(purpose) > MAX_PURPOSE:
        raise UserError(f"A purpose can be at most {MAX_PURPOSE} characters. Nothing was changed.")
    if paragraph is not None and paragraph not in PARAGRAPHS:
        raise UserError(
            "Restricted items name a paragraph 1 to 7 of Part 1 of Schedule 12A. Nothing was changed."
        )
    submitted = session.execute(
        select(AgendaItem.position, AgendaItem.title, AgendaItem.restricted, AgendaItem.submitted_by_id)
        .where(AgendaItem.meeting_id == meeting.id)
        .order_by(AgendaItem.position, AgendaItem.id)
    ).all()
    for number, row in enumerate(submitted, start=FIRST_SUBMITTED):
        # The same title twice is a second submission of one item (a restricted
        # one's title is only told to those who may see it).
        visible = not row.restricted or officer or row.submitted_by_id == person.id
        if visible and row.title.casefold() == title.casefold():
            raise UserError(
                f"Item {number} of the {group.name} agenda for {_day(meeting, zone)} is already "
                f"'{clip(row.title, 80)}' (`/agenda` shows it). Nothing was changed."
            )
    position = max((row.position for row in submitted), default=0) + 1
    count = len(submitted)
    item = AgendaItem(
        meeting_id=meeting.id,
        position=position,
        title=title,
        purpose=purpose or None,
        presenter_id=person.id,
        restricted=restricted,
        restricted_paragraph=paragraph,
        submitted_by_id=person.id,
        created_at=now,
    )
    session.add(item)
    session.flush()
    audit.record(
        session,
        actor=person,
        what="agenda.add",
        subject=f"meeting {meeting.id}",
        at=now,
        after={"item": item.id, "title": title, "restricted": restricted, "paragraph": paragraph},
    )
    return item, str(FIRST_SUBMITTED + count)


def remove(
    session: Session, *, person: Person, meeting: Meeting, number: str, now: datetime, zone: ZoneInfo
) -> AgendaItem:
    """Remove submitted item N (its number as the agenda shows it): an officer's or
    the chair's to remove, or, until the agenda goes out, the member's who added it."""
    item = by_number(session, meeting, number, zone)
    if item.submitted_by_id != person.id:
        groups.require_officer(session, person, meeting.group, "remove other people's agenda items")
    elif meeting.agenda_published_at is not None:
        # It has gone out: an officer decides whether to send a revised agenda.
        groups.require_officer(
            session, person, meeting.group, "take items off an agenda once it has gone out"
        )
    session.delete(item)
    session.flush()
    audit.record(
        session,
        actor=person,
        what="agenda.remove",
        subject=f"meeting {meeting.id}",
        at=now,
        before={"item": item.id, "title": item.title, "restricted": item.restricted},
    )
    return item


def by_number(session: Session, meeting: Meeting, number: str, zone: ZoneInfo) -> AgendaItem:
    submitted = items(session, meeting)
    last = FIRST_SUBMITTED + len(submitted) - 1
    text = number.strip()
    if not text.isdigit() or not FIRST_SUBMITTED <= int(text) <= last:
        if not submitted:
            which = "it has none yet"
        elif last == FIRST_SUBMITTED:
            which = f"the only one is item {last}"
        else:
            which = f"those are items {FIRST_SUBMITTED} to {last}"
        raise UserError(
            f"'{text[:20]}' is not a submitted item of the {meeting.group.name} agenda for "
            f"{format_date(meetings.local_date(meeting, zone))}: {which} "
            "(`/agenda` shows them). Nothing was changed."
        )
    return submitted[int(text) - FIRST_SUBMITTED]


@dataclass(frozen=True)
class Published:
    late: bool
    deadline_days: int
    revision: int  # 0 the first time; then 1, 2, ... each time it is published again
    first_published_at: datetime


def publish(
    session: Session, *, person: Person, meeting: Meeting, now: datetime, zone: ZoneInfo
) -> Published:
    """Publish the agenda; once published, publishing it again is a revision
    (an item added or removed since): posted again, and judged against the
    deadline by when it first went out, not by the revision."""
    group = meeting.group
    groups.require_officer(session, person, group, "publish agendas")
    if meeting.status != "scheduled" or meeting.starts_at <= now:
        raise UserError(
            f"The {group.name} meeting on {_day(meeting, zone)} is not ahead. Nothing was changed."
        )
    deadlines = meetings.Deadlines.of(meeting, zone)
    first = meeting.agenda_published_at
    if first is None:
        late = now.astimezone(zone).date() > deadlines.publish_by
        meeting.agenda_published_at = now
    else:
        late = first.astimezone(zone).date() > deadlines.publish_by
        meeting.agenda_revision += 1
    meeting.updated_at = now
    session.flush()
    audit.record(
        session,
        actor=person,
        what="agenda.publish",
        subject=f"meeting {meeting.id}",
        at=now,
        before={"published_at": first},
        after={
            "published_at": meeting.agenda_published_at,
            "late": late,
            "revision": meeting.agenda_revision,
        },
    )
    return Published(
        late=late,
        deadline_days=group.publish_days,
        revision=meeting.agenda_revision,
        first_published_at=meeting.agenda_published_at or now,
    )


def last_published_by(session: Session, meeting: Meeting) -> str | None:
    """Who last published (or revised) the meeting's agenda, as the audit log names them."""
    return session.scalar(
        select(AuditEntry.actor)
        .where(AuditEntry.what == "agenda.publish", AuditEntry.subject == f"meeting {meeting.id}")
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )


def days_in_words(days: int) -> str:
    return NUMBER_WORDS[days] if 0 <= days < len(NUMBER_WORDS) else str(days)


def _detail(purpose: str | None, presenter: str | None) -> str:
    return " — ".join(part for part in (purpose, presenter) if part)


def _day(meeting: Meeting, zone: ZoneInfo) -> str:
    return format_date(meetings.local_date(meeting, zone))
