"""Meetings as iCalendar (RFC 5545): subscribable feeds, and the calendar part
of an invitation (RFC 5546).

Every VEVENT for a meeting is built here, so a feed and an invitation carry the
same UID, SEQUENCE, times and description. A feed is assembled from VEVENTs
rendered once per version of a meeting (the render is a pure function of the
facts it shows, kept in a small cache): subscribers poll every hour, and most
of what they fetch has not changed since the last time.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from icalendar import (
    Calendar,
    Event,
    Timezone,
    vCalAddress,
    vDDDTypes,
    vDuration,
    vInt,
    vText,
    vUri,
)
from icalendar.timezone import tzid_from_tzinfo
from sqlalchemy import BindParameter, ColumnElement, Select, bindparam, func, select, true
from sqlalchemy.orm import Session

from services import partnership as partnership_service
from services.text import clip
from storage.models import (
    Action,
    AgendaItem,
    FeedToken,
    Group,
    Meeting,
    Membership,
    Partnership,
    PartnershipLoad,
    Person,
)

PRODID = "-//partnerbot//Partnership meetings//EN"
REFRESH = timedelta(hours=1)
# Part of every ETag: a change to what a feed shows for the same data (this
# module's output) must reach clients that cached the old one.
FORMAT = "feed-2"
FOLD_AT = 75  # octets: a content line this long or longer is folded (RFC 5545 3.1)
RESTRICTED = "Restricted item"
APOLOGIES_HINT = "Can't come? Send your apologies in Slack with /apologies."
ROLES = {
    "chair": "CHAIR",
    "member": "REQ-PARTICIPANT",
    "officer": "REQ-PARTICIPANT",
    "observer": "OPT-PARTICIPANT",
}


# -- what a meeting shows --------------------------------------------------------


class AgendaLine(NamedTuple):
    title: str
    restricted: bool


class MeetingShown(NamedTuple):
    """What a calendar shows of a meeting: read as plain columns for a feed
    (hundreds at a time), or taken from the row for an invitation."""

    id: int
    uid: str
    sequence: int
    starts_at: datetime
    ends_at: datetime
    location: str | None
    url: str | None
    status: str
    agenda_published_at: datetime | None
    updated_at: datetime
    group_name: str
    group_location: str | None

    @classmethod
    def of(cls, meeting: Meeting) -> MeetingShown:
        return MeetingShown(
            id=meeting.id,
            uid=meeting.uid,
            sequence=meeting.sequence,
            starts_at=meeting.starts_at,
            ends_at=meeting.ends_at,
            location=meeting.location,
            url=meeting.url,
            status=meeting.status,
            agenda_published_at=meeting.agenda_published_at,
            updated_at=meeting.updated_at,
            group_name=meeting.group.name,
            group_location=meeting.group.location,
        )


_SHOWN_COLUMNS = (
    Meeting.id,
    Meeting.uid,
    Meeting.sequence,
    Meeting.starts_at,
    Meeting.ends_at,
    Meeting.location,
    Meeting.url,
    Meeting.status,
    Meeting.agenda_published_at,
    Meeting.updated_at,
    Group.name.label("group_name"),
    Group.location.label("group_location"),
)


@dataclass(frozen=True)
class Attendee:
    name: str
    email: str
    role: str  # chair, member, officer, observer


def description(meeting: MeetingShown, agenda: Sequence[AgendaLine], *, apologies_hint: bool = True) -> str:
    """The agenda as a calendar shows it: restricted items masked, whoever reads it."""
    lines: list[str] = []
    if meeting.status == "cancelled":
        lines.append("This meeting is cancelled.")
    if agenda:
        state = "Agenda" if meeting.agenda_published_at is not None else "Draft agenda"
        lines.append(f"{state}:")
        lines += [f"• {RESTRICTED if item.restricted else item.title}" for item in agenda]
    elif meeting.status != "cancelled":
        lines.append("Agenda: no items yet.")
    if apologies_hint and meeting.status == "scheduled":
        lines.append(APOLOGIES_HINT)
    return "\n".join(lines)


class EventFacts(NamedTuple):
    """Everything one VEVENT shows: hashable, so its rendering can be cached."""

    uid: str
    sequence: int | None
    stamp: datetime
    last_modified: datetime
    start: datetime | date
    end: datetime | date
    summary: str
    description: str
    status: str
    location: str | None = None
    url: str | None = None
    transparent: bool = False
    organiser: tuple[str, str] | None = None  # (name, e-mail)
    attendees: tuple[Attendee, ...] = ()


def meeting_facts(
    meeting: MeetingShown,
    agenda: Sequence[AgendaLine],
    zone: ZoneInfo,
    *,
    stamp: datetime | None = None,
    last_modified: datetime | None = None,
) -> EventFacts:
    """A meeting's VEVENT facts. `stamp` is DTSTAMP: in a feed (no METHOD) the
    last revision, in an iTIP message the moment it was made (RFC 5545 3.8.7.2).
    An online meeting's LOCATION is its link, not the group's usual room:
    Outlook and Google Calendar show LOCATION and not URL."""
    modified = last_modified or meeting.updated_at
    return EventFacts(
        uid=meeting.uid,
        sequence=meeting.sequence,
        stamp=stamp or modified,
        last_modified=modified,
        start=meeting.starts_at.astimezone(zone),
        end=meeting.ends_at.astimezone(zone),
        summary=meeting.group_name,
        description=description(meeting, agenda),
        status="CANCELLED" if meeting.status == "cancelled" else "CONFIRMED",
        location=meeting.location or meeting.url or meeting.group_location,
        url=meeting.url,
    )


def action_facts(action: Action) -> EventFacts:
    """An open action's due date as an all-day event that does not block time."""
    assert action.due is not None
    return EventFacts(
        uid=f"action-{action.number}-due@partnerbot",
        sequence=None,
        stamp=action.updated_at,
        last_modified=action.updated_at,
        start=action.due,
        end=action.due + timedelta(days=1),
        summary=clip(f"Action {action.ref} due: {action.what}", 200),
        description=f"{action.what}\nWhen it is done: /action done {action.ref}",
        status="CONFIRMED",
        transparent=True,
    )


