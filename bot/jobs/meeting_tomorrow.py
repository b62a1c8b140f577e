"""Meeting tomorrow: 09:00 the day before (weekend or not), to the group's
channel: time, place, and apologies so far as a count and names. Reasons are
private and never posted."""

from __future__ import annotations

from datetime import timedelta

from bot.commands.lines import meeting_where
from bot.commands.shapes import Message
from bot.jobs.meetings_ahead import MeetingsAhead, title
from bot.jobs.outgoing import Outgoing
from bot.jobs.timing import Run
from services import meetings


def due(run: Run, ahead: MeetingsAhead) -> list[Outgoing]:
    found = []
    for meeting in ahead.meetings:
        day = meetings.local_date(meeting, run.zone)
        if not meeting.group.channel or not run.is_due_on(day - timedelta(days=1)) or run.today >= day:
            continue
        names = [apology.person.name for apology in ahead.apologies.get(meeting.id, [])]
        sent = f"Apologies so far: {len(names)} ({', '.join(names)})." if names else "No apologies so far."
        text = (
            f"*Meeting tomorrow*: {title(meeting, run)}.\n"
            f"Where: {meeting_where(meeting)}.\n"
            f"{sent} Can't come? `/apologies` before the meeting."
        )
        found.append(
            Outgoing(
                key=f"meeting-tomorrow:{meeting.id}:{day.isoformat()}",
                kind="channel",
                target=meeting.group.channel,
                message=Message(text),
            )
        )
    return found
