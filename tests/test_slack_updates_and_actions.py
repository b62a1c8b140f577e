"""/update, /action import, the action buttons and the Home tab through the real
HTTP endpoint: signed requests in, what the Slack stand-in received checked."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from bot.commands.home import REFRESH_DELAY
from storage.models import Action, AuditEntry, Update
from tests.conftest import count_rows
from tests.slack.signing import sign
from tests.test_slack_endpoint import post_command
from tests.test_slack_forms import post_interaction, submission


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
    assert "The only update of *Joint Commissioning*" in history["text"]
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


# -- forms and buttons through Slack ---------------------------------------------------------------


def opened_view(slack_api) -> dict:
    view = slack_api.last("views.open").params["view"]
    return json.loads(view) if isinstance(view, str) else view


def test_update_opens_the_workstream_choice_then_the_highlight_report(
    server, demo, slack_signing_secret, slack_api
):
    post_command(server, slack_signing_secret, "/update", "", user="U0FIRE001")
    choose = opened_view(slack_api)
    assert choose["callback_id"] == "update-workstream"
    options = [o["value"] for o in choose["blocks"][0]["element"]["options"]]
    assert options[:2] == ["joint-commissioning", "integrated-assets"]  # Ray's own first
    answer = post_interaction(
        server, slack_signing_secret, submission(choose, {"workstream": "joint-commissioning"})
    ).json()
    assert answer["response_action"] == "update"
    report = answer["view"]
    assert report["callback_id"] == "update-highlight"
    assert [b["block_id"] for b in report["blocks"]] == [
        "rag",
        "progress",
        "issues",
        "risks",
        "next_steps",
        "decision_needed",
    ]
    values = {"rag": "red", "progress": "Pooled budget withdrawn", "decision_needed": "Agree a new route"}
    done = post_interaction(server, slack_signing_secret, submission(report, values)).json()
    assert done["response_action"] == "update"
    assert "🔴 Red" in json.dumps(done["view"], ensure_ascii=False)
    [call] = slack_api.wait_for("chat.postMessage")
    assert call.params["channel"] == "CBOARD001"
    assert "Decision needed from the board" in call.params["text"]


def test_a_highlight_report_from_someone_who_may_not_post_is_refused_in_the_modal(
    server, demo, slack_signing_secret, slack_api
):
    post_command(server, slack_signing_secret, "/update", "", user="U0FIRE001")
    choose = opened_view(slack_api)
    answer = post_interaction(
        server, slack_signing_secret, submission(choose, {"workstream": "joint-commissioning"})
    ).json()
    before = count_rows(demo)
    refused = post_interaction(
        server,
        slack_signing_secret,
        submission(answer["view"], {"rag": "red", "progress": "x"}, user="U0COLL001"),
    ).json()
    assert refused["response_action"] == "errors"
    assert "Only the leads of Joint Commissioning" in refused["errors"]["rag"]
    assert count_rows(demo) == before


def import_modal(server, secret, slack_api, table: str) -> dict:
    post_command(server, secret, "/action", "import", user="U0CLERK01", channel="CBOARD001")
    form = opened_view(slack_api)
    assert form["callback_id"] == "action-import"
    [meeting] = [
        b["element"]["initial_option"]["value"] for b in form["blocks"] if b["block_id"] == "meeting"
    ]
    return post_interaction(
        server, secret, submission(form, {"meeting": meeting, "table": table}, user="U0CLERK01")
    ).json()


def save_press(slack_api, view: dict, *, user="U0CLERK01") -> dict:
    """Pressing the Save button shown in the modal."""
    [button] = [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    return {
        "type": "block_actions",
        "team": {"id": "T0TEAM001"},
        "user": {"id": user},
        "api_app_id": "A0APP0001",
        "trigger_id": "1700000000.1.abc",
        "container": {"type": "view", "view_id": "V00000001"},
        "view": {**view, "id": "V00000001", "type": "modal"},
        "actions": [
            {
                "type": "button",
                "block_id": "actions:0",
                "action_id": button["action_id"],
                "text": button["text"],
                "value": button["value"],
                "action_ts": str(time.time()),
            }
        ],
    }


def test_the_february_table_is_read_in_the_modal_and_saved_once(
    server, demo, slack_signing_secret, slack_api
):
    from tests.commands.test_action_import import MINUTES

    answer = import_modal(server, slack_signing_secret, slack_api, MINUTES)
    assert answer["response_action"] == "update"
    shown = json.dumps(answer["view"], ensure_ascii=False)
    assert "I read 9 actions for the Chorley Public Service Reform Board meeting on Tue 10 Feb 2015" in shown
    # The demo's A2 is the table's last row: struck through, not saved again.
    assert "Group Leads (free text" in shown and "open already as A2" in shown and "Save 8 actions" in shown
    before = count_rows(demo)
    press = save_press(slack_api, answer["view"])
    assert post_interaction(server, slack_signing_secret, press).status_code == 200
    [update] = slack_api.wait_for("views.update")
    assert update.params["view_id"] == "V00000001"
    assert "Saved 8 actions" in json.dumps(update.params["view"], ensure_ascii=False)
    with demo() as session:
        assert session.scalar(select(func.count()).select_from(Action)) == before["action"] + 8
    again = save_press(slack_api, answer["view"])
    assert post_interaction(server, slack_signing_secret, again).status_code == 200
    with demo() as session:
        assert session.scalar(select(func.count()).select_from(Action)) == before["action"] + 8


def test_a_table_with_a_bad_date_is_refused_under_the_table_and_saves_nothing(
    server, demo, slack_signing_secret, slack_api
):
    from tests.commands.test_action_import import MINUTES

    before = count_rows(demo)
    answer = import_modal(server, slack_signing_secret, slack_api, MINUTES.replace("13.03.15", "31.02.15"))
    assert answer["response_action"] == "errors"
    assert "line 4: Commission Working Group | Deborah Grant | 31.02.15" in answer["errors"]["table"]
    assert count_rows(demo) == before


def list_and_press(server, secret, slack_api, label: str, *, ref: str, presser: str, owner="U0FIRE001"):
    listed = post_command(server, secret, "/action", "list", user=owner).json()
    blocks = listed["blocks"]
    for index, block in enumerate(blocks):
        if block["type"] == "section" and f"*{ref}*" in block["text"]["text"]:
            actions = blocks[index + 1]
            break
    [button] = [e for e in actions["elements"] if e["text"]["text"] == label]
    payload = {
        "type": "block_actions",
        "team": {"id": "T0TEAM001"},
        "user": {"id": presser},
        "api_app_id": "A0APP0001",
        "trigger_id": "1700000000.1.abc",
        "container": {"type": "message", "message_ts": "1428915600.000200", "channel_id": "D0FIRE001"},
        "channel": {"id": "D0FIRE001"},
        "response_url": slack_api.response_url(),
        "message": {"ts": "1428915600.000200", "text": listed["text"], "blocks": blocks},
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


def estates_ref(demo) -> str:
    with demo() as session:
        return session.scalar(select(Action).where(Action.what.like("Send station and estates%"))).ref


def test_done_pressed_on_the_list_acts_once_and_marks_the_message(
    start_serve, demo, clock, slack_signing_secret, slack_api
):
    server, service = start_serve()
    ref = estates_ref(demo)
    assert (
        list_and_press(
            server, slack_signing_secret, slack_api, "Done", ref=ref, presser="U0FIRE001"
        ).status_code
        == 200
    )
    slack_api.wait_for("response_url")
    marked = slack_api.responses()[0]
    assert marked["replace_original"] is True
    assert f"✓ *Done* — Ray Cottam: {ref} is now done." in json.dumps(marked["blocks"], ensure_ascii=False)
    with demo() as session:
        assert session.scalar(select(Action.status).where(Action.number == int(ref[1:]))) == "done"
        audits = session.scalars(select(AuditEntry.what).where(AuditEntry.subject == ref)).all()
    assert audits == ["action.done"]
    assert slack_api.calls("views.publish") == []
    a_moment_later(clock, service)
    slack_api.wait_for("views.publish")  # the presser's Home tab follows the change


def test_a_presser_who_may_not_is_refused_with_who_may(server, demo, slack_signing_secret, slack_api):
    ref = estates_ref(demo)
    listed_before = count_rows(demo)
    list_and_press(server, slack_signing_secret, slack_api, "Snooze a week", ref=ref, presser="U0COLL001")
    slack_api.wait_for("response_url")
    said = slack_api.responses()[0]
    assert said["replace_original"] is False
    assert f"Only its owner (Ray Cottam), an officer or the chair can snooze {ref}:" in said["text"]
    with demo() as session:
        assert session.scalar(select(Action.snoozed_until).where(Action.number == int(ref[1:]))) is None
    assert count_rows(demo)["audit_entry"] == listed_before["audit_entry"]


def test_new_due_date_opens_its_small_form(server, demo, slack_signing_secret, slack_api):
    ref = estates_ref(demo)
    list_and_press(server, slack_signing_secret, slack_api, "New due date", ref=ref, presser="U0FIRE001")
    form = opened_view(slack_api)
    assert form["callback_id"] == "action-due" and form["blocks"][0]["element"]["type"] == "datepicker"
    payload = submission(form, {})
    payload["view"]["state"]["values"]["due"] = {"due": {"type": "datepicker", "selected_date": "2015-04-24"}}
    answer = post_interaction(server, slack_signing_secret, payload).json()
    assert answer["response_action"] == "update", answer
    with demo() as session:
        assert str(session.scalar(select(Action.due).where(Action.number == int(ref[1:])))) == "2015-04-24"


def add_many(demo, clock, count: int) -> None:
    from bot.commands import COMMANDS
    from bot.commands.core import run

    for n in range(count):
        reply = run(
            COMMANDS["/action"],
            f"add Task {n + 1} with a fairly long description of what is to be done | fire | {1 + n % 28}/5/2015",
            sessions=demo,
            clock=clock,
            person_key="clerk",
        )
        assert reply.ok


def home_of(user: str, slack_api, timeout: float = 20.0):
    """The Home tab published for `user`, once the worker has got to it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [c for c in slack_api.calls("views.publish") if c.params.get("user_id") == user]
        if found:
            return found[-1]
        time.sleep(0.05)
    raise AssertionError(f"no Home tab published for {user}")


