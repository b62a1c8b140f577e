"""The partnership and the person behind a request, remembered per process.

Every command needs both, and both change only when the partnership file is
loaded again; looking them up afresh took a third of a command's time. A
request now asks the database one cheap question (the version of the latest
load that changed something) and takes the rest from memory, copied into its
own session without a query; a new version forgets everything remembered.

Whatever changes the partnership or its people outside `partnerbot load` must
add a PartnershipLoad row in the same transaction, as the loader does."""

from __future__ import annotations

import threading
from typing import TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from services import partnership as partnership_service
from storage.models import Partnership, Person

MAX_PEOPLE = 2000  # Slack users remembered, known or not, before starting afresh

_LATEST_LOAD = "SELECT version FROM partnership_load ORDER BY id DESC LIMIT 1"
_BY_SLACK_USER = select(Person).where(Person.slack_user_id == bindparam("who"))
_BY_KEY = select(Person).where(Person.key == bindparam("who"))

_Row = TypeVar("_Row", Partnership, Person)


class Directory:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: str | None = None
        self._partnership: Partnership | None = None
        self._people: dict[tuple[str, str], Person | None] = {}

    def lookup(
        self, session: Session, *, slack_user_id: str | None = None, person_key: str | None = None
    ) -> tuple[Partnership, Person | None]:
        """The partnership (UserError if none is loaded) and the person with this
        Slack user id or person id (None if nobody is), both in `session`."""
        version = _latest_load(session)
        with self._lock:
            if version != self._version:
                self._version, self._partnership, self._people = version, None, {}
            partnership = self._partnership
            who = ("slack", slack_user_id) if slack_user_id else ("key", person_key) if person_key else None
            person = self._people.get(who) if who else None
            person_known = who is None or who in self._people

        if partnership is None:
            partnership = _detached(session, partnership_service.get(session))
            with self._lock:
                if version == self._version:
                    self._partnership = partnership
        partnership = session.merge(partnership, load=False)

        if not person_known:
            assert who is not None
            found = session.scalar(_BY_SLACK_USER if who[0] == "slack" else _BY_KEY, {"who": who[1]})
            person = _detached(session, found) if found is not None else None
            with self._lock:
                if version == self._version:
                    if len(self._people) >= MAX_PEOPLE:
                        self._people.clear()
                    self._people[who] = person
        if person is not None:
            person = session.merge(person, load=False)
        return partnership, person


def _latest_load(session: Session) -> str | None:
    # Straight to the driver: this runs on every request, and SQLAlchemy's
    # statement machinery costs more than the query.
    cursor = session.connection().connection.cursor()
    try:
        cursor.execute(_LATEST_LOAD)
        row = cursor.fetchone()
    finally:
        cursor.close()
    return row[0] if row else None


def _detached(session: Session, row: _Row) -> _Row:
    """A row just loaded, detached to be shared between requests read-only; each
    request gets its own copy with `session.merge(row, load=False)`."""
    session.expunge(row)
    return row


_directories: WeakKeyDictionary[object, Directory] = WeakKeyDictionary()
_directories_lock = threading.Lock()


def lookup(
    session: Session, *, slack_user_id: str | None = None, person_key: str | None = None
) -> tuple[Partnership, Person | None]:
    """`Directory.lookup` with this process's directory for the session's database."""
    bind = session.get_bind()
    with _directories_lock:
        directory = _directories.get(bind)
        if directory is None:
            directory = _directories[bind] = Directory()
    return directory.lookup(session, slack_user_id=slack_user_id, person_key=person_key)
