"""`partnerbot serve --workers 2`: two processes answering on one port, as the
engineer starts it, on PostgreSQL; one process, with a warning, on SQLite.
Which process holds a connection is read from /proc: the server end of each
connection is a socket among that process's descriptors."""

from __future__ import annotations

import http.client
import os
import signal
import statistics
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from bot.cli import SENDER_NAME, SENDER_NICENESS
from storage.models import Action
from tests.slack.signing import sign, slash_command_body
from tests.test_serve_process import Serving, serving

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's /proc")
on_postgresql = pytest.mark.parametrize("engine", ["postgresql"], indirect=True)


@pytest.fixture
def two_workers(demo, database_url, slack_api, slack_signing_secret, tmp_path):
    with serving(
        database_url=database_url,
        slack_api=slack_api,
        slack_signing_secret=slack_signing_secret,
        log=tmp_path / "serve.log",
        workers=2,
    ) as serve:
        yield serve


def children(serve: Serving) -> list[int]:
    """The parent's children, alive."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == serve.process.pid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def processes(serve: Serving) -> list[int]:
    """The processes answering requests: the parent and its children but the sender."""
    return [serve.process.pid, *(pid for pid in children(serve) if pid != sender(serve))]


def sender(serve: Serving) -> int | None:
    """The process that sends messages, by the name it gives itself."""
    for pid in children(serve):
        try:
            if Path(f"/proc/{pid}/comm").read_text().strip() == SENDER_NAME:
                return pid
        except OSError:
            continue
    return None


def niceness(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def listeners(serve: Serving) -> dict[str, int | None]:
    """The listening sockets on the server's port, by inode, with the process holding each."""
    inodes = [
        fields[9]
        for fields in (line.split() for line in Path("/proc/net/tcp").read_text().splitlines()[1:])
        if fields[3] == "0A" and int(fields[1].split(":")[1], 16) == serve.port  # listening
    ]
    return {inode: holder_of(serve, inode) for inode in inodes}


def holder_of(serve: Serving, inode: str | None) -> int | None:
    for pid in processes(serve):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    return None


