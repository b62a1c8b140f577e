"""Workstreams: found by slug the way people type them; who may report on one; closing one."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, bindparam, select
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.util import identity_key

from services import audit, directory
from services import groups as groups_service
from services.errors import NotFound, PermissionDenied, UserError
from services.text import clip
from storage.models import Group, Person, Workstream, WorkstreamMember
from storage.prepared import Prepared, read_together

MAX_SLUG_TYPED = 64


# Built once: every update asks them.
_BY_SLUG = Prepared(select(*Workstream.__table__.columns).where(Workstream.slug == bindparam("slug")))
# The id of the workstream whose slug is :slug, for a question asked with `find_with`.
ID_BY_SLUG = select(Workstream.id).where(Workstream.slug == bindparam("slug")).scalar_subquery()


def is_member(workstream: ColumnElement[int]) -> tuple[ColumnElement[bool], ...]:
    """Whether :person leads or contributes to `workstream` (its id, or `ID_BY_SLUG`)."""
    return (WorkstreamMember.workstream_id == workstream, WorkstreamMember.person_id == bindparam("person"))


_MEMBER = select(WorkstreamMember.id).where(*is_member(bindparam("workstream")))


def every(session: Session) -> list[Workstream]:
    return list(session.scalars(select(Workstream).order_by(Workstream.slug)))


def match(session: Session, text: str) -> Workstream | None:
    """A slug, case-insensitively, or a unique prefix of one."""
    found = _matching(every(session), text)
    return found[0] if len(found) == 1 else None


def find(session: Session, text: str) -> Workstream:
    """The workstream `text` names, or a refusal that suggests the closest slug
    and lists them all."""
    needle = text.strip().lower()
    if needle:  # a slug typed whole, as buttons and most people do: one row, by its index
        exact = _BY_SLUG.first(session.connection(), {"slug": needle[:MAX_SLUG_TYPED]})
        if exact is not None:
            return _in_session(session, exact)
    return _found(session, text)


def find_with(
    session: Session, text: str, question: Prepared, parameters: Mapping[str, Any]
) -> tuple[Workstream, list[Any] | None]:
    """`find`, to read only, and the rows of `question` about the workstream (it
    names it by `ID_BY_SLUG`), asked with it: on PostgreSQL in the same round
    trip. The rows are None when `text` is not a whole slug (found by its start
    instead). A workstream found by its whole slug is the session's own if the
    session holds it already, else a copy in no session (see `_to_read`)."""
    slug = text.strip().lower()[:MAX_SLUG_TYPED]
    if slug:
        exact, rows = read_together(
            session.connection(), (_BY_SLUG, {"slug": slug}), (question, {**parameters, "slug": slug})
        )
        if exact:
            return _to_read(session, exact[0]), rows
    return _found(session, text), None


def _found(session: Session, text: str) -> Workstream:
    """The one workstream whose slug starts with `text`, else a refusal."""
    workstreams = every(session)
    found = _matching(workstreams, text)
    if len(found) == 1:
        return found[0]
    slugs = [w.slug for w in workstreams]
    listed = ", ".join(slugs) if slugs else "there are none yet"
    typed = clip(" ".join(text.split()), 40)
    if len(found) > 1:
        raise UserError(
            f"'{typed}' could be {', '.join(w.slug for w in found)}: type more of the name. "
            "Nothing was changed."
        )
    closest = _closest(text.strip().lower()[:MAX_SLUG_TYPED], slugs)
    hint = f" Did you mean {closest}?" if closest else ""
    raise NotFound(f"There is no workstream '{typed}'.{hint} Workstreams: {listed}. Nothing was changed.")


def _in_session(session: Session, row: Any) -> Workstream:
    """The Workstream of a row read as columns, in `session` as if the session had
    loaded it (the one it holds already, if it does): what loading it would give,
    without the ORM's loading, which was a fifth of `/update` (bench/README.md)."""
    workstream = _to_read(session, row)
    if workstream not in session:
        session.add(workstream)  # as loaded: nothing to write, its members not yet read
    return workstream


def _to_read(session: Session, row: Any) -> Workstream:
    """The Workstream of a row read as columns, to read its columns only: the one
    `session` holds, if it does; else a copy in no session, as loaded. Taking it
    into the session (`_in_session`) cost 40 µs of `/update`'s 0.5 ms, most of it
    `Session.add`. Its relationships are not loaded (reading one raises
    DetachedInstanceError), and a change to it is never written."""
    held = session.identity_map.get(identity_key(Workstream, row.id))
    if held is not None:
        return cast(Workstream, held)
    workstream = Workstream(**row._asdict())
    make_transient_to_detached(workstream)
    return workstream


_SMALL_WORDS = {"and", "of", "the", "for", "in", "to"}


def _closest(needle: str, slugs: list[str]) -> str | None:
    """The slug most like what was typed, judged against the whole slug, its
    start, each of its words and its initials, so a typo in a short form
    ("jont") or the initials people use ("jc", "wr") still find it."""
    best, best_score = None, 0.6
    for slug in slugs:
        words = slug.split("-")
        initials = "".join(word[0] for word in words if word)
        content = "".join(word[0] for word in words if word and word not in _SMALL_WORDS)
        forms = [slug, slug[: len(needle)], *words, initials, content]
        score = max(difflib.SequenceMatcher(None, needle, form).ratio() for form in forms)
        if score > best_score:
            best, best_score = slug, score
    return best


