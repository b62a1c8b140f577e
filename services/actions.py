"""Actions: What / Who / When, known by a short ref (A12)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from typing import Protocol

from sqlalchemy import Select, bindparam, func, nulls_last, or_, select
from sqlalchemy.orm import Session

from services import audit
from services import groups as groups_service
from services.dates import format_date
from services.errors import NotFound, PermissionDenied, UserError
from services.people import Who
from services.text import clip
from storage.models import Action, Group, Meeting, Partnership, Person, Workstream
from storage.prepared import Prepared, read_together

MAX_WHAT = 1000
LIST_LIMIT = 50
MEETING_WINDOW = timedelta(days=14)  # an action added this soon after a meeting is that meeting's
REF = re.compile(r"^[Aa]?(\d{1,9})$")


@dataclass(frozen=True)
class Added:
    action: Action
    meeting: Meeting | None
    overdue: bool


def add(
    session: Session,
    *,
    now: datetime,
    today: date,
    actor: Person,
    what: str,
    owner: Who,
    due: date | None,
    group: Group | None = None,
) -> Added:
    what = " ".join(what.split())
    if not what:
        raise UserError("Say what the action is: `/action add WHAT | WHO | WHEN`. Nothing was changed.")
    if len(what) > MAX_WHAT:
        raise UserError(
            f"An action can be at most {MAX_WHAT} characters (yours is {len(what)}). Nothing was changed."
        )
    if not groups_service.roles_of(session, actor):
        raise PermissionDenied(
            "Only members of the partnership's groups can add actions, and you are in none: "
            "ask an officer to add you. Nothing was changed."
        )
    _refuse_the_same_again(session, what=what, owner=owner, due=due)
    meeting = _recent_meeting(session, group=group, now=now) if group else None
    action = Action(
        number=next_number(session),
        what=what,
        owner_id=owner.person.id if owner.person else None,
        owner_text=None if owner.person else owner.text,
        due=due,
        status="open",
        meeting_id=meeting.id if meeting else None,
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
    )
    session.add(action)
    session.flush()
    audit.record(
        session,
        actor=actor,
        what="action.add",
        subject=action.ref,
        at=now,
        after={"what": what, "owner": owner.name, "due": due, "meeting": action.meeting_id},
        concerns=(owner.person,),
    )
    return Added(action=action, meeting=meeting, overdue=due is not None and due < today)


def _refuse_the_same_again(session: Session, *, what: str, owner: Who, due: date | None) -> None:
    """An open action that already says the same (what, owner and due date) is
    not added twice: a command typed again, or a line of the minutes entered twice."""
    same = open_the_same(session, [(what, owner, due)])
    if same:
        number, said = same[0]
        when = f", due {format_date(due)}" if due else ""
        raise UserError(f"A{number} already says that: {said} — {owner.name}{when}. Nothing was changed.")


def open_the_same(session: Session, wanted: list[tuple[str, Who, date | None]]) -> dict[int, tuple[int, str]]:
    """For each (what, owner, due) wanted, by its index, the open action that
    already says the same, as (number, what): what compared without regard to
    case or spacing. One query, on the open actions due on those days."""
    if not wanted:
        return {}
    dues = {due for _, _, due in wanted}
    on = [Action.due.in_([d for d in dues if d is not None])]
    if None in dues:
        on.append(Action.due.is_(None))
    rows = session.execute(
        select(Action.number, Action.what, Action.owner_id, Action.owner_text, Action.due).where(
            Action.status == "open", or_(*on)
        )
    )
    existing: dict[tuple[str, int | None, str | None, date | None], tuple[int, str]] = {}
    for number, said, owner_id, owner_text, due in rows:
        existing.setdefault((_same(said), owner_id, None if owner_id else owner_text, due), (number, said))
    found = {}
    for index, (what, owner, due) in enumerate(wanted):
        owner_id = owner.person.id if owner.person else None
        match = existing.get((_same(what), owner_id, None if owner_id else owner.text, due))
        if match:
            found[index] = match
    return found


def _same(what: str) -> str:
    return " ".join(what.split()).casefold()


def group_of(session: Session, action: Action) -> Group | None:
    """The group an action belongs to as reminders find it: its meeting's
    (`_group_of`, whose officers may change it), else its workstream's reporting group."""
    group = _group_of(session, action)
    if group is None and action.workstream_id is not None:
        group = session.scalar(
            select(Group)
            .join(Workstream, Workstream.group_id == Group.id)
            .where(Workstream.id == action.workstream_id)
        )
    return group


def get(session: Session, ref: str, *, for_update: bool = False) -> Action:
    """The action a ref names. `for_update` locks its row until the transaction
    ends, so two presses of one button at the same moment act one after the other."""
    match = REF.match(ref.strip())
    if not match:
        raise UserError(f"'{clip(ref, 40)}' is not an action ref: refs look like A12. Nothing was changed.")
    query = select(Action).where(Action.number == int(match.group(1)))
    if for_update:
        query = query.with_for_update(of=Action)
    action = session.scalar(query)
    if action is None:
        raise NotFound(f"There is no action A{int(match.group(1))}. Nothing was changed.")
    return action


