"""Invitations (RFC 5546 iTIP): when a meeting is added, moved or cancelled, each
member with an e-mail address gets the meeting as METHOD:REQUEST (or CANCEL),
queued in the outbox in the same transaction as the change.

The delivery's payload is the finished message (recipient, subject, text, the
calendar text, its method), so what is sent is exactly what was decided here,
however late the sending. The sender (bot/mail.py) only wraps it in MIME.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services import calendar, outbox
from services import partnership as partnership_service
from services.dates import format_date, format_time, format_times
from storage.models import Meeting, Membership, Person


def queue_invitations(session: Session, *, meeting: Meeting, now: datetime) -> int:
    """Queue this version of the meeting (its SEQUENCE) for every member of its
    group with an e-mail address: REQUEST, or CANCEL for a cancelled meeting.
    Queuing the same version twice sends it once. Returns how many were queued
    now. Nothing is queued without the partnership's organiser e-mail, since an
    invitation must name its organiser. Call it only when e-mail is configured."""
    partnership = partnership_service.get(session)
    if not partnership.organiser_email:
        return 0
    zone = partnership_service.zone(partnership)
    rows = session.execute(
        select(Person, Membership.role)
        .join(Membership, Membership.person_id == Person.id)
        .where(Membership.group_id == meeting.group_id, Person.email.is_not(None), Person.email != "")
        .order_by(Person.name, Person.id)
    ).all()
    attendees = tuple(calendar.Attendee(name=p.name, email=p.email or "", role=role) for p, role in rows)
    method = "CANCEL" if meeting.status == "cancelled" else "REQUEST"
    agenda = calendar.agenda_of(session, meeting)
    shown = calendar.MeetingShown.of(meeting)
    facts = calendar.meeting_facts(shown, agenda, zone, stamp=now)._replace(
        organiser=(partnership.name, partnership.organiser_email),
        attendees=attendees,
    )
    ics = calendar.render_calendar(partnership.name, zone, [facts], method=method).decode()
    start, end = meeting.starts_at.astimezone(zone), meeting.ends_at.astimezone(zone)
    subject = _subject(meeting, start=start, method=method)
    agenda_text = calendar.description(shown, agenda, apologies_hint=False)
    queued = 0
    for person, _role in rows:
        queued += outbox.enqueue(
            session,
            key=f"{method.lower()}:{meeting.uid}:{meeting.sequence}:{person.key}",
            kind="email",
            target=person.email or "",
            payload={
                "to": person.email,
                "to_name": person.name,
                "subject": subject,
                "text": _text(
                    meeting,
                    person=person,
                    facts=facts,
                    start=start,
                    end=end,
                    agenda=agenda_text,
                    method=method,
                ),
                "ics": ics,
                "method": method,
                "organiser": partnership.organiser_email,
            },
            due_at=now,
            now=now,
        )
    return queued


def _subject(meeting: Meeting, *, start: datetime, method: str) -> str:
    when = f"{format_date(start.date())} {format_time(start)}"
    if method == "CANCEL":
        return f"Cancelled: {meeting.group.name}, {when}"
    if meeting.sequence > 0:
        return f"Updated invitation: {meeting.group.name}, {when}"
    return f"Invitation: {meeting.group.name}, {when}"


def _text(
    meeting: Meeting,
    *,
    person: Person,
    facts: calendar.EventFacts,
    start: datetime,
    end: datetime,
    agenda: str,
    method: str,
) -> str:
    zone_name = getattr(start.tzinfo, "key", "")
    lines = [f"Dear {person.name},", ""]
    if method == "CANCEL":
        lines.append(f"The meeting of the {_the(meeting.group.name)} below is cancelled.")
    elif meeting.sequence > 0:
        lines.append(f"The meeting of the {_the(meeting.group.name)} has changed; these are its details now.")
    else:
        lines.append(f"You are invited to a meeting of the {_the(meeting.group.name)}.")
    lines += [
        "",
        f"When: {format_date(start.date())}, {format_times(start, end, to=' to ')} ({zone_name} time)",
    ]
    if facts.location and facts.location != facts.url:
        lines.append(f"Where: {facts.location}")
    if facts.url:
        lines.append(f"Online: {facts.url}")
    lines += ["", agenda, ""]
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
