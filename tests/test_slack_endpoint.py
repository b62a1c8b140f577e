"""The Slack front end through its real HTTP endpoint: signed requests in,
ephemeral replies back, posts to the Web API stand-in through the outbox."""

from __future__ import annotations

import json
import threading
import time
from datetime import date

import httpx
import pytest
from sqlalchemy import event, select

from bot.commands import COMMANDS
from bot.server import DISPATCH_THREADS
from storage.models import Action
from tests.conftest import count_rows
from tests.slack.signing import sign, slash_command_body


def post_command(
    server, secret, command, text, *, user="U0CLERK01", channel="C0GENERAL", timestamp=None, signed=True
):
    body = slash_command_body(command, text, user_id=user, channel_id=channel)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if signed:
        headers |= sign(body, secret=secret, timestamp=int(timestamp or time.time()))
    return httpx.post(f"{server}/slack/events", content=body, headers=headers, timeout=10)


ADD = "Circulate Away Day outcomes | <@U0FIRE001|ray> | 17.02.15"


def test_a_signed_action_add_is_stored_and_answered(server, demo, slack_signing_secret):
    response = post_command(server, slack_signing_secret, "/action", f"add {ADD}")
    assert response.status_code == 200
    reply = response.json()
    assert reply["response_type"] == "ephemeral"
    assert "Circulate Away Day outcomes — Ray Cottam, due Tue 17 Feb 2015" in reply["text"]
    with demo() as session:
        newest = session.scalar(select(Action).order_by(Action.number.desc()).limit(1))
    assert (newest.what, newest.owner.key, newest.due) == (
        "Circulate Away Day outcomes",
        "fire",
        date(2015, 2, 17),
    )
    assert f"*{newest.ref}*" in reply["text"]


def test_an_answer_is_json_in_utf_8_with_what_was_typed_escaped_once(server, slack_signing_secret):
    what = "Tell <!channel> & the café"
    response = post_command(
        server, slack_signing_secret, "/action", f"add {what} | <@U0FIRE001|ray> | 17.02.15"
    )
    assert response.headers["content-type"] == "application/json;charset=utf-8"
    assert "Tell &lt;!channel&gt; &amp; the café — Ray Cottam".encode() in response.content
    assert response.json()["response_type"] == "ephemeral"


def test_an_unsigned_request_gets_401_and_stores_nothing(server, demo):
    before = count_rows(demo)
    response = post_command(server, "", "/action", f"add {ADD}", signed=False)
    assert response.status_code == 401
    assert count_rows(demo) == before


def test_a_wrongly_signed_request_gets_401(server, demo):
    before = count_rows(demo)
    response = post_command(server, "not-the-secret", "/action", f"add {ADD}")
    assert response.status_code == 401
    assert count_rows(demo) == before


def test_a_replayed_request_older_than_five_minutes_gets_401(server, demo, slack_signing_secret):
    before = count_rows(demo)
    response = post_command(
        server, slack_signing_secret, "/action", f"add {ADD}", timestamp=time.time() - 6 * 60
    )
    assert response.status_code == 401
    assert count_rows(demo) == before


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_answers_help(server, slack_signing_secret, command):
    reply = post_command(server, slack_signing_secret, command, "help").json()
    assert command in reply["text"] and "e.g." in reply["text"]


def test_meeting_next_and_apologies_through_slack(server, slack_signing_secret, slack_api):
    meeting = post_command(server, slack_signing_secret, "/meeting", "next", user="U0FIRE001").json()
    assert "Next meeting: Chorley Public Service Reform Board" in meeting["text"]
    assert "Tue 21 Apr 2015, 16:00–17:30" in meeting["text"]
    sent = post_command(server, slack_signing_secret, "/apologies", "Off sick", user="U0FIRE001").json()
    assert "Apologies sent for the Chorley Public Service Reform Board meeting" in sent["text"]


def test_a_user_slack_does_not_know_us_for_is_told_so(server, slack_signing_secret):
    reply = post_command(server, slack_signing_secret, "/action", "list", user="U0STRANGER").json()
    assert "not in the partnership file" in reply["text"]


def test_healthz_checks_the_database(server):
    response = httpx.get(f"{server}/healthz", timeout=5)
    assert response.status_code == 200 and response.json() == {"ok": True, "database": "ok"}


def post_event(server, secret, event_id="Ev0001", retry=None):
    body = json.dumps(
        {
            "type": "event_callback",
            "team_id": "T0TEAM001",
            "api_app_id": "A0APP0001",
            "event": {"type": "app_home_opened", "user": "U0FIRE001", "tab": "home"},
            "event_id": event_id,
            "event_time": int(time.time()),
        }
    )
    headers = {"Content-Type": "application/json"} | sign(body, secret=secret, timestamp=int(time.time()))
    if retry:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"}
    return httpx.post(f"{server}/slack/events", content=body, headers=headers, timeout=10)


def test_the_home_tab_event_is_acknowledged_and_the_tab_published(server, slack_signing_secret, slack_api):
    assert post_event(server, slack_signing_secret).status_code == 200
    [call] = slack_api.wait_for("views.publish")  # through the outbox, after the acknowledgement
    assert call.params["user_id"] == "U0FIRE001"


def test_a_retried_event_is_acknowledged_and_acted_on_once(server, demo, slack_signing_secret):
    assert post_event(server, slack_signing_secret, "Ev0002").status_code == 200
    after_first = count_rows(demo)
    assert after_first["received_event"] == 1
    assert post_event(server, slack_signing_secret, "Ev0002", retry=1).status_code == 200
    assert count_rows(demo) == after_first
    assert post_event(server, slack_signing_secret, "Ev0003").status_code == 200
    assert count_rows(demo)["received_event"] == 2


def test_typed_text_reaches_slack_escaped_exactly_once(server, demo, slack_signing_secret):
    hostile = "Tell <!channel> & <@U123>"
    reply = post_command(
        server, slack_signing_secret, "/action", f"add {hostile} | Police & Fire leads | 1 May"
    )
    text = reply.json()["text"]
    assert "Tell &lt;!channel&gt; &amp; &lt;@U123&gt; — Police &amp; Fire leads (free text)" in text
    assert "<!channel>" not in text and "&amp;amp;" not in text
    refused = post_command(server, slack_signing_secret, "/action", "done <!channel>").json()["text"]
    assert "&lt;!channel&gt;" in refused and "<!channel>" not in refused


def test_sixteen_signed_action_adds_at_once_are_all_stored_with_their_own_refs(
    server, engine, demo, slack_signing_secret
):
    opened: list[object] = []

    def connected(dbapi_connection, record) -> None:
        opened.append(dbapi_connection)

    event.listen(engine, "connect", connected)
    start = threading.Barrier(16)
    replies: list[dict] = [{}] * 16

    def add(i: int) -> None:
        start.wait()
        response = post_command(
            server, slack_signing_secret, "/action", f"add Same-instant action {i} | clerk | 17/05/2015"
        )
        replies[i] = response.json()

    threads = [threading.Thread(target=add, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    event.remove(engine, "connect", connected)
    assert all(reply["text"].startswith("Added *A") for reply in replies), replies
    # A few threads answer, each with a connection kept in the pool: not one each.
    assert len(opened) <= DISPATCH_THREADS + 1  # and the delivery worker's
    with demo() as session:
        numbers = session.scalars(select(Action.number).where(Action.what.startswith("Same-instant"))).all()
    assert len(set(numbers)) == 16
