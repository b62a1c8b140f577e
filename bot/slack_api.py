"""The Web API as the outbox uses it: Slack's answers turned into 'sent',
'try later' (honouring Retry-After) or 'give up'."""

from __future__ import annotations

import http.client
import io
import os
import select
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from bot.blocks.home import home_view
from bot.blocks.messages import fallback_text, message_blocks
from bot.commands.shapes import Message
from bot.jobs.deliveries import Claimed, GiveUp, TryLater
from bot.settings import Secret

# Errors no retry will cure: the message must be fixed or the app reinstalled.
PERMANENT = {
    "channel_not_found", "not_in_channel", "is_archived", "msg_too_long", "no_text",
    "invalid_blocks", "user_not_found", "cannot_dm_bot", "invalid_auth", "account_inactive",
    "token_revoked", "missing_scope", "not_authed", "invalid_arguments",
}  # fmt: skip
SLACK_KINDS = ("channel", "direct", "response_url", "home", "modal")
METADATA_EVENT = "partnerbot_delivery"  # each post carries its delivery key in message metadata
HISTORY_LOOKBACK = 100  # messages looked through for one whose sending was in doubt


def web_client(token: Secret | str | None, base_url: str) -> WebClient:
    revealed = token.reveal() if isinstance(token, Secret) else token
    return KeptAliveClient(token=revealed, base_url=base_url, timeout=10)


class KeptAliveClient(WebClient):
    """slack_sdk's WebClient on one HTTP connection per thread, kept open from one
    call to the next. slack_sdk calls through urllib, which opens a connection for
    each call and closes it after: a TCP (and, to Slack, a TLS) handshake for
    every message the outbox sends. The sending process spent a sixth of its time
    connecting to the local Slack stand-in alone (bench/README.md).

    Only the transport changes: slack_sdk still builds each request and reads
    each answer, a status of 400 or more reaches it as urllib's HTTPError, and a
    proxy, if configured, goes through urllib as before. A kept connection is
    used again only while it is fresh and the server has not closed it (a closed
    one is readable, as `storage.session` checks a database connection); a call
    that fails drops its connection, since nobody knows what state it is in, and
    is not tried again here: the outbox tries later, and looks first whether the
    post went through (SlackSender)."""

    IDLE_AT_MOST = 30.0  # seconds: a connection idle longer is not trusted again

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._kept = threading.local()

    def _perform_urllib_http_request_internal(self, url: str, req: urllib.request.Request) -> dict[str, Any]:
        if self.proxy is not None:
            return super()._perform_urllib_http_request_internal(url, req)
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return super()._perform_urllib_http_request_internal(url, req)
        connection = self._connection(parts)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        try:
            connection.request("POST", path or "/", body=req.data, headers=dict(req.header_items()))
            response = connection.getresponse()
            body = response.read()
        except BaseException:
            self._drop()
            raise
        if response.will_close:
            self._drop()
        else:
            self._kept.used = time.monotonic()
        if response.status >= 400:  # as urllib's HTTPErrorProcessor: slack_sdk reads it from there
            raise urllib.error.HTTPError(
                url, response.status, response.reason, response.msg, io.BytesIO(body)
            )
        if response.msg.get_content_type() == "application/gzip":
            return {"status": response.status, "headers": response.msg, "body": body}
        charset = response.msg.get_content_charset() or "utf-8"
        return {"status": response.status, "headers": response.msg, "body": body.decode(charset)}

    def _connection(self, parts: urllib.parse.SplitResult) -> http.client.HTTPConnection:
        kept: http.client.HTTPConnection | None = getattr(self._kept, "connection", None)
        # A process forked from this one has the thread's connection too: it is the parent's.
        where = (parts.scheme, parts.hostname, parts.port, os.getpid())
        if kept is not None:
            idle = time.monotonic() - self._kept.used
            if self._kept.where == where and idle < self.IDLE_AT_MOST and not _closed_by_server(kept):
                return kept
            self._drop()
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            context = self.ssl or ssl.create_default_context()
            connection = http.client.HTTPSConnection(
                parts.hostname or "", parts.port, timeout=self.timeout, context=context
            )
        else:
            connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=self.timeout)
        self._kept.connection, self._kept.where, self._kept.used = connection, where, time.monotonic()
        return connection

    def _drop(self) -> None:
        connection = getattr(self._kept, "connection", None)
        self._kept.connection = None
        if connection is not None:
            connection.close()


