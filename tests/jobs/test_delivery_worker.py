"""The delivery thread of `serve`: it sends what is queued without a request waiting."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

from bot.jobs.deliveries import Claimed, DeliveryWorker
from services import outbox


class Recorder:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.arrived = threading.Event()

    def send(self, delivery: Claimed) -> None:
        self.sent.append(delivery.key)
        self.arrived.set()


def test_the_worker_wakes_for_a_message_falling_due_before_its_next_pass(db, clock):
    with db() as session, session.begin():
        outbox.enqueue(
            session,
            key="home:U0FIRE001:1",
            kind="home",
            target="U0FIRE001",
            payload={},
            due_at=clock.now() + timedelta(seconds=1),
            now=clock.now(),
        )
    recorder = Recorder()
    worker = DeliveryWorker(db, clock, recorder, interval=60)  # no regular pass in this test
    worker.start()
    try:
        worker.wake()
        time.sleep(0.3)
        assert recorder.sent == []  # not due yet
        clock.set(clock.now() + timedelta(seconds=1))
        assert recorder.arrived.wait(5), "the worker slept past the message's due time"
        assert recorder.sent == ["home:U0FIRE001:1"]
    finally:
        worker.stop()
