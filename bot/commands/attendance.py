"""/meeting attendance: the record of who came, by form or typed; then the
attendance watch tells the chair and officers who has missed too many."""

from __future__ import annotations

import re

from bot.commands.core import Context, FormSpec, Reply
from bot.commands.meeting_changes import meeting_on
from bot.commands.shapes import Choice, Field, Form
from services import apologies, attendance, groups, people
from services.dates import format_date
from services.errors import FieldErrors, UserError
from services.meetings import local_date
from services.text import clip
from storage.models import Meeting, Person

MAX_PEOPLE = 40
CHOICES = tuple(Choice(value=value, label=label) for value, label in attendance.LABELS.items())
_STATUS_WORDS = {"present": "present", "absent": "absent", "apologies": "apologies", "in": "in_attendance"}
GRAMMAR = (
    "Type `/meeting attendance DATE` for the form, or `/meeting attendance DATE absent WHO...` "
    "(also `present`, `apologies`, `in attendance`), naming people by @mention, id or name, separated by commas or `and`."
)


def handle(context: Context, text: str) -> str | Reply:
    meeting, rest = meeting_on(context, text, "attendance", held_too=True)
    if not rest:
        return Reply(text="", form=attendance_form(context, meeting))
    word, _, who = rest.partition(" ")
    status = _STATUS_WORDS.get(word.lower())
    if status == "in_attendance":
        second, _, who = who.strip().partition(" ")
        if second.lower() != "attendance":
            status = None
    if status is None:
        raise UserError(f"'{clip(word, 20)}' is not an attendance. {GRAMMAR} Nothing was changed.")
    members = _members(context, meeting)
    chosen = _people(context, who, members, meeting, guests=status == "in_attendance")
    changed = attendance.record(
        context.session,
        actor=context.person,
        meeting=meeting,
        statuses={p.id: status for p in chosen},
        now=context.now,
    )
    names = ", ".join(p.name for p in chosen)
    noted = "" if changed else " (as already recorded)"
    sent = _had_sent_apologies(context, meeting, [p for p in chosen if changed.get(p.id) == "absent"])
    return (
        f"Recorded {attendance.LABELS[status]} for {names} at {_meeting_name(context, meeting)}{noted}.{sent}"
        + watch(context, meeting, changed=bool(changed))
    )


def _had_sent_apologies(context: Context, meeting: Meeting, absent: list[Person]) -> str:
    """Recorded absent just now, of people whose apologies are in: the minutes
    then list them as not present, which the terms of reference tell apart from
    apologies; said, in case the clerk meant the other."""
    if not absent:
        return ""
    sent = {a.person_id for a in apologies.for_meeting(context.session, meeting)}
    them = [p.name for p in absent if p.id in sent]
    if not them:
        return ""
    when = format_date(local_date(meeting, context.zone))
    had = f"{them[0]} had" if len(them) == 1 else f"{', '.join(them[:-1])} and {them[-1]} had each"
    return (
        f" {had} sent apologies for it, so the minutes list them as not present rather than with apologies: "
        f"`/meeting attendance {when} apologies {', '.join(them)}` records the apologies instead."
    )


def attendance_form(context: Context, meeting: Meeting) -> Form:
    groups.require_officer(context.session, context.person, meeting.group, "record attendance")
    attendance.check_recordable(meeting, now=context.now)
    members = attendance.members_of(context.session, meeting)
    recorded = attendance.recorded(context.session, meeting)
    sent = {a.person_id for a in apologies.for_meeting(context.session, meeting)}
    fields = tuple(
        Field(
            name=m.person.key,
            label=f"{m.person.name} ({m.role}{', since taken out of the group' if m.gone else ''})",
            kind="choice",
            choices=CHOICES,
            preset=recorded.get(m.person.id) or _expected(m.role, sent=m.person.id in sent),
        )
        for m in members
    )
    return Form(
        name="attendance",
        title="Attendance",
        fields=fields,
        submit_label="Record",
        state={"meeting": str(meeting.id)},
    )


def _expected(role: str, *, sent: bool) -> str:
    """A form's guess before anything is recorded: apologies if sent; officers
    and observers "in attendance", as minutes list them, not members present."""
    if sent:
        return "apologies"
    return "in_attendance" if role in ("officer", "observer") else "present"


def submit_form(context: Context, values: dict[str, str], state: dict[str, str]) -> str:
    meeting = context.session.get(Meeting, int(state.get("meeting", "0") or 0))
    if meeting is None:
        raise UserError("That meeting no longer exists. Nothing was saved.")
    members = {person.key: person for person, _ in _members(context, meeting)}
    errors = {}
    statuses = {}
    for key, value in values.items():
        person = members.get(key)
        if person is None:
            errors[key] = "Not a member of the group any more."
        elif value not in attendance.LABELS:
            errors[key] = "Choose present, apologies, absent or in attendance."
        else:
            statuses[person.id] = value
    if errors:
        raise FieldErrors(errors)
    changed = attendance.record(
        context.session, actor=context.person, meeting=meeting, statuses=statuses, now=context.now
    )
    counts = {
        label: sum(1 for s in statuses.values() if s == value) for value, label in attendance.LABELS.items()
    }
    # "1 with apologies", as "1 apologies" would not read.
    summary = ", ".join(
        f"{n} {'with apologies' if label == 'apologies' else label}" for label, n in counts.items() if n
    )
    return f"Attendance recorded for {_meeting_name(context, meeting)}: {summary or 'nobody'}." + watch(
        context, meeting, changed=bool(changed)
    )


