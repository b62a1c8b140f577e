"""/action: What / Who / When, without the e-mail chasing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from bot.commands import action_import
from bot.commands.action_buttons import MESSAGE_ACTIONS, action_section, action_sections
from bot.commands.action_table import says_next_meeting
from bot.commands.core import Command, Context, FormSpec, Reply
from bot.commands.dates import parse_due
from bot.commands.lines import action_line
from bot.commands.shapes import Field, Form
from services import actions, groups, meetings, people, workstreams
from services.dates import format_date
from services.errors import UserError
from services.text import clip
from storage.models import Action, Group, Person

HELP = """*/action* — actions from the board's What / Who / When tables
• `/action add WHAT | WHO | WHEN` — e.g. `/action add Circulate Away Day outcomes | @Lou | 17/02/2015`
• `/action` or `/action list` — your open actions
• `/action list all`, `/action list overdue`, `/action list WHO`, `/action list WORKSTREAM`
• `/action done A12`, `/action reopen A12`, `/action drop A12`, `/action due A12 DATE`
• `/action assign A12 WHO` — give it to someone else (its owner left, or handed it on)
• `/action snooze A12` — no reminders about it for a week; it stays due when the meeting agreed
• `/action import` — paste a What / Who / When table from the minutes, e.g. `Circulate Away Day outcomes | Hannah Hurst | 17.02.15`
WHO is a @mention, a person id, part of a name or `me`; anything else is kept as free text (e.g. Group Leads).
WHEN is a date such as 17/02/2015, 17 Feb, next tuesday or in 2 weeks, or a deadline: by Friday, end of April, w/c 20 April; in a group's channel, also next meeting."""

# Columns are split on "|", but not on the one inside an escaped mention (<@U0FIRE001|ray>).
COLUMN = re.compile(r"\|(?![^<>]*>)")
DUE_FORM = "action-due"
ADD_PARTS = ("WHAT", "WHO", "WHEN")
GRAMMAR = "Try `/action add WHAT | WHO | WHEN`, `/action list`, `/action done A12` or `/action help`."


@dataclass(frozen=True)
class Add:
    what: str
    who: str
    due: date | None  # None: at the next meeting of the group whose channel it is typed in


@dataclass(frozen=True)
class ListActions:
    scope: str  # "mine", "all", "overdue", or a WHO / WORKSTREAM to look up


@dataclass(frozen=True)
class Change:
    verb: str  # "done", "reopen", "drop"
    ref: str


@dataclass(frozen=True)
class Reschedule:
    ref: str
    due: date | None  # None: at the next meeting of the action's group


@dataclass(frozen=True)
class Snooze:
    ref: str


@dataclass(frozen=True)
class Assign:
    ref: str
    who: str


@dataclass(frozen=True)
class DueForm:
    """`/action due A12` with no date: the New due date form."""

    ref: str


@dataclass(frozen=True)
class Import:
    """`/action import` opens the paste form; `/action import save KEY` (the Save
    button) saves a table already read."""

    save_key: str | None = None


Intent = Add | ListActions | Change | Reschedule | Snooze | Assign | DueForm | Import


def parse(text: str, *, today: date) -> Intent:
    """Text after `/action` -> what the person asked for, or a UserError saying why not."""
    verb, _, rest = text.strip().partition(" ")
    verb, rest = verb.lower(), rest.strip()
    if verb in ("", "list", "ls"):
        scope = rest.lower() if rest.lower() in ("", "mine", "all", "overdue") else rest
        if scope.lower() in people.MYSELF or scope.lower() == "my":
            scope = "mine"
        return ListActions(scope=scope or "mine")
    if verb == "add":
        return _parse_add(rest, today=today)
    if verb in ("done", "reopen", "drop", "snooze"):
        if not rest:
            raise UserError(f"Say which action: `/action {verb} A12`. Nothing was changed.")
        if " " in rest or "," in rest:
            refs = [ref for ref in re.split(r"[\s,]+", rest) if ref and ref.lower() != "and"]
            example = (
                f"`/action {verb} {clip(refs[0], 12)}`, then `/action {verb} {clip(refs[1], 12)}`"
                if len(refs) > 1
                else ""
            )
            raise UserError(f"One action at a time{': ' + example if example else ''}. Nothing was changed.")
        return Snooze(ref=rest) if verb == "snooze" else Change(verb=verb, ref=rest)
    if verb == "due":
        ref, _, when = rest.partition(" ")
        if not ref:
            raise UserError(
                "Say which action and its new date: `/action due A12 24/02/2015`. Nothing was changed."
            )
        if not when.strip():
            return DueForm(ref=ref)
        return Reschedule(ref=ref, due=_due(when, today=today))
    if verb == "assign":
        ref, _, who = rest.partition(" ")
        who = re.sub(r"^to(\s+|$)", "", who.strip(), flags=re.IGNORECASE)
        if not ref or not who:
            raise UserError(
                "Say which action and whom to give it to: `/action assign A12 @Caroline`. Nothing was changed."
            )
        return Assign(ref=ref, who=who)
    if verb == "import":
        word, _, key = rest.partition(" ")
        if not rest:
            return Import()
        if word.lower() == "save" and key.strip() and " " not in key.strip():
            return Import(save_key=key.strip())
        raise UserError(
            "`/action import` opens a form to paste the table from the minutes into; it takes "
            "nothing after it. Nothing was changed."
        )
    raise UserError(f"I don't know `/action {clip(verb, 30)}`. {GRAMMAR} Nothing was changed.")


