"""Every change leaves an audit entry: who, what, when, before and after."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import bindparam, insert
from sqlalchemy.orm import Session

from storage.models import AuditEntry, Person
from storage.prepared import Prepared
from storage.session import at_commit


def changed(session: Session) -> bool:
    """True once this session has recorded a change."""
    return bool(session.info.get("audited"))


def concerned(session: Session) -> set[str]:
    """The Slack ids of the people this session's changes concern besides the
    one who made them (the owner of an action an officer changed), so that the
    front end republishes their Home tabs too."""
    return set(session.info.get("concerns", ()))


def _concern(session: Session, people: Iterable[Person | None]) -> None:
    ids = {person.slack_user_id for person in people if person is not None and person.slack_user_id}
    if ids:
        session.info.setdefault("concerns", set()).update(ids)


def record(
    session: Session,
    *,
    actor: Person | None,
    what: str,
    subject: str,
    at: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    concerns: Iterable[Person | None] = (),
) -> None:
    # The front end sees that this transaction changed something (and so, e.g.,
    # republishes the person's Home tab) without every service telling it;
    # `concerns` names whose Home tabs it changes besides (see `concerned`).
    session.info["audited"] = True
    _concern(session, concerns)
    # Written as the transaction commits (on PostgreSQL in COMMIT's own round
    # trip), as a plain INSERT: an AuditEntry object left for the session's flush
    # cost a write more than the rest of its unit of work.
    at_commit(
        session,
        _ENTRY,
        {
            "actor_id": actor.id if actor else None,
            "actor": actor.name if actor else "partnerbot",
            "what": what,
            "subject": subject,
            "at": at,
            "before": _plain(before),
            "after": _plain(after),
        },
    )


# Nothing read back: it can go with the COMMIT.
_ENTRY = Prepared(
    insert(AuditEntry).values(
        {name: bindparam(name) for name in ("actor_id", "actor", "what", "subject", "at", "before", "after")}
    )
)


def record_many(
    session: Session,
    *,
    actor: Person | None,
    what: str,
    at: datetime,
    entries: list[tuple[str, dict[str, Any]]],
    concerns: Iterable[Person | None] = (),
) -> None:
    """Many changes of one kind at once (an imported table's actions), as one
    statement: `entries` are (subject, after) pairs."""
    if not entries:
        return
    session.info["audited"] = True
    _concern(session, concerns)
    session.execute(
        insert(AuditEntry),
        [
            {
                "actor_id": actor.id if actor else None,
                "actor": actor.name if actor else "partnerbot",
                "what": what,
                "subject": subject,
                "at": at,
                "before": None,
                "after": _plain(after),
            }
            for subject, after in entries
        ],
    )


def _plain(values: dict[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    return {key: _json(value) for key, value in values.items()}


def _json(value: Any) -> Any:
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    return value