def within_limits(blocks: list[dict], most: int) -> None:
    assert len(blocks) <= most
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "actions":
            assert len(block["elements"]) <= 25
            for element in block["elements"]:
                assert len(element["text"]["text"]) <= 75 and len(element.get("value", "")) <= 2000


def test_two_hundred_open_actions_fit_the_list_and_the_home_tab(
    server, demo, clock, slack_signing_secret, slack_api
):
    add_many(demo, clock, 200)
    listed = post_command(server, slack_signing_secret, "/action", "list", user="U0FIRE001").json()
    within_limits(listed["blocks"], 50)
    assert listed["text"] == "Your open actions (202):"
    assert "…and 182 more" in json.dumps(listed["blocks"], ensure_ascii=False)
    assert post_event(server, slack_signing_secret).status_code == 200
    call = home_of("U0FIRE001", slack_api)
    view = call.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert view["type"] == "home"
    within_limits(view["blocks"], 100)
    shown = json.dumps(view["blocks"], ensure_ascii=False)
    assert "Your open actions (202)" in shown and "more" in shown
    assert "Your next meetings" in shown and "Your workstreams" in shown
    assert "_and" not in shown  # nothing cut by the renderer: the Home tab chose what fits


def a_moment_later(clock, service) -> None:
    """Move the clock past the pause before a change's Home tab is published, and wake the sender."""
    clock.set(clock.now() + REFRESH_DELAY)
    service.deliveries.wake()


