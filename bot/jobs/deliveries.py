"""The one delivery path: every message the bot sends leaves through `send_due`.

Each pass claims a few due rows with a short, committed lease (an UPDATE that
only takes rows nobody holds), sends them with no transaction open, then records
each outcome in a transaction of its own. Processes racing on the same database
never send a row twice: a row is claimed by exactly one of them. A process killed
mid-send leaves only the row it was sending in doubt; its lease runs out and
another pass sends it.

Nothing is lost: a transient failure (timeout, 5xx, 429, refused connection, or a
bug in a sender) is retried with capped exponential back-off and jitter until the
message is past its horizon (SPEC 5: a week); only a permanent refusal marks it
failed at once. Failed messages are listed and replayed with `partnerbot
deliveries`."""

from __future__ import annotations

import logging
import random
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from services.clock import Clock
from storage.models import Delivery
from storage.session import transaction

log = logging.getLogger("partnerbot.deliveries")

BATCH = 10
LEASE = timedelta(minutes=5)  # far longer than one send can take (10 s Slack and SMTP timeouts)
FIRST_WAIT = 30.0
LONGEST_WAIT = 3600.0


class TryLater(Exception):
    """Not now: the same message may go through later."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class GiveUp(Exception):
    """The message can never be delivered as it is (an unknown channel, a revoked token)."""


@dataclass(frozen=True)
class Claimed:
    """A delivery as a sender sees it: a copy of the row, detached from any session."""

    id: int
    key: str
    kind: str
    target: str
    payload: dict[str, Any]
    attempts: int
    token: str  # the lease this pass holds on the row
    # An earlier pass took it and never said how it went (it was killed mid-send):
    # the message may already be out, and a sender that can tell should check first.
    in_doubt: bool = False


class Sender(Protocol):
    def send(self, delivery: Claimed) -> None:
        """Deliver it, or raise TryLater or GiveUp."""
        ...


class Route:
    """Sends each kind of delivery with the sender for it: Slack for posts and
    direct messages, SMTP for invitations. A kind with no sender here is a
    configuration gap, so the message fails with that reason and can be replayed
    once it is filled."""

    def __init__(self, senders: Mapping[str, Sender]) -> None:
        self._senders = dict(senders)

    def send(self, delivery: Claimed) -> None:
        sender = self._senders.get(delivery.kind)
        if sender is None:
            raise GiveUp(f"nothing here sends {delivery.kind} messages (is it configured?)")
        sender.send(delivery)


@dataclass(frozen=True)
class Outcome:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    rate_limited_for: float = 0.0  # seconds the receiving end asked us to wait (429 Retry-After)

    def __add__(self, other: Outcome) -> Outcome:
        return Outcome(
            self.sent + other.sent,
            self.retrying + other.retrying,
            self.failed + other.failed,
            max(self.rate_limited_for, other.rate_limited_for),
        )


def backoff(attempts: int, jitter: Callable[[], float] = random.random) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at an hour; each wait is cut by up to half at
    random, so many messages failing together do not come back together."""
    ceiling = min(FIRST_WAIT * 2 ** max(attempts - 1, 0), LONGEST_WAIT)
    return timedelta(seconds=ceiling * (1 - jitter() / 2))


def send_due(sessions: sessionmaker[Session], clock: Clock, sender: Sender) -> Outcome:
    """Send everything due now, a few rows at a time, until nothing due is left
    unclaimed. Safe to run in any number of threads and processes at once."""
    total = Outcome()
    while True:
        batch = claim(sessions, now=clock.now(), limit=BATCH)
        for done, delivery in enumerate(batch, start=1):
            outcome = _deliver(sessions, clock, sender, delivery)
            total += outcome
            if outcome.rate_limited_for:
                # Slack asked us to wait: the rest of the batch waits too, without
                # spending an attempt on a call that would only be refused, and the
                # pass ends (the next one comes after the wait).
                _hold(sessions, batch[done:], until=clock.now() + timedelta(seconds=outcome.rate_limited_for))
                return total
        if len(batch) < BATCH:
            if total != Outcome():
                log.info(
                    "deliveries sent",
                    extra={"sent": total.sent, "retrying": total.retrying, "failed": total.failed},
                )
            return total


