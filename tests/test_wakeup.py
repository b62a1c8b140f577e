"""The wake-up call from the processes that answer to the one that sends
(bot/processes.py `Wakeup`): set in another process, it wakes the waiting one;
setting it never blocks, however often it is set before anyone waits."""

from __future__ import annotations

import os
import time

from bot.processes import Wakeup


def test_set_in_another_process_wakes_the_one_waiting():
    wakeup = Wakeup()
    assert not wakeup.wait(0)
    child = os.fork()
    if child == 0:  # the answering process: a command queued a message
        time.sleep(0.05)
        wakeup.set()
        os._exit(0)
    started = time.monotonic()
    assert wakeup.wait(5)
    assert time.monotonic() - started < 4
    os.waitpid(child, 0)


def test_set_ten_thousand_times_never_blocks_and_clear_leaves_nothing_waiting():
    wakeup = Wakeup()
    for _ in range(10_000):  # more than a pipe holds: the extra calls are dropped, not waited on
        wakeup.set()
    assert wakeup.wait(0)
    wakeup.clear()
    assert not wakeup.wait(0)
    wakeup.set()
    assert wakeup.wait(0)