def _parse_add(rest: str, *, today: date) -> Add:
    parts = [part.strip() for part in COLUMN.split(rest)]
    if len(parts) == 3 and not all(parts):
        missing = " or ".join(name for name, part in zip(ADD_PARTS, parts, strict=True) if not part)
        raise UserError(
            f"This action has no {missing}: `/action add WHAT | WHO | WHEN`, e.g. "
            "`/action add Circulate Away Day outcomes | @Lou | 17/02/2015`. Nothing was changed."
        )
    if len(parts) != 3:
        raise UserError(
            "An action needs three parts separated by `|`: what, who and when, e.g. "
            "`/action add Circulate Away Day outcomes | @Lou | 17/02/2015`. Nothing was changed."
        )
    what, who, when = parts
    return Add(what=what, who=who, due=_due(when, today=today))


def _due(when: str, *, today: date) -> date | None:
    """A WHEN: a date, or None for `next meeting` (a group's, found later)."""
    return None if says_next_meeting(when) else parse_due(when, today=today)


def handle(context: Context, text: str) -> str | Reply:
    _not_left(context)
    intent = parse(text, today=context.today)
    match intent:
        case Import():
            if intent.save_key is None:
                return action_import.form(context)
            return action_import.save(context, intent.save_key)
        case Add():
            return _add(context, intent)
        case ListActions():
            return _list(context, intent.scope)
        case Change():
            return _change(context, intent)
        case Reschedule():
            return _reschedule(context, intent)
        case Snooze():
            return _snooze(context, intent.ref)
        case Assign():
            return _assign(context, intent)
        case DueForm():
            return _due_form(context, intent.ref)


def _add(context: Context, intent: Add) -> str:
    person = context.require_person()
    group = groups.by_channel(context.session, context.channel_id)
    due = intent.due or _next_meeting_day(context, group)
    owner = people.resolve(context.session, intent.who, me=person, owning=True)
    added = actions.add(
        context.session,
        now=context.now,
        today=context.today,
        actor=person,
        what=intent.what,
        owner=owner,
        due=due,
        group=group,
    )
    lines = [f"Added {action_line(added.action, context.today)}."]
    if intent.due is None and group is not None:
        lines.append(f"That is the day of the {group.name}'s next meeting.")
    if added.overdue:
        lines.append(f"Its due date, {format_date(due)}, has passed: it is already overdue.")
    lines += _owner_notes(owner)
    if added.meeting:
        local = context.local(added.meeting.starts_at)
        lines.append(f"It belongs to the {added.meeting.group.name} meeting of {format_date(local.date())}.")
    return "\n".join(lines)


def _next_meeting_day(context: Context, group: Group | None) -> date:
    """WHEN as `next meeting`: the day of the next meeting of the group whose
    channel it is typed in, as a pasted table's "Next meeting" is."""
    if group is None:
        raise UserError(
            "`next meeting` is a due date only in a group's channel, where it means that group's next "
            "meeting: here, give a date such as 21/04/2015. Nothing was changed."
        )
    found = meetings.upcoming(context.session, groups=[group], now=context.now, limit=1)
    if not found:
        raise UserError(
            f"The {group.name} has no meeting ahead to date it by: give a date such as 21/04/2015. "
            "Nothing was changed."
        )
    return meetings.local_date(found[0], context.zone)


