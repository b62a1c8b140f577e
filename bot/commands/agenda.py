"""/agenda: the next meeting's draft agenda; members submit items, officers publish."""

from __future__ import annotations

import re
from typing import Any

from bot.commands.core import Command, Context
from bot.commands.meeting_changes import changing_group, describe
from services import agenda, groups, meetings, outbox
from services.dates import format_date
from services.errors import UserError
from services.text import clip
from storage.models import Delivery, Meeting

HELP = """*/agenda* — the next meeting's agenda
• `/agenda` — the draft, with the item and publication deadlines
• `/agenda add TITLE [-- PURPOSE]`, e.g. `/agenda add Locality plan -- for decision`; `/agenda add restricted [para N] TITLE` for exempt information
• `/agenda remove N` (officers; whoever added it, until the agenda goes out), `/agenda publish` (officers); published again, it posts the revised agenda
In a group's channel these mean that group's next meeting; elsewhere, your next meeting (an officer removing or publishing: that of the one group you are an officer of)."""

_RESTRICTED = re.compile(
    r"^restricted(?:\s+(?:para(?:graph)?\.?\s*(\S+)))?\s*(.*)$", re.IGNORECASE | re.DOTALL
)


def handle(context: Context, text: str) -> str:
    verb, _, rest = text.strip().partition(" ")
    verb = verb.lower()
    if verb in ("", "show"):
        if rest.strip():
            raise UserError(
                "`/agenda` shows the next meeting's agenda and takes nothing after it. Nothing was changed."
            )
        return _show(context, *_meeting_to_show(context))
    if verb == "add":
        return _add(context, rest)
    if verb == "remove":
        return _remove(context, rest)
    if verb == "publish":
        if rest.strip():
            raise UserError("`/agenda publish` takes nothing after it. Nothing was changed.")
        return _publish(context)
    raise UserError(
        f"I don't know `/agenda {clip(verb, 30)}`: try `/agenda`, `/agenda add TITLE`, `/agenda remove N` "
        "or `/agenda publish`. Nothing was changed."
    )


def _meeting_to_change(context: Context, doing: str) -> Meeting:
    """For what only officers do (remove, publish): the next meeting of the group
    whose channel it is typed in, or of the one group the person is an officer of;
    an officer of several is asked which, rather than changing another group's
    agenda (publishing posts it to that group's channel)."""
    group = changing_group(context, doing)
    return meetings.find(context.session, groups=[group], day=None, now=context.now, zone=context.zone)


def _meeting_and_others(context: Context, doing: str = "add") -> tuple[Meeting, str]:
    """The meeting, and what to tell someone of several groups who typed outside
    their channels, where it is the soonest of all their groups' meetings: how
    to reach another group's agenda ("" in a group's channel)."""
    person = context.require_person()
    scope = groups.in_scope(context.session, person=person, channel_id=context.channel_id)
    meeting = meetings.find(context.session, groups=scope, day=None, now=context.now, zone=context.zone)
    others = f" For another of your groups, type `/agenda {doing}` in its channel." if len(scope) > 1 else ""
    return meeting, others


def _meeting_to_show(context: Context) -> tuple[meetings.Upcoming, list[Any]]:
    """`_meeting` as a plain row, for `/agenda` itself, which only shows it; and
    what its agenda reads (`agenda.drafted`), asked with it."""
    person = context.require_person()
    scope = groups.in_scope_to_read(context.session, person=person, channel_id=context.channel_id)
    return meetings.find_to_read_with(
        context.session,
        groups=scope,
        day=None,
        now=context.now,
        zone=context.zone,
        about=agenda.drafted,
        parameters={},
    )


def render(
    context: Context, meeting: meetings.Scheduled, *, officer: bool, read: list[Any] | None = None
) -> str:
    lines = agenda.draft(context.session, meeting=meeting, zone=context.zone, officer=officer, read=read)
    body = []
    for line in lines:
        row = f"{line.number}. {line.title}"
        if line.detail:
            row += f" — _{line.detail}_"
        body.append(row)
    return "\n".join(body)


def deadlines_line(context: Context, meeting: meetings.Scheduled) -> str:
    deadlines = meetings.Deadlines.of(meeting, context.zone)
    if meeting.agenda_published_at is not None:
        return f"Published {format_date(context.local(meeting.agenda_published_at).date())}."
    due = format_date(deadlines.items_due) + (" (passed)" if deadlines.items_due < context.today else "")
    publish = format_date(deadlines.publish_by) + (
        " (passed)" if deadlines.publish_by < context.today else ""
    )
    return f"Items due by {due}; to be published by {publish}."


def _show(context: Context, meeting: meetings.Scheduled, read: list[Any] | None = None) -> str:
    officer = groups.is_officer(context.session, context.person, meeting.group)
    state = "Agenda" if meeting.agenda_published_at else "Draft agenda"
    return (
        f"*{state}: {meeting.group.name}, {describe(meeting, context.zone)}*\n"
        f"{deadlines_line(context, meeting)}\n{render(context, meeting, officer=officer, read=read)}"
    )