def holder(serve: Serving, client_port: int) -> int | None:
    """The process holding the server end of the connection from `client_port`."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, state = fields[1], fields[2], fields[3]
        if (
            state == "01"  # established
            and int(local.split(":")[1], 16) == serve.port
            and int(remote.split(":")[1], 16) == client_port
        ):
            inode = fields[9]
    return holder_of(serve, inode)


def connections_to_each_process(serve: Serving) -> dict[int, http.client.HTTPConnection]:
    """Keep-alive connections opened until each of the two processes has accepted one."""
    held: dict[int, http.client.HTTPConnection] = {}
    opened = []
    deadline = time.monotonic() + 15
    while len(held) < 2 and time.monotonic() < deadline:
        connection = http.client.HTTPConnection("127.0.0.1", serve.port, timeout=5)
        connection.request("GET", "/healthz")
        assert connection.getresponse().read() == b'{"ok":true,"database":"ok"}'
        opened.append(connection)
        assert connection.sock is not None
        pid = holder(serve, connection.sock.getsockname()[1])
        if pid is not None:
            held.setdefault(pid, connection)
    assert len(held) == 2, f"{len(opened)} connections were all accepted by {sorted(held)}"
    return held


@on_postgresql
def test_two_processes_accept_connections_and_answer_keep_alive_requests_without_delay(two_workers):
    assert len(processes(two_workers)) == 2
    for pid, connection in connections_to_each_process(two_workers).items():
        times = []
        for _ in range(20):
            started = time.perf_counter()
            connection.request("GET", "/healthz")
            assert connection.getresponse().read() == b'{"ok":true,"database":"ok"}'
            times.append(time.perf_counter() - started)
        # Without TCP_NODELAY each answer waits ~40 ms for the client's delayed ACK.
        assert statistics.median(times) < 0.020, f"process {pid}: {sorted(times)}"


@on_postgresql
def test_connections_are_spread_across_the_processes(two_workers):
    """Each process listens on its own socket (SO_REUSEPORT), and the kernel
    spreads connections across them. With one socket shared by both, a burst of
    connections (16 clients starting at once) went nearly all to whichever process
    woke first, since it accepts every connection waiting, and the other idled."""
    assert sorted(listeners(two_workers).values()) == sorted(processes(two_workers))  # a socket each
    opened = [http.client.HTTPConnection("127.0.0.1", two_workers.port, timeout=5) for _ in range(60)]
    for connection in opened:  # the burst: all connected before any is answered
        connection.connect()
    held: dict[int | None, int] = {}
    for connection in opened:
        connection.request("GET", "/healthz")
        assert connection.getresponse().read() == b'{"ok":true,"database":"ok"}'
        assert connection.sock is not None
        pid = holder(two_workers, connection.sock.getsockname()[1])
        held[pid] = held.get(pid, 0) + 1
    for connection in opened:
        connection.close()
    assert sorted(held) == sorted(processes(two_workers))
    # Spread by a hash of each connection's ports: 12 or fewer of 60 is a 1-in-300,000 chance.
    assert min(held.values()) > 12, held


@on_postgresql
def test_sigterm_to_the_parent_stops_every_worker(two_workers):
    workers = processes(two_workers)
    assert len(workers) == 2 and sender(two_workers) is not None
    everyone = [*workers, sender(two_workers)]
    two_workers.process.send_signal(signal.SIGTERM)
    assert two_workers.process.wait(10) == 0
    assert not any(Path(f"/proc/{pid}").exists() for pid in everyone)


@on_postgresql
def test_a_worker_that_dies_stops_serve_with_a_failure(two_workers, tmp_path):
    parent, child = processes(two_workers)
    os.kill(child, signal.SIGKILL)
    assert two_workers.process.wait(10) == 1
    assert f"a worker died; stopping serve exit=-9 pid={child}" in (tmp_path / "serve.log").read_text()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{two_workers.base}/healthz", timeout=1)


def test_a_signed_slash_command_to_two_workers_is_stored_once(two_workers, demo, slack_signing_secret):
    body = slash_command_body("/action", "add Book the Away Day room | clerk | 1 May", user_id="U0CLERK01")
    headers = {"Content-Type": "application/x-www-form-urlencoded"} | sign(
        body, secret=slack_signing_secret, timestamp=int(time.time())
    )
    reply = httpx.post(f"{two_workers.base}/slack/events", content=body, headers=headers, timeout=10)
    assert "Book the Away Day room" in reply.json()["text"]
    with demo() as session:
        stored = session.scalar(
            select(func.count()).select_from(Action).where(Action.what == "Book the Away Day room")
        )
    assert stored == 1


def test_the_sending_process_sends_what_a_command_queues_and_its_death_stops_serve(
    two_workers, slack_api, slack_signing_secret, tmp_path
):
    """Messages go out from a process of their own, woken by the processes that
    answer: a command's post arrives; and if that process dies, serve stops with
    a failure, for the platform to restart it whole, as for any worker."""
    sending = sender(two_workers)
    assert sending is not None and sending not in processes(two_workers)
    body = slash_command_body(
        "/update", "joint-commissioning green Pooled budget agreed", user_id="U0CLERK01"
    )
    headers = {"Content-Type": "application/x-www-form-urlencoded"} | sign(
        body, secret=slack_signing_secret, timestamp=int(time.time())
    )
    reply = httpx.post(f"{two_workers.base}/slack/events", content=body, headers=headers, timeout=10)
    assert "Saved and posted" in reply.json()["text"]
    slack_api.wait_for("chat.postMessage", timeout=10)
    assert any("Pooled budget agreed" in post["text"] for post in slack_api.posts())

    # It takes the CPU only when the answering processes leave it.
    assert niceness(sending) == min(niceness(two_workers.process.pid) + SENDER_NICENESS, 19)

    os.kill(sending, signal.SIGKILL)
    assert two_workers.process.wait(10) == 1
    assert (
        f"the sending process died; stopping serve exit=-9 pid={sending}"
        in (tmp_path / "serve.log").read_text()
    )


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_on_sqlite_two_workers_asked_for_are_one_process_with_a_warning(two_workers, tmp_path):
    assert processes(two_workers) == [two_workers.process.pid]
    assert httpx.get(f"{two_workers.base}/healthz", timeout=5).json() == {"ok": True, "database": "ok"}
    assert (
        "WARNING partnerbot serving in one process: on SQLite, processes wait for each other's writes"
        in (tmp_path / "serve.log").read_text()
    )