def _owner_notes(owner: people.Who) -> list[str]:
    """What the reply says about an owner nobody can remind by direct message."""
    if owner.person is None:
        return [
            f"'{owner.text or ''}' is not a person in the partnership, so it is kept as free "
            "text and the officers will be nudged about it."
        ]
    if owner.person.slack_user_id is None:
        return [
            f"{owner.person.name} has no Slack id in the partnership file, so partnerbot cannot remind "
            "them; the weekly digest lists the action once it is overdue."
        ]
    return []


def _assign(context: Context, intent: Assign) -> Reply:
    action = actions.get(context.session, intent.ref, for_update=True)
    actions.check_can_change(
        context.session, actor=context.person, action=action, verb="give {ref} to someone else"
    )
    owner = people.resolve(context.session, intent.who, me=context.person, owning=True)
    if not actions.set_owner(
        context.session, now=context.now, actor=context.person, action=action, owner=owner
    ):
        return _about(context, action, f"{action.ref} belongs to {owner.name} already: nothing changed.")
    new, actor, told = owner.person, context.person, False
    if new is not None and new.slack_user_id and actor is not None and new.id != actor.id:
        context.direct(
            new.slack_user_id,
            f"{actor.name} has given you {action.ref}: its reminders now come to you.",
            key=f"action-assigned:{action.ref}:{new.key}:{context.now.isoformat()}",
            sections=(action_section(action, context.today),),
        )
        told = True
    said = f"{action.ref} now belongs to {owner.name}{' (told by direct message)' if told else ''}."
    return _about(context, action, " ".join([said, *_owner_notes(owner)]))


def _list(context: Context, scope: str) -> str | Reply:
    session, today = context.session, context.today
    # Actions name people and what they owe: for the partnership's people only.
    person = context.require_person()
    if scope == "mine":
        found, title = actions.listing(session, owner=person, limit=MESSAGE_ACTIONS), "Your open actions"
    elif scope == "all":
        found, title = actions.listing(session, limit=MESSAGE_ACTIONS), "All open actions"
    elif scope == "overdue":
        found, title = actions.listing(session, overdue_on=today, limit=MESSAGE_ACTIONS), "Overdue actions"
    else:
        found, title = _list_for(context, scope)
    if not found.total:
        return f"{title}: none."
    # Buttons on the actions this person may change: their own, or those of the groups they are an officer of.
    may_change = None if scope == "mine" else actions.changeable_by(session, person)
    sections = action_sections(
        found.actions, today, total=found.total, more_hint=MORE_HINT, buttons_for=may_change
    )
    return Reply(text=f"{title} ({found.total}):", sections=sections)


MORE_HINT = "close some of these, or see them all on the partnerbot Home tab"


def _list_for(context: Context, scope: str) -> tuple[actions.Listing, str]:
    session = context.session
    workstream = workstreams.match(session, scope)
    # A workstream's whole slug, then a person's id (`intel` is Fiona Rigby, not
    # the start of intelligence-sharing), then the start of a slug, then a name.
    if workstream is not None and workstream.slug != scope.strip().lower():  # else `resolve` asks
        person = people.by_key(session, scope.strip().lower())
        if person is not None:
            return actions.listing(session, owner=person, limit=MESSAGE_ACTIONS), _of(person)
    if workstream is not None:
        return actions.listing(
            session, workstream=workstream, limit=MESSAGE_ACTIONS
        ), f"Open actions of {workstream.name}"
    who = people.resolve(session, scope)
    if who.person is not None:
        return actions.listing(session, owner=who.person, limit=MESSAGE_ACTIONS), _of(who.person)
    text = who.text or ""
    found = actions.listing(session, owner_text=text, limit=MESSAGE_ACTIONS)
    if not found.total:  # as likely a name mistyped as an owner written so
        slugs = ", ".join(w.slug for w in workstreams.every(session))
        raise UserError(
            f"No open action is owed by '{clip(text, 60)}', and no one and no workstream in the "
            "partnership goes by that name. Name a person (an @mention, their id or part of their "
            f"name), {f'a workstream ({slugs}), ' if slugs else ''}or say `all` or `overdue`. "
            "Nothing was changed."
        )
    return found, f"Open actions of '{text}'"


def _of(person: Person) -> str:
    left = ", who has left the partnership (`/action assign REF WHO` gives one to someone else)"
    return f"Open actions of {person.name}{left if person.left_at else ''}"


