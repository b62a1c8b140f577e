"""Forms as modals: one input per field, state carried, values read back."""

from __future__ import annotations

import json

from bot.blocks.forms import carried_state, form_view, result_view, submitted_values
from bot.blocks.messages import MAX_VIEW_BLOCKS
from bot.commands.shapes import Choice, Field, Form, Message

FORM = Form(
    name="apologies",
    title="Send apologies for absence to the board",
    fields=(
        Field(
            "meeting",
            "Meeting",
            kind="choice",
            choices=(Choice("4", "Tue 21 Apr 2015 — Board & co"), Choice("5", "Tue 16 Jun")),
            preset="5",
        ),
        Field("reason", "Reason", kind="long_text", optional=True, hint="Private <never posted>"),
        Field("due", "Due", kind="date", preset="2015-04-21"),
        Field("substitute", "Substitute", preset="Jo"),
    ),
    submit_label="Send",
    state={"meeting": "4"},
)


def test_a_form_is_a_modal_with_one_input_per_field():
    view = form_view(FORM, carried={"_channel": "CBOARD001"})
    assert view["type"] == "modal" and view["callback_id"] == "apologies"
    assert len(view["title"]["text"]) <= 24 and view["submit"]["text"] == "Send"
    assert json.loads(view["private_metadata"]) == {"_channel": "CBOARD001", "meeting": "4"}
    assert [b["block_id"] for b in view["blocks"]] == ["meeting", "reason", "due", "substitute"]
    meeting, reason, due, substitute = view["blocks"]
    assert meeting["element"]["type"] == "static_select"
    assert meeting["element"]["initial_option"]["value"] == "5"
    assert meeting["element"]["options"][0]["text"]["text"] == "Tue 21 Apr 2015 — Board &amp; co"
    assert reason["element"]["multiline"] is True and reason["optional"] is True
    assert reason["hint"]["text"] == "Private &lt;never posted&gt;"
    assert due["element"] == {"type": "datepicker", "action_id": "due", "initial_date": "2015-04-21"}
    assert substitute["element"]["initial_value"] == "Jo"


def test_a_form_with_hundreds_of_fields_stays_within_a_views_100_blocks():
    fields = tuple(Field(f"p{n}", f"Person {n}") for n in range(300))
    view = form_view(Form("attendance", "Attendance", fields))
    assert len(view["blocks"]) == MAX_VIEW_BLOCKS
    assert "_and 201 more" in view["blocks"][-1]["text"]["text"]


def test_submitted_values_are_plain_strings_by_field_name():
    values = {
        "meeting": {"meeting": {"type": "static_select", "selected_option": {"value": "4"}}},
        "reason": {"reason": {"type": "plain_text_input", "value": None}},
        "due": {"due": {"type": "datepicker", "selected_date": "2015-04-21"}},
        "substitute": {"substitute": {"type": "plain_text_input", "value": "Jo <b>"}},
    }
    assert submitted_values(values) == {
        "meeting": "4",
        "reason": "",
        "due": "2015-04-21",
        "substitute": "Jo <b>",
    }


def test_carried_state_survives_nonsense():
    assert carried_state('{"meeting": 4}') == {"meeting": "4"}
    assert carried_state("not json") == {} and carried_state("[1]") == {} and carried_state(None) == {}


def test_a_taken_form_shows_its_answer_with_a_close_button():
    view = result_view("Send apologies", Message("Apologies sent & noted"))
    assert view["close"]["text"] == "Close" and "submit" not in view
    assert view["blocks"][0]["text"]["text"] == "Apologies sent &amp; noted"