def watch(context: Context, meeting: Meeting, *, changed: bool = True) -> str:
    """After a recording that changed something: tell the chair and officers, by
    direct message, who has now missed too many meetings in a row, once per run
    of misses and its length. An earlier meeting recorded late (the clerk
    catching up) counts too: the run it completes ends at a later meeting."""
    if not changed:
        return ""
    group = meeting.group
    current = [
        f
        for f in attendance.flags(context.session, group=group)
        if any(missed.id == meeting.id for missed, _ in f.missed)
    ]
    told = {f.person.id for f in current}
    at_the_time = [
        f
        for f in attendance.flags(context.session, group=group, up_to=meeting)
        if f.latest.id == meeting.id and f.person.id not in told
    ]
    found = current + at_the_time
    if not found:
        return ""
    officers = groups.officers_of(context.session, group)
    for flag in found:
        text = flag_text(flag, context)
        for officer in officers:
            context.direct(
                officer.slack_user_id,
                text,
                key=f"attendance-watch:{flag.latest.id}:{flag.person.key}:{len(flag.missed)}:{officer.key}",
            )
    names = ", ".join(f.person.name for f in found)
    if not any(officer.slack_user_id for officer in officers):
        return (
            f"\nAttendance watch: {names} — no chair or officer of the {group.name} has a Slack id in the "
            "partnership file to be told by direct message; the weekly digest lists it."
        )
    return f"\nAttendance watch: {names} — the chair and officers are told by direct message."


def flag_text(flag: attendance.Flag, context: Context) -> str:
    missed = ", ".join(
        f"{format_date(local_date(m, context.zone))} ({attendance.LABELS[status]})"
        for m, status in flag.missed
    )
    group = flag.group
    if flag.resign:
        rule = (
            f"The terms of reference count missing {group.resign_after} consecutive meetings as resignation "
            "unless there are exceptional reasons. If they have resigned, the engineer who runs partnerbot "
            "takes them out of the group's members in the partnership file (out of its people too, if they "
            "leave the partnership) and loads it again."
        )
    else:
        rule = (
            f"The terms of reference say a member who misses {group.explain_after} consecutive meetings "
            "may be asked for a written explanation."
        )
    return (
        f"*Attendance watch*: {flag.person.name} has now missed {len(flag.missed)} consecutive meetings "
        f"of the {group.name}: {missed}. {rule}"
    )


def _members(context: Context, meeting: Meeting) -> list[tuple[Person, str]]:
    return [(m.person, m.role) for m in attendance.members_of(context.session, meeting)]


def _people(
    context: Context, text: str, members: list[tuple[Person, str]], meeting: Meeting, *, guests: bool
) -> list[Person]:
    """The people named; members of the group only, unless `guests` ("in
    attendance": anyone in the partnership who came to present or advise)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise UserError(f"Who? {GRAMMAR} Nothing was changed.")
    _at_most_max_people(len(parts))
    member_ids = {p.id for p, _ in members}
    chosen: list[Person] = []
    named = [person for part in parts for person in _named(context, part)]
    _at_most_max_people(len(named))
    for person in named:
        if person.id not in member_ids and not guests:
            raise UserError(
                f"{person.name} is not a member of the {meeting.group.name}: record them `in attendance` "
                "if they came to present or advise. Nothing was changed."
            )
        if person not in chosen:
            chosen.append(person)
    return chosen


def _at_most_max_people(count: int) -> None:
    if count > MAX_PEOPLE:
        raise UserError(
            f"At most {MAX_PEOPLE} people at once; for the whole group use the form, `/meeting attendance DATE`. "
            "Nothing was changed."
        )


_AND = re.compile(r"\s+(?:and|&)\s+", re.IGNORECASE)


def _named(context: Context, part: str) -> list[Person]:
    """The people one part of the list names: one person, or several side by
    side without commas where each is someone: mentions as Slack's picker leaves
    them ("@Ray @Sarah"), ids ("fire police"), or names joined by "and" ("Ray
    Cottam and Sarah Mellor"). A name is never split on its spaces."""
    _at_most_max_people(len(part.split()))  # each word a person, at most
    mentions = people.MENTIONS.findall(part)
    if len(mentions) > 1 and not _AND.sub(" ", people.MENTIONS.sub(" ", part)).strip():
        return _each(context, mentions)
    who = people.resolve(context.session, part, me=context.person)
    if who.person is not None:
        return [who.person]
    joined = _AND.split(part)
    if len(joined) > 1:
        return _each(context, joined)
    ids = [word.lower().removeprefix("@") for word in part.split()]
    found = people.by_keys(context.session, ids) if len(ids) > 1 else {}
    if found and all(key in found for key in ids):
        return [found[key] for key in ids]
    raise UserError(f"'{clip(part, 40)}' is not a person in the partnership. {GRAMMAR} Nothing was changed.")


def _each(context: Context, texts: list[str]) -> list[Person]:
    """Each of these is someone (the people read once), or the first that is not says so."""
    found = people.resolve_many(context.session, texts, me=context.person)
    named = []
    for text in texts:
        who = found[text]
        if isinstance(who, UserError):
            raise who
        if who.person is None:
            raise UserError(
                f"'{clip(text, 40)}' is not a person in the partnership. {GRAMMAR} Nothing was changed."
            )
        named.append(who.person)
    return named


def _meeting_name(context: Context, meeting: Meeting) -> str:
    return f"the {meeting.group.name} meeting on {format_date(local_date(meeting, context.zone))}"


FORM = FormSpec(name="attendance", submit=submit_form)
