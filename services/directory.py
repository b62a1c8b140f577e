"""The partnership, the person behind a request, and the groups with their
members' roles, remembered per process.

Every command needs them, and they change only when the partnership file is
loaded again; looking them up afresh took a third of a command's time. A
request now asks the database one cheap question (the version of the latest
load that changed something) and takes the rest from memory: each thread's
own copies, taken into the request's session without a query; a new version
forgets everything remembered. On PostgreSQL a request on a connection its
thread keeps does not wait for the answer: it goes on the version its thread
and the process last saw, and the question goes with its first reads (before
anything it writes); a different answer means the request runs again, on the
new version (storage.session `expect_first`, bot/commands/core.py `execute`).
The groups are taken from memory only in a transaction that asked that
question (`lookup`): anywhere else, `groups()` is None and they are read afresh.

Whatever changes the partnership or its people outside `partnerbot load` must
add a PartnershipLoad row in the same transaction, as the loader does."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TypeVar
from weakref import WeakKeyDictionary

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.base import instance_state

from services import partnership as partnership_service
from storage.models import VERSION_READ, Group, Membership, Partnership, Person
from storage.session import ANSWERED_FIRST, ask, expect_first, first_answer, first_pending

MAX_PEOPLE = 2000  # Slack users remembered, known or not, before starting afresh

# Asked on every request: the command core has it asked as its transaction
# begins (storage.session.transaction's `ask_first`), which costs PostgreSQL no
# round trip of its own.
LATEST_LOAD = "SELECT version FROM partnership_load ORDER BY id DESC LIMIT 1"
# With their organisation, which replies name ("Ray Cottam (Lancashire Fire and Rescue)").
_BY_SLACK_USER = (
    select(Person).where(Person.slack_user_id == bindparam("who")).options(joinedload(Person.organisation))
)
_BY_KEY = select(Person).where(Person.key == bindparam("who")).options(joinedload(Person.organisation))

_Row = TypeVar("_Row", Partnership, Person, Group)


@dataclass(frozen=True)
class Groups:
    """Every group (detached: `attach` one to use it) and every member's roles."""

    by_id: dict[int, Group]
    by_channel: dict[str, int]
    roles: dict[int, dict[int, str]]  # person id -> group id -> role

    def attach(self, session: Session, group_id: int) -> Group:
        return session.merge(self.by_id[group_id], load=False)


class _Mine(threading.local):
    """A thread's own copies of the partnership and the people it has looked up,
    for one version of the partnership file."""

    version: str | None = None
    seen = False  # whether `version` was read (None is a version too: no load yet)
    partnership: Partnership | None = None
    people: dict[tuple[str, str], Person | None]

    def __init__(self) -> None:
        self.people = {}


class Directory:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version: str | None = None
        self._seen = False  # as _Mine.seen, for the process
        self._groups: Groups | None = None
        self._mine = _Mine()

    def lookup(
        self, session: Session, *, slack_user_id: str | None = None, person_key: str | None = None
    ) -> tuple[Partnership, Person | None]:
        """The partnership (UserError if none is loaded) and the person with this
        Slack user id or person id (None if nobody is), in `session`.

        Each thread keeps copies of its own, out of every session once the one
        that loaded them has ended: a command reads them, and what it writes
        refers to them by id. (Taking the person into each request's session,
        `Session.add` cascading to its organisation, cost a fifth of what every
        command pays.) A row loaded that refers to the person gets a copy of its
        own. A copy that a rollback expired is looked up afresh."""
        mine = self._mine
        version = self._latest_load(session)
        session.info[VERSION_READ] = version
        with self._lock:
            if version != self._version or not self._seen:
                self._version, self._groups, self._seen = version, None, True
        if version != mine.version or not mine.seen:
            mine.version, mine.partnership, mine.people, mine.seen = version, None, {}, True

        partnership = _taken(session, mine.partnership)
        if partnership is None:
            partnership = mine.partnership = partnership_service.get(session)

        who: tuple[str, str]
        if slack_user_id:
            who = ("slack", slack_user_id)
        elif person_key:
            who = ("key", person_key)
        else:
            return partnership, None
        if who in mine.people:
            person = mine.people[who]
            if person is None or _taken(session, person) is not None:
                return partnership, person
        person = session.scalar(_BY_SLACK_USER if who[0] == "slack" else _BY_KEY, {"who": who[1]})
        if len(mine.people) >= MAX_PEOPLE:
            mine.people.clear()
        mine.people[who] = person
        return partnership, person

    def _latest_load(self, session: Session) -> str | None:
        """The version of the latest load: as the transaction's first question
        answered it; or, where that question waits to go with the first reads
        (PostgreSQL, a transaction that only reads), the version this thread and
        the process last saw, if both saw the same, to be checked with those
        reads (a load since, and the command runs again: bot/commands/core.py)."""
        asked = session.info.get(ANSWERED_FIRST)
        if asked is not None and asked[0] == LATEST_LOAD:
            return asked[1]
        if first_pending(session):
            with self._lock:
                seen, known = self._seen, self._version
            if seen and self._mine.seen and self._mine.version == known:
                expect_first(session, known)
                return known
            return first_answer(session)
        return ask(session.connection(), LATEST_LOAD)

    def groups(self, session: Session) -> Groups | None:
        """The groups, if this transaction read the version they are remembered for."""
        if VERSION_READ not in session.info:
            return None
        version = session.info[VERSION_READ]
        with self._lock:
            if version != self._version:
                return None
            known = self._groups
        if known is None:
            by_id = {g.id: _detached(session, g) for g in session.scalars(select(Group).order_by(Group.id))}
            roles: dict[int, dict[int, str]] = {}
            for person_id, group_id, role in session.execute(
                select(Membership.person_id, Membership.group_id, Membership.role).order_by(
                    Membership.group_id
                )
            ):
                roles.setdefault(person_id, {})[group_id] = role
            known = Groups(by_id, {g.channel: g.id for g in by_id.values() if g.channel}, roles)
            with self._lock:
                if version == self._version:
                    self._groups = known
        return known


def _taken(session: Session, row: _Row | None) -> _Row | None:
    """A thread's copy, to use in `session` as it is; None if there is none to
    take, or it was expired (a rollback expires whatever its session held) or is
    in another session still open (a caller holding two at once)."""
    if row is None:
        return None
    state = instance_state(row)
    if state.expired_attributes or state.expired:
        return None
    if state.session_id is not None and state.session_id != session.hash_key:
        return None
    return row


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
    return _directory(session).lookup(session, slack_user_id=slack_user_id, person_key=person_key)


def groups(session: Session) -> Groups | None:
    """`Directory.groups` with this process's directory for the session's database."""
    return _directory(session).groups(session)


def _directory(session: Session) -> Directory:
    bind = session.get_bind()
    with _directories_lock:
        directory = _directories.get(bind)
        if directory is None:
            directory = _directories[bind] = Directory()
    return directory
