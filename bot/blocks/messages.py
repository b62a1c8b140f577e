"""Messages as Block Kit: a reply or a queued message's text and sections become
section blocks (mrkdwn) with an actions block of buttons under each.

Pure functions of raw text. This is where &, < and > are escaped, exactly once,
so nothing anyone typed can ping @channel or forge a mention or a link. Slack's
limits are kept by cutting with "and N more", never by a refused message.

The blocks are built as plain dicts: slack_sdk's Block Kit models, which the
forms use, took half of `/action list`'s time here (validating and converting
forty objects per reply); tests/blocks/test_messages.py checks that every
block built here reads back through those models unchanged."""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii
from typing import Any

from bot.commands.shapes import Button, Message, Section
from services.text import escape

MAX_SECTION_TEXT = 3000  # characters of a section block's text
MAX_MESSAGE_BLOCKS = 50  # blocks in a message
MAX_VIEW_BLOCKS = 100  # blocks in a modal
MAX_BUTTONS = 25  # elements in an actions block
MAX_BUTTON_LABEL = 75
MAX_BUTTON_VALUE = 2000
MAX_FALLBACK_TEXT = 4000  # the notification text; Slack cuts longer ones itself

#: Every button's action_id starts with this (then its place in the message), so the
#: app routes all presses to one listener; url buttons get LINK_PREFIX and are only acknowledged.
PRESS_PREFIX = "press:"
LINK_PREFIX = "link:"


def message_blocks(message: Message, *, limit: int = MAX_MESSAGE_BLOCKS) -> list[dict[str, Any]]:
    """The blocks of a whole message: its text, then each section with its buttons;
    sections that do not fit are cut with "and N more"."""
    counter = _Counter()
    pieces = [_section_blocks(section, counter) for section in message.sections]
    blocks = _text_blocks(message.text)
    if len(blocks) > limit - (1 if pieces else 0):
        keep = limit - 1 - (1 if pieces else 0)
        blocks = blocks[:keep] + [_more(len(blocks) - keep, "more parts")]
    for index, piece in enumerate(pieces):
        room = limit - len(blocks) - (1 if index < len(pieces) - 1 else 0)
        if len(piece) > room:
            blocks.append(_more(len(pieces) - index, "more"))
            break
        blocks.extend(piece)
    return blocks


def reply_payload(message: Message) -> dict[str, Any]:
    """A reply as the body of an ephemeral answer: the text, and blocks when it has sections."""
    payload: dict[str, Any] = {"text": fallback_text(message.text or " ")}
    if message.sections:
        payload["blocks"] = message_blocks(message)
    return payload


def fallback_text(text: str) -> str:
    """The notification text Slack shows where blocks are not shown: escaped, clipped."""
    return clip_escaped(text, MAX_FALLBACK_TEXT)


def button_value(button: Button) -> str:
    """What a pressed button carries back: its command, or the form it opens,
    written as json.dumps(..., separators=(",", ":")) would write them, with
    json's own C escaper for the strings (a list of actions has three buttons
    an action, and an encoder built for each cost more than the rest)."""
    if not button.form:  # nearly every button: a command alone
        value = '{"command":' + encode_basestring_ascii(button.command) + "}" if button.command else "{}"
    else:
        carried = [f'"command":{encode_basestring_ascii(button.command)}'] if button.command else []
        carried.append(f'"form":{encode_basestring_ascii(button.form)}')
        value = "{" + ",".join(carried) + "}"
    if len(value) > MAX_BUTTON_VALUE:
        raise ValueError(
            f"a button's command can be at most {MAX_BUTTON_VALUE} characters: {button.command[:40]!r}..."
        )
    return value


def pressed_button(value: str) -> Button:
    """The button a press came from, read back from its value."""
    try:
        carried = json.loads(value)
    except (TypeError, ValueError):
        carried = {}
    if not isinstance(carried, dict):
        carried = {}
    return Button(label="", command=str(carried.get("command") or ""), form=carried.get("form") or None)


