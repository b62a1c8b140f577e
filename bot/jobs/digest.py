"""The weekly digest: on the partnership's digest day and time, to the
partnership channel (caught up for at most 12 hours). Readable at a glance:
a header per section, dates as `Tue 21 Apr 2015`, owners named, statuses as
coloured marks; empty sections left out; within Slack's limits at any size."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from bot.commands.lines import RAG_MARK
from bot.commands.shapes import Message, Section
from bot.jobs.outgoing import Outgoing
from bot.jobs.timing import DIGEST_CATCH_UP, Run
from services import digest as digest_service
from services import meetings
from services.attendance import LABELS, Flag
from services.dates import format_date, format_time
from services.digest import Capped, Digest
from services.text import clip
from storage.models import Partnership

MAX_LINE = 200  # characters of any one line
MAX_SECTION = 3000  # Slack's limit on a section's text
assert (digest_service.LIMIT + 2) * (MAX_LINE + 1) < MAX_SECTION  # so every section fits
MAX_OVERDUE_WHAT = 60  # characters of what an overdue action is, beside its ref
MAX_DECISION = 90  # characters of a decision needed, so that its line keeps it
MAX_PLACE = 40  # characters of a meeting's place, so that its line keeps its deadlines


def key_for(partnership: Partnership, run: Run) -> str | None:
    """The key of the digest due at this run, or None if none is due."""
    moment = digest_service.digest_time(partnership, run.now)
    if not run.is_due(moment, DIGEST_CATCH_UP):
        return None
    return digest_service.key_of(moment.astimezone(run.zone).date())


def due(session: Session, partnership: Partnership, run: Run, key: str) -> Outgoing | None:
    if not partnership.channel:
        return None
    moment = digest_service.digest_time(partnership, run.now)
    built = digest_service.build(
        session,
        partnership=partnership,
        now=run.now,
        since=digest_service.since_the_one_before(session, partnership, moment),
    )
    return Outgoing(key=key, kind="channel", target=partnership.channel, message=render(built))


def build_now(session: Session, partnership: Partnership, now: datetime) -> Digest:
    """This week's digest as it stands now (for `/digest`)."""
    since = digest_service.since_the_last(session, partnership, now)
    return digest_service.build(session, partnership=partnership, now=now, since=since)


def render(digest: Digest) -> Message:
    sections = [
        section
        for section in (
            _meetings(digest),
            _capped("Due in the next 7 days", digest.due_soon, _action_line),
            _overdue(digest),
            _capped(
                f"Done since {_day(digest.since, digest)}",
                digest.done,
                lambda a: _action_line(a, done=True),
            ),
            _capped(f"Workstream updates since {_day(digest.since, digest)}", digest.updates, _update_line),
            _capped("No update for 28 days", digest.silent, lambda s: _silent_line(s, digest)),
            _attendance(digest),
        )
        if section is not None
    ]
    headline = f"*Weekly digest*, {format_date(digest.today)}"
    if not sections:
        sections = [Section("Nothing to report this week: no meetings, due or overdue actions, or updates.")]
    # The headline alone is the message's text: Slack shows the text above the
    # sections, and uses it alone for the notification.
    return Message(headline, tuple(sections))


def _section(header: str, lines: list[str], more: int = 0) -> Section | None:
    if not lines:
        return None
    lines = [clip(line, MAX_LINE) for line in lines]
    if more:
        lines.append(f"…and {more} more")
    # At most LIMIT + 1 lines of MAX_LINE characters: well within MAX_SECTION.
    return Section(f"*{header}*\n" + "\n".join(lines))


def _capped(header: str, capped: Capped, line) -> Section | None:
    return _section(header, [line(row) for row in capped.rows], capped.more)


def _day(moment: datetime, digest: Digest) -> str:
    return format_date(moment.astimezone(digest.zone).date())