def claim(sessions: sessionmaker[Session], *, now: datetime, limit: int) -> list[Claimed]:
    """Take a lease on up to `limit` due rows that nobody holds, and commit it.
    PostgreSQL locks the candidates (skipping rows another claimer has locked);
    SQLite runs one writer at a time and the UPDATE re-checks each row, so two
    claimers never get the same row."""
    token = secrets.token_hex(16)
    free = or_(Delivery.claimed_until.is_(None), Delivery.claimed_until <= now)
    due = (
        select(Delivery.id, Delivery.claim_token)
        .where(Delivery.status == "pending", Delivery.next_attempt_at <= now, free)
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
    )
    with transaction(sessions) as session:
        if session.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        candidates = session.execute(due).all()
        if not candidates:
            return []
        # A lease left behind by a pass that never recorded its outcome.
        abandoned = {row.id for row in candidates if row.claim_token is not None}
        # The WHERE re-checks each row as it writes it: on PostgreSQL the rows are
        # locked already; on SQLite another process may have claimed one meanwhile.
        rows = session.execute(
            update(Delivery)
            .where(Delivery.id.in_([row.id for row in candidates]), Delivery.status == "pending", free)
            .values(claimed_until=now + LEASE, claim_token=token)
            .returning(
                Delivery.id,
                Delivery.key,
                Delivery.kind,
                Delivery.target,
                Delivery.payload,
                Delivery.attempts,
                Delivery.expires_at,
            )
            .execution_options(synchronize_session=False)
        ).all()
    claimed = []
    for row in sorted(rows, key=lambda r: r.id):
        if row.expires_at <= now:
            _record(sessions, row.id, token, status="failed", last_error="expired: not sent within a week")
            log.error("delivery expired", extra={"key": row.key, "attempts": row.attempts})
            continue
        claimed.append(
            Claimed(
                row.id, row.key, row.kind, row.target, row.payload, row.attempts, token, row.id in abandoned
            )
        )
    return claimed


def _deliver(sessions: sessionmaker[Session], clock: Clock, sender: Sender, delivery: Claimed) -> Outcome:
    """Send one claimed row (no transaction is open here), then record what happened."""
    token = delivery.token
    attempts = delivery.attempts + 1
    try:
        sender.send(delivery)
    except GiveUp as error:
        _record(sessions, delivery.id, token, status="failed", attempts=attempts, last_error=str(error))
        log.error("delivery failed", extra={"key": delivery.key, "attempts": attempts, "error": str(error)})
        return Outcome(failed=1)
    except Exception as error:  # TryLater, or a bug in a sender: never lose the message for it
        if not isinstance(error, TryLater):
            log.exception("delivery raised", extra={"key": delivery.key})
        retry_after = error.retry_after if isinstance(error, TryLater) else None
        wait = timedelta(seconds=retry_after) if retry_after is not None else backoff(attempts)
        reason = str(error) or type(error).__name__
        _record(
            sessions,
            delivery.id,
            token,
            status="pending",
            attempts=attempts,
            last_error=reason,
            next_attempt_at=clock.now() + wait,
        )
        log.warning(
            "delivery deferred",
            extra={"key": delivery.key, "attempts": attempts, "error": reason, "wait": wait.total_seconds()},
        )
        return Outcome(retrying=1, rate_limited_for=retry_after or 0.0)
    _record(
        sessions, delivery.id, token, status="sent", attempts=attempts, sent_at=clock.now(), last_error=None
    )
    return Outcome(sent=1)


def _hold(sessions: sessionmaker[Session], held: list[Claimed], *, until: datetime) -> None:
    """Give claimed rows back unsent, due again at `until`, their attempts unspent."""
    if not held:
        return
    with transaction(sessions) as session:
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_([d.id for d in held]), Delivery.claim_token == held[0].token)
            .values(claimed_until=None, claim_token=None, next_attempt_at=until)
            .execution_options(synchronize_session=False)
        )


def _record(sessions: sessionmaker[Session], delivery_id: int, token: str, **values: Any) -> None:
    """Write one outcome and release the lease, in a short transaction of its own."""
    if "last_error" in values and values["last_error"] is not None:
        values["last_error"] = values["last_error"][:500]
    with transaction(sessions) as session:
        session.execute(
            update(Delivery)
            .where(Delivery.id == delivery_id, Delivery.claim_token == token)
            .values(claimed_until=None, claim_token=None, **values)
            .execution_options(synchronize_session=False)
        )


class DeliveryWorker:
    """A thread that sends deliveries as soon as they are queued (`wake()`) and
    at least every few seconds, so a command's acknowledgement never waits
    for Slack."""

    def __init__(
        self, sessions: sessionmaker[Session], clock: Clock, sender: Sender, interval: float = 5.0
    ) -> None:
        self._sessions, self._clock, self.sender = sessions, clock, sender
        self._interval = interval
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="deliveries", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout)

    def _run(self) -> None:
        wait = self._interval
        while not self._stop.is_set():
            self._wake.wait(wait)
            self._wake.clear()
            wait = self._interval
            try:
                send_due(self._sessions, self._clock, self.sender)
                # A row falling due before the next regular pass (a Home tab
                # published a moment after a change) wakes this thread for it.
                soonest = next_due(self._sessions)
                if soonest is not None:
                    wait = min(max((soonest - self._clock.now()).total_seconds(), 0.01), wait)
            except Exception:  # the database is down: the next pass tries again
                log.exception("delivery pass failed")


def next_due(sessions: sessionmaker[Session]) -> datetime | None:
    """When the next pending row nobody holds falls due, if any does."""
    with sessions() as session:
        return session.scalar(
            select(func.min(Delivery.next_attempt_at)).where(
                Delivery.status == "pending", Delivery.claim_token.is_(None)
            )
        )
