"""/apologies: sending apologies for absence, without e-mailing the clerk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.commands.core import Command, Context, FormSpec, Reply
from bot.commands.dates import take_date
from bot.commands.lines import group_meeting, meeting_when
from bot.commands.shapes import Choice, Field, Form
from services import apologies, groups, meetings
from services.dates import format_date, format_time
from services.errors import FieldErrors, UserError
from storage.models import Group, Meeting

HELP = """*/apologies* — apologies for absence
• `/apologies` — a form: which meeting, your reason, a substitute
• `/apologies [DATE] [REASON]` — for the meeting on DATE, else your next meeting, e.g. `/apologies 21/04/2015 At a conference in Leeds`
• `/apologies withdraw [DATE]` — you can come after all
• `/apologies list [DATE]` — who has sent apologies
Sending again updates your reason. Reasons are seen only by you, the officers and the chair; they are never posted to a channel."""


@dataclass(frozen=True)
class Send:
    day: date | None
    reason: str


@dataclass(frozen=True)
class Withdraw:
    day: date | None


@dataclass(frozen=True)
class ListApologies:
    day: date | None


Intent = Send | Withdraw | ListApologies


def parse(text: str, *, today: date) -> Intent:
    word, _, rest = text.strip().partition(" ")
    if word.lower() in ("withdraw", "list"):
        day, extra = take_date(rest, today=today)
        if extra:
            raise UserError(
                f"After `/apologies {word.lower()}` I expected a date, not '{extra[:60]}'. "
                "Nothing was changed."
            )
        return Withdraw(day=day) if word.lower() == "withdraw" else ListApologies(day=day)
    day, reason = take_date(text, today=today)
    return Send(day=day, reason=reason)


DEPUTIES = (
    "The terms of reference ask members to attend in person and to avoid sending deputies, "
    "so send a substitute only when you must."
)


def handle(context: Context, text: str) -> str | Reply:
    intent = parse(text, today=context.today)
    person = context.require_person()
    if intent == Send(day=None, reason=""):
        return Reply(text="", form=open_form(context))
    scope = groups.in_scope_to_read(context.session, person=person, channel_id=context.channel_id)
    earlier = None
    if isinstance(intent, Send):  # the meeting and the person's earlier apology to it, together
        meeting, earlier = apologies.find_to_send(
            context.session, person=person, groups=scope, day=intent.day, now=context.now, zone=context.zone
        )
    else:
        meeting = meetings.find_to_read(
            context.session, groups=scope, day=intent.day, now=context.now, zone=context.zone
        )
    where = group_meeting(meeting, context.zone)
    match intent:
        case Send():
            sent = apologies.send(
                context.session,
                now=context.now,
                partnership=context.partnership,
                person=person,
                meeting=meeting,
                reason=intent.reason,
                earlier=earlier,
                typed=True,
            )
            running = _under_way(context, scope) if intent.day is None else ""
            if sent.updated and not intent.reason:
                return f"Your apologies for {where} were already in: they stand as they were.{running}"
            first = (
                f"Your apologies for {where} were already in: your reason is updated."
                if sent.updated
                else f"Apologies sent for {where}."
            )
            private = (
                " Your reason is seen only by you, the officers and the chair."
                if intent.reason
                else " No reason given: add one with `/apologies REASON` if you like."
            )
            return first + private + running
        case Withdraw():
            if not apologies.withdraw(context.session, now=context.now, person=person, meeting=meeting):
                return f"You had sent no apologies for {where}, so there was nothing to withdraw."
            return f"Apologies withdrawn for {where}: you are expected after all."
        case ListApologies():
            return _list(context, meeting, where)


def _under_way(context: Context, scope: list[Group]) -> str:
    """Apologies sent without a date go to the next meeting not yet started; typed
    while one of the person's meetings is running ("running late"), they may have
    meant that one: said, with how to take these back."""
    running = meetings.under_way(context.session, groups=scope, now=context.now)
    if running is None:
        return ""
    return (
        f" The {running.group.name} meeting is under way now ({meeting_when(running, context.zone)}): if you "
        "meant that one, it is too late to send apologies for it, so tell its chair or an officer, and "
        "`/apologies withdraw` takes these back."
    )


def _list(context: Context, meeting: meetings.Scheduled, where: str) -> str:
    if meeting.status == "cancelled":
        where += " (cancelled)"
    received = apologies.for_meeting(context.session, meeting)
    if not received:
        return f"No apologies yet for {where}."
    # A reason is seen by the officers and the chair, and by whoever gave it.
    sees_reasons = groups.is_officer(context.session, context.person, meeting.group)
    me = context.person.id if context.person is not None else None
    lines = []
    for apology in received:
        line = f"• {apology.person.name}"
        if apology.substitute:
            line += f" (substitute: {apology.substitute})"
        if apology.reason and (sees_reasons or apology.person_id == me):
            line += f" — {apology.reason}"
        lines.append(line)
    return f"Apologies for {where} ({len(received)}):\n" + "\n".join(lines)


def open_form(context: Context) -> Form:
    """The apologies form: the upcoming meetings of the person's groups, soonest first."""
    person = context.require_person()
    scope = groups.in_scope(context.session, person=person, channel_id=context.channel_id)
    upcoming = meetings.upcoming(context.session, groups=scope, now=context.now)
    if not upcoming:
        names = ", ".join(g.name for g in scope) or "none of your groups"
        raise UserError(
            f"There is no upcoming meeting of {names} to send apologies for. Nothing was changed."
        )
    choices = tuple(Choice(value=str(m.id), label=_choice_label(context, m)) for m in upcoming)
    # Sent already to the meeting preset: the form shows what was sent, so that
    # sending it again changes only what is changed in it.
    sent = apologies.of_person(context.session, person=person, meeting=upcoming[0])
    return Form(
        name="apologies",
        title="Send apologies",
        submit_label="Send",
        fields=(
            Field(name="meeting", label="Meeting", kind="choice", choices=choices, preset=choices[0].value),
            Field(
                name="reason",
                label="Reason",
                kind="long_text",
                optional=True,
                hint="Seen only by you, the officers and the chair; never posted to a channel.",
                max_length=apologies.MAX_REASON,
                preset=(sent.reason or "") if sent else "",
            ),
            Field(
                name="substitute",
                label="Substitute",
                optional=True,
                hint=DEPUTIES,
                max_length=apologies.MAX_SUBSTITUTE,
                preset=(sent.substitute or "") if sent else "",
            ),
        ),
    )


