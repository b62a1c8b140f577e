"""One message per person per run: an owner's due-soon and overdue actions
together (each with Done, Snooze a week and New due date), the free-text
owners' actions an officer chases, and escalations to workstream leads."""

from __future__ import annotations

from collections import defaultdict

from bot.commands.shapes import Message, Section
from bot.jobs import due_soon, escalation, overdue
from bot.jobs.notice import Notice
from bot.jobs.outgoing import Outgoing
from bot.jobs.timing import Run
from services.chasing import Chasing
from services.dates import format_date

MAX_SECTIONS = 20  # Slack allows 50 blocks; each action is a section and its buttons


def due(run: Run, chasing: Chasing, recorded: set[str]) -> list[Outgoing]:
    """A message for each person with reminders due and not yet recorded."""
    fresh = [
        notice
        for notice in [
            *overdue.notices(run, chasing),
            *due_soon.notices(run, chasing),
            *escalation.notices(run, chasing),
        ]
        if notice.key not in recorded
    ]
    by_person: dict[int, list[Notice]] = defaultdict(list)
    for notice in fresh:
        by_person[notice.person.id].append(notice)
    found = []
    for notices in by_person.values():
        person = notices[0].person
        found.append(
            Outgoing(
                key=f"nudges:{person.key}:{run.today.isoformat()}",
                kind="direct",
                target=person.slack_user_id,
                message=compose(notices, run),
                reminders=tuple(sorted(n.key for n in notices)),
                person=person.key,
            )
        )
    return found


def compose(notices: list[Notice], run: Run) -> Message:
    shown: dict[int, Notice] = {}
    for notice in sorted(notices, key=lambda n: n.sort_key):
        shown.setdefault(notice.action.id, notice)  # one section per action
    ordered = list(shown.values())
    overdue_count = sum(n.kind == "overdue" for n in ordered)
    soon_count = sum(n.kind == "due-soon" for n in ordered)
    escalated = sum(n.kind == "escalation" for n in ordered)
    parts = []
    if overdue_count:
        parts.append(f"{overdue_count} overdue")
    if soon_count:
        parts.append(f"{soon_count} due soon")
    if escalated:
        parts.append(f"{escalated} escalated to you")
    headline = f"*Actions to chase*, {format_date(run.today)}: {', '.join(parts)}."
    sections = [n.section() for n in ordered[:MAX_SECTIONS]]
    if len(ordered) > MAX_SECTIONS:
        sections.append(Section(f"…and {len(ordered) - MAX_SECTIONS} more: `/action list` shows them all."))
    # The headline alone is the message's text: Slack shows the text above the
    # sections, and uses it alone for the notification.
    return Message(headline, tuple(sections))
