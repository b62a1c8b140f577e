"""Forms and buttons through the real HTTP endpoint: a modal opened within the
trigger, its submission taken (or refused field by field, storing nothing), and
a button press acted on once however often it is pressed."""

from __future__ import annotations

import json
import time

import httpx
from sqlalchemy import select

from storage.models import Apology, Delivery
from tests.conftest import count_rows
from tests.slack.signing import FORM, TRIGGER_ID, interaction_body, sign
from tests.test_slack_endpoint import post_command


def post_interaction(server, secret, payload):
    body = interaction_body(payload)
    headers = {"Content-Type": FORM} | sign(body, secret=secret, timestamp=int(time.time()))
    return httpx.post(f"{server}/slack/events", content=body, headers=headers, timeout=10)


def submission(view, values, user="U0FIRE001"):
    """What Slack sends when `view` (as views.open got it) is submitted with `values`."""
    state = {}
    for block in view["blocks"]:
        name, kind = block["block_id"], block["element"]["type"]
        value = values.get(name)
        if kind == "static_select":
            state[name] = {name: {"type": kind, "selected_option": {"value": value} if value else None}}
        else:
            state[name] = {name: {"type": kind, "value": value}}
    return {
        "type": "view_submission",
        "team": {"id": "T0TEAM001"},
        "user": {"id": user},
        "api_app_id": "A0APP0001",
        "trigger_id": TRIGGER_ID,
        "view": {**view, "id": "V00000001", "state": {"values": state}},
    }


def open_apologies_form(server, secret, slack_api, channel="C0GENERAL"):
    response = post_command(server, secret, "/apologies", "", user="U0FIRE001", channel=channel)
    assert response.status_code == 200
    call = slack_api.last("views.open")
    assert call.params["trigger_id"] == TRIGGER_ID
    view = call.params["view"]
    if isinstance(view, str):
        view = json.loads(view)
    return view


def test_apologies_with_no_text_opens_the_form_within_the_trigger(
    server, slack_signing_secret, slack_api, demo
):
    before = count_rows(demo)
    view = open_apologies_form(server, slack_signing_secret, slack_api)
    assert view["callback_id"] == "apologies"
    assert [b["block_id"] for b in view["blocks"]] == ["meeting", "reason", "substitute"]
    options = [o["text"]["text"] for o in view["blocks"][0]["element"]["options"]]
    assert options[0] == "Tue 21 Apr 2015 16:00 — Chorley Public Service Reform Board"  # soonest first
    assert len(options) == 10
    assert view["blocks"][0]["element"]["initial_option"]["text"]["text"] == options[0]
    assert count_rows(demo) == before  # opening a form stores nothing


def test_a_submitted_apologies_form_is_stored_and_answered_in_the_modal(
    server, slack_signing_secret, slack_api, demo
):
    view = open_apologies_form(server, slack_signing_secret, slack_api)
    board = view["blocks"][0]["element"]["options"][0]["value"]
    payload = submission(view, {"meeting": board, "reason": "Off sick & tired", "substitute": "Kim Lee"})
    response = post_interaction(server, slack_signing_secret, payload)
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_action"] == "update"
    shown = answer["view"]["blocks"][0]["text"]["text"]
    assert "Apologies sent for the Chorley Public Service Reform Board meeting on Tue 21 Apr 2015" in shown
    assert "Substitute: Kim Lee" in shown and "avoid sending deputies" in shown
    with demo() as session:
        apology = session.scalar(select(Apology).where(Apology.meeting_id == int(board)))
    assert (apology.person.key, apology.reason, apology.substitute) == ("fire", "Off sick & tired", "Kim Lee")
    assert slack_api.posts() == []  # nothing about an apology reaches a channel


def test_a_form_with_bad_answers_gets_its_errors_under_the_fields_and_stores_nothing(
    server, slack_signing_secret, slack_api, demo
):
    view = open_apologies_form(server, slack_signing_secret, slack_api)
    before = count_rows(demo)
    payload = submission(view, {"meeting": "999999", "reason": "x" * 1200})
    answer = post_interaction(server, slack_signing_secret, payload).json()
    assert answer["response_action"] == "errors"
    assert answer["errors"]["meeting"] == "Choose one of your upcoming meetings."
    assert "At most 1000 characters" in answer["errors"]["reason"]
    assert count_rows(demo) == before


def test_a_form_slack_no_longer_has_a_handler_for_is_refused_in_the_modal(
    server, slack_signing_secret, slack_api
):
    view = open_apologies_form(server, slack_signing_secret, slack_api)
    answer = post_interaction(
        server, slack_signing_secret, submission({**view, "callback_id": "gone"}, {})
    ).json()
    assert (
        answer["response_action"] == "errors" and "no longer knows that form" in answer["errors"]["meeting"]
    )


