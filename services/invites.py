"""Invitations (RFC 5546 iTIP): when a meeting is added, moved or cancelled, each
member with an e-mail address gets the meeting as METHOD:REQUEST (or CANCEL),
queued in the outbox in the same transaction as the change; someone put in a
group by the partnership file gets the invitations its members were sent for
meetings ahead, and someone taken out a CANCEL of each they were invited to.

The delivery's payload is the finished message (recipient, subject, text, the
calendar text, its method), so what is sent is exactly what was decided here,
however late the sending. The sender (bot/mail.py) only wraps it in MIME.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services import calendar, outbox
from services import partnership as partnership_service
from services.dates import format_date, format_time, format_times
from storage.models import Delivery, Meeting, Membership, Partnership, Person


def queue_invitations(session: Session, *, meeting: Meeting, now: datetime) -> int:
    """Queue this version of the meeting (its SEQUENCE) for every member of its
    group with an e-mail address: REQUEST, or CANCEL for a cancelled meeting.
    Queuing the same version twice sends it once. Returns how many were queued
    now. Nothing is queued without the partnership's organiser e-mail, since an
    invitation must name its organiser. Call it only when e-mail is configured."""
    partnership = partnership_service.get(session)
    if not partnership.organiser_email:
        return 0
    rows = _members(session, meeting.group_id)
    method = "CANCEL" if meeting.status == "cancelled" else "REQUEST"
    letter = _Letter.of(session, partnership, meeting, _attendees(rows), method=method, now=now)
    key = f"{method.lower()}:{meeting.uid}:{meeting.sequence}"
    return sum(letter.queue(session, person, key=f"{key}:{person.key}", now=now) for person, _role in rows)


def invite_newcomers(session: Session, *, people: list[Person], group_id: int, now: datetime) -> int:
    """People put in a group (by the partnership file): each meeting of it still
    ahead whose invitations went out to its members is sent to them too, as it
    now stands. Meetings never sent out (those the file made) stay so, and a
    first load mails no one. Returns how many were queued now; as
    `queue_invitations`, call it only when e-mail is configured."""
    partnership = partnership_service.get(session)
    newcomers = [person for person in people if person.email]
    if not partnership.organiser_email or not newcomers:
        return 0
    sent_out = [m for m in _ahead(session, group_id, now) if _invited(session, m)]
    if not sent_out:
        return 0
    attendees = _attendees(_members(session, group_id))
    queued = 0
    for meeting in sent_out:
        letter = _Letter.of(session, partnership, meeting, attendees, method="REQUEST", now=now, joined=True)
        for person in newcomers:
            queued += letter.queue(session, person, key=_once(meeting, person, now, "request"), now=now)
    return queued


def uninvite(session: Session, *, people: list[Person], group_id: int, now: datetime) -> int:
    """People taken out of a group (or out of the partnership): each meeting of
    the group still ahead whose invitation was e-mailed to them is cancelled for
    each alone, so that it leaves their calendar: METHOD:CANCEL naming only
    them, without STATUS, since the meeting itself goes ahead (RFC 5546 3.2.5).
    Returns how many were queued now; as `queue_invitations`, call it only when
    e-mail is configured."""
    partnership = partnership_service.get(session)
    leavers = [person for person in people if person.email]
    if not partnership.organiser_email or not leavers:
        return 0
    queued = 0
    for meeting in _ahead(session, group_id, now):
        for person in leavers:
            if not _invited(session, meeting, email=person.email):
                continue
            attendee = calendar.Attendee(name=person.name, email=person.email or "", role="member")
            letter = _Letter.of(
                session, partnership, meeting, (attendee,), method="CANCEL", now=now, uninvited=True
            )
            queued += letter.queue(session, person, key=_once(meeting, person, now, "uninvite"), now=now)
    return queued


def _members(session: Session, group_id: int) -> list[tuple[Person, str]]:
    """The group's members with an e-mail address, and their roles."""
    rows = session.execute(
        select(Person, Membership.role)
        .join(Membership, Membership.person_id == Person.id)
        .where(Membership.group_id == group_id, Person.email.is_not(None), Person.email != "")
        .order_by(Person.name, Person.id)
    )
    return [(person, role) for person, role in rows]


def _attendees(rows: list[tuple[Person, str]]) -> tuple[calendar.Attendee, ...]:
    return tuple(calendar.Attendee(name=p.name, email=p.email or "", role=role) for p, role in rows)


def _ahead(session: Session, group_id: int, now: datetime) -> list[Meeting]:
    return list(
        session.scalars(
            select(Meeting)
            .where(Meeting.group_id == group_id, Meeting.status == "scheduled", Meeting.starts_at > now)
            .order_by(Meeting.starts_at)
        )
    )


