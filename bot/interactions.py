"""Slack's interactive side: forms opened as modals, their submissions, and button
presses, all on the same command core as typed commands.

- A reply with a form opens it with `views.open` inside the trigger's 3 seconds:
  the one direct Web API call on the request path.
- A submission goes to the form's FormSpec (bot/commands FORMS, by callback_id)
  through `core.submit`; field errors go back with `response_action="errors"` and
  nothing is stored; a taken form turns into its answer.
- A button press runs the button's command as the person who pressed it (so it is
  checked and audited as if typed) or opens its form. It acts once, however often
  pressed: the press is recorded in the same transaction as the change. The message
  it sits on is then updated through its response_url, via the outbox."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy.orm import Session, sessionmaker

from bot.blocks.forms import carried_state, form_view, result_view, submitted_values
from bot.blocks.messages import (
    fallback_text,
    marked_pressed,
    message_blocks,
    pressed_button,
)
from bot.commands import COMMANDS, FORMS
from bot.commands.core import UNKNOWN_FORM, Context, Reply, Site, execute, open_form, submit
from bot.commands.shapes import Form
from services import outbox
from services.clock import Clock
from services.text import unescape
from storage.session import answer_deadline, transaction

log = logging.getLogger("partnerbot.slack")

# views.open must use its trigger within Slack's 3 seconds, and the answer to the
# request waits for it: a Slack slower than this gets "could not be reached".
VIEWS_OPEN_TIMEOUT = 2.0

#: The key under which a modal carries the channel its command was typed in.
CHANNEL_KEY = "_channel"


def open_view(client: WebClient, *, trigger_id: str | None, form: Form, channel_id: str | None) -> str | None:
    """Open `form` as a modal; None when it opened, else what went wrong (for the user)."""
    if not trigger_id:
        return "Slack sent no trigger to open the form with"
    carried = {CHANNEL_KEY: channel_id} if channel_id else {}
    # The client is this request's own (Bolt makes one per request): its timeout
    # is bounded by what is left of the time the answer must leave by.
    timeout = VIEWS_OPEN_TIMEOUT
    if (deadline := answer_deadline()) is not None:
        timeout = min(timeout, deadline - time.monotonic())
    if timeout <= 0:
        return "Slack could not be reached to open the form in time"
    client.timeout = max(timeout, 0.1)  # type: ignore[assignment]  # typed int; urllib takes a float
    try:
        client.views_open(trigger_id=trigger_id, view=form_view(form, carried=carried))
    except SlackApiError as error:
        code = error.response.get("error") if isinstance(error.response.data, dict) else None
        log.warning("views.open refused", extra={"form": form.name, "error": code})
        return f"Slack would not open the form ({code or error.response.status_code})"
    except (SlackClientError, OSError) as error:
        log.warning("views.open failed", extra={"form": form.name, "error": type(error).__name__})
        return "Slack could not be reached to open the form"
    return None


def form_not_opened(problem: str, command: str) -> str:
    return f"{problem}, so nothing was changed. `{command} help` shows how to type it instead."


def submission_listener(
    *, sessions: sessionmaker[Session], clock: Clock, on_queued: Callable[[], None], site: Site
):
    def view_submission(ack: Ack, body: dict) -> None:
        view = body.get("view") or {}
        inputs = [b.get("block_id") for b in view.get("blocks", []) if b.get("type") == "input"]
        form = FORMS.get(view.get("callback_id", ""))
        if form is None:
            ack(response_action="errors", errors={inputs[0]: UNKNOWN_FORM} if inputs else {})
            return
        state = carried_state(view.get("private_metadata"))
        channel_id = state.pop(CHANNEL_KEY, None)
        values = submitted_values((view.get("state") or {}).get("values") or {})
        reply = submit(
            form,
            values,
            state,
            sessions=sessions,
            clock=clock,
            slack_user_id=(body.get("user") or {}).get("id"),
            channel_id=channel_id,
            site=site,
        )
        if not reply.ok:
            ack(response_action="errors", errors=_errors_on(inputs, reply))
            return
        if reply.form is not None:  # a next step (a workstream chosen: its highlight report)
            carried = {CHANNEL_KEY: channel_id} if channel_id else {}
            ack(response_action="update", view=form_view(reply.form, carried=carried))
            return
        title = ((view.get("title") or {}).get("text")) or "Done"
        ack(response_action="update", view=result_view(unescape(title), reply.message))
        if reply.posts:
            on_queued()

    return view_submission


def _errors_on(inputs: list[str], reply: Reply) -> dict[str, str]:
    """Field errors under their fields; any other refusal under the first field."""
    errors = {name: text for name, text in reply.errors.items() if name in inputs}
    stray = [text for name, text in reply.errors.items() if name not in inputs]
    if not reply.errors:
        stray = [reply.text]
    if stray and inputs:
        first = inputs[0]
        errors[first] = " ".join(filter(None, [errors.get(first), *stray]))
    return errors


def press_listener(
    *, sessions: sessionmaker[Session], clock: Clock, on_queued: Callable[[], None], site: Site
):
    def button_pressed(ack: Ack, body: dict, action: dict, client: WebClient) -> None:
        ack()
        button = pressed_button(action.get("value", ""))
        user = (body.get("user") or {}).get("id")
        container = body.get("container") or {}
        channel_id = (body.get("channel") or {}).get("id") or container.get("channel_id")
        response_url = body.get("response_url")
        if button.form and not button.command:
            spec = FORMS.get(button.form)
            reply = (
                open_form(
                    spec, sessions=sessions, clock=clock, slack_user_id=user, channel_id=channel_id, site=site
                )
                if spec
                else Reply(text=UNKNOWN_FORM, ok=False)
            )
        else:
            reply = _run_pressed(
                button.command,
                body=body,
                action=action,
                sessions=sessions,
                clock=clock,
                once=not button.form,
                site=site,
            )
        if reply.ok and reply.form is not None:
            problem = open_view(
                client, trigger_id=body.get("trigger_id"), form=reply.form, channel_id=channel_id
            )
            if problem:
                reply = Reply(
                    text=form_not_opened(problem, button.command.split(" ")[0] or "/partnerbot"), ok=False
                )
        if not reply.ok and response_url:
            _queue_response(
                sessions,
                clock,
                key=f"press-refused:{body.get('actions', [{}])[0].get('action_ts') or body.get('trigger_id')}",
                url=response_url,
                body={
                    "response_type": "ephemeral",
                    "replace_original": False,
                    "text": fallback_text(reply.text),
                },
            )
            on_queued()
        else:  # the answer, the Home tab or the modal it sits on, through the outbox
            on_queued()

    return button_pressed


def _run_pressed(
    command_line: str,
    *,
    body: dict,
    action: dict,
    sessions: sessionmaker[Session],
    clock: Clock,
    once: bool,
    site: Site,
) -> Reply:
    name, _, text = command_line.partition(" ")
    command = COMMANDS.get(name.lower())
    if command is None:
        return Reply(text="partnerbot no longer knows that button's command. Nothing was changed.", ok=False)
    container = body.get("container") or {}
    where = container.get("message_ts") or body.get("trigger_id") or ""
    if container.get("view_id"):
        # A view's hash changes each time it is published, so the Home tab's
        # "Send apologies" works again after "Withdraw apologies" on the new view.
        where = f"{container['view_id']}:{(body.get('view') or {}).get('hash', '')}"
    digest = hashlib.sha256(command_line.encode()).hexdigest()[:12]
    key = f"press:{where}:{action.get('action_id')}:{digest}"
    response_url = body.get("response_url")

    view = body.get("view") or {}
    modal = view.get("id") if view.get("type") == "modal" else None

    def act(context: Context) -> Reply:
        answer = command.handle(context, text.strip())
        reply = answer if isinstance(answer, Reply) else Reply(text=answer)
        if reply.form is None and modal and not response_url:
            # A button on a modal (Save under an action table read): the modal shows the answer.
            title = unescape(((view.get("title") or {}).get("text")) or "Done")
            outbox.enqueue(
                context.session,
                key=f"pressed:{key}"[:200],
                kind="modal",
                target=modal,
                payload={"view": result_view(title, reply.message)},
                due_at=context.now,
                now=context.now,
            )
        if reply.form is None and response_url:
            outbox.enqueue(
                context.session,
                key=f"pressed:{key}"[:200],
                kind="response_url",
                target=response_url,
                payload=pressed_update(
                    body, action, reply, presser=context.person.name if context.person else ""
                ),
                due_at=context.now,
                now=context.now,
            )
        return reply

    return execute(
        act,
        label=f"button {command.name}",
        sessions=sessions,
        clock=clock,
        slack_user_id=(body.get("user") or {}).get("id"),
        channel_id=(body.get("channel") or {}).get("id") or container.get("channel_id"),
        once_key=key if once else None,
        site=site,
    )


def pressed_update(body: dict, action: dict, reply: Reply, *, presser: str) -> dict[str, Any]:
    """The response_url body that shows a press on the message it sits on: the
    pressed buttons replaced by what happened."""
    label = unescape(((action.get("text") or {}).get("text")) or "Button")
    message = body.get("message") or {}
    note = f"✓ *{label}* — {presser}: {reply.text}" if presser else f"✓ *{label}*: {reply.text}"
    if message.get("blocks"):
        blocks = marked_pressed(message["blocks"], block_id=action.get("block_id", ""), note=note)
        text = message.get("text") or fallback_text(reply.text)
    else:
        blocks = message_blocks(reply.message)
        text = fallback_text(reply.text)
    return {"replace_original": True, "text": text, "blocks": blocks}


def _queue_response(
    sessions: sessionmaker[Session], clock: Clock, *, key: str, url: str, body: dict[str, Any]
) -> None:
    with transaction(sessions) as session:
        now = clock.now()
        outbox.enqueue(
            session, key=key[:200], kind="response_url", target=url, payload=body, due_at=now, now=now
        )
