"""HTTP serving: the Slack endpoint, calendar feeds (bot/feeds.py), the health
check, on a production ASGI server; and Socket Mode when an app token is set."""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import anyio
import anyio.to_thread
import orjson
from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.socket_mode.internals import run_bolt_app, send_response
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from sqlalchemy import text
from sqlalchemy.orm import Session, configure_mappers, sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import feeds
from bot.app import create_app
from bot.commands.core import Site
from bot.identity import BotIdentity
from bot.jobs.deliveries import DeliveryWorker
from bot.outbound import senders
from bot.settings import Settings
from bot.slack_api import web_client
from services.clock import Clock
from storage.session import answering_by, keeping_connections

log = logging.getLogger("partnerbot.server")

MAX_BODY = 1_000_000
# Slack shows the person a timeout after 3 s: a command waiting for the database
# gives up (and says it is busy) in time to answer before that.
ANSWER_WITHIN = 2.2  # Slack's requests are a few kilobytes
# Slack requests are answered by this many threads at once; more wait their turn.
# Python runs one thread at a time and SQLite one writer, so more threads only
# share them worse: with 8 the p99 of 16 concurrent clients was twice that with
# 4 (bench/ack.py).
DISPATCH_THREADS = 4
# Database connections: one per dispatch thread, plus the delivery worker, the
# scheduler's jobs and /healthz.
CONNECTIONS = DISPATCH_THREADS + 4


def create_web_app(
    *, bolt: App | None, sessions: sessionmaker[Session], signing_secret: str | None = None
) -> Starlette:
    verifier = SignatureVerifier(signing_secret) if signing_secret else None
    dispatchers = anyio.CapacityLimiter(DISPATCH_THREADS)

    async def slack_events(request: Request) -> Response:
        arrived = time.monotonic()
        if bolt is None:
            return JSONResponse({"error": "Slack runs over Socket Mode here"}, status_code=404)
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > MAX_BODY:
            return Response(status_code=413)
        body = await request.body()
        if len(body) > MAX_BODY:
            return Response(status_code=413)
        if verifier is not None and not _signed_by_slack(verifier, body, request):
            return Response(status_code=401)
        answer_by = arrived + ANSWER_WITHIN
        response = await anyio.to_thread.run_sync(
            _dispatch, bolt, to_bolt_request(request, body), answer_by, limiter=dispatchers
        )
        return to_starlette_response(response)

    async def healthz(_: Request) -> Response:
        try:
            await run_in_threadpool(_ping, sessions)
        except Exception as error:
            log.warning("health check failed: %s", type(error).__name__)
            return JSONResponse({"ok": False, "database": "unreachable"}, status_code=503)
        return JSONResponse({"ok": True, "database": "ok"})

    feeds.redact_access_log()
    # No GZipMiddleware here, ever: Outlook's subscriptions fail on a gzip-encoded feed.
    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            *feeds.routes(sessions=sessions),
        ]
    )


def _signed_by_slack(verifier: SignatureVerifier, body: bytes, request: Request) -> bool:
    """Checked before Bolt parses the body, which it does before verifying: a body
    cut or changed after signing, or a timestamp that is not a number, is refused
    (401) rather than parsed into a crash (500)."""
    timestamp = request.headers.get("x-slack-request-timestamp", "")
    if not (timestamp.isascii() and timestamp.isdigit()):
        return False
    return verifier.is_valid(body, timestamp, request.headers.get("x-slack-signature", ""))


def _dispatch(bolt: App, request: BoltRequest, answer_by: float) -> BoltResponse:
    with _answering(answer_by):
        return bolt.dispatch(request)


@contextlib.contextmanager
def _answering(answer_by: float) -> Iterator[None]:
    """Around Bolt's work for one request, in a dispatch thread: no lock is waited
    for past the moment the answer must leave to reach Slack in time, and the
    thread keeps its database connection for its next request
    (storage.session.keeping_connections)."""
    with answering_by(answer_by), keeping_connections():
        yield


_ARRIVALS_KEPT = 1_000


class _SocketMode(SocketModeHandler):
    """Slack over Socket Mode, each envelope answered as an HTTP request is
    (`_dispatch`): by as many threads, none waiting for a lock past the moment
    its acknowledgement must leave (counted from the envelope's arrival, so
    that time spent queued for a thread counts too), each keeping its database
    connection."""

    def __init__(self, app: App, app_token: str) -> None:
        super().__init__(app, app_token, concurrency=DISPATCH_THREADS)
        self._arrived: dict[str, float] = {}
        self.client.on_message_listeners.append(self._arrive)

    def _arrive(self, message: str) -> None:
        """In the thread reading the websocket, as each message arrives."""
        arrived = time.monotonic()
        with contextlib.suppress(ValueError, AttributeError):
            envelope = orjson.loads(message).get("envelope_id")
            if isinstance(envelope, str):
                if len(self._arrived) >= _ARRIVALS_KEPT:  # those no request was made of
                    self._arrived.clear()
                self._arrived[envelope] = arrived

    def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        started = time.time()
        arrived = self._arrived.pop(req.envelope_id, time.monotonic())
        with _answering(arrived + ANSWER_WITHIN):
            response = run_bolt_app(self.app, req)
        send_response(client, req, response, started)


def _ping(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        session.execute(text("SELECT 1"))


def settle() -> None:
    """Once everything is built and warm: objects alive now (modules, the app,
    mappers, compiled statements) live as long as the process, so the garbage
    collector stops walking them; its full passes then take a few milliseconds
    instead of pausing every request for a hundred."""
    configure_mappers()  # else the first request does it, and its objects stay young
    gc.collect()
    gc.freeze()


@dataclass
class Service:
    """Everything `partnerbot serve` runs, built but not started."""

    web: Starlette
    bolt: App
    deliveries: DeliveryWorker
    identity: BotIdentity
    socket_mode: SocketModeHandler | None = None


def build(
    *,
    settings: Settings,
    sessions: sessionmaker[Session],
    clock: Clock,
    on_queued: Callable[[], None] | None = None,
) -> Service:
    """`on_queued`: how a command that queued a message wakes whoever sends it;
    by default this process's own delivery thread (`Service.deliveries`)."""
    client = web_client(settings.slack_bot_token, settings.slack_api_url)
    deliveries = DeliveryWorker(sessions, clock, senders(settings, sessions=sessions, clock=clock))
    identity = BotIdentity(client)
    bolt = create_app(
        client=client,
        # The web app checks every request's signature before Bolt sees it
        # (`_signed_by_slack`), and Socket Mode has none: Bolt checking it again
        # would only do the same work twice.
        signing_secret=None,
        sessions=sessions,
        clock=clock,
        authorize=identity,
        on_queued=on_queued or deliveries.wake,
        site=Site.from_settings(settings),
    )
    socket_mode = None
    if settings.slack_app_token:
        socket_mode = _SocketMode(bolt, settings.slack_app_token.reveal())
    signing_secret = settings.slack_signing_secret.reveal() if settings.slack_signing_secret else None
    web = create_web_app(bolt=None if socket_mode else bolt, sessions=sessions, signing_secret=signing_secret)
    return Service(web=web, bolt=bolt, deliveries=deliveries, identity=identity, socket_mode=socket_mode)