def _matching(workstreams: list[Workstream], text: str) -> list[Workstream]:
    needle = text.strip().lower()
    if not needle:
        return []
    exact = [w for w in workstreams if w.slug == needle]
    return exact or [w for w in workstreams if w.slug.startswith(needle)]


@dataclass(frozen=True)
class Role:
    workstream: Workstream
    role: str  # "lead" or "contributor"


def of_person(session: Session, person: Person) -> list[Role]:
    """The workstreams a person leads, then those they contribute to, by name."""
    rows = session.execute(
        select(Workstream, WorkstreamMember.role)
        .join(WorkstreamMember, WorkstreamMember.workstream_id == Workstream.id)
        .where(WorkstreamMember.person_id == person.id)
    ).all()
    roles = [Role(workstream=w, role=role) for w, role in rows]
    return sorted(roles, key=lambda r: (r.role != "lead", r.workstream.name))


def people_of(session: Session, workstream: Workstream) -> dict[str, list[Person]]:
    """Its leads and contributors, by role, by name."""
    rows = session.execute(
        select(WorkstreamMember.role, Person)
        .join(Person, Person.id == WorkstreamMember.person_id)
        .where(WorkstreamMember.workstream_id == workstream.id)
        .order_by(Person.name)
    ).all()
    found: dict[str, list[Person]] = {"lead": [], "contributor": []}
    for role, person in rows:
        found.setdefault(role, []).append(person)
    return found


def reporting_group(session: Session, workstream: Workstream) -> Group | None:
    """The group the workstream reports to, to read only: the directory's shared
    copy where there is one (see `groups.in_scope_to_read`)."""
    if workstream.group_id is None:
        return None
    known = directory.groups(session)
    if known is not None:
        return known.by_id[workstream.group_id]
    return session.get(Group, workstream.group_id)


def _officers(session: Session, group: Group | None) -> list[Person]:
    return groups_service.officers_of(session, group) if group else groups_service.all_officers(session)


def _is_officer(session: Session, person: Person, group: Group | None) -> bool:
    # A workstream with no reporting group is looked after by any group's officers.
    return groups_service.is_officer(session, person, group)


def looks_after(session: Session, person: Person, workstream: Workstream) -> bool:
    """Whether `person` may report on `workstream` without leading or contributing
    to it: as an officer (or the chair) of the group it reports to."""
    return _is_officer(session, person, reporting_group(session, workstream))


def check_can_report(
    session: Session, *, actor: Person, workstream: Workstream, member: bool | None = None
) -> None:
    """Leads, contributors and the reporting group's officers (or chair) post
    updates. `member`: whether `actor` leads or contributes to it, if known."""
    if member is None:
        member = bool(
            session.connection().execute(_MEMBER, {"workstream": workstream.id, "person": actor.id}).first()
        )
    if member:
        return
    group = reporting_group(session, workstream)
    if _is_officer(session, actor, group):
        return
    members = people_of(session, workstream)
    leads = ", ".join(p.name for p in members["lead"]) or "none named"
    officers = ", ".join(p.name for p in _officers(session, group)[:4])
    officials = f"officers and chair of the {group.name}" if group else "officers and chairs"
    raise PermissionDenied(
        f"Only the leads of {workstream.name} ({leads}), its contributing partners and the "
        f"{officials}" + (f" ({officers})" if officers else "") + " can post its updates. "
        "Ask one of them, or an officer to add you to the workstream. Nothing was changed."
    )


def check_open(workstream: Workstream) -> None:
    if not workstream.is_open:
        raise UserError(
            f"{workstream.name} was closed, so it takes no more updates: its history stays "
            f"(`/update {workstream.slug} history`), and an officer can reopen it "
            f"(`/update {workstream.slug} reopen`). Nothing was changed."
        )


def set_open(
    session: Session, *, now: datetime, actor: Person, workstream: Workstream, is_open: bool
) -> bool:
    """Officers close a finished workstream (it takes no updates and leaves the
    digest), or reopen one closed by mistake or taken up again. False when it
    was so already."""
    group = reporting_group(session, workstream)
    if not _is_officer(session, actor, group):
        officers = ", ".join(p.name for p in _officers(session, group)[:4])
        of_group = f" of the {group.name}" if group else ""
        raise PermissionDenied(
            f"Only the officers{of_group} or its chair can {'reopen' if is_open else 'close'} {workstream.name}"
            + (f": ask {officers}" if officers else "")
            + ". Nothing was changed."
        )
    if workstream.is_open == is_open:
        return False
    workstream.is_open = is_open
    audit.record(
        session,
        actor=actor,
        what="workstream.reopen" if is_open else "workstream.close",
        subject=workstream.slug,
        at=now,
        before={"open": not is_open},
        after={"open": is_open},
    )
    return True
