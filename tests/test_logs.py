"""The log lines the engineer who runs partnerbot reads (bot/logs.py)."""

from __future__ import annotations

import threading

import pytest

from bot import logs
from bot.jobs.deliveries import TryLater
from bot.jobs.leases import Claimed
from bot.slack_api import SlackSender, web_client
from tests.slack.fake_api import FakeSlackAPI


def test_a_post_slack_did_not_answer_is_not_an_error_line_of_slack_sdk_s(
    slack_api: FakeSlackAPI, capsys
) -> None:
    logs.configure("INFO")
    slack_api.reply("chat.postMessage", delay=1.0, times=1)
    client = web_client("xoxb-test", slack_api.url)
    client.timeout = 0.2  # type: ignore[assignment]
    delivery = Claimed(
        id=1, key="k", kind="channel", target="C1", payload={"text": "hi"}, attempts=0, token="t"
    )
    with pytest.raises(TryLater):
        SlackSender(client).send(delivery)
    # slack_sdk's own ERROR line is left out: the outbox says what became of the post.
    assert "Failed to send a request" not in capsys.readouterr().err


def test_at_debug_slack_sdk_s_line_is_there_as_detail(slack_api: FakeSlackAPI, capsys) -> None:
    logs.configure("DEBUG")
    slack_api.reply("chat.postMessage", delay=1.0, times=1)
    client = web_client("xoxb-test", slack_api.url)
    client.timeout = 0.2  # type: ignore[assignment]
    with pytest.raises(TimeoutError):
        client.chat_postMessage(channel="C1", text="slow")
    [line] = [line for line in capsys.readouterr().err.splitlines() if "Failed to send a request" in line]
    assert " DEBUG slack_sdk.web.base_client " in line


def test_the_scheduler_s_runs_are_silent_at_info_and_a_failed_run_is_an_error(capsys) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    logs.configure("INFO")
    ran = threading.Event()

    def fails() -> None:
        ran.set()
        raise RuntimeError("the database went away")

    scheduler = BackgroundScheduler()
    scheduler.add_job(lambda: None, id="quiet")
    scheduler.add_job(fails, id="fails")
    scheduler.start()
    try:
        assert ran.wait(5)
    finally:
        scheduler.shutdown(wait=True)
    err = capsys.readouterr().err
    assert "Running job" not in err and "executed successfully" not in err  # two lines a minute, each minute
    [failed] = [line for line in err.splitlines() if "raised an exception" in line]
    assert " ERROR apscheduler.executors.default " in failed
    assert "RuntimeError: the database went away" in err
