"""/meeting add, move and cancel: officers and the chair change the group's
meetings; each change is posted to the group's channel."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time
from zoneinfo import ZoneInfo

from bot.commands import calendar
from bot.commands.core import Context
from bot.commands.dates import parse_time, take_date, take_meeting_date, take_time
from bot.commands.lines import meeting_when, meeting_where
from services import agenda, apologies, groups, meetings
from services.dates import format_date
from services.errors import NotFound, UserError
from services.text import clip
from services.working_days import WorkingDays
from storage.models import Group, Meeting

ADD_GRAMMAR = (
    "Type `/meeting add DATE [TIME] [at PLACE or an online link]`, e.g. `/meeting add 16 Jun 2015 16:00 at "
    "Committee Room 1`, or several dates: `/meeting add 16 Jun 2015, 15 Sep 2015, 15 Dec 2015`."
)
_AT = re.compile(r"\s+at\s+", re.IGNORECASE)
_TO = re.compile(r"\s+to\s+", re.IGNORECASE)
_LINK = re.compile(r"^https?://\S+$", re.IGNORECASE)


@dataclass(frozen=True)
class Add:
    days: list[date]
    at: time | None
    location: str | None
    url: str | None


def parse_add(text: str, *, today: date) -> Add:
    if not text.strip():
        raise UserError(f"Which date? {ADD_GRAMMAR} Nothing was changed.")
    when, place = _split_place(text)
    location, url = _place(place, ADD_GRAMMAR)
    days, times = [], set()
    for part in when.split(","):
        day, rest = take_date(part.strip(), today=today)
        if day is None:
            raise UserError(f"'{clip(part.strip(), 40)}' is not a date. {ADD_GRAMMAR} Nothing was changed.")
        at, rest = take_time(rest)
        if rest and _LINK.match(rest):
            url, rest = rest, ""
        if rest:
            raise UserError(
                f"I read {format_date(day)} but not '{clip(rest, 40)}' after it. {ADD_GRAMMAR} Nothing was changed."
            )
        days.append(day)
        if at is not None:
            times.add(at)
    if len(times) > 1:
        raise UserError(
            "Several dates take one time for them all: add meetings at different times one by one. Nothing was changed."
        )
    return Add(days=days, at=next(iter(times), None), location=location, url=url)


def _place(place: str | None, grammar: str) -> tuple[str | None, str | None]:
    """What followed `at`: a place, or an online link (location, url)."""
    if place is None:
        return None, None
    if not place:
        raise UserError(f"After `at` I expected a place or an online link. {grammar} Nothing was changed.")
    if _LINK.match(place):
        return None, place
    if place.lower().startswith(("http:", "https:", "<")):
        raise UserError(
            f"'{clip(place, 60)}' is not a link I can use: give it as https://... Nothing was changed."
        )
    return place, None


def _split_place(text: str) -> tuple[str, str | None]:
    """Split 'DATES [at PLACE]'; an 'at' followed by a time alone is the time."""
    found = _AT.search(text)
    if found is None:
        return text.strip(), None
    place = text[found.end() :].strip()
    try:
        parse_time(place)
    except UserError:
        return text[: found.start()].strip(), place
    return f"{text[: found.start()].strip()} {place}", None


def changing_group(context: Context, doing: str) -> Group:
    """In a group's channel, that group; elsewhere the one group the person is an
    officer or chair of."""
    person = context.require_person()
    here = groups.by_channel(context.session, context.channel_id)
    if here is not None:
        return here
    mine = groups.of_person(context.session, person)
    roles = groups.roles_of(context.session, person)
    officer_of = [g for g in mine if roles.get(g.id) in groups.OFFICER_ROLES]
    if len(officer_of) == 1:
        return officer_of[0]
    if not officer_of:
        if mine:
            groups.require_officer(context.session, person, mine[0], doing)
        raise UserError(f"You are in no group, so you can't {doing}. Nothing was changed.")
    names = ", ".join(f"#{g.slug}" for g in officer_of)
    raise UserError(
        f"You are an officer of several groups: type the command in the group's channel ({names}) to say which. "
        "Nothing was changed."
    )


def add(context: Context, text: str) -> str:
    intent = parse_add(text, today=context.today)
    group = changing_group(context, "add meetings")
    added = meetings.add(
        context.session,
        person=context.person,
        group=group,
        days=intent.days,
        at=intent.at,
        location=intent.location,
        url=intent.url,
        now=context.now,
        zone=context.zone,
    )
    days = WorkingDays(context.partnership.holidays)
    lines = []
    link = ""  # the group's calendar link, the same for every meeting: said once, under them all
    for meeting in added:
        calendar_line = meeting_changed(
            context,
            meeting,
            f"*Meeting added*: {group.name}, {describe(meeting, context.zone)}. "
            "Send apologies with `/apologies` if you can't come.",
            key=f"meeting-added:{meeting.id}:{meeting.sequence}",
        )
        # With e-mail on, what each meeting's invitations did; else the group's link.
        invited = calendar_line if context.site.email else ""
        if not context.site.email:
            link = calendar_line
        lines.append(
            f"• {describe(meeting, context.zone)}"
            + _notes(context, days, meeting)
            + (f" — {invited}" if invited else "")
        )
    plural = "s" if len(added) != 1 else ""
    return f"Added {len(added)} meeting{plural} of the {group.name}:\n" + "\n".join(
        [*lines, link] if link else lines
    )


def _notes(context: Context, days: WorkingDays, meeting: Meeting) -> str:
    """What follows the meeting's time and place, said, not refused: a day off
    (" — a bank holiday: Christmas Day", since a board may meet on a Saturday),
    and a meeting too soon for its agenda, not yet out, to go out as the
    group's terms of reference ask (" — short notice: its agenda was due out by Sat 11 Apr
    2015, five days before")."""
    notes = []
    why = days.why_not_working(meetings.local_date(meeting, context.zone))
    if why:
        notes.append(why)
    publish_by = meetings.Deadlines.of(meeting, context.zone).publish_by
    if meeting.agenda_published_at is None and publish_by < context.today:
        notes.append(
            f"short notice: its agenda was due out by {format_date(publish_by)}, "
            f"{agenda.days_in_words(meeting.group.publish_days)} days before"
        )
    return f" — {'; '.join(notes)}" if notes else ""


