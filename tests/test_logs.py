"""The log lines the engineer who runs partnerbot reads (bot/logs.py)."""

from __future__ import annotations

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
