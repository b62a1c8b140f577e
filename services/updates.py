"""Workstream updates: the board's highlight reports, in full or as a quick line."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Integer, Select, bindparam, exists, func, insert, literal_column, select
from sqlalchemy.orm import Session

from services import audit, workstreams
from services.errors import UserError
from storage.models import RAG_STATUSES, Person, Update, Workstream
from storage.prepared import Prepared, next_id
from storage.session import at_commit

HISTORY = 5
MAX_PART = 3000  # each part of a highlight report; a Slack section holds 3,000 characters

# The parts of a highlight report, in the order the board's own reports give them.
PARTS = (
    ("progress", "Progress made"),
    ("issues", "Issues"),
    ("risks", "Risks"),
    ("next_steps", "Next steps"),
    ("decision_needed", "Decision needed from the board"),
)


@dataclass(frozen=True)
class Report:
    """What a person reports: the status (None: as it was) and the parts they filled in."""

    rag: str | None = None
    progress: str = ""
    issues: str = ""
    risks: str = ""
    next_steps: str = ""
    decision_needed: str = ""


@dataclass(frozen=True)
class Posted:
    """An update as saved: its id, its status and its parts (None where empty)."""

    id: int
    rag: str
    parts: dict[str, str | None]
    previous: str | None  # the status before, None for a first update

    @property
    def full(self) -> bool:
        """A highlight report, not a one-line update: more than its progress."""
        return any(self.parts[name] for name, _ in PARTS[1:])

    @property
    def changed(self) -> bool:
        return self.previous is not None and self.previous != self.rag


_NEWEST = (  # built once
    select(Update)
    .where(Update.workstream_id == bindparam("workstream"))
    .order_by(Update.created_at.desc(), Update.id.desc())
    .limit(1)
)


def last(session: Session, workstream: Workstream) -> Update | None:
    return session.scalar(_NEWEST, {"workstream": workstream.id})


def latest_of(session: Session, ids: list[int]) -> dict[int, Update]:
    """The newest update of each of these workstreams, in one query."""
    if not ids:
        return {}
    newest = (
        select(Update.workstream_id, func.max(Update.id).label("id"))
        .where(Update.workstream_id.in_(ids))
        .group_by(Update.workstream_id)
        .subquery()
    )
    found = session.scalars(select(Update).join(newest, newest.c.id == Update.id))
    return {u.workstream_id: u for u in found}


def history(session: Session, workstream: Workstream, limit: int = HISTORY) -> list[Update]:
    return list(
        session.scalars(
            select(Update)
            .where(Update.workstream_id == workstream.id)
            .order_by(Update.created_at.desc(), Update.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class Before:
    """What posting an update reads first: the status it follows (None for a
    workstream's first), whether its author leads or contributes to it, and on
    PostgreSQL the id the update will have (None: given as it is written)."""

    previous: str | None
    member: bool
    next_id: int | None = None


def find_to_post(session: Session, text: str, *, actor: Person) -> tuple[Workstream, Before | None]:
    """The workstream `text` names (as `workstreams.find`) and what posting to
    it by `actor` reads first, asked with it (one round trip on PostgreSQL, where
    each is about a tenth of `/update`); None for that when `text` was not its
    whole slug."""
    workstream, rows = workstreams.find_with(session, text, _BEFORE_BY_SLUG, {"person": actor.id})
    return workstream, None if rows is None else Before(rows[0][0], bool(rows[0][1]), rows[0][2])


def post(
    session: Session,
    *,
    now: datetime,
    actor: Person,
    workstream: Workstream,
    report: Report,
    before: Before | None = None,
) -> Posted:
    """Save an update: checked, audited; the status carries over when not given
    (green for a workstream's first). `before`: as `find_to_post` read it, if it did."""
    # Plain statements: posting an update is a hot write, and an Update object
    # through the session's unit of work cost more than the statements.
    connection = session.connection()
    if before is None:
        previous, member = _BEFORE.rows(connection, {"workstream": workstream.id, "person": actor.id})[0]
        before = Before(previous, bool(member))
    previous = before.previous
    workstreams.check_can_report(session, actor=actor, workstream=workstream, member=before.member)
    workstreams.check_open(workstream)
    parts = {name: getattr(report, name).strip() for name, _ in PARTS}
    if not any(parts.values()):
        raise UserError(
            f"Say what has happened: `/update {workstream.slug} amber Pooled budget delayed to Q3`, "
            f"or `/update {workstream.slug}` for the full highlight report. Nothing was changed."
        )
    for name, label in PARTS:
        if len(parts[name]) > MAX_PART:
            raise UserError(
                f"{label} can be at most {MAX_PART:,} characters (yours is {len(parts[name]):,}): "
                "put the detail in the written highlight report. Nothing was changed."
            )
    if report.rag is not None and report.rag not in RAG_STATUSES:
        raise UserError(f"The status is green, amber or red, not '{report.rag}'. Nothing was changed.")
    rag = report.rag or previous or "green"
    saved = {name: value or None for name, value in parts.items()}
    values = {"workstream_id": workstream.id, "author_id": actor.id, "rag": rag, "created_at": now} | saved
    if before.next_id is None:
        update_id = _INSERT.scalar(connection, values)
    else:  # its id drawn with the first reads: nothing waits on the row, so it goes with the COMMIT
        update_id = before.next_id
        at_commit(session, _INSERT_WITH_ID, values | {"id": update_id})
    audit.record(
        session,
        actor=actor,
        what="update.post",
        subject=workstream.slug,
        at=now,
        before={"rag": previous},
        after={"rag": rag, "update": update_id},
    )
    return Posted(id=update_id, rag=rag, parts=saved, previous=previous)


def _before(workstream: ColumnElement[int], *, drawing_id: bool = False) -> Select:
    """`Before`, in one question about `workstream` (its id, or `ID_BY_SLUG`);
    `drawing_id`: with the next update's id (`next_id`)."""
    newest = (
        select(Update.rag)
        .where(Update.workstream_id == workstream)
        .order_by(Update.created_at.desc(), Update.id.desc())
        # LIMIT 1 written into the SQL, not sent as a parameter: PostgreSQL then
        # plans the prepared statement once (a generic plan), where a LIMIT it
        # could not see made it plan it afresh every time on the county-scale data
        # of bench/ (0.15 ms of server time a request; the demo's is planned once either way).
        .limit(literal_column("1", Integer))
    )
    member = exists().where(*workstreams.is_member(workstream))
    if drawing_id:
        return select(newest.scalar_subquery(), member, next_id(Update.__table__))
    return select(newest.scalar_subquery(), member)


_BEFORE = Prepared(_before(bindparam("workstream")))
_BEFORE_BY_SLUG = Prepared(_before(workstreams.ID_BY_SLUG, drawing_id=True))
_COLUMNS = ("workstream_id", "author_id", "rag", "created_at", *dict(PARTS))
_INSERT = Prepared(insert(Update).values({name: bindparam(name) for name in _COLUMNS}).returning(Update.id))
_INSERT_WITH_ID = Prepared(insert(Update).values({name: bindparam(name) for name in ("id", *_COLUMNS)}))


def authors(session: Session, updates: list[Update]) -> dict[int, Person]:
    ids = {u.author_id for u in updates if u.author_id is not None}
    if not ids:
        return {}
    return {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(ids)))}
