"""A TCP proxy a test can cut: "the database restarted" without touching the
real server. Point a database URL at `proxy.port` instead of the server's.

    with Proxy(("127.0.0.1", 5432)) as proxy:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{proxy.port}/test_proof"
        proxy.cut()      # every open connection is closed; new ones are dropped at once
        proxy.restore()  # connections go through again

A cut connection is closed at both ends, as when PostgreSQL restarts; a new one
made while cut is accepted and closed before a byte passes, so the client learns
at once that the server is gone instead of waiting for a timeout.

`Proxy(target, latency=0.05)` passes every byte on that long after it came, each
way, as a network far away would: a round trip then takes twice `latency`, and
what is sent without waiting for an answer travels at the same time.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from types import TracebackType

CHUNK = 65536


class Proxy:
    def __init__(self, target: tuple[str, int], *, latency: float = 0.0) -> None:
        self.target = target
        self.latency = latency
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._cut = False
        self._closed = False
        self.connections = 0  # made through the proxy, ever
        self._accepting = threading.Thread(target=self._accept, name="proxy-accept", daemon=True)

    def __enter__(self) -> Proxy:
        self._accepting.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def cut(self) -> None:
        """Close every connection and drop new ones until restored."""
        with self._lock:
            self._cut = True
            sockets, self._open = self._open, set()
        for sock in sockets:
            _close(sock)

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    def close(self) -> None:
        self._closed = True
        self.cut()
        _close(self._listener)
        self._accepting.join(5)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # the listener was closed
            with self._lock:
                cut = self._cut
            if cut:
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _close(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._cut:  # cut while connecting
                    _close(client)
                    _close(upstream)
                    continue
                self._open |= {client, upstream}
                self.connections += 1
            for sock in (client, upstream):  # each piece passed on at once, as the client sends it
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(
                    target=self._pump, args=(source, sink), name="proxy-pump", daemon=True
                ).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        late: queue.SimpleQueue[tuple[float, bytes]] | None = None
        if self.latency:
            late = queue.SimpleQueue()
            threading.Thread(
                target=self._pass_on_late, args=(late, sink), name="proxy-late", daemon=True
            ).start()
        try:
            while data := source.recv(CHUNK):
                if late is None:
                    sink.sendall(data)
                else:
                    late.put((time.monotonic() + self.latency, data))
        except OSError:
            pass
        finally:
            if late is not None:
                late.put((0.0, b""))  # after what is still on its way
            else:
                self._closing(source, sink)

    def _pass_on_late(self, late: queue.SimpleQueue[tuple[float, bytes]], sink: socket.socket) -> None:
        try:
            while (item := late.get())[1]:
                time.sleep(max(item[0] - time.monotonic(), 0))
                sink.sendall(item[1])
        except OSError:
            pass
        finally:
            self._closing(sink)

    def _closing(self, *sockets: socket.socket) -> None:
        with self._lock:
            self._open -= set(sockets)
        for sock in sockets:
            _close(sock)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()
