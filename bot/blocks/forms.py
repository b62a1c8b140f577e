"""Forms as Slack modals: a Form becomes a View with one input block per field
(block_id and action_id are the field's name), the form's name as callback_id and
its state as JSON in private_metadata; a submission's values come back as plain
strings keyed by field name."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    DatePickerElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks.messages import MAX_VIEW_BLOCKS, clip_escaped, message_blocks
from bot.commands.shapes import Field, Form, Message
from services.text import clip

MAX_TITLE = 24  # a modal's title, submit and close labels
MAX_LABEL = 2000
MAX_OPTIONS = 100  # options in a static select
MAX_OPTION_TEXT = 75
MAX_METADATA = 3000
MAX_INPUT = 3000  # a plain-text input's own limit


def form_view(form: Form, *, carried: dict[str, str] | None = None) -> dict[str, Any]:
    """The modal for `form`. `carried` joins the form's state in private_metadata
    (the front end's own context, e.g. the channel the command was typed in)."""
    state = {**(carried or {}), **form.state}
    metadata = json.dumps(state, separators=(",", ":"))
    if len(metadata) > MAX_METADATA:
        raise ValueError(
            f"form {form.name!r} carries {len(metadata)} characters of state; Slack takes {MAX_METADATA}"
        )
    fields = form.fields
    blocks: list[Block] = []
    if len(fields) > MAX_VIEW_BLOCKS:
        fields = fields[: MAX_VIEW_BLOCKS - 1]
        more = f"_and {len(form.fields) - len(fields)} more: type the command instead to record them_"
        blocks.append(SectionBlock(text=MarkdownTextObject(text=more)))
    blocks = [_input(field) for field in fields] + blocks
    view = View(
        type="modal",
        callback_id=form.name,
        title=PlainTextObject(text=_title(form.title)),
        submit=PlainTextObject(text=_title(form.submit_label)),
        close=PlainTextObject(text="Cancel"),
        private_metadata=metadata,
        blocks=blocks,
    )
    return view.to_dict()


def result_view(title: str, message: Message) -> dict[str, Any]:
    """What the modal turns into once submitted: the answer, and a Close button."""
    view = View(
        type="modal",
        title=PlainTextObject(text=_title(title)),
        close=PlainTextObject(text="Close"),
        blocks=message_blocks(message, limit=MAX_VIEW_BLOCKS),
    )
    return view.to_dict()


def submitted_values(state_values: dict[str, Any]) -> dict[str, str]:
    """`view.state.values` as {field name: text}; an empty field is ""."""
    values: dict[str, str] = {}
    for block_id, actions in (state_values or {}).items():
        for element in (actions or {}).values():
            values[block_id] = _element_value(element or {})
    return values


def carried_state(private_metadata: str | None) -> dict[str, str]:
    try:
        state = json.loads(private_metadata or "{}")
    except ValueError:
        return {}
    if not isinstance(state, dict):
        return {}
    return {str(k): str(v) for k, v in state.items()}


def _element_value(element: dict[str, Any]) -> str:
    kind = element.get("type")
    if kind == "static_select":
        return str((element.get("selected_option") or {}).get("value") or "")
    if kind == "datepicker":
        return str(element.get("selected_date") or "")
    return str(element.get("value") or "")


def _input(field: Field) -> InputBlock:
    hint = PlainTextObject(text=clip_escaped(field.hint, MAX_LABEL)) if field.hint else None
    return InputBlock(
        block_id=field.name,
        label=PlainTextObject(text=clip_escaped(field.label, MAX_LABEL)),
        element=_element(field),
        optional=field.optional,
        hint=hint,
    )


def _element(field: Field):
    if field.kind == "choice":
        options = [
            Option(value=choice.value, text=PlainTextObject(text=clip_escaped(choice.label, MAX_OPTION_TEXT)))
            for choice in field.choices[:MAX_OPTIONS]
        ]
        initial = next((o for o in options if o.value == field.preset), None)
        return StaticSelectElement(action_id=field.name, options=options, initial_option=initial)
    if field.kind == "date":
        initial_date = None
        if field.preset:
            try:
                initial_date = date.fromisoformat(field.preset).isoformat()
            except ValueError:
                initial_date = None
        return DatePickerElement(action_id=field.name, initial_date=initial_date)
    limit = min(field.max_length or MAX_INPUT, MAX_INPUT)
    return PlainTextInputElement(
        action_id=field.name,
        multiline=field.kind == "long_text",
        initial_value=clip(field.preset, limit) if field.preset else None,
        max_length=limit,
    )


def _title(text: str) -> str:
    return clip_escaped(text, MAX_TITLE)
