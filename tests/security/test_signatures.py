"""POST /slack/events trusts nothing it cannot verify (SPEC 8): a slash command,
a button press or form submission (`payload=`), or an event that is unsigned,
wrongly signed, older or newer than five minutes, or changed after signing is
refused with 401; a body too big for any Slack request gets 413. None of them
changes a row or reaches Slack."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import httpx
import pytest

from bot.server import MAX_BODY
from tests.conftest import count_rows
from tests.slack.fake_api import TEAM_ID
from tests.slack.signing import (
    APP_ID,
    DEAD_RESPONSE_URL,
    FORM,
    TRIGGER_ID,
    interaction_body,
    sign,
    slash_command_body,
)

JSON = "application/json"
FIVE_MINUTES = 5 * 60


def command() -> tuple[str, str]:
    return slash_command_body("/action", "add Book the room | clerk | 1 May", user_id="U0CLERK01"), FORM


def button_press() -> tuple[str, str]:
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM_ID},
        "api_app_id": APP_ID,
        "user": {"id": "U0CLERK01"},
        "trigger_id": TRIGGER_ID,
        "response_url": DEAD_RESPONSE_URL,
        "actions": [{"type": "button", "action_id": "action-done", "value": "/action done A1"}],
    }
    return interaction_body(payload), FORM


def form_submission() -> tuple[str, str]:
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM_ID},
        "api_app_id": APP_ID,
        "user": {"id": "U0CLERK01"},
        "view": {"id": "V0001", "callback_id": "apologies", "state": {"values": {}}},
    }
    return interaction_body(payload), FORM


def event() -> tuple[str, str]:
    body = {
        "type": "event_callback",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": {"type": "app_home_opened", "user": "U0CLERK01", "tab": "home"},
        "event_id": "Ev0SECURITY1",
        "event_time": int(time.time()),
    }
    return json.dumps(body), JSON


REQUESTS = {"slash command": command, "button": button_press, "form": form_submission, "event": event}

Forgery = Callable[[str, str, int], tuple[dict[str, str], str]]


def signed_as(secret: str, at: int) -> Forgery:
    return lambda body, real_secret, now: (
        sign(body, secret=secret or real_secret, timestamp=at or now),
        body,
    )


def tampered(body: str, secret: str, now: int) -> tuple[dict[str, str], str]:
    # Signed by Slack for the clerk, then changed to act as the chair.
    return sign(body, secret=secret, timestamp=now), body.replace("U0CLERK01", "U0CHAIR01")


def retimed(body: str, secret: str, now: int) -> tuple[dict[str, str], str]:
    headers = sign(body, secret=secret, timestamp=now - 10)
    return headers | {"X-Slack-Request-Timestamp": str(now)}, body


def with_headers(**changes: str | None) -> Forgery:
    def forge(body: str, secret: str, now: int) -> tuple[dict[str, str], str]:
        headers = sign(body, secret=secret, timestamp=now)
        for name, value in changes.items():
            header = name.replace("_", "-")
            if value is None:
                headers.pop(header)
            else:
                headers[header] = value.replace("{signature}", headers["X-Slack-Signature"].split("=", 1)[1])
        return headers, body

    return forge


FORGERIES: dict[str, Forgery] = {
    "unsigned": lambda body, secret, now: ({}, body),
    "wrong secret": lambda body, secret, now: (sign(body, secret="not-the-secret", timestamp=now), body),
    "replayed after 5 minutes": lambda body, secret, now: (
        sign(body, secret=secret, timestamp=now - FIVE_MINUTES - 60),
        body,
    ),
    "from 6 minutes in the future": lambda body, secret, now: (
        sign(body, secret=secret, timestamp=now + FIVE_MINUTES + 60),
        body,
    ),
    "body changed after signing": tampered,
    "timestamp changed after signing": retimed,
    "body cut after signing": lambda body, secret, now: (sign(body, secret=secret, timestamp=now), body[:-1]),
    "no timestamp header": with_headers(X_Slack_Request_Timestamp=None),
    "timestamp not a number": with_headers(X_Slack_Request_Timestamp="soon"),
    "no signature header": with_headers(X_Slack_Signature=None),
    "empty signature": with_headers(X_Slack_Signature=""),
    "signature of zeros": with_headers(X_Slack_Signature="v0=" + "0" * 64),
    "another signature version": with_headers(X_Slack_Signature="v1={signature}"),
    "signature in capitals": with_headers(X_Slack_Signature="V0={signature}"),
}


def post(server: str, body: str | bytes, content_type: str, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        f"{server}/slack/events", content=body, headers={"Content-Type": content_type} | headers, timeout=10
    )


@pytest.mark.parametrize("kind", sorted(REQUESTS))
def test_a_correctly_signed_request_gets_through(server, demo, slack_signing_secret, kind):
    """The control: the requests below fail on their forgery alone."""
    body, content_type = REQUESTS[kind]()
    before = count_rows(demo)
    response = post(
        server, body, content_type, sign(body, secret=slack_signing_secret, timestamp=int(time.time()))
    )
    assert response.status_code != 401
    if kind == "slash command":
        assert response.status_code == 200 and "Added" in response.json()["text"]
        assert count_rows(demo)["action"] == before["action"] + 1
    if kind == "event":
        assert (
            response.status_code == 200 and count_rows(demo)["received_event"] == before["received_event"] + 1
        )


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
@pytest.mark.parametrize("kind", sorted(REQUESTS))
def test_a_forged_request_is_refused_and_changes_nothing(
    server, demo, slack_api, slack_signing_secret, kind, forgery
):
    body, content_type = REQUESTS[kind]()
    headers, sent = FORGERIES[forgery](body, slack_signing_secret, int(time.time()))
    before = count_rows(demo)
    response = post(server, sent, content_type, headers)
    assert response.status_code == 401
    assert "Added" not in response.text
    assert count_rows(demo) == before
    assert slack_api.calls() == []


def oversized(kind: str) -> str:
    body, _ = REQUESTS[kind]()
    if kind == "event":
        data = json.loads(body)
        data["event"]["padding"] = "x" * MAX_BODY
        return json.dumps(data)
    return body + "&padding=" + "x" * MAX_BODY


@pytest.mark.parametrize("chunked", [False, True], ids=["with its length", "chunked"])
@pytest.mark.parametrize("kind", sorted(REQUESTS))
def test_a_body_too_big_for_slack_gets_413_even_signed(
    server, demo, slack_api, slack_signing_secret, kind, chunked
):
    body = oversized(kind)
    _, content_type = REQUESTS[kind]()
    headers = sign(body, secret=slack_signing_secret, timestamp=int(time.time()))
    raw = body.encode()
    content = (raw[i : i + 65536] for i in range(0, len(raw), 65536)) if chunked else raw
    before = count_rows(demo)
    response = httpx.post(
        f"{server}/slack/events",
        content=content,
        headers={"Content-Type": content_type} | headers,
        timeout=10,
    )
    assert response.status_code == 413
    assert count_rows(demo) == before
    assert slack_api.calls() == []
