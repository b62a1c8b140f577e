"""/apologies: sending apologies for absence, without e-mailing the clerk."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from bot.commands.core import Command, Context
from bot.commands.dates import take_date
from bot.commands.lines import group_meeting
from services import apologies, groups, meetings
from services.errors import UserError
from storage.models import Meeting

HELP = """*/apologies* — apologies for absence
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


def handle(context: Context, text: str) -> str:
    intent = parse(text, today=context.today)
    person = context.require_person()
    scope = groups.in_scope(context.session, person=person, channel_id=context.channel_id)
    meeting = meetings.find(context.session, groups=scope, day=intent.day, now=context.now, zone=context.zone)
    where = group_meeting(meeting, context.zone)
    if intent == Send(day=None, reason=""):
        return (
            f"Your next meeting is {where}. To send apologies: `/apologies REASON`, or "
            "`/apologies DATE REASON` for another meeting. Nothing was sent."
        )
    match intent:
        case Send():
            sent = apologies.send(
                context.session,
                now=context.now,
                partnership=context.partnership,
                person=person,
                meeting=meeting,
                reason=intent.reason,
            )
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
            return first + private
        case Withdraw():
            if not apologies.withdraw(context.session, now=context.now, person=person, meeting=meeting):
                return f"You had sent no apologies for {where}, so there was nothing to withdraw."
            return f"Apologies withdrawn for {where}: you are expected after all."
        case ListApologies():
            return _list(context, meeting, where)


def _list(context: Context, meeting: Meeting, where: str) -> str:
    received = apologies.for_meeting(context.session, meeting)
    if not received:
        return f"No apologies yet for {where}."
    sees_reasons = groups.is_officer(context.session, context.person, meeting.group)
    lines = []
    for apology in received:
        line = f"• {apology.person.name}"
        if apology.substitute:
            line += f" (substitute: {apology.substitute})"
        if sees_reasons and apology.reason:
            line += f" — {apology.reason}"
        lines.append(line)
    return f"Apologies for {where} ({len(received)}):\n" + "\n".join(lines)


COMMAND = Command(name="/apologies", help=HELP, handle=handle)
