"""Block Kit rendering: escaped exactly once, always within Slack's limits."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from bot.blocks.messages import (
    MAX_BUTTONS,
    MAX_MESSAGE_BLOCKS,
    MAX_SECTION_TEXT,
    PRESS_PREFIX,
    button_value,
    marked_pressed,
    message_blocks,
    pressed_button,
    reply_payload,
)
from bot.commands.shapes import Button, Message, Section

HOSTILE = "<!channel> Tom & Jerry's <@U0FIRE001|ray> &amp; co"
ESCAPED = "&lt;!channel&gt; Tom &amp; Jerry's &lt;@U0FIRE001|ray&gt; &amp;amp; co"


def texts(blocks):
    for block in blocks:
        if "text" in block:
            yield block["text"]["text"]
        for element in block.get("elements", []):
            yield element["text"]["text"] if element.get("type") == "button" else element["text"]


def test_a_nudge_with_buttons_becomes_sections_with_actions_under_them():
    message = Message(
        "Your actions",
        (
            Section(
                "*A12* Circulate Away Day outcomes — due Tue 17 Feb 2015",
                (
                    Button("Done", command="/action done A12", style="primary"),
                    Button("New due date", command="/action due A12", form="action-due"),
                    Button("Minutes", url="https://example.org/minutes"),
                ),
            ),
        ),
    )
    blocks = message_blocks(message)
    assert [b["type"] for b in blocks] == ["section", "section", "actions"]
    assert blocks[1]["text"] == {
        "type": "mrkdwn",
        "text": "*A12* Circulate Away Day outcomes — due Tue 17 Feb 2015",
    }
    done, due, link = blocks[2]["elements"]
    assert done["action_id"].startswith(PRESS_PREFIX) and done["style"] == "primary"
    assert pressed_button(done["value"]).command == "/action done A12"
    assert pressed_button(due["value"]).form == "action-due"
    assert link["url"] == "https://example.org/minutes" and "value" not in link
    assert len({e["action_id"] for e in blocks[2]["elements"]}) == 3


def test_typed_text_is_escaped_exactly_once_everywhere():
    message = Message(HOSTILE, (Section(HOSTILE, (Button(HOSTILE, command="/action done A1"),)),))
    shown = list(texts(message_blocks(message)))
    assert shown[:2] == [ESCAPED, ESCAPED]
    assert shown[2].startswith("&lt;!channel&gt; Tom &amp; Jerry")  # a label, clipped to 75
    assert reply_payload(message)["text"] == ESCAPED
    assert "<!channel>" not in json.dumps(message_blocks(message))


def test_a_thousand_sections_stay_within_fifty_blocks_and_say_how_many_more():
    sections = tuple(
        Section(f"*A{n}* action {n}", (Button("Done", command=f"/action done A{n}"),)) for n in range(1000)
    )
    blocks = message_blocks(Message("Overdue actions", sections))
    assert len(blocks) == MAX_MESSAGE_BLOCKS
    shown_sections = sum(1 for b in blocks if b["type"] == "actions")
    assert blocks[-1]["type"] == "context"
    assert blocks[-1]["elements"][0]["text"] == f"_and {1000 - shown_sections} more_"
    assert (
        len({e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]})
        == shown_sections
    )


def test_long_text_is_split_into_sections_of_at_most_3000_characters_without_breaking_an_entity():
    text = "\n".join(f"• line {n} & more" for n in range(800)) + "\n" + "&" * 5000
    blocks = message_blocks(Message(text))
    assert all(len(b["text"]["text"]) <= MAX_SECTION_TEXT for b in blocks)
    joined = "\n".join(b["text"]["text"] for b in blocks)
    assert joined.count("&amp;") == 800 + 5000 and "&amp" not in joined.replace("&amp;", "")


def test_more_than_25_buttons_are_cut_with_a_note():
    buttons = tuple(Button(f"A{n}", command=f"/action done A{n}") for n in range(40))
    blocks = message_blocks(Message("", (Section("Many", buttons),)))
    actions = [b for b in blocks if b["type"] == "actions"]
    assert len(actions[0]["elements"]) == MAX_BUTTONS - 1
    assert "_and 16 more buttons" in blocks[-1]["elements"][0]["text"]


def test_a_button_value_round_trips_and_nonsense_is_no_button():
    button = Button("Done", command="/action done A12")
    assert pressed_button(button_value(button)).command == "/action done A12"
    assert pressed_button("not json").command == "" and pressed_button("[1]").form is None


def test_a_pressed_actions_block_is_replaced_by_an_escaped_note():
    blocks = message_blocks(
        Message("Yours", (Section("*A1* x", (Button("Done", command="/action done A1"),)),))
    )
    actions_id = next(b["block_id"] for b in blocks if b["type"] == "actions")
    marked = marked_pressed(blocks, block_id=actions_id, note="Done — Ray <b>")
    assert [b["type"] for b in marked] == ["section", "section", "context"]
    assert marked[-1]["elements"][0]["text"] == "Done — Ray &lt;b&gt;"
    assert marked[1] == blocks[1]  # Slack's own blocks are kept as they are, not escaped again


def test_every_block_reads_back_through_slack_sdks_block_kit_models_unchanged():
    """The blocks are plain dicts for speed; slack_sdk's models are the yardstick
    that they are Block Kit as Slack defines it."""
    from slack_sdk.models.blocks import Block

    buttons = (
        Button("Done", command="/action done A12", style="primary"),
        Button("New due date", command="/action due A12", form="action-due"),
        Button("Minutes", url="https://example.org/minutes"),
        Button(HOSTILE, command="/action snooze A12"),
    )
    message = Message(
        HOSTILE + "\n" + "x" * 4000, tuple(Section(f"*A{n}* {HOSTILE}", buttons) for n in range(30))
    )
    blocks = message_blocks(message) + marked_pressed(
        message_blocks(message), block_id="actions:1", note="✓ Done"
    )
    assert {b["type"] for b in blocks} == {"section", "actions", "context"}
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None
        parsed.validate_json()
        assert parsed.to_dict() == block


@given(command=st.text(max_size=200), form=st.one_of(st.none(), st.text(min_size=1, max_size=40)))
def test_a_button_value_is_the_json_of_what_it_carries_whatever_the_text(command, form):
    button = Button("Go", command=command, form=form)
    carried = ({"command": command} if command else {}) | ({"form": form} if form else {})
    assert button_value(button) == json.dumps(carried, separators=(",", ":"))
    back = pressed_button(button_value(button))
    assert (back.command, back.form) == (command, form or None)