def meeting_changed(context: Context, meeting: Meeting, headline: str, *, key: str) -> str:
    """What follows every meeting added, moved or cancelled, in the command's
    transaction, after its SEQUENCE was raised: the post to the group's channel,
    and invitations e-mailed to the members (or, without e-mail, the group's
    calendar link in the post: SPEC 6). Returns the calendar line for the reply."""
    calendar_line = calendar.invite_or_link(context, meeting)
    context.post(meeting.group.channel, "\n".join(filter(None, [headline, calendar_line])), key=key)
    return calendar_line


MOVE_GRAMMAR = (
    "Type `/meeting move DATE to DATE [TIME] [at PLACE or an online link]`, e.g. `/meeting move 21 Apr to "
    "28 Apr 17:00`, or `/meeting move 21 Apr to 21 Apr at Council Chamber` for a new place alone."
)


def move(context: Context, text: str) -> str:
    parts = _TO.split(text.strip(), maxsplit=1)
    if len(parts) != 2:
        raise UserError(f"{MOVE_GRAMMAR} Nothing was changed.")
    meeting = _meeting_on(context, parts[0], "move")
    when, place = _split_place(parts[1])
    location, url = _place(place, MOVE_GRAMMAR)
    day, rest = take_date(when, today=context.today)
    if day is None:
        raise UserError(
            f"'{clip(when, 40)}' is not a date to move it to. {MOVE_GRAMMAR} Nothing was changed."
        )
    at, rest = take_time(rest)
    if rest and location is None and url is None and _LINK.match(rest):
        url, rest = rest, ""
    if rest:
        raise UserError(
            f"I read the new date but not '{clip(rest, 40)}' after it. {MOVE_GRAMMAR} Nothing was changed."
        )
    was = describe(meeting, context.zone)
    meetings.move(
        context.session,
        person=context.person,
        meeting=meeting,
        day=day,
        at=at,
        location=location,
        url=url,
        now=context.now,
        zone=context.zone,
    )
    now_at = describe(meeting, context.zone)
    calendar_line = meeting_changed(
        context,
        meeting,
        f"*Meeting moved*: the {meeting.group.name} meeting of {was} is now on {now_at}.",
        key=f"meeting-moved:{meeting.id}:{meeting.sequence}",
    )
    sent = _tell_those_who_sent_apologies(context, meeting, was=was, now_at=now_at)
    told = (
        f"Moved the {meeting.group.name} meeting from {was} to {now_at}"
        f"{_notes(context, WorkingDays(context.partnership.holidays), meeting)}. "
        "The group's channel is told"
        + (f", and so {_are_the(sent)} who sent apologies (they stand unless withdrawn)." if sent else ".")
    )
    return " ".join(filter(None, [told, calendar_line]))


