"""Actions: What / Who / When, known by a short ref (A12)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, func, nulls_last, select
from sqlalchemy.orm import Session, lazyload

from services import audit
from services import groups as groups_service
from services.errors import NotFound, PermissionDenied, UserError
from services.people import Who
from services.text import clip, escape
from storage.models import Action, Group, Meeting, Partnership, Person, Workstream

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
    meeting = _recent_meeting(session, group=group, now=now) if group else None
    action = Action(
        number=_next_number(session),
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
    )
    return Added(action=action, meeting=meeting, overdue=due is not None and due < today)


def get(session: Session, ref: str) -> Action:
    match = REF.match(ref.strip())
    if not match:
        raise UserError(
            f"'{escape(clip(ref, 40))}' is not an action ref: refs look like A12. Nothing was changed."
        )
    action = session.scalar(select(Action).where(Action.number == int(match.group(1))))
    if action is None:
        raise NotFound(f"There is no action A{int(match.group(1))}. Nothing was changed.")
    return action


def open_for(session: Session, person: Person, limit: int = LIST_LIMIT) -> list[Action]:
    return list(session.scalars(_OPEN_FOR_OWNER, {"owner_id": person.id, "limit": limit}))


def open_for_text(session: Session, owner_text: str, limit: int = LIST_LIMIT) -> list[Action]:
    return _open(session, func.lower(Action.owner_text) == owner_text.lower(), limit)


def open_for_workstream(session: Session, workstream: Workstream, limit: int = LIST_LIMIT) -> list[Action]:
    return _open(session, Action.workstream_id == workstream.id, limit)


def all_open(session: Session, limit: int = LIST_LIMIT) -> list[Action]:
    return _open(session, True, limit)


def overdue(session: Session, today: date, limit: int = LIST_LIMIT) -> list[Action]:
    return _open(session, Action.due < today, limit)


# Built once: `/action list` runs on every request of the busiest command.
_OPEN = select(Action).where(Action.status == "open").order_by(nulls_last(Action.due.asc()), Action.number)
# Every row's owner is the person asked about, already in the session: no join.
_OPEN_FOR_OWNER = (
    _OPEN.where(Action.owner_id == bindparam("owner_id"))
    .limit(bindparam("limit"))
    .options(lazyload(Action.owner))
)


def _open(session: Session, criterion, limit: int) -> list[Action]:
    return list(session.scalars(_OPEN.where(criterion).limit(limit)))


def mark_done(session: Session, *, now: datetime, actor: Person | None, action: Action) -> Action:
    return _change_status(session, now=now, actor=actor, action=action, status="done", verb="mark it done")


def reopen(session: Session, *, now: datetime, actor: Person | None, action: Action) -> Action:
    return _change_status(session, now=now, actor=actor, action=action, status="open", verb="reopen it")


def drop(session: Session, *, now: datetime, actor: Person | None, action: Action) -> Action:
    return _change_status(session, now=now, actor=actor, action=action, status="dropped", verb="drop it")


def set_due(session: Session, *, now: datetime, actor: Person | None, action: Action, due: date) -> Action:
    check_can_change(session, actor=actor, action=action, verb="change its due date")
    before = action.due
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
    )
    return action


def check_can_change(session: Session, *, actor: Person | None, action: Action, verb: str) -> None:
    """Owners and officers (or the chair) change an action; the refusal says who may."""
    if actor is not None and action.owner_id == actor.id:
        return
    group = _group_of(session, action)
    if groups_service.is_officer(session, actor, group):
        return
    officers = groups_service.officers_of(session, group) if group else groups_service.all_officers(session)
    who = f"its owner ({action.owner.name})" if action.owner else "an officer"
    ask = ", ".join(o.name for o in officers[:4])
    raise PermissionDenied(
        f"Only {who}, an officer or the chair can {verb} for {action.ref}"
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


def _next_number(session: Session) -> int:
    # Serialise numbering between concurrent writers on PostgreSQL; on SQLite a
    # transaction holds the write lock from its start (storage/session.py).
    session.execute(select(Partnership.id).with_for_update())
    return (session.scalar(select(func.max(Action.number))) or 0) + 1
