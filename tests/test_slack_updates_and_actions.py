"""/update, /action import, the action buttons and the Home tab through the real
HTTP endpoint: signed requests in, what the Slack stand-in received checked."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from storage.models import Update
from tests.conftest import count_rows
from tests.slack.signing import sign
from tests.test_slack_endpoint import post_command


def test_a_lead_posts_a_quick_update_and_the_board_channel_gets_it(
    server, demo, slack_signing_secret, slack_api
):
    reply = post_command(
        server,
        slack_signing_secret,
        "/update",
        "joint amber Pooled budget <!channel> delayed",
        user="U0FIRE001",
    ).json()
    assert reply["response_type"] == "ephemeral"
    assert "Saved and posted to the Chorley Public Service Reform Board channel" in reply["text"]
    [call] = slack_api.wait_for("chat.postMessage")
    assert call.params["channel"] == "CBOARD001"
    text = call.params["text"]
    assert "*Joint Commissioning* — update from Ray Cottam" in text and "🟠 Amber" in text
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text  # escaped once, at the edge
    with demo() as session:
        assert session.scalar(select(Update.progress)) == "Pooled budget <!channel> delayed"


@pytest.mark.parametrize(
    ("text", "user", "says"),
    [
        ("jont green On track", "U0FIRE001", "Did you mean joint-commissioning?"),
        ("joint green On track", "U0COLL001", "Only the leads of Joint Commissioning"),
        ("joint close", "U0FIRE001", "Only the officers of the Chorley Public Service Reform Board"),
        ("joint green On track", "U0STRANGER", "not in the partnership file"),
    ],
)
def test_update_refusals_through_slack_store_nothing(
    server, demo, slack_signing_secret, slack_api, text, user, says
):
    before = count_rows(demo)
    reply = post_command(server, slack_signing_secret, "/update", text, user=user).json()
    assert says in reply["text"] and "Nothing was changed" in reply["text"]
    assert count_rows(demo) == before
    assert slack_api.posts() == []


def test_history_and_close_through_slack(server, slack_signing_secret):
    post_command(server, slack_signing_secret, "/update", "joint green On track", user="U0FIRE001")
    history = post_command(server, slack_signing_secret, "/update", "joint history", user="U0COLL001").json()
    assert "The last 1 update of *Joint Commissioning*" in history["text"]
    closed = post_command(server, slack_signing_secret, "/update", "joint close", user="U0CLERK01").json()
    assert "Joint Commissioning is now closed" in closed["text"]


def post_event(server, secret, user="U0FIRE001", event_id="Ev0100"):
    import httpx

    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0TEAM001",
            "api_app_id": "A0APP0001",
            "event": {"type": "app_home_opened", "user": user, "tab": "home"},
            "event_id": event_id,
            "event_time": int(time.time()),
        }
    )
    headers = {"Content-Type": "application/json"} | sign(body, secret=secret, timestamp=int(time.time()))
    return httpx.post(f"{server}/slack/events", content=body, headers=headers, timeout=10)