def _meetings(digest: Digest) -> Section | None:
    lines = []
    for ahead in digest.meetings[: digest_service.LIMIT]:
        meeting = ahead.meeting
        local = meeting.starts_at.astimezone(digest.zone)
        deadlines = ahead.deadlines
        if meeting.agenda_published_at:
            agenda = "agenda published"
        elif deadlines.publish_by < digest.today:
            agenda = f"*agenda not out* (due {format_date(deadlines.publish_by)})"
        else:
            agenda = f"agenda out by {format_date(deadlines.publish_by)}"
        items_due = format_date(deadlines.items_due)
        items = f"Items closed {items_due}" if deadlines.items_due < digest.today else f"Items by {items_due}"
        apologies = (
            "no apologies"
            if ahead.apologies == 0
            else f"{ahead.apologies} apolog{'y' if ahead.apologies == 1 else 'ies'}"
        )
        # The place is what gives way to the line's limit: the deadlines and apologies are the news.
        place = _short_place(meetings.place(meeting) or "place to be confirmed")
        lines.append(
            f"• *{meeting.group.name}*: {format_date(local.date())}, {format_time(local)}, {place}. "
            f"{items}; {agenda}; {apologies}."
        )
    return _section(
        "Meetings in the next 14 days", lines, max(len(digest.meetings) - digest_service.LIMIT, 0)
    )


def _short_place(place: str) -> str:
    """As much of an address as fits MAX_PLACE, in whole parts: "Lancastrian
    Room, Chorley Town Hall" of "…, Market Street, Chorley, PR7 1DP". A link
    too long is "online": a link cut short would lead nowhere."""
    if "://" in place and len(place) > MAX_PLACE:
        return "online"
    parts = place.split(", ")
    short = parts[0]
    for part in parts[1:]:
        if len(short) + 2 + len(part) > MAX_PLACE:
            break
        short += ", " + part
    return clip(short, MAX_PLACE)


def _action_line(action, *, done: bool = False) -> str:
    who = action.owner.name if action.owner else (action.owner_text or "nobody")
    when = "" if done or action.due is None else f", due {format_date(action.due)}"
    return f"• *{action.ref}* {action.what} ({who}{when})"


def _overdue(digest: Digest) -> Section | None:
    """An owner a line, oldest first, each action with what it is (so the channel
    need not look A3 up), as many as fit the line, then how many more."""
    lines = []
    shown = 0
    for owner in digest.overdue.rows[: digest_service.LIMIT]:
        head = f"• *{owner.owner}*: "
        parts: list[str] = []
        for action in owner.actions:
            part = f"{action.ref} {clip(action.what, MAX_OVERDUE_WHAT)} (due {format_date(action.due)})"
            left = len(owner.actions) - len(parts) - 1
            more = f"; and {left} more" if left else ""
            if parts and len(head + "; ".join([*parts, part]) + more) > MAX_LINE:
                break
            parts.append(part)
        left = len(owner.actions) - len(parts)
        lines.append(head + "; ".join(parts) + (f"; and {left} more" if left else ""))
        shown += len(parts)
    return _section(f"Overdue ({digest.overdue.total})", lines, digest.overdue.total - shown)


def _update_line(line) -> str:
    """An update's line: its status (marked as the update's post and the Home tab
    mark it), any decision it needs from the board (first,
    so that the line's length limit never cuts it), then what it says."""
    update = line.update
    said = " ".join((update.progress or update.issues or update.next_steps or "").split())
    decision = " ".join((update.decision_needed or "").split())
    author = f" ({line.author})" if line.author else ""
    head = f"• *{line.workstream}* {RAG_MARK[update.rag]}{author}"
    if decision:
        head += f", *decision needed*: {clip(decision, MAX_DECISION)}"
        return head + (f". {said}" if said else "")
    return head + (f": {said}" if said else "")


def _silent_line(silent, digest: Digest) -> str:
    last = (
        "never updated" if silent.last_update is None else f"last update {_day(silent.last_update, digest)}"
    )
    return f"• *{silent.workstream.name}*: {last}"


def _attendance(digest: Digest) -> Section | None:
    return _section("Attendance", [_flag_line(flag) for flag in digest.attendance_flags])


def _flag_line(flag: Flag) -> str:
    missed = ", ".join(LABELS[status] for _, status in reversed(flag.missed))  # oldest first
    rule = (
        "deemed to have resigned unless there are exceptional reasons"
        if flag.resign
        else ("an explanation may be asked")
    )
    return (
        f"• *{flag.person.name}* ({flag.group.name}): {len(flag.missed)} meetings missed in a row "
        f"({missed}): {rule}"
    )
