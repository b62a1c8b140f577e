"""The one delivery path: every message the bot sends leaves through `send_due`.

Each pass claims a few due rows with a short, committed lease (an UPDATE that
only takes rows nobody holds), sends them with no transaction open, and writes
each outcome, committed, before sending the next (bot/jobs/leases.py).
Processes racing on the same database never send a row twice: a row is claimed
by exactly one of them. A process killed mid-send leaves only the row it was
sending in doubt; its lease runs out and another pass sends it.

Nothing is lost: a transient failure (timeout, 5xx, 429, refused connection, or a
bug in a sender) is retried with capped exponential back-off and jitter until the
message is past its horizon (SPEC 5: a week); only a permanent refusal marks it
failed at once. Failed messages are listed and replayed with `partnerbot
deliveries`."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.jobs.leases import Claimed, Pass, hold
from services.clock import Clock
from storage.models import Delivery

log = logging.getLogger("partnerbot.deliveries")

BATCH = 10
FIRST_WAIT = 30.0
LONGEST_WAIT = 3600.0


class TryLater(Exception):
    """Not now: the same message may go through later."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class GiveUp(Exception):
    """The message can never be delivered as it is (an unknown channel, a revoked token)."""


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
    with Pass(sessions) as database:
        while True:
            batch = database.claim(now=clock.now(), limit=BATCH)
            for done, delivery in enumerate(batch, start=1):
                outcome = _deliver(database, clock, sender, delivery)
                total += outcome
                if outcome.rate_limited_for:
                    # Slack asked us to wait: the rest of the batch waits too, without
                    # spending an attempt on a call that would only be refused, and the
                    # pass ends (the next one comes after the wait).
                    until = clock.now() + timedelta(seconds=outcome.rate_limited_for)
                    hold(sessions, batch[done:], until=until)
                    return total
            if len(batch) < BATCH:
                if total != Outcome():
                    log.info(
                        "deliveries sent",
                        extra={"sent": total.sent, "retrying": total.retrying, "failed": total.failed},
                    )
                return total


def _deliver(database: Pass, clock: Clock, sender: Sender, delivery: Claimed) -> Outcome:
    """Send one claimed row (no transaction is open here), then record what happened."""
    token = delivery.token
    attempts = delivery.attempts + 1
    try:
        sender.send(delivery)
    except GiveUp as error:
        database.record(delivery.id, token, status="failed", attempts=attempts, last_error=str(error))
        log.error("delivery failed", extra={"key": delivery.key, "attempts": attempts, "error": str(error)})
        return Outcome(failed=1)
    except Exception as error:  # TryLater, or a bug in a sender: never lose the message for it
        if not isinstance(error, TryLater):
            log.exception("delivery raised", extra={"key": delivery.key})
        retry_after = error.retry_after if isinstance(error, TryLater) else None
        wait = timedelta(seconds=retry_after) if retry_after is not None else backoff(attempts)
        reason = str(error) or type(error).__name__
        database.record(
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
    database.record(
        delivery.id, token, status="sent", attempts=attempts, sent_at=clock.now(), last_error=None
    )
    return Outcome(sent=1)


class Wakeup(Protocol):
    """How a worker is woken: a threading.Event, or bot.processes.Wakeup across processes."""

    def set(self) -> None: ...
    def wait(self, timeout: float | None = None) -> bool: ...
    def clear(self) -> None: ...


class DeliveryWorker:
    """A thread that sends deliveries as soon as they are queued (`wake()`) and
    at least every few seconds, so a command's acknowledgement never waits
    for Slack."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        sender: Sender,
        interval: float = 5.0,
        wakeup: Wakeup | None = None,
    ) -> None:
        self._sessions, self._clock, self.sender = sessions, clock, sender
        self._interval = interval
        self._wake: Wakeup = wakeup if wakeup is not None else threading.Event()
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