class Shown(Protocol):
    """What a line about an action reads: an Action, or a ListedAction."""

    @property
    def ref(self) -> str: ...
    @property
    def what(self) -> str: ...
    @property
    def owner_name(self) -> str | None: ...
    @property
    def owner_text(self) -> str | None: ...
    @property
    def due(self) -> date | None: ...
    @property
    def status(self) -> str: ...
    @property
    def snoozed_until(self) -> date | None: ...


@dataclass(frozen=True, slots=True)
class ListedAction:
    """An open action as a list shows it, read as a plain row: loading fifty
    Actions with their owners into the session cost more than the query."""

    number: int
    what: str
    owner_name: str | None
    owner_text: str | None
    due: date | None
    status: str
    snoozed_until: date | None
    owner_id: int | None = None
    group_id: int | None = None  # of the meeting that agreed it, if one did

    @property
    def ref(self) -> str:
        return f"A{self.number}"


@dataclass(frozen=True)
class Listing:
    """Open actions, the first `limit` of them, and how many there are in all."""

    actions: list[ListedAction]
    total: int


def listing(
    session: Session,
    *,
    owner: Person | None = None,
    owner_text: str | None = None,
    workstream: Workstream | None = None,
    overdue_on: date | None = None,
    limit: int = LIST_LIMIT,
) -> Listing:
    """Open actions, oldest due first, by owner, free-text owner, workstream or
    overdue on a day (none given: all), with their count: two queries, sent
    together."""
    given = {
        "owner": owner.id if owner is not None else None,
        "owner_text": owner_text.lower() if owner_text is not None else None,
        "workstream": workstream.id if workstream is not None else None,
        "overdue_on": overdue_on,
    }
    count, rows = _listing_statements(*(value is not None for value in given.values()))
    values = {name: value for name, value in given.items() if value is not None}
    counted, found = read_together(session.connection(), (count, values), (rows, values | {"limit": limit}))
    total = counted[0][0]
    if owner is not None:  # every row's owner is that person: no join
        return Listing(actions=[ListedAction(n, w, owner.name, *rest) for n, w, *rest in found], total=total)
    return Listing(actions=[ListedAction(*row) for row in found], total=total)


@cache
def _listing_statements(
    owner: bool, owner_text: bool, workstream: bool, overdue: bool
) -> tuple[Prepared, Prepared]:
    """The count and the rows of a listing with these criteria, built once each."""
    criteria = [Action.status == "open"]
    if owner:
        criteria.append(Action.owner_id == bindparam("owner"))
    if owner_text:
        criteria.append(func.lower(Action.owner_text) == bindparam("owner_text"))
    if workstream:
        criteria.append(Action.workstream_id == bindparam("workstream"))
    if overdue:
        criteria.append(Action.due < bindparam("overdue_on"))
    count = select(func.count()).select_from(Action).where(*criteria)
    rest = (
        Action.owner_text,
        Action.due,
        Action.status,
        Action.snoozed_until,
        Action.owner_id,
        select(Meeting.group_id).where(Meeting.id == Action.meeting_id).scalar_subquery(),
    )
    rows: Select
    if owner:  # its name is the owner's, known already: no join
        rows = select(Action.number, Action.what, *rest)
    else:
        rows = select(Action.number, Action.what, Person.name, *rest).outerjoin(
            Person, Person.id == Action.owner_id
        )
    rows = rows.where(*criteria).order_by(nulls_last(Action.due.asc()), Action.number)
    rows = rows.limit(bindparam("limit"))
    return Prepared(count), Prepared(rows)


def mark_done(session: Session, *, now: datetime, actor: Person | None, action: Action) -> Action:
    return _change_status(session, now=now, actor=actor, action=action, status="done", verb="mark {ref} done")


def reopen(session: Session, *, now: datetime, actor: Person | None, action: Action) -> Action:
    return _change_status(session, now=now, actor=actor, action=action, status="open", verb="reopen {ref}")


def drop(session: Session, *, now: datetime, actor: Person | None, action: Action) -> Action:
    return _change_status(session, now=now, actor=actor, action=action, status="dropped", verb="drop {ref}")


def set_due(session: Session, *, now: datetime, actor: Person | None, action: Action, due: date) -> Action:
    check_can_change(session, actor=actor, action=action, verb="change {ref}'s due date")
    before = action.due
    if before == due:
        return action
    action.due = due
    action.updated_at = now
    audit.record(
        session,
        actor=actor,
        what="action.due",
        subject=action.ref,
        at=now,
        before={"due": before},
        after={"due": due},
        concerns=(action.owner,),
    )
    return action


