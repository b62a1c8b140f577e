"""/meeting interest and /meeting minutes: declarations, and the draft minutes skeleton."""

from __future__ import annotations

from bot.commands.core import Context
from bot.commands.meeting_changes import describe, meeting_on
from services import agenda, apologies, attendance, groups, minutes
from services.dates import format_date
from services.errors import UserError
from services.meetings import local_date
from storage.models import Meeting


def interest(context: Context, text: str) -> str:
    person = context.require_person()
    meeting, rest = meeting_on(context, text, "interest", held_too=True)
    number, _, nature = rest.partition(" ")
    if not number:
        raise UserError(
            "Which item? Type `/meeting interest DATE ITEM NATURE`, e.g. `/meeting interest 21/04/2015 3 My partner "
            "works for the provider`. Nothing was changed."
        )
    _, item = minutes.declare(
        context.session,
        person=person,
        meeting=meeting,
        number=number,
        nature=nature,
        now=context.now,
        zone=context.zone,
    )
    officer = groups.is_officer(context.session, person, meeting.group)
    title = item.title if not item.restricted or officer else "Restricted item"
    when = format_date(local_date(meeting, context.zone))
    return f"Interest declared in item {number} ({title}) of the {meeting.group.name} meeting on {when}."


def draft(context: Context, text: str) -> str:
    context.require_person()  # who came and who sent apologies: not for anyone outside the partnership
    meeting, rest = meeting_on(context, text, "minutes", held_too=True)
    if rest:
        raise UserError(
            "Type `/meeting minutes DATE`, e.g. `/meeting minutes 21/04/2015`. Nothing was changed."
        )
    officer = groups.is_officer(context.session, context.person, meeting.group)
    group = meeting.group
    recorded = minutes.attendees(context.session, meeting)
    by_status: dict[str, list[minutes.Attendee]] = {value: [] for value in attendance.LABELS}
    for attendee in recorded:
        by_status[attendee.status].append(attendee)
    # Apologies received, unless the person came after all (or was recorded
    # otherwise), and anyone recorded as having sent them by other means.
    otherwise = {a.person_id for a in recorded if a.status != "apologies"}
    received = [a for a in apologies.for_meeting(context.session, meeting) if a.person_id not in otherwise]
    sent = {a.person_id for a in received}
    apology_lines = sorted(
        {a.person.name + (f" (substitute: {a.substitute})" if a.substitute else "") for a in received}
        | {a.name for a in by_status["apologies"] if a.person_id not in sent}
    )
    lines = [f"*Draft minutes: {group.name}, {describe(meeting, context.zone)}*"]
    record_it = f"`/meeting attendance {format_date(local_date(meeting, context.zone))}`"
    if not recorded:
        lines.append(f"_Attendance not recorded yet: {record_it}._")
    lines += [
        "*Present:* " + (", ".join(_named(a) for a in by_status["present"]) or "—"),
        "*Also in attendance:* " + (", ".join(_named(a) for a in by_status["in_attendance"]) or "—"),
        "*Apologies:* " + (", ".join(apology_lines) or "—"),
        "*Not present:* " + (", ".join(a.name for a in by_status["absent"]) or "—"),
    ]
    if recorded:
        # The terms of reference ask for a full record: a member the clerk has
        # not yet recorded (and who sent no apologies) is named, not left out.
        accounted = {a.person_id for a in recorded} | sent
        unrecorded = [
            m.person.name
            for m in attendance.members_of(context.session, meeting)
            if m.person.id not in accounted
        ]
        if unrecorded:
            lines.append(f"_Not recorded yet:_ {', '.join(unrecorded)} ({record_it})")
    year = f"{meeting.starts_at.astimezone(context.zone).year % 100:02d}"
    first = minutes.first_number(context.session, meeting, context.zone)
    drafted = agenda.draft(context.session, meeting=meeting, zone=context.zone, officer=officer)
    # Each agenda line is a minute of its own: "3" on the agenda is "15.CPSRB.10" here.
    minute_of = {line.number: f"{year}.{group.abbreviation}.{first + n}" for n, line in enumerate(drafted)}
    items = agenda.items(context.session, meeting)
    numbers = {item.id: str(agenda.FIRST_SUBMITTED + n) for n, item in enumerate(items)}
    declared = minutes.declarations(context.session, meeting)
    lines.append("*Declarations of interest:*" + ("" if declared else " none"))
    for declaration, person in declared:
        number = numbers.get(declaration.agenda_item_id or 0)
        where = (
            f"minute {minute_of[number]} (agenda item {number})"
            if number in minute_of
            else "an agenda item since removed"
        )
        lines.append(f"• {person.name}, {where}: {declaration.nature}")
    for line in drafted:
        detail = f" — {line.detail}" if line.detail else ""
        lines.append(f"*{minute_of[line.number]}* {line.title}{detail}")
    lines.append(_actions(context, meeting))
    return "\n".join(lines)


def _named(attendee: minutes.Attendee) -> str:
    """Someone present as the minutes name them: "Rosalind Ashcroft (Chair, Chorley Council)"."""
    said = [part for part in ("Chair" if attendee.role == "chair" else None, attendee.organisation) if part]
    return attendee.name + (f" ({', '.join(said)})" if said else "")


def _actions(context: Context, meeting: Meeting) -> str:
    found = minutes.actions(context.session, meeting)
    if not found:
        return "*Actions:* none recorded against this meeting."
    rows = ["*Actions:*", "What | Who | When"]
    for action in found:
        who = action.owner.name if action.owner else action.owner_text or ""
        when = action.due.strftime("%d.%m.%y") if action.due else ""
        rows.append(f"{action.what} | {who} | {when}")
    return "\n".join(rows)