# -- rendering --------------------------------------------------------------------


@lru_cache(maxsize=4096)
def render_event(facts: EventFacts) -> bytes:
    """One VEVENT, exactly as icalendar writes it. An invitation's goes through
    icalendar's Event; a feed's (no organiser, no attendees: hundreds per feed)
    is written straight out in the same bytes, six times faster, which
    tests/calendar/test_rendering.py holds it to."""
    if facts.organiser is None and not facts.attendees:
        return _write_plain(facts)
    return _serialise(event_of(facts))


def event_of(facts: EventFacts) -> Event:
    # Properties are given their iCalendar types directly rather than through
    # Event.add(), which infers them: the same text, a third faster.
    event = Event()
    event["uid"] = vText(facts.uid)
    event["dtstamp"] = vDDDTypes(facts.stamp.astimezone(UTC))
    if facts.sequence is not None:
        event["sequence"] = vInt(facts.sequence)
    event["last-modified"] = vDDDTypes(facts.last_modified.astimezone(UTC))
    event["dtstart"] = vDDDTypes(facts.start)
    event["dtend"] = vDDDTypes(facts.end)
    event["summary"] = vText(facts.summary)
    if facts.location:
        event["location"] = vText(facts.location)
    if facts.url:
        event["url"] = vUri(facts.url)
    event["description"] = vText(facts.description)
    if facts.status:  # none when someone alone is uninvited (RFC 5546 3.2.5)
        event["status"] = vText(facts.status)
    if facts.transparent:
        event["transp"] = vText("TRANSPARENT")
    if facts.organiser is not None:
        name, email = facts.organiser
        event["organizer"] = vCalAddress(f"mailto:{email}", params={"CN": name})
    if facts.attendees:
        event["attendee"] = [
            vCalAddress(
                f"mailto:{attendee.email}",
                params={
                    "CN": attendee.name,
                    "CUTYPE": "INDIVIDUAL",
                    "ROLE": ROLES.get(attendee.role, "REQ-PARTICIPANT"),
                    "PARTSTAT": "NEEDS-ACTION",
                    "RSVP": "FALSE",
                },
            )
            for attendee in facts.attendees
        ]
    return event


