"""HTTP serving: the Slack endpoint, the health check (calendar feeds join
later), on a production ASGI server; and Socket Mode when an app token is set."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.app import create_app
from bot.jobs.deliveries import DeliveryWorker
from bot.outbound import senders
from bot.settings import Settings
from bot.slack_api import web_client
from services.clock import Clock

log = logging.getLogger("partnerbot.server")

MAX_BODY = 1_000_000  # Slack's requests are a few kilobytes


def create_web_app(
    *, bolt: App | None, sessions: sessionmaker[Session], signing_secret: str | None = None
) -> Starlette:
    verifier = SignatureVerifier(signing_secret) if signing_secret else None

    async def slack_events(request: Request) -> Response:
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
        response = await run_in_threadpool(bolt.dispatch, to_bolt_request(request, body))
        return to_starlette_response(response)

    async def healthz(_: Request) -> Response:
        try:
            await run_in_threadpool(_ping, sessions)
        except Exception as error:
            log.warning("health check failed: %s", type(error).__name__)
            return JSONResponse({"ok": False, "database": "unreachable"}, status_code=503)
        return JSONResponse({"ok": True, "database": "ok"})

    return Starlette(
        routes=[
            Route("/slack/events", slack_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
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


def _ping(sessions: sessionmaker[Session]) -> None:
    with sessions() as session:
        session.execute(text("SELECT 1"))


@dataclass
class Service:
    """Everything `partnerbot serve` runs, built but not started."""

    web: Starlette
    bolt: App
    deliveries: DeliveryWorker
    socket_mode: SocketModeHandler | None = None


def build(*, settings: Settings, sessions: sessionmaker[Session], clock: Clock) -> Service:
    client = web_client(settings.slack_bot_token, settings.slack_api_url)
    deliveries = DeliveryWorker(sessions, clock, senders(settings))
    bolt = create_app(
        client=client,
        signing_secret=settings.slack_signing_secret.reveal() if settings.slack_signing_secret else None,
        sessions=sessions,
        clock=clock,
        on_queued=deliveries.wake,
    )
    socket_mode = None
    if settings.slack_app_token:
        socket_mode = SocketModeHandler(bolt, settings.slack_app_token.reveal())
    signing_secret = settings.slack_signing_secret.reveal() if settings.slack_signing_secret else None
    web = create_web_app(bolt=None if socket_mode else bolt, sessions=sessions, signing_secret=signing_secret)
    return Service(web=web, bolt=bolt, deliveries=deliveries, socket_mode=socket_mode)
