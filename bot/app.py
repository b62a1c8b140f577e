"""The Bolt app: wiring of commands to the shared command core; nothing else."""

from __future__ import annotations

import copy
import logging
import re
import secrets
from collections.abc import Callable
from datetime import datetime

import orjson
from slack_bolt import Ack, App, BoltRequest, BoltResponse
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.logger import get_bolt_app_logger
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped, warning_token_skipped
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.blocks.messages import LINK_PREFIX, PRESS_PREFIX, reply_payload
from bot.commands import COMMANDS, home
from bot.commands.core import Command, Site, run
from bot.commands.shapes import Message
from bot.interactions import form_not_opened, open_view, press_listener, submission_listener
from services import inbox
from services.clock import Clock
from storage.session import REQUEST_LOCK_WAIT, transaction

log = logging.getLogger("partnerbot.slack")


class _TokenFromClient(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment by itself and then warns
    that the client's token (or our `authorize`) wins; that is what we want, so
    the warnings are noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() not in (
            warning_client_prioritized_and_token_skipped(),
            warning_token_skipped(),
        )


# Bolt copies this logger's level to its own loggers, some of which log request
# bodies (an apology's reason) at INFO: only its warnings are wanted.
_bolt_log = logging.getLogger("partnerbot.bolt")
_bolt_log.setLevel(logging.WARNING)
_bolt_log.addFilter(_TokenFromClient())


class _App(App):
    """Bolt's App, giving each request a copy of the app's Web API client where
    Bolt builds a new one: `WebClient()` reads the environment for a proxy and
    makes its user agent afresh, a twentieth of a whole `/action list` request
    (bench/README.md). A request's client is still its own: authorization sets the
    token on it, and nothing else in it changes (the copy's default parameters are
    its own dict)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._request_logger = get_bolt_app_logger(app_name=self.name, base_logger=self._base_logger)

    def _init_context(self, req: BoltRequest) -> None:
        client = copy.copy(self._client)
        client.token = self._token
        client.default_params = dict(client.default_params)
        if req.context.team_id is not None:
            client.default_params["team_id"] = req.context.team_id
        req.context["logger"] = self._request_logger
        req.context["token"] = self._token
        req.context["client"] = client
        req.context["listener_runner"] = self.listener_runner


def create_app(
    *,
    client: WebClient,
    signing_secret: str | None,
    sessions: sessionmaker[Session],
    clock: Clock,
    authorize: Callable[..., AuthorizeResult],
    on_queued: Callable[[], None] = lambda: None,
    site: Site | None = None,
) -> App:
    """A Bolt app that answers every command in the request thread, before
    responding, with the reply already computed: nothing slow happens there,
    since posts go to the outbox (`on_queued` wakes its worker), and no Web API
    call stands in the way (`authorize` answers without one, see bot/identity.py)."""
    app = _App(
        logger=_bolt_log,
        client=client,
        signing_secret=signing_secret or "",  # Socket Mode: no HTTP requests to verify
        process_before_response=True,
        token_verification_enabled=False,
        authorize=authorize,
        request_verification_enabled=signing_secret is not None,
        ignoring_self_events_enabled=True,
    )
    resolved_site = site or Site()
    listeners = {
        name: _listener(command, sessions=sessions, clock=clock, on_queued=on_queued, site=resolved_site)
        for name, command in COMMANDS.items()
    }
    # One Bolt listener for all commands: Bolt tries its listeners in turn, and
    # each try costs about as much as finding the partnership and the person.
    app.command(re.compile("^(?:" + "|".join(map(re.escape, COMMANDS)) + ")$"))(
        lambda ack, body, client: listeners[body["command"]](ack, body, client)
    )
    app.view(re.compile(".+"))(
        submission_listener(sessions=sessions, clock=clock, on_queued=on_queued, site=resolved_site)
    )
    app.action(re.compile(f"^{PRESS_PREFIX}"))(
        press_listener(sessions=sessions, clock=clock, on_queued=on_queued, site=resolved_site)
    )
    app.action(re.compile(f"^{LINK_PREFIX}"))(_acknowledge)  # a link button: Slack opens the URL itself
    app.event("app_home_opened")(once(_home_opened, sessions=sessions, clock=clock, on_queued=on_queued))
    app.error(_on_error)
    return app


def _listener(
    command: Command,
    *,
    sessions: sessionmaker[Session],
    clock: Clock,
    on_queued: Callable[[], None],
    site: Site,
):
    def listener(ack: Ack, body: dict, client: WebClient) -> BoltResponse | None:
        reply = run(
            command,
            body.get("text", ""),
            sessions=sessions,
            clock=clock,
            slack_user_id=body.get("user_id"),
            channel_id=body.get("channel_id"),
            site=site,
        )
        answer: Message | None = reply.message
        if reply.form is not None:
            problem = open_view(
                client, trigger_id=body.get("trigger_id"), form=reply.form, channel_id=body.get("channel_id")
            )
            if problem:
                answer = Message(form_not_opened(problem, command.name))
            elif not reply.text:
                answer = None  # the form opened says it all
        if reply.posts:
            on_queued()
        if answer is None:
            ack()
            return None
        return ephemeral(answer)  # Bolt answers with a BoltResponse its listener returns

    listener.__name__ = f"command_{command.name.strip('/')}"
    return listener


def ephemeral(message: Message) -> BoltResponse:
    """A reply only its typist sees, as the HTTP answer to their command; the JSON
    written by orjson, not by Bolt's json.dumps, which took 60-160 µs of `/action
    list`'s 8 KB answer of 11 actions and their 33 buttons (orjson: a tenth)."""
    payload = {"response_type": "ephemeral", **reply_payload(message)}
    return BoltResponse(
        status=200,
        body=orjson.dumps(payload).decode(),
        headers={"content-type": "application/json;charset=utf-8"},
    )


def _acknowledge(ack: Ack) -> None:
    ack()


EventListener = Callable[[Session, dict, datetime], bool]


def once(
    listener: EventListener,
    *,
    sessions: sessionmaker[Session],
    clock: Clock,
    on_queued: Callable[[], None] = lambda: None,
):
    """An event listener run once per Slack event, however often Slack sends it.
    The event is recorded in the same transaction as what the listener changes
    (`listener(session, event, now)`, True when it queued a message): one that
    fails leaves no record, so Slack's retry does it again; a retry of one that
    succeeded goes no further."""

    def run_once(body: dict) -> None:
        with transaction(sessions, lock_wait=REQUEST_LOCK_WAIT) as session:
            now = clock.now()
            event_id = body.get("event_id")
            if event_id and not inbox.first_time(session, key=f"event:{event_id}", now=now):
                return
            queued = listener(session, body.get("event") or {}, now)
        if queued:
            on_queued()

    run_once.__name__ = f"once_{getattr(listener, '__name__', 'event')}"
    return run_once


def _home_opened(session: Session, event: dict, now: datetime) -> bool:
    """Queue the person's Home tab (the outbox publishes it: no Slack call here)."""
    if event.get("tab", "home") != "home" or not event.get("user"):
        return False
    home.opened(session, slack_user_id=event["user"], now=now)
    return True


def _on_error(error: Exception, body: dict, ack: Ack) -> None:
    reference = secrets.token_hex(4)
    log.error("slack listener failed", exc_info=error, extra={"reference": reference})
    ack(
        response_type="ephemeral",
        text=f"Something went wrong on partnerbot's side, and nothing was changed. Reference {reference}.",
    )
