"""The Bolt app: wiring of commands to the shared command core; nothing else."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.commands import COMMANDS
from bot.commands.core import Command, run
from services.clock import Clock

log = logging.getLogger("partnerbot.slack")


def create_app(
    *,
    client: WebClient,
    signing_secret: str | None,
    sessions: sessionmaker[Session],
    clock: Clock,
    on_queued: Callable[[], None] = lambda: None,
) -> App:
    """A Bolt app that answers every command in the request thread, before
    responding, with the reply already computed: nothing slow happens there,
    since posts go to the outbox (`on_queued` wakes its worker)."""
    app = App(
        client=client,
        signing_secret=signing_secret or "socket-mode",
        process_before_response=True,
        token_verification_enabled=False,
        request_verification_enabled=signing_secret is not None,
        ignoring_self_events_enabled=True,
    )
    for command in COMMANDS.values():
        app.command(command.name)(_listener(command, sessions=sessions, clock=clock, on_queued=on_queued))
    app.error(_on_error)
    return app


def _listener(
    command: Command, *, sessions: sessionmaker[Session], clock: Clock, on_queued: Callable[[], None]
):
    def listener(ack: Ack, body: dict) -> None:
        reply = run(
            command,
            body.get("text", ""),
            sessions=sessions,
            clock=clock,
            slack_user_id=body.get("user_id"),
            channel_id=body.get("channel_id"),
        )
        ack(response_type="ephemeral", text=reply.text)
        if reply.posts:
            on_queued()

    listener.__name__ = f"command_{command.name.strip('/')}"
    return listener


def _on_error(error: Exception, body: dict, ack: Ack) -> None:
    reference = secrets.token_hex(4)
    log.error("slack listener failed", exc_info=error, extra={"reference": reference})
    ack(
        response_type="ephemeral",
        text=f"Something went wrong on partnerbot's side, and nothing was changed. "
        f"Reference {reference}.",
    )