def _write_plain(facts: EventFacts) -> bytes:
    """A VEVENT without organiser or attendees, property by property in the
    order icalendar writes them, its values escaped by icalendar's own types."""
    lines = [
        "BEGIN:VEVENT",
        "SUMMARY:" + _text(facts.summary),
        "DTSTART" + _when(facts.start),
        "DTEND" + _when(facts.end),
        "DTSTAMP" + _when(facts.stamp.astimezone(UTC)),
        "UID:" + _text(facts.uid),
    ]
    if facts.sequence is not None:
        lines.append(f"SEQUENCE:{facts.sequence}")
    lines += [
        "DESCRIPTION:" + _text(facts.description),
        "LAST-MODIFIED" + _when(facts.last_modified.astimezone(UTC)),
    ]
    if facts.location:
        lines.append("LOCATION:" + _text(facts.location))
    if facts.status:
        lines.append("STATUS:" + _text(facts.status))
    if facts.transparent:
        lines.append("TRANSP:TRANSPARENT")
    if facts.url:
        lines.append("URL:" + vUri(facts.url).to_ical().decode())
    lines.append("END:VEVENT")
    return b"\r\n".join(_fold(line.encode()) for line in lines) + b"\r\n"


@lru_cache(maxsize=2048)
def _text(value: str) -> str:
    # A feed repeats its groups' names, places and statuses hundreds of times.
    return vText(value).to_ical().decode()


def _when(value: datetime | date) -> str:
    """`;PARAMS:VALUE` of a DATE or DATE-TIME, as vDDDTypes writes it."""
    day = f"{value.year:04}{value.month:02}{value.day:02}"
    if not isinstance(value, datetime):
        return f";VALUE=DATE:{day}"
    moment = f"{day}T{value.hour:02}{value.minute:02}{value.second:02}"
    tzid = _tzid(value.tzinfo) if value.tzinfo is not None else None
    if tzid is None:
        tzid = value.tzname()  # as icalendar's tzid_from_dt
    if tzid == "UTC":
        return f":{moment}Z"
    return f";TZID={tzid}:{moment}" if tzid else f":{moment}"


def clear_text_cache() -> None:
    """Forget escaped texts (for the benchmark's cold build)."""
    _text.cache_clear()


@lru_cache(maxsize=64)
def _tzid(zone: tzinfo) -> str | None:
    """icalendar's TZID for a zone, asked once per zone: icalendar works it out
    afresh for every date-time, a third of a feed's build."""
    return tzid_from_tzinfo(zone)


def _serialise(event: Event) -> bytes:
    """`event.to_ical()`, byte for byte (tests/calendar/test_rendering.py holds
    it to that), with the lines folded on their bytes: icalendar's own folder
    walks every character in Python, and was most of a feed's build time."""
    return b"\r\n".join(_fold(line.encode()) for line in event.content_lines() if line) + b"\r\n"


def _fold(line: bytes) -> bytes:
    """Fold as icalendar does: pieces of at most 74 octets, never inside a UTF-8
    character, and a backslash or caret that ends a piece moves to the next, so
    no client sees an escape cut in two."""
    if len(line) < FOLD_AT:
        return line
    pieces = []
    start = 0
    while len(line) - start >= FOLD_AT:
        end = start + FOLD_AT - 1
        while line[end] & 0xC0 == 0x80:  # a UTF-8 continuation byte: cut before its character
            end -= 1
        if end - start > 1 and line[end - 1] in b"\\^":
            end -= 1
        pieces.append(line[start:end])
        start = end
    pieces.append(line[start:])
    return b"\r\n ".join(pieces)


