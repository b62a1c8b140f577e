"""The request signing helpers agree with slack_sdk and bolt."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from tests.slack.fake_api import FakeSlackAPI
from tests.slack.signing import FORM, interaction_body, sign, slash_command_body


@pytest.mark.parametrize("as_bytes", [False, True])
def test_signature_matches_slack_sdk(slack_signing_secret: str, as_bytes: bool) -> None:
    body = slash_command_body("/partner", "agenda next", user_id="U1")
    now = int(time.time())
    headers = sign(body.encode() if as_bytes else body, secret=slack_signing_secret, timestamp=now)
    assert set(headers) == {"X-Slack-Request-Timestamp", "X-Slack-Signature"}
    assert headers["X-Slack-Signature"].startswith("v0=")
    verifier = SignatureVerifier(slack_signing_secret)
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid_request(body + "&text=tampered", headers)
    assert not SignatureVerifier("another-secret").is_valid_request(body, headers)


def test_slack_documented_example() -> None:
    # The worked example in Slack's "Verifying requests from Slack".
    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554"
        "%2F96rGlfmibIGlgcZRskXaIFfN"
        "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    assert sign(body, secret="8f742231b10e8888abcd99yyyzzz85a5", timestamp=1531420618) == {
        "X-Slack-Request-Timestamp": "1531420618",
        "X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
    }


def test_slash_command_body_fields() -> None:
    body = parse_qs(
        slash_command_body("partner", "apologies 14 May", user_id="U9", response_url="http://x/response/1")
    )
    fields = {k: v[0] for k, v in body.items()}
    assert fields["command"] == "/partner"
    assert fields["text"] == "apologies 14 May"
    assert (fields["user_id"], fields["channel_id"], fields["team_id"]) == ("U9", "C0GENERAL", "T0TEAM001")
    assert fields["response_url"] == "http://x/response/1"
    assert fields["trigger_id"]


def test_interaction_body_round_trips() -> None:
    payload = {"type": "block_actions", "user": {"id": "U1"}, "actions": [{"action_id": "a"}]}
    assert json.loads(parse_qs(interaction_body(payload))["payload"][0]) == payload


def test_bolt_app_accepts_signed_command_and_talks_to_the_fake(
    slack_api: FakeSlackAPI, slack_signing_secret: str
) -> None:
    app = App(
        signing_secret=slack_signing_secret, client=WebClient(token="xoxb-test", base_url=slack_api.url)
    )
    assert [c.method for c in slack_api.calls()] == ["auth.test"]  # bolt checks its token at start

    @app.command("/partner")
    def partner(ack, respond, client, command) -> None:  # type: ignore[no-untyped-def]
        ack()
        respond(f"working on {command['text']}")
        client.chat_postMessage(channel=command["channel_id"], text="posted")

    body = slash_command_body("/partner", "agenda", user_id="U1", response_url=slack_api.response_url())
    headers = {"Content-Type": FORM, **sign(body, secret=slack_signing_secret, timestamp=int(time.time()))}
    response = app.dispatch(BoltRequest(body=body, headers=headers))
    assert response.status == 200
    slack_api.wait_for("chat.postMessage")  # the listener may finish after ack()
    assert slack_api.responses()[0]["text"] == "working on agenda"
    post = slack_api.posts()[0]
    assert (post["channel"], post["text"]) == ("C0GENERAL", "posted")

    forged = {"Content-Type": FORM, **sign(body, secret="wrong", timestamp=int(time.time()))}
    assert app.dispatch(BoltRequest(body=body, headers=forged)).status == 401