def _add(context: Context, text: str) -> str:
    text = text.strip()
    restricted, paragraph = False, None
    found = _RESTRICTED.match(text)
    if found and (text.lower() == "restricted" or text[len("restricted") :][:1].isspace()):
        restricted = True
        if found.group(1) is not None:
            if not found.group(1).isdigit():
                raise UserError(
                    f"'para {clip(found.group(1), 10)}' is not a paragraph number: type e.g. "
                    "`/agenda add restricted para 3 Asset disposal`. Nothing was changed."
                )
            paragraph = int(found.group(1))
        text = found.group(2).strip()
    title, _, purpose = text.partition("--")
    meeting, others = _meeting_and_others(context)
    person = context.require_person()
    try:
        item, number = agenda.add(
            context.session,
            person=person,
            meeting=meeting,
            title=title,
            purpose=" ".join(purpose.split()) or None,
            restricted=restricted,
            paragraph=paragraph,
            now=context.now,
            zone=context.zone,
        )
    except UserError as refused:
        if others:
            refused.message += others
        raise
    officer = groups.is_officer(context.session, person, meeting.group)
    shown = (
        f"{item.title} ({agenda.restricted_label(item.restricted_paragraph, officer=officer)})"
        if restricted
        else item.title
    )
    when = format_date(meetings.local_date(meeting, context.zone))
    late = ""
    deadlines = meetings.Deadlines.of(meeting, context.zone)
    if context.today > deadlines.items_due:
        late = f" (after the item deadline of {format_date(deadlines.items_due)}: added as an officer)"
    return f"Item {number} added to the {meeting.group.name} agenda for {when}: {shown}{late}.{_after_publication(context, meeting)}{others}"


def _remove(context: Context, text: str) -> str:
    if not text.strip():
        raise UserError(
            "Which item? Give its number as `/agenda` shows it, e.g. `/agenda remove 3`. Nothing was changed."
        )
    person = context.require_person()
    others = ""
    if groups.by_channel(context.session, context.channel_id) is None and not groups.is_officer(
        context.session, person
    ):
        # A member's own item, outside a channel: where `/agenda add` put it.
        meeting, others = _meeting_and_others(context, "remove")
    else:
        meeting = _meeting_to_change(context, "remove agenda items")
    try:
        item = agenda.remove(
            context.session, person=person, meeting=meeting, number=text, now=context.now, zone=context.zone
        )
    except UserError as refused:
        refused.message += others
        raise
    officer = groups.is_officer(context.session, context.person, meeting.group)
    title = item.title if not item.restricted or officer else "Restricted item"
    return (
        f"Item {text.strip()} ({title}) removed from the {meeting.group.name} agenda. Later items move up."
        + _after_publication(context, meeting)
    )


def _publish(context: Context) -> str:
    meeting = _meeting_to_change(context, "publish agendas")
    body = render(context, meeting, officer=False)
    if meeting.agenda_published_at is not None:
        _unless_unchanged(context, meeting, body)
    published = agenda.publish(
        context.session, person=context.require_person(), meeting=meeting, now=context.now, zone=context.zone
    )
    revised = published.revision > 0
    late = (
        f" Late: the terms of reference ask for {agenda.days_in_words(published.deadline_days)} days."
        if published.late and not revised
        else ""
    )
    channel, key = meeting.group.channel, _posted_key(meeting, published.revision)
    if channel and not context.post_once(
        channel, _posted(context, meeting, body, revision=published.revision), key
    ):
        # Another officer's publication was being committed as this one was typed.
        raise _already_went(context, meeting, outbox.queued(context.session, key))
    where = (
        "posted to the group's channel" if meeting.group.channel else "recorded (the group has no channel)"
    )
    when = format_date(meetings.local_date(meeting, context.zone))
    if revised:
        first = format_date(context.local(published.first_published_at).date())
        return (
            f"Revised agenda of the {meeting.group.name} meeting on {when} {where} (first published {first})."
        )
    return f"Agenda of the {meeting.group.name} meeting on {when} published and {where}.{late}"


def _posted(context: Context, meeting: Meeting, body: str, *, revision: int) -> str:
    """The agenda as the group's channel is sent it: revision 0 the agenda, later ones revised."""
    heading = f"*{'Revised agenda' if revision else 'Agenda'}: {meeting.group.name}, {describe(meeting, context.zone)}*"
    return f"{heading}\n{body}"


def _posted_key(meeting: Meeting, revision: int) -> str:
    return f"agenda-published:{meeting.id}:{revision}"


def _unless_unchanged(context: Context, meeting: Meeting, body: str) -> None:
    """Publishing again posts a revision: refused when it would post what the
    channel was last sent word for word (a second officer answering the same
    reminder). One that Slack refused for good (`partnerbot deliveries --failed`)
    may be published again."""
    last = outbox.queued(context.session, _posted_key(meeting, meeting.agenda_revision))
    if last is None or last.status == "failed":
        return
    if last.payload.get("text") == _posted(context, meeting, body, revision=meeting.agenda_revision):
        raise _already_went(context, meeting, last)


def _already_went(context: Context, meeting: Meeting, last: Delivery | None) -> UserError:
    """The agenda is in the channel already, as it stands: when it went (or since
    when it is on its way) and who sent it."""
    went = "is in the group's channel already"
    if last is not None:
        by = agenda.last_published_by(context.session, meeting)
        queued = context.local(last.created_at)
        when = f"{format_date(queued.date())} at {queued:%H:%M}{f' (by {by})' if by else ''}"
        went = (
            f"went to the group's channel on {when}"
            if last.status == "sent"
            else f"has been on its way to the group's channel since {when}"
        )
    return UserError(
        f"The agenda of the {meeting.group.name} meeting on {format_date(meetings.local_date(meeting, context.zone))} "
        f"{went}, and nothing on it has changed since, so it was not posted again. Nothing was changed."
    )


def _after_publication(context: Context, meeting: Meeting) -> str:
    """What an item added or removed after the agenda went out leaves to do."""
    if meeting.agenda_published_at is None:
        return ""
    published = format_date(context.local(meeting.agenda_published_at).date())
    return f" The agenda was published on {published}: `/agenda publish` (officers) posts the revised one."


COMMAND = Command(
    name="/agenda",
    help=HELP,
    handle=handle,
    reading=frozenset({"", "show"}),
    changing=frozenset({"add", "remove", "publish"}),
)
