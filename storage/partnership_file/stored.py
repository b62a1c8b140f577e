"""What the database already holds that the file may name: the rows a load
updates, the ids the checks may refer to, and the stored action each of the
file's actions updates."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from storage.models import (
    Action,
    AuditEntry,
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


def match_actions(
    session: Session, actions: list[shapes.Action]
) -> tuple[list[tuple[Action | None, int]], dict[int, dict[str, Any]]]:
    """For each action in the file, the stored action it updates (None: a new
    one) and its number. Matched by ref, else by what and due (the lowest-numbered
    one not already matched), else by what and the due a file last gave it (its
    due date moved in Slack since: `/action due`); new actions are numbered on
    from the highest. With them, what files last set on the stored actions that
    could match (`filed`), by number."""
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
    claimed = set(refs)
    found: list[Action | None] = [by_number.get(a.ref) if a.ref is not None else None for a in actions]
    _pair(actions, found, stored, claimed, stored_due=lambda row: row.due, due=lambda action: action.due)
    by_subject = filed(session, [f"action {row.ref}" for row in stored])
    as_filed = {row.number: by_subject.get(f"action {row.ref}", {}) for row in stored}
    if any(match is None and action.ref is None for match, action in zip(found, actions, strict=True)):
        _pair(
            actions,
            found,
            stored,
            claimed,
            stored_due=lambda row: as_filed[row.number].get("due"),
            due=lambda action: action.due.isoformat() if action.due else None,
        )
    matches: list[tuple[Action | None, int]] = []
    for action, match in zip(actions, found, strict=True):
        if action.ref is not None:
            matches.append((match, action.ref))
        elif match is not None:
            matches.append((match, match.number))
        else:
            matches.append((None, next_number))
            next_number += 1
    return matches, as_filed


def _pair(
    actions: list[shapes.Action],
    found: list[Action | None],
    stored: list[Action],
    claimed: set[int],
    *,
    stored_due: Callable[[Action], Any],
    due: Callable[[shapes.Action], Any],
) -> None:
    """Fill in `found` for the file's actions not yet matched: the lowest-numbered
    stored action not yet claimed with the same what and due (each as read by
    `stored_due` and `due`)."""
    alike: dict[tuple[str, Any], list[Action]] = {}
    for row in stored:
        alike.setdefault((row.what, stored_due(row)), []).append(row)
    for index, action in enumerate(actions):
        if action.ref is not None or found[index] is not None:
            continue
        match = next((a for a in alike.get((action.what, due(action)), []) if a.number not in claimed), None)
        if match is not None:
            claimed.add(match.number)
            found[index] = match


def filed(session: Session, subjects: list[str]) -> dict[str, dict[str, Any]]:
    """What partnership files last set on each of these rows, by the audit
    subject their loads gave it ("action A12", "meeting board 2015-06-16"), as
    the audit log holds it (ids in the file, dates as text; a meeting's uid and
    start among it): the base a later load compares with, so that a change made
    in Slack since (a new due date, owner or place; a meeting moved) stands
    unless the file itself changes it."""
    if not subjects:
        return {}
    rows = session.execute(
        select(AuditEntry.subject, AuditEntry.after)
        .where(
            AuditEntry.what.in_(("load.create", "load.update", "load.agree")),
            AuditEntry.subject.in_(subjects),
        )
        .order_by(AuditEntry.id)
    )
    values: dict[str, dict[str, Any]] = {}
    for subject, after in rows:
        values.setdefault(subject, {}).update(after or {})
    return values
