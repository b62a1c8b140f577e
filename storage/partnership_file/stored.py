"""What the database already holds that the file may name: the rows a load
updates, the ids the checks may refer to, and the stored action each of the
file's actions updates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from storage.models import (
    Action,
    Group,
    Meeting,
    Membership,
    Organisation,
    Partnership,
    Person,
    Workstream,
    WorkstreamMember,
)
from storage.partnership_file import shapes

PARTNERSHIP_ID = 1


@dataclass(frozen=True)
class Stored:
    """What the database already holds that the file may refer to."""

    organisations: frozenset[str] = frozenset()
    people: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    workstreams: frozenset[str] = frozenset()
    slack_ids: Mapping[str, str] = field(default_factory=dict)  # Slack id -> person id
    channels: Mapping[str, str] = field(default_factory=dict)  # channel -> group slug
    meetings: frozenset[tuple[str, datetime]] = frozenset()  # (group slug, start instant)


@dataclass
class StoredRows:
    """Every stored row the file can name, read with one query per table."""

    partnership: Partnership | None
    organisations: dict[str, Organisation]
    people: dict[str, Person]
    groups: dict[str, Group]
    memberships: list[Membership]
    workstreams: dict[str, Workstream]
    workstream_members: list[WorkstreamMember]
    meetings: dict[tuple[int, datetime], Meeting]

    @classmethod
    def read(cls, session: Session) -> StoredRows:
        groups = {g.slug: g for g in session.scalars(select(Group))}
        return cls(
            partnership=session.get(Partnership, PARTNERSHIP_ID),
            organisations={o.key: o for o in session.scalars(select(Organisation))},
            people={p.key: p for p in session.scalars(select(Person))},
            groups=groups,
            memberships=list(session.scalars(select(Membership))),
            workstreams={w.slug: w for w in session.scalars(select(Workstream))},
            workstream_members=list(session.scalars(select(WorkstreamMember))),
            meetings={(m.group_id, m.starts_at): m for m in session.scalars(select(Meeting))},
        )

    def stored(self) -> Stored:
        slug_of = {group.id: slug for slug, group in self.groups.items()}
        return Stored(
            organisations=frozenset(self.organisations),
            people=frozenset(self.people),
            groups=frozenset(self.groups),
            workstreams=frozenset(self.workstreams),
            slack_ids={p.slack_user_id: key for key, p in self.people.items() if p.slack_user_id},
            channels={g.channel: slug for slug, g in self.groups.items() if g.channel},
            meetings=frozenset((slug_of[group_id], start) for group_id, start in self.meetings),
        )


def match_actions(session: Session, actions: list[shapes.Action]) -> list[tuple[Action | None, int]]:
    """For each action in the file, the stored action it updates (None: a new
    one) and its number. Matched by ref, else by what and due (the lowest-numbered
    one not already matched); new actions are numbered on from the highest."""
    refs = [a.ref for a in actions if a.ref is not None]
    whats = [a.what for a in actions if a.ref is None]
    stored = (
        list(
            session.scalars(
                select(Action)
                .where(or_(Action.number.in_(refs), Action.what.in_(whats)))
                .order_by(Action.number)
            )
        )
        if actions
        else []
    )
    next_number = max([session.scalar(select(func.max(Action.number))) or 0, *refs]) + 1
    by_number = {action.number: action for action in stored}
    by_what_due: dict[tuple[str, date | None], list[Action]] = {}
    for row in stored:
        by_what_due.setdefault((row.what, row.due), []).append(row)
    claimed = set(refs)
    matches: list[tuple[Action | None, int]] = []
    for action in actions:
        if action.ref is not None:
            matches.append((by_number.get(action.ref), action.ref))
            continue
        alike = by_what_due.get((action.what, action.due), [])
        match = next((a for a in alike if a.number not in claimed), None)
        if match is None:
            matches.append((None, next_number))
            next_number += 1
        else:
            claimed.add(match.number)
            matches.append((match, match.number))
    return matches