def submit_form(context: Context, values: dict[str, str], state: dict[str, str]) -> str:
    """The apologies form, sent: the same as `/apologies DATE REASON`, with a substitute."""
    person = context.require_person()
    scope = groups.in_scope(context.session, person=person, channel_id=context.channel_id)
    upcoming = {str(m.id): m for m in meetings.upcoming(context.session, groups=scope, now=context.now)}
    meeting = upcoming.get(values.get("meeting", "").strip())
    errors = {}
    if meeting is None:
        errors["meeting"] = "Choose one of your upcoming meetings."
    reason = values.get("reason", "").strip()
    substitute = values.get("substitute", "").strip()
    if len(reason) > apologies.MAX_REASON:
        errors["reason"] = f"At most {apologies.MAX_REASON} characters, please (this is {len(reason)})."
    if len(substitute) > apologies.MAX_SUBSTITUTE:
        errors["substitute"] = f"At most {apologies.MAX_SUBSTITUTE} characters, please."
    if errors or meeting is None:
        raise FieldErrors(errors)
    sent = apologies.send(
        context.session,
        now=context.now,
        partnership=context.partnership,
        person=person,
        meeting=meeting,
        reason=reason,
        substitute=substitute or None,
    )
    where = group_meeting(meeting, context.zone)
    first = (
        f"Your apologies for {where} were already in: they are updated."
        if sent.updated
        else f"Apologies sent for {where}."
    )
    if substitute:
        first += f" Substitute: {substitute}. {DEPUTIES}"
    return first


def _choice_label(context: Context, meeting: Meeting) -> str:
    start = context.local(meeting.starts_at)
    return f"{format_date(start.date())} {format_time(start)} — {meeting.group.name}"


COMMAND = Command(name="/apologies", help=HELP, handle=handle, reading=frozenset({"list"}))
FORM = FormSpec(name="apologies", submit=submit_form, open=open_form)
