"""/meeting: when and where the next meetings are, and what is due before them."""

from __future__ import annotations

from bot.commands import attendance, calendar, meeting_changes, minutes
from bot.commands.core import Command, Context, Reply
from bot.commands.lines import meeting_line, meeting_when, meeting_where
from services import apologies, groups, meetings
from services.dates import format_date
from services.errors import UserError
from services.text import clip
from storage.models import Group

HELP = """*/meeting* — the group's meetings
• `/meeting` or `/meeting next` — the next meeting: when, where, agenda deadlines, apologies so far, a calendar link
• `/meeting list` — upcoming meetings, e.g. `/meeting list` in #board for the Board's
• `/meeting add DATE [TIME] [at PLACE or link]`, several at once: `/meeting add 16 Jun 2015, 15 Sep 2015, 15 Dec 2015`
• `/meeting move DATE to DATE [TIME] [at PLACE]`, `/meeting cancel DATE` (officers and the chair)
• `/meeting attendance DATE` — the attendance form; `/meeting attendance DATE absent WHO...` (or `present`, `apologies`, `in attendance`)
• `/meeting interest DATE ITEM NATURE` — declare an interest in agenda item ITEM
• `/meeting minutes DATE` — the draft minutes skeleton
In a group's channel these mean that group; elsewhere, all of your groups."""

VERBS = {
    "add": meeting_changes.add,
    "move": meeting_changes.move,
    "cancel": meeting_changes.cancel,
    "attendance": attendance.handle,
    "interest": minutes.interest,
    "minutes": minutes.draft,
}


def handle(context: Context, text: str) -> str | Reply:
    verb = text.strip().lower()
    if verb in ("", "next"):
        return _next(context)
    if verb == "list":
        return _list(context)
    first, _, rest = text.strip().partition(" ")
    if first.lower() in VERBS:
        return VERBS[first.lower()](context, rest.strip())
    first = first.lower()
    if first in ("next", "list"):
        raise UserError(
            f"`/meeting {first}` takes nothing after it (`/meeting help` shows the rest). Nothing was changed."
        )
    raise UserError(
        f"I don't know `/meeting {clip(first, 30)}`: try `/meeting next`, `/meeting list` "
        "or `/meeting help`. Nothing was changed."
    )


def _scope(context: Context) -> list[Group]:
    scope = groups.in_scope(context.session, person=context.person, channel_id=context.channel_id)
    return scope or groups.every(context.session)


def _next(context: Context) -> str:
    # Read as plain rows: `/meeting next` is asked more than anything else.
    session = context.session
    scope = groups.in_scope_to_read(session, person=context.person, channel_id=context.channel_id)
    scope = scope or groups.every_to_read(session)
    feeds = calendar.feeds_published(context)
    meeting, received = apologies.next_with_received(
        session, groups=scope, now=context.now, zone=context.zone, feed=feeds
    )
    if meeting is None:
        return f"No upcoming meetings for {_names(scope)}."
    deadlines = meetings.Deadlines.of(meeting, context.zone)
    lines = [
        f"*Next meeting: {meeting.group.name}*",
        f"When: {meeting_when(meeting, context.zone)}",
        f"Where: {meeting_where(meeting)}",
        "Agenda: " + _agenda_state(context, meeting, deadlines),
        "Apologies so far: " + _apologies(received),
    ]
    if feeds:
        links = calendar.stored_group_links(context, meeting.group_feed)
        lines.append(
            f"Calendar: {links.https} (every {meeting.group.name} meeting)"
            if links
            else "Calendar: `/calendar` gives you a link to every meeting of your groups"
        )
    return "\n".join(lines)


def _agenda_state(context: Context, meeting: meetings.Upcoming, deadlines: meetings.Deadlines) -> str:
    if meeting.agenda_published_at is not None:
        published = context.local(meeting.agenda_published_at).date()
        return f"published {format_date(published)}"
    items = meeting.agenda_items
    today = context.today
    due = format_date(deadlines.items_due) + (" (passed)" if deadlines.items_due < today else "")
    publish = format_date(deadlines.publish_by) + (" (passed)" if deadlines.publish_by < today else "")
    return (
        f"draft, {items} item{'s' if items != 1 else ''} submitted; items due by {due}; "
        f"to be published by {publish}"
    )


def _apologies(received: list[apologies.Received]) -> str:
    if not received:
        return "none"
    names = [f"{a.name} (substitute: {a.substitute})" if a.substitute else a.name for a in received]
    return f"{len(received)} — " + ", ".join(names)


def _list(context: Context) -> str:
    scope = _scope(context)
    found = meetings.upcoming(
        context.session, groups=scope, now=context.now, limit=meetings.UPCOMING_LIMIT + 1
    )
    if not found:
        return f"No upcoming meetings for {_names(scope)}."
    more = len(found) > meetings.UPCOMING_LIMIT
    found = found[: meetings.UPCOMING_LIMIT]
    counts = meetings.apology_counts(context.session, found)
    lines = []
    for meeting in found:
        line = f"• {meeting_line(meeting, context.zone, named=len(scope) > 1)}"
        if count := counts.get(meeting.id):
            line += f" — {count} {'apology' if count == 1 else 'apologies'}"
        lines.append(line)
    if more:
        last = format_date(context.local(found[-1].starts_at).date())
        more_line = f"…and more after {last}"
        if calendar.feeds_published(context):
            more_line += ": `/calendar` gives you a link to all of them"
        lines.append(more_line + ".")
    return f"Upcoming meetings of {_names(scope)}:\n" + "\n".join(lines)


def _names(scope: list[Group]) -> str:
    return ", ".join(g.name for g in scope) or "any group"


COMMAND = Command(
    name="/meeting",
    help=HELP,
    handle=handle,
    reading=frozenset({"", "next", "list"}),
    changing=frozenset(VERBS),
)
