"""A local stand-in for the Slack Web API, for tests.

Like bolt-python's own test suite, it is a real HTTP server on 127.0.0.1 that a
real ``WebClient(base_url=api.url)`` talks to, so the code under test runs its
true request/response path (encoding, headers, error handling). On top of that
it records every call, lets a test script failures (429, 5xx, ``ok: false``,
slowness), and flags calls to methods nobody expected. ``calls()`` has every
request with the status it got; ``posts()``, ``ephemerals()`` and ``responses()``
only those that went through, i.e. what people in Slack would see.

    with FakeSlackAPI() as api:
        client = WebClient(token="xoxb-test", base_url=api.url)
        client.chat_postMessage(channel="C1", text="hi")
        assert api.posts()[0]["text"] == "hi"
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

BOT_USER_ID = "UBOT00001"
TEAM_ID = "T0TEAM001"
BOT_ID = "B0BOT0001"
#: The method name under which posts to ``/response/...`` (response_url webhooks) are recorded.
RESPONSE_URL = "response_url"
VALID_TOKEN_PREFIXES = ("xoxb-", "xapp-")
# Fields Slack takes as JSON; in a form body they arrive as JSON strings. They are
# decoded so that tests need not care which encoding the client chose.
_JSON_FIELDS = frozenset({"blocks", "attachments", "view", "metadata"})
HOLD = 8.0  # seconds a ``together`` reply holds a call at most
_UNKNOWN_METHOD = {"ok": False, "error": "unknown_method"}  # compared by identity

Params = dict[str, Any]


class Headers(dict[str, str]):
    """Request headers: keys lower-cased, lookups case-insensitive (urllib sends "Content-type")."""

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)


@dataclass(frozen=True)
class Call:
    """One request the fake received."""

    method: str  # e.g. "chat.postMessage", or RESPONSE_URL
    params: Params  # the form or JSON body, merged over any query string
    headers: Headers
    path: str = ""  # e.g. "/chat.postMessage", "/response/T0TEAM001/1/fake"
    body: bytes = b""  # raw, for content types the fake does not parse
    status: int = 0  # the HTTP status the fake answered with
    ok: bool = False  # whether that answer was a success (200 and, for JSON, "ok": true)

    @property
    def token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        return auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else self.params.get("token")


@dataclass
class _Reply:
    status: int
    body: Any  # dict/list: sent as JSON; str/bytes: as is; None: the default answer
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    remaining: int | None = None  # scripted replies only; None: never used up
    hang_up: bool = False  # close the connection after answering, without saying so first
    together: int = 0  # hold the first calls until this many are being answered at once
    method: str = ""  # set on answers to scripted replies that hold calls (``together``)


class FakeSlackAPI:
    """An in-process Slack Web API. See the module docstring.

    ``users`` maps a user id to fields overriding the users.info defaults, e.g.
    ``api.users["U1"] = {"real_name": "Ann", "profile": {"email": "ann@x.org"}}``.
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()  # guards all state below; notified per call
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._ts = itertools.count(1)  # not reset by reset(), so every ts stays unique
        self._view_ids = itertools.count(1)
        self._handlers: dict[str, Callable[[Params], Params]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.update": self._update,
            "views.open": self._view,
            "views.publish": self._view,
            "views.update": self._view,
            "conversations.open": self._conversations_open,
            "conversations.history": self._history,
            "users.info": self._users_info,
        }
        self._calls: list[Call] = []
        self._replies: dict[str, deque[_Reply]] = {}
        self.unexpected: list[Call] = []
        self.errors: list[str] = []  # exceptions inside the fake (e.g. a malformed body)
        self.users: dict[str, Params] = {}
        self.connections = 0  # TCP connections accepted: HTTP/1.1 keeps one open between calls
        self.hung_up = 0  # connections this end closed (a ``hang_up`` reply, or the client left)
        self._held: dict[str, int] = {}  # calls of a ``together`` reply's method being held
        self._gathered: set[str] = set()  # methods whose ``together`` callers all arrived

    def start(self) -> FakeSlackAPI:
        if self._server is not None:
            raise RuntimeError("FakeSlackAPI already started")
        handler = type("_BoundHandler", (_Handler,), {"api": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._server.api = self
        # shutdown() waits out one poll interval: keep it short, as every test stops a server.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="FakeSlackAPI",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeSlackAPI:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL ending in "/", for ``WebClient(base_url=...)`` or ``SLACK_API_URL``."""
        if self._server is None:
            raise RuntimeError("FakeSlackAPI not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    def response_url(self, suffix: str = f"{TEAM_ID}/1/fake") -> str:
        """A response_url pointing at this fake; posts to it are recorded as RESPONSE_URL."""
        return f"{self.url}response/{suffix}"

    def reply(
        self,
        method: str,
        *,
        status: int = 200,
        body: Any = None,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        times: int | None = None,
        hang_up: bool = False,
        together: int = 0,
    ) -> None:
        """Script the answer to the next ``times`` calls of ``method`` (None: all of them).

        Replies queue in order; a ``times=None`` reply is never used up, so one
        queued after it is never reached. ``body=None`` means the usual answer
        for a 200 and a Slack-like error body otherwise. ``delay`` sleeps on the
        server before answering, standing for slow Slack. ``hang_up`` closes the
        connection after the answer, which had said it would stay open (HTTP/1.1
        keep-alive), as a server does with one idle too long. ``together=n``
        holds the first calls until n of them are being answered at once (for
        at most HOLD seconds, under the clients' 10 s timeout), then lets every
        call through: a race between processes that each call one at a time
        then truly overlaps, however unevenly the processes started.
        """
        if times is not None and times < 1:
            raise ValueError("times must be None or at least 1")
        with self._lock:
            self._replies.setdefault(method, deque()).append(
                _Reply(status, body, dict(headers or {}), delay, times, hang_up, together)
            )

    def recover(self) -> None:
        """Forget scripted replies (a delay already being served still runs out):
        Slack answers as usual again, and the calls made so far stay recorded."""
        with self._lock:
            self._replies.clear()

    def reset(self) -> None:
        """Forget calls, scripted replies, users, unexpected calls and errors."""
        with self._lock:
            for state in (self._calls, self._replies, self.unexpected, self.errors, self.users):
                state.clear()

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def last(self, method: str) -> Call:
        """The latest call of ``method``; AssertionError, listing what was called, if none."""
        found = self.calls(method)
        if not found:
            raise AssertionError(f"no {method} call; calls were {[c.method for c in self.calls()]}")
        return found[-1]

    # posts(), ephemerals() and responses() give the params of calls that got through,
    # i.e. what people would see; calls(method) also has the refused (429, 5xx, ok: false).

    def posts(self) -> list[Params]:
        return [c.params for c in self.calls("chat.postMessage") if c.ok]

    def ephemerals(self) -> list[Params]:
        return [c.params for c in self.calls("chat.postEphemeral") if c.ok]

    def responses(self) -> list[Params]:
        return [c.params for c in self.calls(RESPONSE_URL) if c.ok]

    def wait_for(self, method: str, *, count: int = 1, timeout: float = 2.0) -> list[Call]:
        """Block until ``count`` calls of ``method`` arrived: for work done after ack()."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.calls(method)) >= count, timeout):
                raise AssertionError(
                    f"waited {timeout}s for {count} {method} call(s), got {len(self.calls(method))}"
                )
            return self.calls(method)

    def _hold(self, reply: _Reply) -> None:
        """Hold a call until ``reply.together`` calls of its method are held at once."""
        if not reply.together:
            return
        with self._lock:
            self._held[reply.method] = self._held.get(reply.method, 0) + 1
            self._lock.notify_all()

            def arrived() -> bool:
                return reply.method in self._gathered or self._held[reply.method] >= reply.together

            if self._lock.wait_for(arrived, HOLD):
                self._gathered.add(reply.method)
            self._held[reply.method] -= 1

    def wait_for_hang_ups(self, count: int = 1, *, timeout: float = 2.0) -> None:
        """Block until this end has closed ``count`` connections: the server
        answers first and closes after, on its own thread."""
        with self._lock:
            if not self._lock.wait_for(lambda: self.hung_up >= count, timeout):
                raise AssertionError(f"waited {timeout}s for {count} hang-up(s), got {self.hung_up}")

    def assert_no_unexpected(self) -> None:
        with self._lock:
            lines = [f"  {c.method} {c.params!r}" for c in self.unexpected]
            lines += [f"  error in the fake: {e}" for e in self.errors]
        if lines:
            raise AssertionError(
                "FakeSlackAPI got calls it has no answer for "
                "(script them with api.reply(...)):\n" + "\n".join(lines)
            )

    # -- dispatch (on server threads) --------------------------------------

    def _dispatch(self, path: str, headers: Headers, raw: bytes) -> _Reply:
        split = urlsplit(path)
        route = split.path.lstrip("/")
        params = _parse_params(headers.get("content-type", ""), raw, split.query)
        method = RESPONSE_URL if route.startswith("response/") else route
        with self._lock:
            call = Call(method, params, headers, split.path, raw)
            reply = self._answer(call)
            body = reply.body
            ok = reply.status == 200 and (body.get("ok") is True if isinstance(body, dict) else True)
            call = replace(call, status=reply.status, ok=ok)
            self._calls.append(call)
            if body is _UNKNOWN_METHOD:
                self.unexpected.append(call)
            self._lock.notify_all()
            return reply

    def _answer(self, call: Call) -> _Reply:
        method = call.method
        # response_url webhooks carry no token: the URL itself is the secret.
        if method != RESPONSE_URL and not (call.token or "").startswith(VALID_TOKEN_PREFIXES):
            return _Reply(200, {"ok": False, "error": "invalid_auth"})
        if queue := self._replies.get(method):
            scripted = queue[0]
            if scripted.remaining is not None:
                scripted.remaining -= 1
                if scripted.remaining == 0:
                    queue.popleft()
            body = scripted.body
            if body is None and scripted.status != 200:
                body = {
                    "ok": False,
                    "error": "ratelimited" if scripted.status == 429 else f"http_{scripted.status}",
                }
            elif body is None:
                body = self._default(method, call.params)
            return replace(scripted, body=body, remaining=None, method=method)
        if method != RESPONSE_URL and method not in self._handlers:
            return _Reply(200, _UNKNOWN_METHOD)
        return _Reply(200, self._default(method, call.params))

    def _default(self, method: str, params: Params) -> Any:
        if method == RESPONSE_URL:
            return "ok"  # what hooks.slack.com answers
        return self._handlers[method](params) if method in self._handlers else {"ok": True}

    # -- default answers (called with the lock held) -----------------------

    def _next_ts(self) -> str:
        n = next(self._ts) * 100
        return f"{1_700_000_000 + n // 1_000_000}.{n % 1_000_000:06d}"

    def _auth_test(self, p: Params) -> Params:
        return {
            "ok": True,
            "url": "https://partnerbot-test.slack.com/",
            "team": "Partnerbot Test",
            "user": "partnerbot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _message(self, p: Params, ts: str) -> Params:
        extra = {k: p[k] for k in ("blocks", "attachments", "thread_ts", "metadata") if k in p}
        return {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "ts": ts,
            "text": p.get("text", ""),
            **extra,
        }

    def _post_message(self, p: Params) -> Params:
        if missing := _missing(p, "channel"):
            return missing
        if not any(p.get(k) for k in ("text", "blocks", "attachments")):
            return {"ok": False, "error": "no_text"}
        ts, channel = self._next_ts(), str(p["channel"])
        if channel[:1] in ("U", "W"):  # posting to a user id lands in the DM with them
            channel = "D" + channel
        return {"ok": True, "channel": channel, "ts": ts, "message": self._message(p, ts)}

    def _post_ephemeral(self, p: Params) -> Params:
        return _missing(p, "channel", "user") or {"ok": True, "message_ts": self._next_ts()}

    def _update(self, p: Params) -> Params:
        if missing := _missing(p, "channel", "ts"):
            return missing
        return {
            "ok": True,
            "channel": p["channel"],
            "ts": p["ts"],
            "text": p.get("text", ""),
            "message": self._message(p, str(p["ts"])),
        }

    def _view(self, p: Params) -> Params:
        if missing := _missing(p, "view"):
            return missing
        if not isinstance(p["view"], dict):
            return {"ok": False, "error": "invalid_arguments"}
        n = next(self._view_ids)
        view_id = p.get("view_id") or f"V{n:08d}"
        return {
            "ok": True,
            "view": {
                "type": "modal",
                **p["view"],
                "id": view_id,
                "team_id": TEAM_ID,
                "hash": f"{n}.fakehash",
                "state": {"values": {}},
            },
        }

    def _conversations_open(self, p: Params) -> Params:
        if p.get("channel"):
            return {"ok": True, "channel": {"id": p["channel"]}}
        return _missing(p, "users") or {"ok": True, "channel": {"id": "D" + str(p["users"]).split(",")[0]}}

    def _history(self, p: Params) -> Params:
        """The channel's messages that got through, newest first, with their metadata
        when asked for (include_all_metadata), as Slack keeps them."""
        if missing := _missing(p, "channel"):
            return missing
        channel, limit = str(p["channel"]), int(p.get("limit") or 100)
        with_metadata = str(p.get("include_all_metadata", "")).lower() in ("1", "true")
        messages = []
        for call in reversed(self._calls):
            posted_to = str(call.params.get("channel", ""))
            if (
                call.method != "chat.postMessage"
                or not call.ok
                or channel not in (posted_to, "D" + posted_to)
            ):
                continue
            message = {
                "type": "message",
                "user": BOT_USER_ID,
                "bot_id": BOT_ID,
                "text": call.params.get("text", ""),
            }
            if with_metadata and "metadata" in call.params:
                message["metadata"] = call.params["metadata"]
            messages.append(message)
        return {"ok": True, "messages": messages[:limit], "has_more": len(messages) > limit}

    def _users_info(self, p: Params) -> Params:
        if missing := _missing(p, "user"):
            return missing
        uid = str(p["user"])
        override = self.users.get(uid, {})
        user = {
            "id": uid,
            "team_id": TEAM_ID,
            "name": uid.lower(),
            "real_name": f"User {uid}",
            "tz": "Europe/London",
            "is_bot": False,
            "deleted": False,
            **override,
        }
        user["profile"] = {
            "email": f"{uid.lower()}@example.org",
            "real_name": user["real_name"],
            "display_name": user["name"],
            **override.get("profile", {}),
        }
        return {"ok": True, "user": user}


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a reply still sleeping must not hold up stop()
    request_queue_size = 128  # the default 5 makes bursts of clients wait a second for SYN retries
    api: FakeSlackAPI

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        with self.api._lock:
            self.api.hung_up += 1
            self.api._lock.notify_all()


class _Handler(BaseHTTPRequestHandler):
    api: FakeSlackAPI  # set on the per-server subclass made in start()
    protocol_version = "HTTP/1.1"  # as Slack: a connection stays open for the next call
    # The head and the body go out in two writes: with Nagle's algorithm the body
    # waited for the client's delayed ACK of the head, 40 ms a call.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        with self.api._lock:
            self.api.connections += 1

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            headers = Headers((k.lower(), v) for k, v in self.headers.items())
            reply = self.api._dispatch(self.path, headers, raw)
        except Exception as error:  # a bug in the fake, or a body it cannot parse: surface it
            with self.api._lock:
                self.api.errors.append(f"{self.command} {self.path}: {error!r}")
            reply = _Reply(500, {"ok": False, "error": "fake_api_error"})
        self.api._hold(reply)
        time.sleep(reply.delay)
        if isinstance(reply.body, (dict, list)):
            payload, ctype = json.dumps(reply.body).encode(), "application/json; charset=utf-8"
        else:
            payload = reply.body if isinstance(reply.body, bytes) else str(reply.body).encode()
            ctype = "text/plain; charset=utf-8"
        try:
            self.send_response(reply.status)
            for name, value in {"Content-Type": ctype, **reply.headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up, e.g. its timeout is shorter than a delay
        if reply.hang_up:
            self.close_connection = True

    do_GET = do_POST  # Slack also takes GET with a query string

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one stderr line per request would bury test output


def _parse_params(content_type: str, raw: bytes, query: str) -> Params:
    params = _form(query)
    if content_type.startswith("application/json") and raw:
        params.update(json.loads(raw))
    elif content_type.startswith("application/x-www-form-urlencoded") or not content_type:
        params.update(_form(raw.decode("utf-8")))
    return params


def _form(text: str) -> Params:
    """Form fields as str (a list if repeated), with JSON-bearing fields decoded."""
    fields = parse_qs(text, keep_blank_values=True)
    params: Params = {k: v[0] if len(v) == 1 else v for k, v in fields.items()}
    for key in _JSON_FIELDS & params.keys():
        try:
            params[key] = json.loads(params[key])
        except (TypeError, ValueError):
            pass  # left as sent: Slack would reject it, and so will the default answers
    return params


def _missing(p: Params, *names: str) -> Params | None:
    """Slack's answer when required arguments are absent, or None if all are there."""
    absent = [n for n in names if not p.get(n)]
    return (
        {
            "ok": False,
            "error": "invalid_arguments",
            "response_metadata": {"messages": [f"[ERROR] missing required field: {n}" for n in absent]},
        }
        if absent
        else None
    )
