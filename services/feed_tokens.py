"""Calendar feed tokens: issued, shown again, revoked, and checked.

A feed link carries a long random-looking token. The database keeps a random
nonce and the token's sha256, never the token: the token is HMAC-SHA256 of the
nonce under the server's feed secret (FEED_SECRET). So `/calendar` can show the
same working link every time it is typed, a copy of the database alone gives no
working link, and the server's secret alone gives none either.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from services import audit
from storage.models import FeedToken, Group, Person

# 256 bits as hex: nothing in it that Slack's mrkdwn could read as _italic_ or
# *bold*, or that a calendar app could mangle in a URL.
TOKEN_LENGTH = 64


@dataclass(frozen=True)
class Issued:
    """A person's or group's current feed token, and the token for its link."""

    row: FeedToken
    token: str
    renewed: bool  # a new token replaced one whose link the server can no longer show
    new: bool = False  # issued just now (first use, or renewed)


def token_for(row: FeedToken, *, secret: bytes) -> str:
    return _derived(row.nonce, secret)


def _derived(nonce: str, secret: bytes) -> str:
    return hmac.new(secret, nonce.encode(), hashlib.sha256).hexdigest()


def token_from_stored(stored: str, *, secret: bytes) -> str | None:
    """The token of a live row read as "nonce:hash", if this server's secret
    still derives it (else its link would not work, and None)."""
    nonce, _, token_hash = stored.partition(":")
    token = _derived(nonce, secret)
    return token if hmac.compare_digest(hash_of(token), token_hash) else None


def hash_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def current(
    session: Session,
    *,
    person: Person | None = None,
    group: Group | None = None,
    secret: bytes,
    now: datetime,
    actor: Person | None,
) -> Issued:
    """The live token of a person (or a group), issued on first use.

    Should FEED_SECRET have changed since it was issued, the stored hash no
    longer matches what the server derives, so the old token is revoked and a
    new one issued: a link shown must be a link that works."""
    row = _live(session, person=person, group=group)
    if row is not None:
        token = token_for(row, secret=secret)
        if hmac.compare_digest(hash_of(token), row.token_hash):
            return Issued(row=row, token=token, renewed=False)
        _revoke(session, row, now=now, actor=actor, why="feed secret changed")
        issued = _issue(session, person=person, group=group, secret=secret, now=now, actor=actor, old=row)
        return Issued(row=issued.row, token=issued.token, renewed=True, new=True)
    return _issue(session, person=person, group=group, secret=secret, now=now, actor=actor)


def reset(
    session: Session,
    *,
    person: Person | None = None,
    group: Group | None = None,
    secret: bytes,
    now: datetime,
    actor: Person | None,
) -> Issued:
    """Revoke the live token (its link stops working at once) and issue a new one.

    Every live token is revoked, not only the newest: two `/calendar` typed at
    the same moment on PostgreSQL can each issue one, and a reset must stop
    every link that was shown."""
    live = list(session.scalars(_live_statement(person=person, group=group)))
    for row in live:
        _revoke(session, row, now=now, actor=actor, why="reset")
    old = live[0] if live else None
    return _issue(session, person=person, group=group, secret=secret, now=now, actor=actor, old=old)


def set_with_actions(
    session: Session, *, row: FeedToken, on: bool, now: datetime, actor: Person | None
) -> bool:
    """Whether the feed carries the person's action due dates. True if that changed."""
    if row.with_actions == on:
        return False
    audit.record(
        session,
        actor=actor,
        what="calendar.actions",
        subject=_subject(row),
        at=now,
        before={"with_actions": row.with_actions},
        after={"with_actions": on},
    )
    row.with_actions = on
    return True


def issue_for_groups(session: Session, *, groups: list[Group], secret: bytes, now: datetime) -> int:
    """Give every group a live feed token it lacks (or one this secret derives),
    so that `/meeting next`, which only reads, can show the group's calendar
    link from the start. Returns how many were issued."""
    # `current` issues one where there is none, and renews one this secret does not derive.
    return sum(current(session, group=group, secret=secret, now=now, actor=None).new for group in groups)


def find(session: Session, token: str) -> FeedToken | None:
    """The live token row a feed request presents, or None (unknown, revoked,
    not even shaped like a token, or the feed of someone who has left the
    partnership: theirs answers again if they are put back in the file)."""
    if len(token) != TOKEN_LENGTH:
        return None
    wanted = hash_of(token)
    row = session.scalar(
        select(FeedToken)
        .outerjoin(Person, FeedToken.person_id == Person.id)
        .where(FeedToken.token_hash == wanted, FeedToken.revoked_at.is_(None), Person.left_at.is_(None))
    )
    if row is None or not hmac.compare_digest(row.token_hash, wanted):
        return None
    return row


def _live(session: Session, *, person: Person | None, group: Group | None) -> FeedToken | None:
    return session.scalar(_live_statement(person=person, group=group).limit(1))


def _live_statement(*, person: Person | None, group: Group | None) -> Select[FeedToken]:
    """A person's or group's live tokens, the newest first."""
    if person is not None:
        owner = FeedToken.person_id == person.id
    elif group is not None:
        owner = FeedToken.group_id == group.id
    else:
        raise ValueError("a feed token belongs to a person or to a group")
    return select(FeedToken).where(owner, FeedToken.revoked_at.is_(None)).order_by(FeedToken.id.desc())


def _issue(
    session: Session,
    *,
    person: Person | None,
    group: Group | None,
    secret: bytes,
    now: datetime,
    actor: Person | None,
    old: FeedToken | None = None,
) -> Issued:
    row = FeedToken(
        person_id=person.id if person is not None else None,
        group_id=group.id if group is not None else None,
        nonce=secrets.token_urlsafe(32),
        token_hash="",
        with_actions=old.with_actions if old is not None else False,
        created_at=now,
    )
    token = token_for(row, secret=secret)
    row.token_hash = hash_of(token)
    session.add(row)
    session.flush()
    audit.record(session, actor=actor, what="calendar.issue", subject=_subject(row), at=now)
    return Issued(row=row, token=token, renewed=False, new=True)


def _revoke(session: Session, row: FeedToken, *, now: datetime, actor: Person | None, why: str) -> None:
    row.revoked_at = now
    audit.record(
        session,
        actor=actor,
        what="calendar.revoke",
        subject=_subject(row),
        at=now,
        after={"revoked_at": now, "why": why},
    )


def _subject(row: FeedToken) -> str:
    owner = f"person {row.person_id}" if row.person_id is not None else f"group {row.group_id}"
    return f"feed token {row.id} ({owner})" if row.id else f"feed token ({owner})"