def home_press(view: dict, label: str, *, view_hash: str, user="U0FIRE001") -> dict:
    """A press on a button of a published Home tab."""
    for block in view["blocks"]:
        for element in block.get("elements", []):
            if block["type"] == "actions" and element["text"]["text"] == label:
                return {
                    "type": "block_actions",
                    "team": {"id": "T0TEAM001"},
                    "user": {"id": user},
                    "api_app_id": "A0APP0001",
                    "trigger_id": f"1700000000.{time.time_ns()}.abc",
                    "container": {"type": "view", "view_id": "VHOME0001"},
                    "view": {**view, "id": "VHOME0001", "type": "home", "hash": view_hash},
                    "actions": [
                        {
                            "type": "button",
                            "block_id": block["block_id"],
                            "action_id": element["action_id"],
                            "text": element["text"],
                            "value": element["value"],
                            "action_ts": str(time.time()),
                        }
                    ],
                }
    raise AssertionError(f"no {label} button on the Home tab")


def published(call) -> dict:
    view = call.params["view"]
    return json.loads(view) if isinstance(view, str) else view


def test_apologies_from_the_home_tab_send_withdraw_and_send_again(
    start_serve, demo, clock, slack_signing_secret, slack_api
):
    server, service = start_serve()
    from storage.models import Apology

    post_event(server, slack_signing_secret)
    first = published(slack_api.wait_for("views.publish")[0])
    assert "you are expected" in json.dumps(first)
    press = home_press(first, "Send apologies", view_hash="h1")
    post_interaction(server, slack_signing_secret, press)
    post_interaction(server, slack_signing_secret, press)  # a double click
    a_moment_later(clock, service)
    second = published(slack_api.wait_for("views.publish", count=2)[1])
    assert "you have sent apologies" in json.dumps(second)
    with demo() as session:
        assert [a.withdrawn_at for a in session.scalars(select(Apology))] == [None]
        assert len(session.scalars(select(AuditEntry).where(AuditEntry.what.like("apolog%"))).all()) == 1
    post_interaction(server, slack_signing_secret, home_press(second, "Withdraw apologies", view_hash="h2"))
    a_moment_later(clock, service)
    third = published(slack_api.wait_for("views.publish", count=3)[2])
    post_interaction(server, slack_signing_secret, home_press(third, "Send apologies", view_hash="h3"))
    a_moment_later(clock, service)
    slack_api.wait_for("views.publish", count=4)
    with demo() as session:
        assert [a.withdrawn_at for a in session.scalars(select(Apology))] == [None]


def test_hostile_text_in_a_pasted_table_is_escaped_in_the_modal(
    server, demo, slack_signing_secret, slack_api
):
    answer = import_modal(
        server, slack_signing_secret, slack_api, "Tell <!channel> & <@U0CHAIR01>\tGroup Leads\t1/3/15"
    )
    shown = json.dumps(answer["view"], ensure_ascii=False)
    assert "<!channel>" not in shown and "&lt;!channel&gt; &amp; &lt;@U0CHAIR01&gt;" in shown
    refused = import_modal(server, slack_signing_secret, slack_api, "Book room\t<@U0NOBODY1>\t1/3/15")
    assert refused["response_action"] == "errors"
    assert "not in the partnership file" in refused["errors"]["table"]
