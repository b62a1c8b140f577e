"""Call for agenda items: 09:00, the items deadline minus 4 days (the working day
before, if that is a weekend or bank holiday), to the group's channel. One
caught up (after downtime) on or after the day that "items close tomorrow" is
due is left out: that one says the same, and when."""

from __future__ import annotations

from datetime import timedelta

from bot.commands.shapes import Message
from bot.jobs import agenda_closing
from bot.jobs.meetings_ahead import MeetingsAhead, title
from bot.jobs.outgoing import Outgoing
from bot.jobs.timing import Run
from services.dates import format_date

DAYS_BEFORE_ITEMS_DEADLINE = 4


def due(run: Run, ahead: MeetingsAhead) -> list[Outgoing]:
    if not run.is_working_day:
        return []
    found = []
    for meeting in ahead.meetings:
        deadlines = ahead.deadlines[meeting.id]
        day = run.days.on_or_before(deadlines.items_due - timedelta(days=DAYS_BEFORE_ITEMS_DEADLINE))
        closing = run.days.on_or_before(
            deadlines.items_due - timedelta(days=agenda_closing.DAYS_BEFORE_ITEMS_DEADLINE)
        )
        if not meeting.group.channel or not run.is_due_on(day) or run.today >= closing:
            continue
        text = (
            f"*Call for agenda items*: {title(meeting, run)}.\n"
            f"Send items by the end of {format_date(deadlines.items_due)} with "
            "`/agenda add TITLE -- PURPOSE`; "
            f"the agenda goes out by {format_date(deadlines.publish_by)}."
        )
        found.append(
            Outgoing(
                key=f"agenda-call:{meeting.id}:{deadlines.items_due.isoformat()}",
                kind="channel",
                target=meeting.group.channel,
                message=Message(text),
            )
        )
    return found
