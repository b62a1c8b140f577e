"""Sixteen board members at once, typing commands and pressing buttons at
`partnerbot serve` (a real process) for a while: nobody sees an error or waits
past Slack's 3 seconds, nothing a reply said was saved is missing, and nothing
reaches Slack twice. bench/load.py runs the same for a full minute and prints
the figures; LOAD_SECONDS makes this one longer."""

from __future__ import annotations

import os

import pytest

from bench.load import drained, drive, losses, problems, serve

SECONDS = float(os.environ.get("LOAD_SECONDS", "8"))
KINDS = {
    "/action add",
    "/action list",
    "/action done",
    "/apologies",
    "/apologies withdraw",
    "/update",
    "/meeting next",
    "/agenda",
    "/agenda add",
    "press Done",
    "press Snooze a week",
}


@pytest.mark.load
def test_sixteen_people_at_once_lose_nothing_wait_for_nothing_and_get_nothing_twice(
    demo, database_url, slack_api, tmp_path
):
    process, base = serve(database_url, slack_api.url, tmp_path / "serve.log")
    try:
        record = drive(base, slack_api.response_url(""), seconds=SECONDS, clients=16)
        assert drained(demo, timeout=60), "the outbox was still sending a minute later"
    finally:
        process.terminate()
        process.wait(10)
    assert problems(record) == []
    assert {e.kind for e in record.exchanges} == KINDS  # the whole mix was typed
    assert record.added and record.updates and record.press_urls
    assert losses(record, demo, slack_api) == []
