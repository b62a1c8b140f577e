"""Publish the agenda: 09:00, the day before the publication deadline (the
working day before, if that is a weekend or bank holiday), to the group's
officers, while the agenda is unpublished."""

from __future__ import annotations

from datetime import timedelta

from bot.commands.shapes import Message
from bot.jobs.meetings_ahead import MeetingsAhead, day_word, title
from bot.jobs.outgoing import Outgoing
from bot.jobs.timing import Run


def due(run: Run, ahead: MeetingsAhead) -> list[Outgoing]:
    if not run.is_working_day:
        return []
    found = []
    for meeting in ahead.meetings:
        deadline = ahead.deadlines[meeting.id].publish_by
        day = run.days.on_or_before(deadline - timedelta(days=1))
        if meeting.agenda_published_at is not None or not run.is_due_on(day) or run.today >= deadline:
            continue
        text = (
            f"*Publish the agenda* for the {title(meeting, run)} by {day_word(deadline, run)}: "
            f"the terms of reference ask for it no less than {meeting.group.publish_days} days "
            "before the meeting. `/agenda` shows the draft; `/agenda publish` sends it to the group."
        )
        for officer in ahead.officers(meeting):
            key = f"agenda-publish:{meeting.id}:{deadline.isoformat()}:{officer.key}"
            found.append(
                Outgoing(
                    key=key,
                    kind="direct",
                    target=officer.slack_user_id,
                    message=Message(text),
                    person=officer.key,
                )
            )
    return found
