"""The action buttons (Done, Snooze a week, New due date) pressed through Slack's
real HTTP endpoint, signed, by the action's owner, an officer of its group, and
a member of that group who is neither: the first two act, the third is told who
may and nothing is stored."""

from __future__ import annotations

import pytest
from sqlalchemy import select

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
    [("Done", "mark it done"), ("Snooze a week", "snooze it"), ("New due date", "change its due date")],
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
    assert f"Only its owner (Ray Cottam), an officer or the chair can {verb} for {ref}" in said["text"]
    assert "Nothing was changed" in said["text"]
    assert not slack_api.calls("views.open")
    assert stored(demo, ref) == as_it_was
    after = count_rows(demo)
    # The refusal itself is a queued response (a delivery), and nothing else.
    assert {k: v for k, v in after.items() if v != before[k]}.keys() <= {"delivery", "inbox"}
    assert after["audit_entry"] == before["audit_entry"]
