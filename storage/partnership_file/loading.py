"""`load`: check the file's data whole, then write it in the caller's session."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import VERSION_READ, Action, PartnershipLoad, Person
from storage.partnership_file.stored import StoredRows, match_actions
from storage.partnership_file.validation import validate
from storage.partnership_file.writing import Writer


@dataclass(frozen=True)
class LoadResult:
    """Rows created, updated and removed, by kind ("person", "meeting", ...)."""

    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    # People who have left (stored, not in a file that lists people) and still own
    # open actions: name (id) -> refs.
    owners_left: dict[str, list[str]] = field(default_factory=dict, compare=False)
    # Each membership removed, as (person id, group id): their invitations to the
    # group's meetings ahead are to be cancelled (services.invites.uninvite).
    out_of_groups: list[tuple[int, int]] = field(default_factory=list, compare=False)
    # And each membership created: they are sent the invitations already sent to
    # the group for its meetings ahead (services.invites.invite_newcomers).
    into_groups: list[tuple[int, int]] = field(default_factory=list, compare=False)

    @property
    def changed(self) -> bool:
        return any(self.created.values()) or any(self.updated.values()) or any(self.removed.values())


def load(session: Session, data: dict, *, now: datetime, actor: str = "partnership file") -> LoadResult:
    """Check `data` whole, then create or update what it describes in `session`.

    Raises PartnershipFileError listing every problem before anything is written.
    Does not commit: the caller's transaction holds the whole load.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("load needs an aware `now`")
    rows = StoredRows.read(session)
    file = validate(data, rows.stored())
    actions, filed = match_actions(session, file.actions)
    writer = Writer(session, now=now, actor=actor[:200], rows=rows, zone=file.partnership.zone)
    writer.write(file, actions, filed)
    result = LoadResult(
        dict(writer.created),
        dict(writer.updated),
        dict(writer.removed),
        owners_left=_owners_left(session),
        out_of_groups=writer.out_of_groups,
        into_groups=writer.into_groups,
    )
    if result.changed:  # every process's remembered partnership and people are now out of date
        session.add(PartnershipLoad(version=secrets.token_hex(16), loaded_at=now))
        session.info.pop(VERSION_READ, None)
    return result


def _owners_left(session: Session) -> dict[str, list[str]]:
    """Who has left the partnership (a file that listed people left them out:
    they keep their row, and lose their memberships) and still owns open
    actions: name (id) -> their refs."""
    session.flush()
    rows = session.execute(
        select(Person.name, Person.key, Action)
        .join(Action, Action.owner_id == Person.id)
        .where(Action.status == "open", Person.left_at.is_not(None))
        .order_by(Person.name, Action.number)
    )
    left: dict[str, list[str]] = {}
    for name, key, action in rows:
        left.setdefault(f"{name} ({key})", []).append(action.ref)
    return left