@lru_cache(maxsize=512)
def _head(name: str, zone_key: str, first_year: int, last_year: int, method: str | None) -> bytes:
    """A VCALENDAR's properties and its VTIMEZONE, without the closing line."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    else:
        calendar.add("name", name)
        calendar.add("x-wr-calname", name)
        calendar.add("x-wr-timezone", zone_key)
        calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", vDuration(REFRESH), encode=False)
    calendar.add_component(
        Timezone.from_tzinfo(
            ZoneInfo(zone_key), first_date=date(first_year, 1, 1), last_date=date(last_year, 12, 31)
        )
    )
    whole = calendar.to_ical()
    end = b"END:VCALENDAR\r\n"
    assert whole.endswith(end)
    return whole[: -len(end)]


def render_calendar(
    name: str, zone: ZoneInfo, events: Sequence[EventFacts], method: str | None = None
) -> bytes:
    """A whole VCALENDAR: the head with a VTIMEZONE covering every event, then
    the events."""
    years = [f.start.year for f in events] + [f.end.year for f in events]
    first, last = (min(years), max(years)) if years else (2000, 2000)
    parts = [_head(name, str(zone.key), first, last, method)]
    parts += [render_event(facts) for facts in events]
    parts.append(b"END:VCALENDAR\r\n")
    return b"".join(parts)


# -- feeds ------------------------------------------------------------------------


@dataclass(frozen=True)
class Validator:
    """What a feed's caching headers say: computed by one query, so a client
    whose copy is current is answered without building the feed."""

    etag: str
    last_modified: datetime


def validator(session: Session, token: FeedToken) -> Validator:
    """One statement: one-row summaries of each table a feed shows (how many
    rows, and the latest change), side by side (each aggregate is one row). The
    latest load of the partnership file that changed something is one of them:
    a group's name or place, or a person's name, edited there, shows at once."""
    shape = (token.person_id is not None, token.person_id is not None and token.with_actions)
    row = session.execute(
        _validator_statement(*shape), {"person": token.person_id, "group": token.group_id}
    ).one()
    stamps = [value for value in row if isinstance(value, datetime)] + [token.created_at]
    fingerprint = repr((FORMAT, token.id, token.with_actions, tuple(_plain(v) for v in row)))
    return Validator(
        etag='"' + hashlib.sha256(fingerprint.encode()).hexdigest()[:32] + '"',
        last_modified=max(stamp.astimezone(UTC) for stamp in stamps).replace(microsecond=0),
    )


def build_feed(session: Session, token: FeedToken) -> bytes:
    """The whole feed a token opens: a person's (every meeting of their groups,
    and their open action due dates if they asked) or a group's. A few bounded
    queries whatever the number of meetings."""
    partnership = partnership_service.get(session)
    zone = partnership_service.zone(partnership)
    groups = _group_ids(token)
    meetings = [
        MeetingShown._make(row)
        for row in session.execute(
            select(*_SHOWN_COLUMNS)
            .join(Group, Group.id == Meeting.group_id)
            .where(Meeting.group_id.in_(groups))
            .order_by(Meeting.starts_at, Meeting.id)
        )
    ]
    agendas = _agendas(session, select(Meeting.id).where(Meeting.group_id.in_(groups)))
    events = [
        meeting_facts(
            meeting,
            agendas.lines.get(meeting.id, ()),
            zone,
            last_modified=_latest(meeting.updated_at, agendas.latest.get(meeting.id)),
        )
        for meeting in meetings
    ]
    if token.person_id is not None:
        person = session.get(Person, token.person_id)
        name = f"{partnership.name}: {person.name if person else 'meetings'}"
        if token.with_actions:
            actions = session.scalars(
                select(Action).where(*_open_actions_of(token.person_id)).order_by(Action.due, Action.number)
            )
            events += [action_facts(action) for action in actions]
    else:
        group = session.get(Group, token.group_id)
        name = group.name if group else partnership.name
    return render_calendar(name, zone, events)


@dataclass(frozen=True)
class _Agendas:
    lines: dict[int, tuple[AgendaLine, ...]]
    latest: dict[int, datetime]  # by meeting: when its last item was added


def _agendas(session: Session, meeting_ids: Select) -> _Agendas:
    """Every agenda item of these meetings, and when each meeting's last item
    came: two queries, whatever the number of meetings."""
    rows = session.execute(
        select(AgendaItem.meeting_id, AgendaItem.title, AgendaItem.restricted)
        .where(AgendaItem.meeting_id.in_(meeting_ids))
        .order_by(AgendaItem.meeting_id, AgendaItem.position, AgendaItem.id)
    )
    lines: dict[int, list[AgendaLine]] = {}
    for meeting_id, title, restricted in rows:
        lines.setdefault(meeting_id, []).append(AgendaLine(title, restricted))
    latest = session.execute(
        select(AgendaItem.meeting_id, func.max(AgendaItem.created_at))
        .where(AgendaItem.meeting_id.in_(meeting_ids))
        .group_by(AgendaItem.meeting_id)
    )
    return _Agendas(
        lines={meeting_id: tuple(items) for meeting_id, items in lines.items()},
        latest={meeting_id: at for meeting_id, at in latest},
    )


def agenda_of(session: Session, meeting: Meeting) -> tuple[AgendaLine, ...]:
    return _agendas(session, select(Meeting.id).where(Meeting.id == meeting.id)).lines.get(meeting.id, ())


@lru_cache(maxsize=4)
def _validator_statement(of_person: bool, with_actions: bool) -> Select:
    """The validator's statement for a person's feed (with or without their
    actions) or a group's, built once: building it took as long as running it."""
    person: BindParameter[int] = bindparam("person")
    in_groups = (
        Meeting.group_id.in_(_groups_of(person)) if of_person else Meeting.group_id == bindparam("group")
    )
    summaries = [
        select(func.count().label("meetings"), func.max(Meeting.updated_at).label("meetings_changed"))
        .where(in_groups)
        .subquery(),
        select(Partnership.timezone, Partnership.name).limit(1).subquery(),
        select(PartnershipLoad.version.label("load"), PartnershipLoad.loaded_at.label("loaded_at"))
        .order_by(PartnershipLoad.id.desc())
        .limit(1)
        .subquery(),
        select(func.count().label("items"), func.max(AgendaItem.created_at).label("items_added"))
        .where(AgendaItem.meeting_id.in_(select(Meeting.id).where(in_groups)))
        .subquery(),
    ]
    if of_person:
        summaries.append(
            select(
                func.count().label("memberships"),
                func.coalesce(func.sum(Membership.group_id), 0).label("group_ids"),
            )
            .where(Membership.person_id == person)
            .subquery()
        )
        if with_actions:
            summaries.append(
                select(func.count().label("actions"), func.max(Action.updated_at).label("actions_changed"))
                .where(*_open_actions_of(person))
                .subquery()
            )
    joined = summaries[0]
    for summary in summaries[1:]:
        joined = joined.join(summary, true(), isouter=True)  # type: ignore[assignment]
    return select(*(column for summary in summaries for column in summary.c)).select_from(joined)


def _group_ids(token: FeedToken) -> Select | list[int]:
    if token.person_id is not None:
        return _groups_of(token.person_id)
    assert token.group_id is not None
    return [token.group_id]


def _groups_of(person: int | BindParameter[int]) -> Select:
    return select(Membership.group_id).where(Membership.person_id == person)


def _open_actions_of(person: int | BindParameter[int]) -> Iterable[ColumnElement[bool]]:
    return (Action.owner_id == person, Action.status == "open", Action.due.is_not(None))


def _latest(first: datetime, second: datetime | None) -> datetime:
    return first if second is None or second <= first else second


def _plain(value: object) -> object:
    return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value
