"""The Web API client the outbox sends with (bot/slack_api.py `KeptAliveClient`):
one HTTP connection per thread, kept from one call to the next, against the Slack
stand-in, which keeps connections open as Slack does (HTTP/1.1)."""

from __future__ import annotations

import os
import threading

import pytest
from slack_sdk.errors import SlackApiError

from bot.jobs.deliveries import TryLater
from bot.jobs.leases import Claimed
from bot.slack_api import KeptAliveClient, SlackSender, web_client
from tests.slack.fake_api import FakeSlackAPI


@pytest.fixture
def client(slack_api: FakeSlackAPI) -> KeptAliveClient:
    made = web_client("xoxb-test", slack_api.url)
    assert isinstance(made, KeptAliveClient)
    return made


def test_calls_from_one_thread_go_over_one_connection(slack_api: FakeSlackAPI, client) -> None:
    for n in range(3):
        assert client.chat_postMessage(channel="C1", text=f"post {n}")["ok"]
    assert client.views_publish(user_id="U1", view={"type": "home", "blocks": []})["ok"]
    assert [p["text"] for p in slack_api.posts()] == ["post 0", "post 1", "post 2"]
    assert slack_api.connections == 1


def test_each_thread_has_a_connection_of_its_own(slack_api: FakeSlackAPI, client) -> None:
    def post(text: str) -> None:
        for n in range(2):
            client.chat_postMessage(channel="C1", text=f"{text} {n}")

    threads = [threading.Thread(target=post, args=(name,)) for name in ("one", "two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(p["text"] for p in slack_api.posts()) == ["one 0", "one 1", "two 0", "two 1"]
    assert slack_api.connections == 2


def test_a_connection_the_server_closed_meanwhile_is_not_used_again(slack_api: FakeSlackAPI, client) -> None:
    slack_api.reply("chat.postMessage", hang_up=True, times=1)
    assert client.chat_postMessage(channel="C1", text="first")["ok"]
    pass  #  # the server answers, then closes, on its own thread
    assert client.chat_postMessage(channel="C1", text="second")["ok"]  # no error: a new connection
    assert [p["text"] for p in slack_api.posts()] == ["first", "second"]
    assert slack_api.connections == 2


def test_a_connection_idle_too_long_is_not_used_again(slack_api: FakeSlackAPI, client, monkeypatch) -> None:
    monkeypatch.setattr(KeptAliveClient, "IDLE_AT_MOST", 0.0)
    client.chat_postMessage(channel="C1", text="first")
    client.chat_postMessage(channel="C1", text="second")
    assert slack_api.connections == 2


def test_slacks_refusals_reach_the_outbox_as_before(slack_api: FakeSlackAPI, client) -> None:
    slack_api.reply("chat.postMessage", status=429, headers={"Retry-After": "7"}, times=1)
    slack_api.reply("chat.postMessage", body={"ok": False, "error": "channel_not_found"}, times=1)
    with pytest.raises(SlackApiError) as limited:
        client.chat_postMessage(channel="C1", text="too soon")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "7"
    with pytest.raises(SlackApiError) as refused:
        client.chat_postMessage(channel="CGONE", text="nowhere")
    assert refused.value.response["error"] == "channel_not_found"
    assert client.chat_postMessage(channel="C1", text="now")["ok"]
    assert [p["text"] for p in slack_api.posts()] == ["now"]
    assert slack_api.connections == 1  # a refusal is an answer: the connection is still good


def test_rate_limiting_is_still_honoured_by_the_sender(slack_api: FakeSlackAPI, client) -> None:
    slack_api.reply("chat.postMessage", status=429, headers={"Retry-After": "12"}, times=1)
    delivery = Claimed(
        id=1, key="k", kind="channel", target="C1", payload={"text": "hello"}, attempts=0, token="t"
    )
    with pytest.raises(TryLater) as later:
        SlackSender(client).send(delivery)
    assert later.value.retry_after == 12.0


def test_a_call_that_times_out_leaves_its_connection_behind(slack_api: FakeSlackAPI) -> None:
    client = KeptAliveClient(token="xoxb-test", base_url=slack_api.url, timeout=0.3)
    client.chat_postMessage(channel="C1", text="first")
    slack_api.reply("chat.postMessage", delay=1.0, times=1)
    with pytest.raises(TimeoutError):
        client.chat_postMessage(channel="C1", text="slow")
    # The late answer to "slow" would come on the old connection: it is not read as this one's.
    answer = client.chat_postMessage(channel="C1", text="third")
    assert answer["ok"] and answer["message"]["text"] == "third"
    assert slack_api.connections == 2


def test_a_process_forked_after_a_call_opens_a_connection_of_its_own(slack_api: FakeSlackAPI, client) -> None:
    client.chat_postMessage(channel="C1", text="from the parent")
    child = os.fork()
    if child == 0:  # serve forks its workers: the parent's connection is not the child's to use
        try:
            client.chat_postMessage(channel="C1", text="from the child")
        finally:
            os._exit(0)
    os.waitpid(child, 0)
    client.chat_postMessage(channel="C1", text="from the parent again")
    assert [p["text"] for p in slack_api.posts()] == [
        "from the parent",
        "from the child",
        "from the parent again",
    ]
    assert slack_api.connections == 2