def _closed_by_server(connection: http.client.HTTPConnection) -> bool:
    """Whether the server hung up on a connection idle between calls: its socket
    is readable then (the end of the stream, or bytes nobody asked for)."""
    if connection.sock is None:
        return False  # not connected yet, or closed here: request() connects
    poller = select.poll()
    poller.register(connection.sock, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))


class SlackSender:
    """Posts channel messages and direct messages. The text a command or job
    queued is raw; it is escaped here, once, as it becomes Slack mrkdwn."""

    def __init__(self, client: WebClient) -> None:
        self._client = client

    def send(self, delivery: Claimed) -> None:
        if delivery.kind == "response_url":
            _respond(delivery)
            return
        try:
            if delivery.kind == "modal":  # an open modal's new content, target its view id
                self._client.views_update(view_id=delivery.target, view=delivery.payload["view"])
                return
            if delivery.kind == "home":  # a person's App Home tab, target their user id
                self._client.views_publish(
                    user_id=delivery.target, view=home_view(Message.from_payload(delivery.payload))
                )
                return
            channel = delivery.target
            if delivery.kind == "direct":
                opened = self._client.conversations_open(users=delivery.target)
                channel = opened["channel"]["id"]
            elif delivery.kind != "channel":
                raise GiveUp(f"no Slack route for a {delivery.kind} delivery")
            # A post tried before may have reached Slack although no answer came
            # back (a timeout, a dropped connection): look before posting again.
            tried = delivery.in_doubt or delivery.attempts > 0
            if tried and self._already_posted(channel, delivery.key):
                return
            message = Message.from_payload(delivery.payload)
            self._client.chat_postMessage(
                channel=channel,
                text=fallback_text(message.text),
                blocks=message_blocks(message) if message.sections else None,
                unfurl_links=False,
                metadata={"event_type": METADATA_EVENT, "event_payload": {"key": delivery.key}},
            )
        except SlackApiError as error:
            raise _verdict(error) from None
        except SlackClientError as error:
            raise TryLater(type(error).__name__) from None
        except OSError as error:  # connection refused, timeout, DNS
            raise TryLater(type(error).__name__) from None

    def _already_posted(self, channel: str, key: str) -> bool:
        """Whether a message carrying this delivery's key is among the channel's latest,
        so a post whose sender was killed before recording it is not made twice. Where
        Slack will not say (no history scope, a channel the bot cannot read), it is
        posted again: a message twice beats a message lost."""
        try:
            history = self._client.conversations_history(
                channel=channel, limit=HISTORY_LOOKBACK, include_all_metadata=True
            )
        except SlackApiError:
            return False
        messages: list[dict[str, Any]] = history.get("messages") or []
        return any((m.get("metadata") or {}).get("event_payload", {}).get("key") == key for m in messages)


def _verdict(error: SlackApiError) -> TryLater | GiveUp:
    status = error.response.status_code
    code = error.response.get("error") if isinstance(error.response.data, dict) else None
    if status == 429:
        retry_after = error.response.headers.get("Retry-After") or error.response.headers.get("retry-after")
        return TryLater("rate limited", retry_after=float(retry_after or 30))
    if code in PERMANENT:
        return GiveUp(code)
    return TryLater(f"{status} {code}")


def _respond(delivery: Claimed) -> None:
    """Answer an interaction through its response_url; the payload is the body
    Slack takes there, rendered (and escaped) when it was queued."""
    try:
        response = WebhookClient(delivery.target, timeout=10).send_dict(dict(delivery.payload))
    except OSError as error:
        raise TryLater(type(error).__name__) from None
    if response.status_code == 429:
        retry_after = response.headers.get("Retry-After") or response.headers.get("retry-after") or 30
        if isinstance(retry_after, list):
            retry_after = retry_after[0]
        raise TryLater("rate limited", retry_after=float(retry_after))
    if response.status_code >= 500:
        raise TryLater(f"{response.status_code}")
    if response.status_code != 200:
        # An expired or used-up response_url (they last 30 minutes, 5 uses): no retry cures it.
        raise GiveUp(f"{response.status_code} {response.body[:100]}")
