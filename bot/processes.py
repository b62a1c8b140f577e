"""Several processes answering on one port (`partnerbot serve --workers N`):
their listening sockets, forking them, and keeping them.

Each process listens on a socket of its own, all bound to the same port with
SO_REUSEPORT, and the kernel spreads new connections across them evenly. With
one socket shared by every process, whichever process woke first took the
connection: under load nearly all of 16 clients' connections went to one
process while the other idled (bench/README.md)."""

from __future__ import annotations

import logging
import os
import select
import signal
import socket
import threading
from collections.abc import Callable, Mapping

from bot.settings import SettingsError

log = logging.getLogger("partnerbot")

STOP_WAIT = 10.0  # seconds a worker is given to finish its requests before it is killed


def listen(host: str, port: int, *, shared: bool) -> socket.socket:
    """A listening socket made with IPPROTO_TCP named: asyncio sets TCP_NODELAY
    only on connections from a listener whose protocol says TCP, and one made
    with protocol 0 (as uvicorn's own multi-process mode makes it) leaves Nagle's
    algorithm on, so each keep-alive answer waits ~40 ms for the client's delayed
    acknowledgement. `shared`: other processes of this user may listen on the
    same port (SO_REUSEPORT), as the workers of one `serve` do; a lone `serve`
    keeps its port to itself, so a second one started by mistake fails at once."""
    try:
        family, _, _, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if shared:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.bind(address)
    except OSError as error:
        raise SettingsError(f"PORT: cannot listen on {host} port {port}: {error.strerror or error}") from None
    listener.listen(2048)
    return listener


class Wakeup:
    """A wake-up call from any of serve's processes to the one that sends: a pipe
    made before forking, read by the sender. `set()` never blocks (a full pipe
    already says "wake up"); `wait(timeout)` and `clear()` are the sender's, as
    for a threading.Event."""

    def __init__(self) -> None:
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)

    def set(self) -> None:
        try:
            os.write(self._write, b"!")
        except BlockingIOError:
            pass

    def wait(self, timeout: float | None = None) -> bool:
        readable, _, _ = select.select([self._read], [], [], timeout)
        return bool(readable)

    def clear(self) -> None:
        try:
            while os.read(self._read, 4096):
                pass
        except BlockingIOError:
            pass


def name_process(name: str) -> None:
    """The name `ps` and /proc/PID/comm show for this process (15 characters at most)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(15, name.encode()[:15])  # PR_SET_NAME
    except (OSError, AttributeError):
        pass


def fork_workers(count: int, work: Callable[[], int]) -> list[int]:
    """Fork `count` workers, each running `work()` for its whole life and exiting
    with what it returns; the parent gets their process ids. Fork before any
    thread or database connection exists."""
    children = []
    for _ in range(count):
        pid = os.fork()
        if pid == 0:
            os._exit(_child(work))
        children.append(pid)
    return children


def _child(work: Callable[[], int]) -> int:
    """A forked worker's whole life; its exit status (it never returns into the parent's code)."""
    code = 1
    try:
        _stop_with_parent()
        code = work()
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:
        log.exception("worker failed", extra={"pid": os.getpid()})
    logging.shutdown()
    return code


def _stop_with_parent() -> None:
    """Linux sends this worker SIGTERM if the parent dies without stopping it
    (SIGKILL, a crash), so that no worker is left holding the port."""
    parent = os.getppid()
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # it died before the line above
        raise SystemExit(1)


def supervise(work: Callable[[], int], children: Mapping[int, str]) -> int:
    """The parent: runs `work()` itself (answering requests, with the scheduler),
    and keeps the children, each process id with what the log calls it ("a
    worker"). SIGTERM or SIGINT stops them all; a child that dies by itself stops
    the whole serve, with exit status 1, for the platform to restart it whole."""
    alive = set(children)
    stopping = threading.Event()
    died: list[int] = []
    changed = threading.Condition()

    def watch(pid: int) -> None:
        _, status = os.waitpid(pid, 0)
        with changed:
            alive.discard(pid)
            changed.notify_all()
        if stopping.is_set():
            return
        code = os.waitstatus_to_exitcode(status)
        if code == 0:  # stopped as asked: SIGTERM or Ctrl-C reached it before the parent
            log.info("%s stopped; stopping serve", children[pid], extra={"pid": pid})
        else:
            log.error("%s died; stopping serve", children[pid], extra={"pid": pid, "exit": code})
            died.append(pid)
        os.kill(os.getpid(), signal.SIGTERM)  # the parent stops as if told to

    for pid in children:
        threading.Thread(target=watch, args=(pid,), name=f"worker-{pid}", daemon=True).start()
    try:
        work()
    except SystemExit:
        pass  # stopped before it answered anything
    finally:
        stopping.set()
        _stop(alive, changed)
    return 1 if died else 0


def _stop(alive: set[int], changed: threading.Condition) -> None:
    with changed:
        for pid in alive:
            _signal(pid, signal.SIGTERM)
        if not changed.wait_for(lambda: not alive, STOP_WAIT):
            log.error("workers did not stop in time; killing them", extra={"pids": sorted(alive)})
            for pid in alive:
                _signal(pid, signal.SIGKILL)
            changed.wait_for(lambda: not alive, STOP_WAIT)


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass  # it has just stopped
