"""Importing a meeting's What / Who / When table: read first, then saved whole,
once, however often Save is pressed."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import cast

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from services import actions, audit
from services import groups as groups_service
from services.errors import NotFound, PermissionDenied
from services.people import Who
from storage.models import Action, ActionImport, Group, Meeting, Person
from storage.unique import insert_if_new

SOURCE_MEETINGS = 10


@dataclass(frozen=True)
class ImportRow:
    what: str
    owner: Who
    due: date


@dataclass(frozen=True)
class Saved:
    actions: list[Action]
    meeting: Meeting | None
    first_time: bool  # False: it had been saved before, by an earlier press


def source_meetings(
    session: Session, *, groups: list[Group], now: datetime, limit: int = SOURCE_MEETINGS
) -> list[Meeting]:
    """Meetings a table of actions can come from: those of these groups that have
    started and were not cancelled, the latest first (the preset)."""
    if not groups:
        return []
    return list(
        session.scalars(
            select(Meeting)
            .where(
                Meeting.group_id.in_([g.id for g in groups]),
                Meeting.status != "cancelled",
                Meeting.starts_at <= now,
            )
            .order_by(Meeting.starts_at.desc(), Meeting.group_id)
            .limit(limit)
        )
    )


def check_can_import(session: Session, actor: Person) -> None:
    if not groups_service.roles_of(session, actor):
        raise PermissionDenied(
            "Only members of the partnership's groups can import actions, and you are in none: "
            "ask an officer to add you. Nothing was changed."
        )


def prepare(
    session: Session, *, now: datetime, actor: Person, meeting: Meeting, rows: list[ImportRow]
) -> ActionImport:
    """Keep the rows read, waiting for Save. The same rows for the same meeting are
    the same import, so reading a table twice and saving both saves once."""
    check_can_import(session, actor)
    plain = [
        {
            "what": row.what,
            "owner_id": row.owner.person.id if row.owner.person else None,
            "owner": row.owner.name,
            "due": row.due.isoformat(),
        }
        for row in rows
    ]
    key = hashlib.sha256(
        json.dumps({"meeting": meeting.id, "rows": plain}, sort_keys=True).encode()
    ).hexdigest()[:32]
    insert_if_new(
        session,
        ActionImport,
        unique_on="key",
        key=key,
        meeting_id=meeting.id,
        rows=plain,
        created_by_id=actor.id,
        created_at=now,
    )
    found = session.scalar(select(ActionImport).where(ActionImport.key == key))
    assert found is not None
    return found


def get(session: Session, key: str) -> ActionImport:
    found = session.scalar(select(ActionImport).where(ActionImport.key == key.strip().lower()[:64]))
    if found is None:
        raise NotFound(
            "There is no table of actions waiting to be saved under that key: paste it again "
            "with `/action import`. Nothing was changed."
        )
    return found


def save(session: Session, *, now: datetime, actor: Person, key: str) -> Saved:
    """Create every action of the import, or none; a second press finds it saved
    and changes nothing. The claim is one conditional UPDATE, so two presses at
    the same moment cannot both win."""
    check_can_import(session, actor)
    draft = get(session, key)
    meeting = session.get(Meeting, draft.meeting_id) if draft.meeting_id else None
    claimed = session.execute(
        update(ActionImport)
        .where(ActionImport.id == draft.id, ActionImport.saved_at.is_(None))
        .values(saved_at=now, saved_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount == 0:  # type: ignore[attr-defined]
        saved = session.scalars(select(Action).where(Action.import_id == draft.id).order_by(Action.number))
        return Saved(actions=list(saved), meeting=meeting, first_time=False)
    owner_ids = {row["owner_id"] for row in draft.rows if row["owner_id"] is not None}
    found = list(session.scalars(select(Person).where(Person.id.in_(owner_ids)))) if owner_ids else []
    owners = {person.id for person in found}
    first = actions.next_number(session)
    rows = []
    for offset, row in enumerate(draft.rows):
        # An owner who has left the partnership since the table was read stays as a name.
        owner_id = row["owner_id"] if row["owner_id"] in owners else None
        rows.append(
            {
                "number": first + offset,
                "what": row["what"],
                "owner_id": owner_id,
                "owner_text": None if owner_id else row["owner"],
                "due": date.fromisoformat(row["due"]),
                "status": "open",
                "meeting_id": draft.meeting_id,
                "import_id": draft.id,
                "created_by_id": actor.id,
                "created_at": now,
                "updated_at": now,
            }
        )
    session.execute(insert(cast(Table, Action.__table__)), rows)  # one statement, however long the table
    created = list(
        session.scalars(select(Action).where(Action.import_id == draft.id).order_by(Action.number))
    )
    audit.record_many(
        session,
        actor=actor,
        what="action.add",
        at=now,
        entries=[
            (
                action.ref,
                {"what": action.what, "owner": row["owner"], "due": action.due, "meeting": action.meeting_id},
            )
            for action, row in zip(created, draft.rows, strict=True)
        ],
        concerns=found,
    )
    audit.record(
        session,
        actor=actor,
        what="action.import",
        subject=f"import {draft.key}",
        at=now,
        after={"meeting": draft.meeting_id, "refs": [a.ref for a in created]},
    )
    return Saved(actions=created, meeting=meeting, first_time=True)