def _invited(session: Session, meeting: Meeting, *, email: str | None = None) -> bool:
    """Whether an invitation of the meeting (any version) was queued: to anyone,
    or to this address."""
    sent = select(Delivery.id).where(Delivery.kind == "email", Delivery.key.like(f"request:{meeting.uid}:%"))
    if email is not None:
        sent = sent.where(Delivery.target == email)
    return session.scalar(sent.limit(1)) is not None


def _once(meeting: Meeting, person: Person, now: datetime, what: str) -> str:
    """The key of a message for one person that a load decided: the load's
    instant in it, since someone may leave a group and join it again, each
    time at the same version of its meetings."""
    return f"{what}:{meeting.uid}:{meeting.sequence}:{person.key}:{now:%Y%m%dT%H%M%S%f}"


@dataclass(frozen=True)
class _Letter:
    """One version of a meeting as e-mailed: the calendar part and what the
    e-mail says, the same for each person it goes to but for their name."""

    meeting: Meeting
    partnership: Partnership
    facts: calendar.EventFacts
    ics: str
    start: datetime
    end: datetime
    agenda: str
    method: str
    uninvited: bool
    joined: bool

    @classmethod
    def of(
        cls,
        session: Session,
        partnership: Partnership,
        meeting: Meeting,
        attendees: tuple[calendar.Attendee, ...],
        *,
        method: str,
        now: datetime,
        uninvited: bool = False,
        joined: bool = False,
    ) -> _Letter:
        zone = partnership_service.zone(partnership)
        agenda = calendar.agenda_of(session, meeting)
        shown = calendar.MeetingShown.of(meeting)
        facts = calendar.meeting_facts(shown, agenda, zone, stamp=now)._replace(
            organiser=(partnership.name, partnership.organiser_email or ""),
            attendees=attendees,
        )
        if uninvited:
            facts = facts._replace(status="")
        ics = calendar.render_calendar(partnership.name, zone, [facts], method=method).decode()
        start, end = meeting.starts_at.astimezone(zone), meeting.ends_at.astimezone(zone)
        agenda_text = calendar.description(shown, agenda, apologies_hint=False)
        return cls(meeting, partnership, facts, ics, start, end, agenda_text, method, uninvited, joined)

    def queue(self, session: Session, person: Person, *, key: str, now: datetime) -> bool:
        return outbox.enqueue(
            session,
            key=key,
            kind="email",
            target=person.email or "",
            payload={
                "to": person.email,
                "to_name": person.name,
                "subject": _subject(self),
                "text": _text(self, person=person),
                "ics": self.ics,
                "method": self.method,
                "organiser": self.partnership.organiser_email,
            },
            due_at=now,
            now=now,
        )


def _subject(letter: _Letter) -> str:
    meeting, start = letter.meeting, letter.start
    when = f"{format_date(start.date())} {format_time(start)}"
    if letter.uninvited:
        return f"Taken out of your calendar: {meeting.group.name}, {when}"
    if letter.method == "CANCEL":
        return f"Cancelled: {meeting.group.name}, {when}"
    if meeting.sequence > 0 and not letter.joined:
        return f"Updated invitation: {meeting.group.name}, {when}"
    return f"Invitation: {meeting.group.name}, {when}"


def _text(letter: _Letter, *, person: Person) -> str:
    meeting, facts, start, end, method = letter.meeting, letter.facts, letter.start, letter.end, letter.method
    group = _the(meeting.group.name)
    zone_name = getattr(start.tzinfo, "key", "")
    lines = [f"Dear {person.name},", ""]
    if letter.uninvited:
        lines.append(
            f"You are no longer a member of the {group}, so its meeting below is taken out of your "
            "calendar. The meeting itself goes ahead."
        )
    elif letter.joined:
        lines.append(f"You are now a member of the {group}, so you are invited to its meeting below.")
    elif method == "CANCEL":
        lines.append(f"The meeting of the {group} below is cancelled.")
    elif meeting.sequence > 0:
        lines.append(f"The meeting of the {group} has changed; these are its details now.")
    else:
        lines.append(f"You are invited to a meeting of the {group}.")
    lines += [
        "",
        f"When: {format_date(start.date())}, {format_times(start, end, to=' to ')} ({zone_name} time)",
    ]
    if facts.location and facts.location != facts.url:
        lines.append(f"Where: {facts.location}")
    if facts.url:
        lines.append(f"Online: {facts.url}")
    if not letter.uninvited:
        lines += ["", letter.agenda]
    lines.append("")
    if method == "REQUEST":
        lines += [
            "No reply is needed. If you cannot come, send your apologies in Slack with /apologies "
            f"(e.g. /apologies {start.day:02d}/{start.month:02d}/{start.year} and your reason), so the clerk "
            "can record them.",
            "",
        ]
    lines.append("Sent by partnerbot for the partnership's officers.")
    return "\n".join(lines)


def _the(name: str) -> str:
    return name[4:] if name.startswith("The ") else name
