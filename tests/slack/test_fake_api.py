"""Tests of the Slack stand-in itself, driven through a real slack_sdk WebClient."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import builtin_handlers
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from tests.slack.fake_api import BOT_ID, BOT_USER_ID, RESPONSE_URL, TEAM_ID, FakeSlackAPI


@pytest.fixture
def client(slack_api: FakeSlackAPI) -> WebClient:
    return WebClient(token="xoxb-test", base_url=slack_api.url)


# -- lifecycle ---------------------------------------------------------------


def test_url_is_a_base_url_on_localhost_and_stop_frees_the_port() -> None:
    api = FakeSlackAPI()
    with pytest.raises(RuntimeError):
        api.url
    with api:
        url = api.url
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")
        with pytest.raises(RuntimeError):
            api.start()
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    with pytest.raises(RuntimeError):
        api.url
    with socket.socket() as sock:  # nothing listens any more
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_two_fakes_run_side_by_side() -> None:
    with FakeSlackAPI() as one, FakeSlackAPI() as two:
        assert one.url != two.url
        WebClient(token="xoxb-1", base_url=one.url).auth_test()
        assert len(one.calls()) == 1 and two.calls() == []


# -- default answers -----------------------------------------------------------


def test_auth_test(client: WebClient) -> None:
    response = client.auth_test()
    assert response["ok"] is True
    assert (response["user_id"], response["team_id"], response["bot_id"]) == (BOT_USER_ID, TEAM_ID, BOT_ID)


def test_post_message_echoes_and_gives_unique_increasing_ts(client: WebClient) -> None:
    first = client.chat_postMessage(channel="C1", text="hello", blocks=[{"type": "divider"}])
    second = client.chat_postMessage(channel="C1", text="again", thread_ts=first["ts"])
    assert first["channel"] == "C1"
    assert first["ts"] == "1700000000.000100"
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["text"] == "hello"
    assert first["message"]["blocks"] == [{"type": "divider"}]
    assert first["message"]["bot_id"] == BOT_ID
    assert second["message"]["thread_ts"] == first["ts"]


def test_post_message_to_a_user_lands_in_their_dm(client: WebClient) -> None:
    assert client.chat_postMessage(channel="U123", text="hi")["channel"] == "DU123"


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_post_message_without_required_arguments_fails_like_slack(client: WebClient) -> None:
    with pytest.raises(SlackApiError) as error:
        client.chat_postMessage(channel="C1")
    assert error.value.response["error"] == "no_text"
    with pytest.raises(SlackApiError) as error:
        client.api_call("chat.postMessage", json={"text": "no channel"})
    assert error.value.response["error"] == "invalid_arguments"


def test_ephemeral_and_update(client: WebClient) -> None:
    ephemeral = client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    assert ephemeral["ok"] and ephemeral["message_ts"]
    posted = client.chat_postMessage(channel="C1", text="v1")
    updated = client.chat_update(channel="C1", ts=posted["ts"], text="v2")
    assert (updated["channel"], updated["ts"], updated["text"]) == ("C1", posted["ts"], "v2")
    assert updated["message"]["text"] == "v2"


def test_views_get_ids(client: WebClient) -> None:
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "T"}, "blocks": []}
    opened = client.views_open(trigger_id="123.456", view=modal)["view"]
    assert opened["id"].startswith("V") and opened["title"]["text"] == "T"
    updated = client.views_update(view_id=opened["id"], view=modal)["view"]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    home = client.views_publish(user_id="U1", view={"type": "home", "blocks": []})["view"]
    assert home["type"] == "home" and home["id"] != opened["id"]


def test_conversations_open(client: WebClient) -> None:
    assert client.conversations_open(users="U42")["channel"]["id"] == "DU42"


def test_users_info_defaults_and_overrides(slack_api: FakeSlackAPI, client: WebClient) -> None:
    user = client.users_info(user="U7")["user"]
    assert (user["id"], user["name"], user["real_name"]) == ("U7", "u7", "User U7")
    assert user["profile"]["email"] == "u7@example.org"
    slack_api.users["U8"] = {"real_name": "Ann Other", "profile": {"email": "ann@example.gov.uk"}}
    user = client.users_info(user="U8")["user"]
    assert user["real_name"] == "Ann Other" and user["profile"]["email"] == "ann@example.gov.uk"


# -- recording -----------------------------------------------------------------


def test_records_json_bodies_with_token_header(slack_api: FakeSlackAPI, client: WebClient) -> None:
    client.chat_postMessage(channel="C1", text="hi", blocks=[{"type": "divider"}])
    call = slack_api.last("chat.postMessage")
    assert call.headers["Content-Type"].startswith("application/json")
    assert call.headers["authorization"] == "Bearer xoxb-test"
    assert call.token == "xoxb-test"
    assert call.params == {"channel": "C1", "text": "hi", "blocks": [{"type": "divider"}]}
    assert slack_api.posts() == [call.params]


def test_records_form_bodies_and_decodes_json_fields(slack_api: FakeSlackAPI, client: WebClient) -> None:
    client.conversations_open(users="U1")
    call = slack_api.last("conversations.open")
    assert call.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert call.params == {"users": "U1"}
    # The same method sent as a form: blocks arrive as a JSON string.
    client.api_call("chat.postMessage", params={"channel": "C1", "blocks": json.dumps([{"type": "divider"}])})
    assert slack_api.posts()[-1]["blocks"] == [{"type": "divider"}]


def test_records_get_with_query_string(slack_api: FakeSlackAPI) -> None:
    request = urllib.request.Request(
        slack_api.url + "users.info?user=U5", headers={"Authorization": "Bearer xoxb-test"}
    )
    with urllib.request.urlopen(request) as response:
        assert json.load(response)["user"]["id"] == "U5"
    assert slack_api.last("users.info").params == {"user": "U5"}


def test_calls_in_order_filters_and_reset(slack_api: FakeSlackAPI, client: WebClient) -> None:
    client.auth_test()
    client.chat_postMessage(channel="C1", text="a")
    client.chat_postEphemeral(channel="C1", user="U1", text="b")
    assert [c.method for c in slack_api.calls()] == ["auth.test", "chat.postMessage", "chat.postEphemeral"]
    assert [c.method for c in slack_api.calls("auth.test")] == ["auth.test"]
    assert slack_api.ephemerals() == [{"channel": "C1", "user": "U1", "text": "b"}]
    slack_api.reset()
    assert slack_api.calls() == []
    with pytest.raises(AssertionError, match="no chat.postMessage call"):
        slack_api.last("chat.postMessage")


def test_concurrent_calls_all_recorded_with_unique_ts(slack_api: FakeSlackAPI) -> None:
    timestamps: list[str] = []

    def post(n: int) -> None:
        client = WebClient(token="xoxb-test", base_url=slack_api.url)
        timestamps.append(client.chat_postMessage(channel="C1", text=str(n))["ts"])

    threads = [threading.Thread(target=post, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(slack_api.posts()) == 20
    assert len(set(timestamps)) == 20


def test_wait_for_calls_made_on_another_thread(slack_api: FakeSlackAPI, client: WebClient) -> None:
    threading.Timer(0.1, lambda: client.chat_postMessage(channel="C1", text="later")).start()
    assert slack_api.wait_for("chat.postMessage")[0].params["text"] == "later"
    with pytest.raises(AssertionError, match="waited"):
        slack_api.wait_for("chat.update", timeout=0.1)


# -- scripted replies ------------------------------------------------------------


def test_scripted_429_with_retry_after(slack_api: FakeSlackAPI, client: WebClient) -> None:
    slack_api.reply("chat.postMessage", status=429, headers={"Retry-After": "1"}, times=1)
    with pytest.raises(SlackApiError) as error:
        client.chat_postMessage(channel="C1", text="hi")
    assert error.value.response.status_code == 429
    assert error.value.response.headers["Retry-After"] in ("1", ["1"])
    assert error.value.response["error"] == "ratelimited"
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]  # used up after one call
    assert [c.status for c in slack_api.calls("chat.postMessage")] == [429, 200]
    assert len(slack_api.posts()) == 1  # only what got through


def test_client_retry_handler_sees_the_429(slack_api: FakeSlackAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builtin_handlers.random, "random", lambda: 0.0)  # no jitter: sleep Retry-After
    slack_api.reply("chat.postMessage", status=429, headers={"Retry-After": "0"}, times=1)
    client = WebClient(
        token="xoxb-test",
        base_url=slack_api.url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]
    assert [c.status for c in slack_api.calls("chat.postMessage")] == [429, 200]


def test_scripted_500_twice_then_normal(slack_api: FakeSlackAPI, client: WebClient) -> None:
    slack_api.reply("chat.postMessage", status=500, times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as error:
            client.chat_postMessage(channel="C1", text="hi")
        assert error.value.response.status_code == 500
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]
    assert [(c.status, c.ok) for c in slack_api.calls("chat.postMessage")] == [
        (500, False),
        (500, False),
        (200, True),
    ]


def test_scripted_error_body_sticks_until_reset(slack_api: FakeSlackAPI, client: WebClient) -> None:
    slack_api.reply("chat.postMessage", body={"ok": False, "error": "channel_not_found"})
    for _ in range(3):
        with pytest.raises(SlackApiError) as error:
            client.chat_postMessage(channel="C404", text="hi")
        assert error.value.response["error"] == "channel_not_found"
    assert slack_api.posts() == [] and len(slack_api.calls("chat.postMessage")) == 3
    slack_api.reset()
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]


def test_scripted_replies_queue_in_order(slack_api: FakeSlackAPI, client: WebClient) -> None:
    slack_api.reply("auth.test", status=500, times=1)
    slack_api.reply("auth.test", body={"ok": True, "user_id": "UOTHER"}, times=1)
    with pytest.raises(SlackApiError):
        client.auth_test()
    assert client.auth_test()["user_id"] == "UOTHER"
    assert client.auth_test()["user_id"] == BOT_USER_ID


def test_scripted_delay(slack_api: FakeSlackAPI, client: WebClient) -> None:
    slack_api.reply("chat.postMessage", delay=0.3, times=1)
    started = time.monotonic()
    assert client.chat_postMessage(channel="C1", text="slow")["ok"]  # default body, late
    assert time.monotonic() - started >= 0.3


def test_scripted_delay_beyond_client_timeout(slack_api: FakeSlackAPI) -> None:
    slack_api.reply("chat.postMessage", delay=1.0, times=1)
    client = WebClient(token="xoxb-test", base_url=slack_api.url, timeout=0.2)  # type: ignore[arg-type]
    with pytest.raises((TimeoutError, OSError)):
        client.chat_postMessage(channel="C1", text="slow")
    # Recorded on arrival, and counted as posted: slow Slack often does post
    # the message although the client gave up waiting.
    assert len(slack_api.posts()) == 1


def test_scripted_together_holds_the_first_calls_until_they_overlap(
    slack_api: FakeSlackAPI, client: WebClient
) -> None:
    slack_api.reply("chat.postMessage", together=2)
    first = threading.Thread(target=client.chat_postMessage, kwargs={"channel": "C1", "text": "first"})
    first.start()
    first.join(0.5)
    assert first.is_alive()  # held: no other call is being answered
    second = WebClient(token="xoxb-test", base_url=slack_api.url)
    assert second.chat_postMessage(channel="C1", text="second")["ok"]
    first.join(2)
    assert not first.is_alive()
    started = time.monotonic()
    assert client.chat_postMessage(channel="C1", text="third")["ok"]  # nothing held once they met
    assert time.monotonic() - started < 1
    assert [p["text"] for p in slack_api.posts()] == ["first", "second", "third"]


def test_reply_rejects_zero_times(slack_api: FakeSlackAPI) -> None:
    with pytest.raises(ValueError):
        slack_api.reply("auth.test", times=0)


# -- unexpected methods and auth -------------------------------------------------


def test_unexpected_method_is_recorded_and_flagged() -> None:
    with FakeSlackAPI() as api:
        client = WebClient(token="xoxb-test", base_url=api.url)
        with pytest.raises(SlackApiError) as error:
            client.chat_scheduleMessage(channel="C1", text="later", post_at=1)
        assert error.value.response["error"] == "unknown_method"
        assert [c.method for c in api.unexpected] == ["chat.scheduleMessage"]
        with pytest.raises(AssertionError, match="chat.scheduleMessage"):
            api.assert_no_unexpected()
        api.reset()
        api.assert_no_unexpected()


def test_scripting_a_method_makes_it_expected(slack_api: FakeSlackAPI, client: WebClient) -> None:
    slack_api.reply("reactions.add", body={"ok": True})
    assert client.reactions_add(channel="C1", timestamp="1.2", name="thumbsup")["ok"]
    assert slack_api.unexpected == []


@pytest.mark.parametrize("token", [None, "xoxp-user-token", "nonsense"])
def test_missing_or_invalid_token(slack_api: FakeSlackAPI, token: str | None) -> None:
    client = WebClient(token=token, base_url=slack_api.url)
    with pytest.raises(SlackApiError) as error:
        client.chat_postMessage(channel="C1", text="hi")
    assert error.value.response["error"] == "invalid_auth"
    assert slack_api.posts() == []
    assert slack_api.last("chat.postMessage").token == token  # recorded all the same


def test_app_level_token_accepted(slack_api: FakeSlackAPI) -> None:
    assert WebClient(token="xapp-1-A1-1-abc", base_url=slack_api.url).auth_test()["ok"]


def test_malformed_body_is_surfaced(slack_api: FakeSlackAPI) -> None:
    request = urllib.request.Request(
        slack_api.url + "chat.postMessage",
        data=b"{not json",
        headers={"Authorization": "Bearer xoxb-test", "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request)
    assert error.value.code == 500
    error.value.close()
    with pytest.raises(AssertionError, match="error in the fake"):
        slack_api.assert_no_unexpected()
    slack_api.reset()


# -- response_url ----------------------------------------------------------------


def test_response_url_posts_recorded(slack_api: FakeSlackAPI) -> None:
    url = slack_api.response_url("T0TEAM001/123/abc")
    response = WebhookClient(url).send(text="done", response_type="ephemeral")
    assert (response.status_code, response.body) == (200, "ok")
    assert slack_api.responses() == [{"text": "done", "response_type": "ephemeral"}]
    call = slack_api.last(RESPONSE_URL)
    assert call.path == "/response/T0TEAM001/123/abc" and call.token is None


def test_response_url_can_be_scripted_to_fail(slack_api: FakeSlackAPI) -> None:
    slack_api.reply(RESPONSE_URL, status=404, body="no_active_hooks", times=1)
    response = WebhookClient(slack_api.response_url()).send(text="too late")
    assert (response.status_code, response.body) == (404, "no_active_hooks")
    assert slack_api.responses() == [] and slack_api.last(RESPONSE_URL).status == 404


def test_requests_log_nothing(
    slack_api: FakeSlackAPI, client: WebClient, capfd: pytest.CaptureFixture[str]
) -> None:
    client.auth_test()
    with pytest.raises(SlackApiError):
        client.api_call("no.such.method")
    slack_api.reset()
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""