STATUS_CHANGES = {
    # verb: (service call, status it leads to, how the reply says it)
    "done": (actions.mark_done, "done", "done"),
    "reopen": (actions.reopen, "open", "open again"),
    "drop": (actions.drop, "dropped", "dropped"),
}


CHECK_VERBS = {"done": "mark {ref} done", "reopen": "reopen {ref}", "drop": "drop {ref}"}


def _change(context: Context, intent: Change) -> Reply:
    action = actions.get(context.session, intent.ref, for_update=True)
    change, status, said = STATUS_CHANGES[intent.verb]
    # Who may comes first: "already done" is an answer only for those who may change it.
    actions.check_can_change(
        context.session, actor=context.person, action=action, verb=CHECK_VERBS[intent.verb]
    )
    if action.status == status:
        already = "open" if status == "open" else said  # never closed, it is not open "again"
        return _about(context, action, f"{action.ref} is already {already}: nothing changed.")
    change(context.session, now=context.now, actor=context.person, action=action)
    return _about(context, action, f"{action.ref} is now {said}.")


def _snooze(context: Context, ref: str) -> Reply:
    action = actions.get(context.session, ref, for_update=True)
    snoozed = actions.snooze(
        context.session, now=context.now, today=context.today, actor=context.person, action=action
    )
    until = format_date(action.snoozed_until) if action.snoozed_until else ""
    if not snoozed:
        return _about(context, action, f"{action.ref} is already snoozed until {until}: nothing changed.")
    return _about(
        context,
        action,
        f"{action.ref} is snoozed: no reminders about it until {until}. "
        f"It is still due {format_date(action.due) if action.due else 'with no date'}.",
    )


def _reschedule(context: Context, intent: Reschedule) -> Reply:
    action = actions.get(context.session, intent.ref, for_update=True)
    actions.check_can_change(
        context.session, actor=context.person, action=action, verb="change {ref}'s due date"
    )
    group = None if intent.due else _group_of(context, action)
    due = intent.due or _next_meeting_day(context, group)
    meeting = f" (the {group.name}'s next meeting)" if group is not None else ""
    if action.due == due:
        return _about(
            context, action, f"{action.ref} is already due {format_date(due)}{meeting}: nothing changed."
        )
    actions.set_due(context.session, now=context.now, actor=context.person, action=action, due=due)
    note = " It is already overdue." if due < context.today else ""
    return _about(context, action, f"{action.ref} is now due {format_date(due)}{meeting}.{note}")


def _group_of(context: Context, action: Action) -> Group | None:
    """The group whose next meeting `next meeting` means for an action: its
    meeting's, else its workstream's, else that of the channel it is typed in."""
    return actions.group_of(context.session, action) or groups.by_channel(context.session, context.channel_id)


def _about(context: Context, action: Action, said: str) -> Reply:
    """What a change says, with the action as it now stands and its buttons, so a
    pressed button's message shows the new state."""
    return Reply(text=said, sections=(action_section(action, context.today),))


def _due_form(context: Context, ref: str) -> Reply:
    """`/action due A12` without a date (the New due date button): a small form."""
    action = actions.get(context.session, ref)
    actions.check_can_change(
        context.session, actor=context.person, action=action, verb="change {ref}'s due date"
    )
    return Reply(
        text=f"Give {action.ref} a new due date: `/action due {action.ref} DATE`.",
        form=Form(
            name=DUE_FORM,
            title=f"New due date for {action.ref}",
            fields=(
                Field(
                    "due",
                    "New due date",
                    kind="date",
                    preset=action.due.isoformat() if action.due else None,
                    hint=f"{clip(action.what, 120)}. The reminders follow the new date.",
                ),
            ),
            submit_label="Change",
            state={"ref": action.ref},
        ),
    )


def _not_left(context: Context) -> None:
    """Every /action needs someone in the partnership: one who has left hears that,
    not that only the owner may change an action they still own."""
    if context.left is not None:
        context.require_person()


def submit_due(context: Context, values: dict[str, str], state: dict[str, str]) -> Reply:
    _not_left(context)
    return _reschedule(
        context,
        Reschedule(ref=state.get("ref", ""), due=parse_due(values.get("due", ""), today=context.today)),
    )


COMMAND = Command(
    name="/action",
    help=HELP,
    handle=handle,
    reading=frozenset({"", "list", "ls"}),
    changing=frozenset({"add", "done", "reopen", "drop", "snooze", "due", "assign", "import"}),
)
DUE = FormSpec(name=DUE_FORM, submit=submit_due)