def set_owner(session: Session, *, now: datetime, actor: Person | None, action: Action, owner: Who) -> bool:
    """Give an open action to someone else (its owner left, or handed it on), or
    to a free-text owner. False when it is theirs already."""
    check_can_change(session, actor=actor, action=action, verb="give {ref} to someone else")
    if action.status != "open":
        raise UserError(
            f"{action.ref} is {action.status}: only an open action is given to someone else. Nothing was changed."
        )
    if owner.person is not None and action.owner_id == owner.person.id:
        return False
    if owner.person is None and action.owner_id is None and action.owner_text == owner.text:
        return False
    was = action.owner
    before = was.name if was else action.owner_text
    action.owner = owner.person
    action.owner_id = owner.person.id if owner.person else None
    action.owner_text = None if owner.person else owner.text
    action.updated_at = now
    audit.record(
        session,
        actor=actor,
        what="action.owner",
        subject=action.ref,
        at=now,
        before={"owner": before},
        after={"owner": owner.name},
        concerns=(was, owner.person),
    )
    return True


SNOOZE = timedelta(days=7)


def is_snoozed(action: Shown, today: date) -> bool:
    """No reminders about it today: it was snoozed until a later day (reminders
    resume on `snoozed_until` itself)."""
    return action.snoozed_until is not None and today < action.snoozed_until


def snooze(session: Session, *, now: datetime, today: date, actor: Person | None, action: Action) -> bool:
    """Pause nudges about an open action for a week; its due date stays as the
    meeting agreed. False when it is already snoozed that long (a second press)."""
    check_can_change(session, actor=actor, action=action, verb="snooze {ref}")
    if action.status != "open":
        raise UserError(
            f"{action.ref} is {action.status}, so there is nothing to snooze. Nothing was changed."
        )
    until = today + SNOOZE
    if action.snoozed_until is not None and action.snoozed_until >= until:
        return False
    before = action.snoozed_until
    action.snoozed_until = until
    action.updated_at = now
    audit.record(
        session,
        actor=actor,
        what="action.snooze",
        subject=action.ref,
        at=now,
        before={"snoozed_until": before},
        after={"snoozed_until": until},
        concerns=(action.owner,),
    )
    return True


def changeable_by(session: Session, person: Person) -> Callable[[ListedAction], bool]:
    """Whether `person` may change a listed action, as `check_can_change` judges:
    its owner, or an officer or the chair of the group whose meeting agreed it
    (of any group, for an action no meeting agreed)."""
    roles = groups_service.roles_of(session, person)
    officer_of = {group for group, role in roles.items() if role in groups_service.OFFICER_ROLES}
    return lambda action: (
        action.owner_id == person.id
        or (action.group_id in officer_of if action.group_id is not None else bool(officer_of))
    )


def check_can_change(session: Session, *, actor: Person | None, action: Action, verb: str) -> None:
    """Owners and officers (or the chair) change an action; the refusal says who
    may `verb` it (`drop {ref}`: its ref goes in the braces)."""
    if actor is not None and action.owner_id == actor.id:
        return
    group = _group_of(session, action)
    if groups_service.is_officer(session, actor, group):
        return
    officers = groups_service.officers_of(session, group) if group else groups_service.all_officers(session)
    who = f"its owner ({action.owner.name}), an officer" if action.owner else "an officer"
    ask = ", ".join(o.name for o in officers[:4])
    raise PermissionDenied(
        f"Only {who} or the chair can {verb.format(ref=action.ref)}"
        + (f": ask {ask}" if ask else "")
        + ". Nothing was changed."
    )


def _change_status(
    session: Session, *, now: datetime, actor: Person | None, action: Action, status: str, verb: str
) -> Action:
    check_can_change(session, actor=actor, action=action, verb=verb)
    before = action.status
    if before == status:
        return action
    action.status = status
    action.done_at = now if status == "done" else None
    action.updated_at = now
    audit.record(
        session,
        actor=actor,
        what=f"action.{status}",
        subject=action.ref,
        at=now,
        before={"status": before},
        after={"status": status},
        concerns=(action.owner,),
    )
    return action


def _recent_meeting(session: Session, *, group: Group, now: datetime) -> Meeting | None:
    return session.scalar(
        select(Meeting)
        .where(
            Meeting.group_id == group.id,
            Meeting.status != "cancelled",
            Meeting.starts_at <= now,
            Meeting.starts_at >= now - MEETING_WINDOW,
        )
        .order_by(Meeting.starts_at.desc())
        .limit(1)
    )


def _group_of(session: Session, action: Action) -> Group | None:
    if action.meeting_id is None:
        return None
    return session.scalar(
        select(Group).join(Meeting, Meeting.group_id == Group.id).where(Meeting.id == action.meeting_id)
    )


def next_number(session: Session) -> int:
    # Serialise numbering between concurrent writers on PostgreSQL; on SQLite a
    # transaction holds the write lock from its start (storage/session.py).
    session.execute(select(Partnership.id).with_for_update())
    return (session.scalar(select(func.max(Action.number))) or 0) + 1
