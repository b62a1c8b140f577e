"""The action buttons (Done, Snooze a week, New due date) pressed through Slack's
real HTTP endpoint, signed, by the action's owner, an officer of its group, and
a member of that group who is neither: the first two act, the third is told who
may and nothing is stored."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select

from bot.jobs.run_due import run_due
from bot.slack_api import SlackSender, web_client
from storage.models import Action
from tests.conftest import count_rows
from tests.test_slack_forms import post_interaction, submission
from tests.test_slack_updates_and_actions import estates_ref, list_and_press, opened_view

# "Send station and estates data for the asset register": Ray Cottam's, from the
# Implementation Group of 11 Feb 2015.
OWNER = "U0FIRE001"  # Ray Cottam
OFFICER = "U0CLERK01"  # Jess Marland, officer of the Implementation Group
NEITHER = "U0DWP0001"  # Imran Siddique, a member of the Implementation Group


def stored(demo, ref: str) -> tuple[str, str | None, str]:
    with demo() as session:
        action = session.scalar(select(Action).where(Action.number == int(ref[1:])))
        return action.status, str(action.snoozed_until) if action.snoozed_until else None, str(action.due)


@pytest.mark.parametrize("presser", [OWNER, OFFICER], ids=["owner", "officer"])
def test_done_and_snooze_act_for_the_owner_and_an_officer(
    server, demo, slack_signing_secret, slack_api, presser
):
    ref = estates_ref(demo)
    list_and_press(server, slack_signing_secret, slack_api, "Snooze a week", ref=ref, presser=presser)
    slack_api.wait_for("response_url")
    assert stored(demo, ref)[1] == "2015-04-20"
    list_and_press(server, slack_signing_secret, slack_api, "Done", ref=ref, presser=presser)
    slack_api.wait_for("response_url", count=2)
    assert stored(demo, ref)[0] == "done"
    assert all(r["replace_original"] is True for r in slack_api.responses())


@pytest.mark.parametrize("presser", [OWNER, OFFICER], ids=["owner", "officer"])
def test_new_due_date_opens_its_form_and_changes_it_for_the_owner_and_an_officer(
    server, demo, slack_signing_secret, slack_api, presser
):
    ref = estates_ref(demo)
    list_and_press(server, slack_signing_secret, slack_api, "New due date", ref=ref, presser=presser)
    form = opened_view(slack_api)
    payload = submission(form, {}, user=presser)
    payload["view"]["state"]["values"]["due"] = {"due": {"type": "datepicker", "selected_date": "2015-05-01"}}
    answer = post_interaction(server, slack_signing_secret, payload).json()
    assert answer["response_action"] == "update", answer
    assert stored(demo, ref)[2] == "2015-05-01"


@pytest.mark.parametrize(
    ("label", "verb"),
    [
        ("Done", "mark {ref} done"),
        ("Snooze a week", "snooze {ref}"),
        ("New due date", "change {ref}'s due date"),
    ],
)
def test_a_member_who_is_neither_owner_nor_officer_is_told_who_may(
    server, demo, slack_signing_secret, slack_api, label, verb
):
    ref = estates_ref(demo)
    before, as_it_was = count_rows(demo), stored(demo, ref)
    list_and_press(server, slack_signing_secret, slack_api, label, ref=ref, presser=NEITHER)
    slack_api.wait_for("response_url")
    [said] = slack_api.responses()
    assert said["replace_original"] is False
    assert f"Only its owner (Ray Cottam), an officer or the chair can {verb.format(ref=ref)}:" in said["text"]
    assert "Nothing was changed" in said["text"]
    assert not slack_api.calls("views.open")
    assert stored(demo, ref) == as_it_was
    after = count_rows(demo)
    # The refusal itself is a queued response (a delivery), and nothing else.
    assert {k: v for k, v in after.items() if v != before[k]}.keys() <= {"delivery", "inbox"}
    assert after["audit_entry"] == before["audit_entry"]


def nudge_to_fire(demo, clock, slack_api) -> dict:
    """Monday's nudge to Ray Cottam, as Slack got it (his estates data is overdue)."""
    run_due(sessions=demo, clock=clock, sender=SlackSender(web_client("xoxb-test", slack_api.url)))
    [post] = [p for p in slack_api.posts() if p["channel"] == "D" + OWNER]
    return post


def press_on(server, secret, slack_api, post: dict, label: str, *, ref: str, presser: str):
    blocks = json.loads(post["blocks"]) if isinstance(post["blocks"], str) else post["blocks"]
    for index, block in enumerate(blocks):
        if block["type"] == "section" and block["text"]["text"].startswith(f"*{ref}*"):
            actions = blocks[index + 1]
            break
    [button] = [e for e in actions["elements"] if e["text"]["text"] == label]
    payload = {
        "type": "block_actions",
        "team": {"id": "T0TEAM001"},
        "user": {"id": presser},
        "api_app_id": "A0APP0001",
        "trigger_id": "1700000000.2.def",
        "container": {"type": "message", "message_ts": "1428915600.000300", "channel_id": post["channel"]},
        "channel": {"id": post["channel"]},
        "response_url": slack_api.response_url(),
        "message": {"ts": "1428915600.000300", "text": post["text"], "blocks": blocks},
        "actions": [
            {
                "type": "button",
                "block_id": actions["block_id"],
                "action_id": button["action_id"],
                "text": button["text"],
                "value": button["value"],
                "action_ts": str(time.time()),
            }
        ],
    }
    return post_interaction(server, secret, payload)


def test_new_due_date_on_a_nudge_opens_the_form_for_that_action(
    server, demo, clock, slack_signing_secret, slack_api
):
    ref = estates_ref(demo)
    nudge = nudge_to_fire(demo, clock, slack_api)
    press_on(server, slack_signing_secret, slack_api, nudge, "New due date", ref=ref, presser=OWNER)
    form = opened_view(slack_api)
    assert form["callback_id"] == "action-due" and ref in json.dumps(form)
    payload = submission(form, {}, user=OWNER)
    payload["view"]["state"]["values"]["due"] = {"due": {"type": "datepicker", "selected_date": "2015-05-01"}}
    answer = post_interaction(server, slack_signing_secret, payload).json()
    assert answer["response_action"] == "update", answer
    assert stored(demo, ref)[2] == "2015-05-01"


def test_done_on_a_nudge_forwarded_to_someone_else_is_refused(
    server, demo, clock, slack_signing_secret, slack_api
):
    ref = estates_ref(demo)
    nudge = nudge_to_fire(demo, clock, slack_api)
    as_it_was = stored(demo, ref)
    press_on(server, slack_signing_secret, slack_api, nudge, "Done", ref=ref, presser=NEITHER)
    slack_api.wait_for("response_url")
    [said] = slack_api.responses()
    assert f"Only its owner (Ray Cottam), an officer or the chair can mark {ref} done:" in said["text"]
    assert stored(demo, ref) == as_it_was