def test_when_slack_will_not_open_the_form_the_reply_says_how_to_type_it(
    server, slack_signing_secret, slack_api, demo
):
    slack_api.reply("views.open", body={"ok": False, "error": "expired_trigger_id"})
    reply = post_command(server, slack_signing_secret, "/apologies", "", user="U0FIRE001").json()
    assert "Slack would not open the form (expired_trigger_id)" in reply["text"]
    assert "`/apologies help` shows how to type it instead" in reply["text"]


def press_payload(slack_api, command, *, user="U0FIRE001", message_ts="1428915600.000100"):
    return {
        "type": "block_actions",
        "team": {"id": "T0TEAM001"},
        "user": {"id": user},
        "api_app_id": "A0APP0001",
        "trigger_id": TRIGGER_ID,
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": "D0FIRE001",
            "is_ephemeral": False,
        },
        "channel": {"id": "D0FIRE001"},
        "response_url": slack_api.response_url(),
        "message": {
            "ts": message_ts,
            "text": "Your actions",
            "blocks": [
                {"type": "section", "block_id": "s0", "text": {"type": "mrkdwn", "text": "*A1* something"}},
                {"type": "actions", "block_id": "actions:0", "elements": []},
            ],
        },
        "actions": [
            {
                "type": "button",
                "block_id": "actions:0",
                "action_id": "press:0",
                "text": {"type": "plain_text", "text": "List"},
                "value": json.dumps({"command": command}),
                "action_ts": str(time.time()),
            }
        ],
    }


def test_a_button_runs_its_command_as_the_presser_once_and_marks_the_message(
    server, slack_signing_secret, slack_api, demo
):
    payload = press_payload(slack_api, "/apologies 21/04/2015 Button pressed")
    assert post_interaction(server, slack_signing_secret, payload).status_code == 200
    slack_api.wait_for("response_url")
    with demo() as session:
        apologies = session.scalars(select(Apology)).all()
    assert [(a.person.key, a.reason) for a in apologies] == [("fire", "Button pressed")]
    update = slack_api.responses()[0]
    assert update["replace_original"] is True
    assert update["blocks"][0]["text"]["text"] == "*A1* something"  # the message kept as it was
    assert "✓ *List* — Ray Cottam: Apologies sent" in update["blocks"][1]["elements"][0]["text"]

    after_first = count_rows(demo)
    again = press_payload(slack_api, "/apologies 21/04/2015 Button pressed")  # the same button
    assert post_interaction(server, slack_signing_secret, again).status_code == 200
    slack_api.wait_for("response_url", count=2)
    assert count_rows(demo) == after_first | {"delivery": after_first["delivery"] + 1}
    with demo() as session:
        assert session.scalar(select(Apology.reason)) == "Button pressed"
        refusal = session.scalars(select(Delivery).where(Delivery.key.like("press-refused:%"))).one()
    assert refusal.payload["text"] == "That button was already pressed, so nothing more was done."


def test_a_refused_press_says_why_and_can_be_pressed_again(server, slack_signing_secret, slack_api, demo):
    before = count_rows(demo)
    payload = press_payload(slack_api, "/apologies 22/04/2015 No meeting that day")
    assert post_interaction(server, slack_signing_secret, payload).status_code == 200
    slack_api.wait_for("response_url")
    assert "no meeting on Wed 22 Apr 2015" in slack_api.responses()[0]["text"]
    assert count_rows(demo) == before | {"delivery": before["delivery"] + 1}
    assert count_rows(demo)["received_event"] == 0  # the refused press left no mark


def test_a_link_button_is_only_acknowledged(server, slack_signing_secret, slack_api, demo):
    payload = press_payload(slack_api, "")
    payload["actions"][0] |= {"action_id": "link:0", "url": "https://example.org", "value": None}
    before = count_rows(demo)
    assert post_interaction(server, slack_signing_secret, payload).status_code == 200
    assert count_rows(demo) == before


def test_a_button_that_names_a_form_opens_it_for_the_presser(server, slack_signing_secret, slack_api, demo):
    payload = press_payload(slack_api, "")
    payload["actions"][0]["value"] = json.dumps({"form": "apologies"})
    before = count_rows(demo)
    assert post_interaction(server, slack_signing_secret, payload).status_code == 200
    view = slack_api.last("views.open").params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == "apologies"
    assert count_rows(demo) == before  # opening a form is no change, and may be done again
    assert post_interaction(server, slack_signing_secret, payload).status_code == 200
    assert len(slack_api.calls("views.open")) == 2
