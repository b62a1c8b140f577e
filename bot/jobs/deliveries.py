"""The outbox's other end: send pending deliveries, once each, with back-off.

A failed Slack call is retried later (honouring 429 Retry-After); a message
Slack refuses for good (a channel that does not exist) is marked failed with
the reason, so it neither blocks the queue nor is retried for ever."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.clock import Clock
from storage.models import Delivery
from storage.session import transaction

log = logging.getLogger("partnerbot.deliveries")

MAX_ATTEMPTS = 8
BATCH = 50


class TryLater(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


class GiveUp(Exception):
    """The message can never be delivered as it is."""


class Sender(Protocol):
    def send(self, delivery: Delivery) -> None:
        """Deliver it, or raise TryLater or GiveUp."""
        ...


@dataclass(frozen=True)
class Outcome:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, ... capped at an hour."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


def send_due(sessions: sessionmaker[Session], clock: Clock, sender: Sender) -> Outcome:
    """Send every delivery due now, in one pass. Each batch is claimed with
    SKIP LOCKED on PostgreSQL, so several workers never send the same row."""
    sent = retrying = failed = 0
    while True:
        with transaction(sessions) as session:
            now = clock.now()
            batch = list(
                session.scalars(
                    select(Delivery)
                    .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
                    .order_by(Delivery.next_attempt_at, Delivery.id)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                )
            )
            for delivery in batch:
                outcome = _attempt(delivery, sender, now)
                sent += outcome == "sent"
                retrying += outcome == "pending"
                failed += outcome == "failed"
        if len(batch) < BATCH:
            return Outcome(sent=sent, retrying=retrying, failed=failed)


def _attempt(delivery: Delivery, sender: Sender, now: datetime) -> str:
    delivery.attempts += 1
    try:
        sender.send(delivery)
    except TryLater as error:
        delivery.last_error = str(error)[:500]
        if delivery.attempts >= MAX_ATTEMPTS:
            delivery.status = "failed"
        else:
            wait = (
                timedelta(seconds=error.retry_after)
                if error.retry_after is not None
                else backoff(delivery.attempts)
            )
            delivery.next_attempt_at = now + wait
        log.warning(
            "delivery deferred",
            extra={"key": delivery.key, "attempts": delivery.attempts, "error": str(error)},
        )
        return delivery.status
    except GiveUp as error:
        delivery.status = "failed"
        delivery.last_error = str(error)[:500]
        log.error("delivery failed", extra={"key": delivery.key, "error": str(error)})
        return "failed"
    delivery.status = "sent"
    delivery.sent_at = now
    delivery.last_error = None
    return "sent"


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
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            try:
                send_due(self._sessions, self._clock, self.sender)
            except Exception:
                log.exception("delivery pass failed")
