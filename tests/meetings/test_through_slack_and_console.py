"""Meetings through the real HTTP endpoint and the console alike."""

from __future__ import annotations

import io
import json
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.console import Console
from storage.models import Attendance, Meeting
from tests.conftest import count_rows
from tests.test_slack_endpoint import post_command
from tests.test_slack_forms import post_interaction, submission

LONDON = ZoneInfo("Europe/London")


def opened_view(slack_api):
    view = slack_api.last("views.open").params["view"]
    return json.loads(view) if isinstance(view, str) else view


def test_an_officer_adds_meetings_in_the_boards_channel_and_slack_sees_the_posts_escaped_once(
    server, slack_signing_secret, slack_api, demo
):
    reply = post_command(
        server,
        slack_signing_secret,
        "/meeting",
        "add 14 Jul 2015, 13 Oct 2015 at Tom & Jerry's <room>",
        user="U0CLERK01",
        channel="CBOARD001",
    ).json()
    assert reply["response_type"] == "ephemeral"
    assert "Added 2 meetings of the Chorley Public Service Reform Board" in reply["text"]
    assert "Tom &amp; Jerry's &lt;room&gt;" in reply["text"]
    posts = slack_api.wait_for("chat.postMessage", count=2)
    texts = " ".join(p.params["text"] for p in posts)
    assert all(p.params["channel"] == "CBOARD001" for p in posts)
    assert (
        "*Meeting added*: Chorley Public Service Reform Board, Tue 13 Oct 2015, 16:00–17:30, Tom &amp; Jerry's &lt;room&gt;."
        in texts
    )
    assert "&amp;amp;" not in texts


def test_a_member_is_refused_through_slack_and_nothing_is_stored(server, slack_signing_secret, demo):
    before = count_rows(demo)
    reply = post_command(
        server, slack_signing_secret, "/meeting", "cancel 16 Jun 2015", user="U0FIRE001", channel="CBOARD001"
    ).json()
    assert (
        "Only the officers and the chair of the Chorley Public Service Reform Board cancel meetings"
        in reply["text"]
    )
    assert count_rows(demo) == before


def test_the_attendance_form_opens_within_the_trigger_and_its_submission_records(
    server, slack_signing_secret, slack_api, demo, clock
):
    post_command(server, slack_signing_secret, "/apologies", "21 Apr Hospital appointment", user="U0FIRE001")
    clock.set(datetime(2015, 4, 21, 18, tzinfo=LONDON))
    answer = post_command(
        server, slack_signing_secret, "/meeting", "attendance 21 Apr", user="U0CLERK01", channel="CBOARD001"
    )
    assert answer.status_code == 200
    view = opened_view(slack_api)
    assert view["callback_id"] == "attendance" and len(view["blocks"]) == 18
    assert json.loads(view["private_metadata"])["_channel"] == "CBOARD001"
    fire = next(b for b in view["blocks"] if b["block_id"] == "fire")
    assert fire["element"]["initial_option"]["value"] == "apologies"

    before = count_rows(demo)
    bad = post_interaction(
        server, slack_signing_secret, submission(view, {"fire": "asleep"}, user="U0CLERK01")
    ).json()
    assert bad["response_action"] == "errors" and bad["errors"]["fire"].startswith("Choose present")
    assert count_rows(demo) == before

    values = {b["block_id"]: b["element"]["initial_option"]["value"] for b in view["blocks"]} | {
        "police": "absent"
    }
    good = post_interaction(server, slack_signing_secret, submission(view, values, user="U0CLERK01")).json()
    assert good["response_action"] == "update"
    # Officers and observers are preset "in attendance": the clerk, Nadia Hartley and Priya Raman.
    assert (
        "13 present, 1 with apologies, 1 absent, 3 in attendance" in good["view"]["blocks"][0]["text"]["text"]
    )
    with demo() as session:
        assert len(session.scalars(select(Attendance)).all()) == 18
        assert (
            session.scalar(
                select(Meeting.status).where(
                    Meeting.id == int(json.loads(view["private_metadata"])["meeting"])
                )
            )
            == "held"
        )


def test_a_member_pressing_for_the_attendance_form_gets_a_refusal_not_a_form(
    server, slack_signing_secret, slack_api, clock
):
    clock.set(datetime(2015, 4, 21, 18, tzinfo=LONDON))
    reply = post_command(
        server, slack_signing_secret, "/meeting", "attendance 21 Apr", user="U0FIRE001", channel="CBOARD001"
    ).json()
    assert "Only the officers and the chair" in reply["text"]
    assert slack_api.calls("views.open") == []


def test_a_published_agenda_reaches_the_channel_with_restricted_items_masked(
    server, slack_signing_secret, slack_api
):
    post_command(
        server, slack_signing_secret, "/agenda", "add restricted para 3 Depot disposal", channel="CBOARD001"
    )
    post_command(server, slack_signing_secret, "/apologies", "21 Apr Family wedding", user="U0FIRE001")
    reply = post_command(server, slack_signing_secret, "/agenda", "publish", channel="CBOARD001").json()
    assert "published and posted to the group's channel" in reply["text"]
    posted = slack_api.wait_for("chat.postMessage")[0].params["text"]
    assert "3. Restricted item" in posted and "Depot" not in posted


def console(demo, clock, lines: str, person: str = "clerk") -> str:
    out = io.StringIO()
    Console(sessions=demo, clock=clock, person_key=person, out=out).loop(io.StringIO(lines))
    return out.getvalue()


def test_the_clerk_runs_a_meeting_from_the_console(demo, clock):
    clock.set(datetime(2015, 4, 21, 18, tzinfo=LONDON))
    text = console(
        demo,
        clock,
        "in board\n/meeting add 14 Jul 2015\n/meeting attendance 21 Apr\n" + "\n" * 13 + "3\n" + "\n" * 4,
    )
    assert "▸ #board\n    Meeting added: Chorley Public Service Reform Board, Tue 14 Jul 2015" in text
    assert "Attendance: answer each question; a blank answer keeps what is in [brackets]," in text
    assert "Priya Raman (observer) [in attendance]: " in text
    assert "Jess Marland (officer) [in attendance]: " in text
    assert (
        "Attendance recorded for the Chorley Public Service Reform Board meeting on Tue 21 Apr 2015: "
        "15 present, 1 absent, 2 in attendance." in text
    )
