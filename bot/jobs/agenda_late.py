"""Agenda not published: 09:00 on the publication deadline itself (weekend or
not), if the agenda is still unpublished, to the group's officers and chair;
caught up after downtime over that morning, it says the agenda is late."""

from __future__ import annotations

from bot.commands.shapes import Message
from bot.jobs.meetings_ahead import MeetingsAhead, title
from bot.jobs.outgoing import Outgoing
from bot.jobs.timing import Run
from services.dates import format_date


def due(run: Run, ahead: MeetingsAhead) -> list[Outgoing]:
    found = []
    for meeting in ahead.meetings:
        deadline = ahead.deadlines[meeting.id].publish_by
        if meeting.agenda_published_at is not None or not run.is_due_on(deadline):
            continue
        rule = f"{meeting.group.publish_days} days before the meeting, as the terms of reference ask"
        if run.today > deadline:  # caught up after downtime over the deadline's morning
            text = (
                f"*The agenda is late* for the {title(meeting, run)}: {format_date(deadline)} was the "
                f"last day to circulate it ({rule}). `/agenda publish` sends it now, marked as late."
            )
        else:
            text = (
                f"*The agenda is not published* for the {title(meeting, run)}. "
                f"{format_date(deadline)} is the last day to circulate it ({rule}). "
                "`/agenda publish` sends it now; after today it is marked as late."
            )
        recipients = {p.id: p for p in [*ahead.officers(meeting), *ahead.chairs(meeting)]}
        for person in recipients.values():
            found.append(
                Outgoing(
                    key=f"agenda-late:{meeting.id}:{deadline.isoformat()}:{person.key}",
                    kind="direct",
                    target=person.slack_user_id,
                    message=Message(text),
                    person=person.key,
                )
            )
    return found
