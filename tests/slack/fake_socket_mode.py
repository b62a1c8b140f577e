"""A stand-in for Slack's Socket Mode: the websocket that `apps.connections.open`
hands out, speaking just enough of RFC 6455 for slack_sdk's built-in client.

Point the Slack Web API stand-in's `apps.connections.open` at `url`; once the
client connects, the server says hello as Slack does; `send` delivers an
envelope (a slash command, say) and `acknowledgement` waits for the client's
answer to it, as Slack waits up to 3 seconds.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import struct
import threading
from typing import Any
from urllib.parse import parse_qsl

from tests.slack.signing import slash_command_body

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


class FakeSocketMode:
    def __init__(self) -> None:
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen()
        self._connected = threading.Condition()
        self._client: socket.socket | None = None
        self._send_lock = threading.Lock()
        self._received: list[dict[str, Any]] = []
        self._threads: list[threading.Thread] = []
        self.errors: list[str] = []

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._listener.getsockname()[1]}/link/?ticket=fake"

    def __enter__(self) -> FakeSocketMode:
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc_info: object) -> None:
        with self._connected:
            client, self._client = self._client, None
        # Closing a socket does not wake a thread blocked on it; shutting it down does.
        for sock in (self._listener, client):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
        for thread in self._threads:
            thread.join(5)

    def wait_connected(self, timeout: float = 5) -> None:
        with self._connected:
            if not self._connected.wait_for(lambda: self._client is not None, timeout):
                raise AssertionError(
                    f"no client connected to the Socket Mode stand-in; errors: {self.errors}"
                )

    def send(self, envelope: dict[str, Any]) -> None:
        with self._connected:
            client = self._client
        assert client is not None, "no client connected"
        self._frame(client, TEXT, json.dumps(envelope).encode())

    def acknowledgement(self, envelope_id: str, timeout: float = 3) -> dict[str, Any]:
        """The client's answer to an envelope, within Slack's 3 seconds."""
        with self._connected:
            found = self._connected.wait_for(
                lambda: next((m for m in self._received if m.get("envelope_id") == envelope_id), None),
                timeout,
            )
        if found is None:
            raise AssertionError(
                f"no acknowledgement of {envelope_id} within {timeout} s; errors: {self.errors}"
            )
        return found

    # -- the server --------------------------------------------------------

    def _spawn(self, target, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name="FakeSocketMode", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:  # closed
                return
            self._spawn(self._serve, client)

    def _serve(self, client: socket.socket) -> None:
        try:
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = client.recv(4096)
                if not chunk:
                    return
                request += chunk
            headers = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in request.decode().split("\r\n")[1:])
            }
            accept = base64.b64encode(hashlib.sha1(headers["sec-websocket-key"].encode() + _GUID).digest())
            client.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            with self._connected:
                self._client = client
                self._connected.notify_all()
            self._frame(client, TEXT, json.dumps({"type": "hello", "num_connections": 1}).encode())
            self._read(client)
        except (ConnectionError, OSError):  # the client went away, as a closing one may
            return
        except Exception as error:  # recorded for the test to show
            self.errors.append(repr(error))

    def _read(self, client: socket.socket) -> None:
        reader = client.makefile("rb")
        while True:
            head = reader.read(2)
            if len(head) < 2:
                return
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", reader.read(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", reader.read(8))
            mask = reader.read(4) if head[1] & 0x80 else b"\0\0\0\0"
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(reader.read(length)))
            if opcode == PING:
                self._frame(client, PONG, data)
            elif opcode == CLOSE:
                return
            elif opcode == TEXT:
                with self._connected:
                    self._received.append(json.loads(data))
                    self._connected.notify_all()

    def _frame(self, client: socket.socket, opcode: int, data: bytes) -> None:
        """One unmasked frame, as a server sends them."""
        if len(data) < 126:
            head = struct.pack("!BB", 0x80 | opcode, len(data))
        elif len(data) < 1 << 16:
            head = struct.pack("!BBH", 0x80 | opcode, 126, len(data))
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 127, len(data))
        with self._send_lock:
            client.sendall(head + data)


def slash_command(envelope_id: str, command: str, text: str, *, user_id: str) -> dict[str, Any]:
    """A slash command's envelope as Socket Mode delivers it: the fields an HTTP
    request would carry in its form (tests/slack/signing.py), as JSON."""
    return {
        "envelope_id": envelope_id,
        "type": "slash_commands",
        "accepts_response_payload": True,
        "payload": dict(parse_qsl(slash_command_body(command, text, user_id=user_id))),
    }