def _tell_those_who_sent_apologies(context: Context, meeting: Meeting, *, was: str, now_at: str) -> int:
    """Apologies were for the day it was: tell each who sent them, by direct
    message, that they stand unless withdrawn. Returns how many were told."""
    day = meeting.starts_at.astimezone(context.zone).strftime("%d/%m/%Y")
    told = [a.person for a in apologies.for_meeting(context.session, meeting) if a.person.slack_user_id]
    for person in told:
        context.direct(
            person.slack_user_id,
            f"The {meeting.group.name} meeting of {was}, which you sent apologies for, is now on {now_at}. "
            f"Your apologies still stand; if you can come now, `/apologies withdraw {day}`.",
            key=f"meeting-moved-apologies:{meeting.id}:{meeting.sequence}:{person.key}",
        )
    return len(told)


def _are_the(n: int) -> str:
    return "is the one" if n == 1 else f"are the {n}"


def cancel(context: Context, text: str) -> str:
    meeting = _meeting_on(context, text, "cancel")
    meetings.cancel(
        context.session, person=context.person, meeting=meeting, now=context.now, zone=context.zone
    )
    when = describe(meeting, context.zone)
    calendar_line = meeting_changed(
        context,
        meeting,
        f"*Meeting cancelled*: the {meeting.group.name} meeting of {when} will not take place.",
        key=f"meeting-cancelled:{meeting.id}:{meeting.sequence}",
    )
    told = f"Cancelled the {meeting.group.name} meeting of {when}. The group's channel is told."
    return " ".join(filter(None, [told, calendar_line]))


def meeting_on(context: Context, text: str, verb: str, *, held_too: bool = False) -> tuple[Meeting, str]:
    """The meeting on the leading DATE of text (in scope), and the rest of the text.

    `held_too`, for a command about a meeting that may be over (its minutes):
    a DATE typed without its year is the nearer of the next such day and the
    one a year before that has a meeting, so "10 Feb" typed in April is the
    meeting two months ago, not a day ten months ahead with none."""
    if held_too:
        days, rest = take_meeting_date(text.strip(), today=context.today)
    else:
        day, rest = take_date(text.strip(), today=context.today)
        days = () if day is None else (day,)
    if not days:
        raise UserError(
            f"Which meeting? Type `/meeting {verb} DATE ...`, e.g. `/meeting {verb} 21/04/2015`. Nothing was changed."
        )
    scope = groups.in_scope(context.session, person=context.person, channel_id=context.channel_id)
    refused: NotFound | None = None
    for each in days:
        try:
            return meetings.find(
                context.session, groups=scope, day=each, now=context.now, zone=context.zone
            ), rest
        except NotFound as error:
            refused = refused or error  # the nearer day's refusal, which lists the upcoming meetings
    assert refused is not None
    raise refused


def _meeting_on(context: Context, text: str, verb: str) -> Meeting:
    context.require_person()
    meeting, rest = meeting_on(context, text, verb)
    if rest:
        raise UserError(f"I read the date but not '{clip(rest, 40)}' after it. Nothing was changed.")
    return meeting


def describe(meeting: meetings.Scheduled, zone: ZoneInfo) -> str:
    return f"{meeting_when(meeting, zone)}, {meeting_where(meeting)}"
