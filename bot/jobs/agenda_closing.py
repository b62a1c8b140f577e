"""Agenda items close tomorrow: 09:00, the day before the items deadline (the
working day before, if that is a weekend or bank holiday), to the group's channel."""

from __future__ import annotations

from datetime import timedelta

from bot.commands.shapes import Message
from bot.jobs.meetings_ahead import MeetingsAhead, day_word, title
from bot.jobs.outgoing import Outgoing
from bot.jobs.timing import Run

DAYS_BEFORE_ITEMS_DEADLINE = 1


def due(run: Run, ahead: MeetingsAhead) -> list[Outgoing]:
    if not run.is_working_day:
        return []
    found = []
    for meeting in ahead.meetings:
        deadline = ahead.deadlines[meeting.id].items_due
        day = run.days.on_or_before(deadline - timedelta(days=DAYS_BEFORE_ITEMS_DEADLINE))
        if not meeting.group.channel or not run.is_due_on(day) or run.today > deadline:
            continue
        text = (
            f"*Agenda items close {day_word(deadline, run)}* for the {title(meeting, run)}.\n"
            "Add yours with `/agenda add TITLE -- PURPOSE` before the end of that day; "
            "after it, ask an officer."
        )
        found.append(
            Outgoing(
                key=f"agenda-closing:{meeting.id}:{deadline.isoformat()}",
                kind="channel",
                target=meeting.group.channel,
                message=Message(text),
            )
        )
    return found