def marked_pressed(blocks: list[dict[str, Any]], *, block_id: str, note: str) -> list[dict[str, Any]]:
    """A message's blocks as Slack sent them back with a press, with the pressed
    actions block replaced by a note of what happened (raw `note`, escaped here;
    the other blocks are Slack's own, already escaped)."""
    note_block = _context(clip_escaped(note, MAX_SECTION_TEXT))
    marked, found = [], False
    for block in blocks:
        if block.get("block_id") == block_id and block.get("type") == "actions":
            marked.append(note_block)
            found = True
        else:
            marked.append(block)
    if not found:
        marked.append(note_block)
    return marked[-MAX_MESSAGE_BLOCKS:]


# -- pieces -------------------------------------------------------------------------


class _Counter:
    """Numbers buttons and actions blocks across one message, so ids are unique."""

    def __init__(self) -> None:
        self.buttons = 0
        self.blocks = 0

    def next_block(self) -> str:
        self.blocks += 1
        return f"actions:{self.blocks - 1}"


Block = dict[str, Any]


def _section_blocks(section: Section, counter: _Counter) -> list[Block]:
    blocks = _text_blocks(section.text) if section.text.strip() else []
    if section.buttons:
        shown = section.buttons if len(section.buttons) <= MAX_BUTTONS else section.buttons[: MAX_BUTTONS - 1]
        first = counter.buttons
        elements = [_button(button, index) for index, button in enumerate(shown, first)]
        counter.buttons = first + len(shown)
        blocks.append({"type": "actions", "block_id": counter.next_block(), "elements": elements})
        if len(shown) < len(section.buttons):
            blocks.append(_more(len(section.buttons) - len(shown), "more buttons: type the commands instead"))
    return blocks


def _button(button: Button, index: int) -> Block:
    text = escape(button.label)
    if len(text) > MAX_BUTTON_LABEL:
        text = clip_escaped(button.label, MAX_BUTTON_LABEL)
    label = {"type": "plain_text", "text": text, "emoji": True}
    element: Block
    if button.url:
        element = {"type": "button", "text": label, "action_id": LINK_PREFIX + str(index), "url": button.url}
    else:
        element = {
            "type": "button",
            "text": label,
            "action_id": PRESS_PREFIX + str(index),
            "value": button_value(button),
        }
    if button.style:
        element["style"] = button.style
    return element


def _text_blocks(text: str) -> list[Block]:
    """Text as section blocks of at most MAX_SECTION_TEXT escaped characters each,
    split at line ends where possible and never inside an entity like &amp;."""
    whole = escape(text)
    if len(whole) <= MAX_SECTION_TEXT:  # nearly always: one block, no splitting
        return [{"type": "section", "text": {"type": "mrkdwn", "text": whole}}] if whole.strip() else []
    chunks: list[str] = []
    current: list[str] = []
    size = -1
    for line in text.split("\n"):
        escaped = escape(line)
        if current and size + 1 + len(escaped) > MAX_SECTION_TEXT:
            chunks.append("\n".join(current))
            current, size = [], -1
        while len(escaped) > MAX_SECTION_TEXT:
            cut = _fitting(line, MAX_SECTION_TEXT)
            chunks.append(escape(line[:cut]))
            line = line[cut:]
            escaped = escape(line)
        current.append(escaped)
        size += 1 + len(escaped)
    chunks.append("\n".join(current))
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": chunk}} for chunk in chunks if chunk.strip()
    ]


def _fitting(line: str, limit: int) -> int:
    """How many characters of `line` fit in `limit` once escaped."""
    size = 0
    for count, char in enumerate(line):
        size += len(escape(char))
        if size > limit:
            return count
    return len(line)


def _more(count: int, what: str) -> Block:
    return _context(f"_and {count} {what}_")


def _context(mrkdwn: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn}]}


def clip_escaped(text: str, limit: int) -> str:
    """Escape, then clip to `limit` without cutting an entity in half."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    cut = limit - 1
    amp = escaped.rfind("&", max(cut - 5, 0), cut)
    if amp != -1 and ";" not in escaped[amp:cut]:
        cut = amp
    return escaped[:cut] + "…"
