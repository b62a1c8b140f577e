"""Calendar feeds over HTTP: `GET /calendar/<token>.ics`.

A subscribed calendar asks every hour or so; most of the time nothing has
changed, so the validators (ETag, Last-Modified) come from one cheap query and
a current copy is answered 304 without building the feed. The body is never
compressed: Outlook's subscriptions fail on a gzip-encoded feed. An unknown or
revoked token gets a bare 404, the same whether the token never existed or
was revoked, so a guess learns nothing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services import calendar, feed_tokens

PATH = "/calendar/{name:path}"  # every path under /calendar/ answers here, 404s included
SUFFIX = ".ics"
MEDIA_TYPE = "text/calendar; charset=utf-8"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes = b""
    etag: str | None = None
    last_modified: datetime | None = None


def answer(
    sessions: sessionmaker[Session],
    token: str,
    *,
    if_none_match: str | None = None,
    if_modified_since: str | None = None,
) -> Answer:
    """The feed a token opens, or 304, or 404.

    Reads only, so without a transaction to begin and end (two round trips fewer
    on PostgreSQL, most of a 304's time). Should a change land between the
    validator and the build, the body is newer than its ETag, and the client
    simply fetches it again next time."""
    with sessions() as session:
        session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        row = feed_tokens.find(session, token)
        if row is None:
            return Answer(status=404)
        current = calendar.validator(session, row)
        if _is_current(current, if_none_match, if_modified_since):
            return Answer(status=304, etag=current.etag, last_modified=current.last_modified)
        body = calendar.build_feed(session, row)
        return Answer(status=200, body=body, etag=current.etag, last_modified=current.last_modified)


def _is_current(
    current: calendar.Validator, if_none_match: str | None, if_modified_since: str | None
) -> bool:
    # RFC 9110 13.2.2: If-None-Match, when sent, decides; If-Modified-Since only without it.
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or current.etag in tags
    if if_modified_since is not None:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            return False
        return current.last_modified <= since
    return False


def routes(*, sessions: sessionmaker[Session]) -> list[Route]:
    async def feed(request: Request) -> Response:
        name = request.path_params["name"]
        if not name.endswith(SUFFIX):
            return Response(status_code=404)
        result = await run_in_threadpool(
            answer,
            sessions,
            name.removesuffix(SUFFIX),
            if_none_match=request.headers.get("if-none-match"),
            if_modified_since=request.headers.get("if-modified-since"),
        )
        if result.status == 404:
            return Response(status_code=404)
        headers = {"Cache-Control": "private, no-cache"}
        if result.etag:
            headers["ETag"] = result.etag
        if result.last_modified:
            headers["Last-Modified"] = format_datetime(result.last_modified, usegmt=True)
        if result.status == 304:
            return Response(status_code=304, headers=headers)
        return Response(result.body, media_type=MEDIA_TYPE, headers=headers)

    return [Route(PATH, feed, methods=["GET"])]


class RedactFeedTokens(logging.Filter):
    """The access log shows feed paths without their tokens: a token in a log
    is a working link in a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(arg, str) and arg.startswith("/calendar/") for arg in record.args
        ):
            record.args = tuple(
                "/calendar/…" if isinstance(arg, str) and arg.startswith("/calendar/") else arg
                for arg in record.args
            )
        return True


def redact_access_log() -> None:
    """Install the filter on uvicorn's access log (once)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactFeedTokens) for f in access.filters):
        access.addFilter(RedactFeedTokens())
