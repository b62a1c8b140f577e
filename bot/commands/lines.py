"""One-line descriptions of domain things, shared by every command's replies.

Text that a person typed (an action's wording, a free-text owner, a location)
is kept as typed: the Slack edge escapes whole messages once (bot/slack_api.py,
bot/app.py), and the console shows them as they are."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from services.actions import Shown
from services.dates import format_date, format_time, format_times
from services.meetings import Scheduled

# A workstream's overall status, as its highlight report and every message show it.
RAG_MARK = {"green": "🟢 Green", "amber": "🟠 Amber", "red": "🔴 Red"}


def action_line(action: Shown, today: date) -> str:
    owner = action.owner_name or f"{action.owner_text or ''} (free text)"
    due = ""
    if action.due is not None:
        due = f", due {format_date(action.due)}"
        if action.status == "open" and action.due < today:
            days = (today - action.due).days
            due += f" (*overdue* {days} day{'s' if days != 1 else ''})"
    status = "" if action.status == "open" else f" [{action.status}]"
    return f"*{action.ref}* {action.what} — {owner}{due}{status}"


def meeting_when(meeting: Scheduled, zone: ZoneInfo) -> str:
    start = meeting.starts_at.astimezone(zone)
    return f"{format_date(start.date())}, {format_times(start, meeting.ends_at.astimezone(zone))}"


def meeting_where(meeting: Scheduled) -> str:
    """A room, a link ("online: https://..."), or both for a meeting held in both."""
    if meeting.url:
        return (
            f"{meeting.location}, or online: {meeting.url}" if meeting.location else f"online: {meeting.url}"
        )
    return meeting.location or meeting.group.location or "place to be confirmed"


def meeting_line(meeting: Scheduled, zone: ZoneInfo, *, named: bool = True) -> str:
    """When and where a meeting is; its group first unless `named` is False
    (a list that names its one group once, above)."""
    status = " — *cancelled*" if meeting.status == "cancelled" else ""
    group = f"*{meeting.group.name}*: " if named else ""
    return f"{group}{meeting_when(meeting, zone)}, {meeting_where(meeting)}{status}"


def group_meeting(meeting: Scheduled, zone: ZoneInfo) -> str:
    """How every reply names the meeting it acted on, so a wrong guess shows at once."""
    start = meeting.starts_at.astimezone(zone)
    return f"the {meeting.group.name} meeting on {format_date(start.date())} at {format_time(start)}"
