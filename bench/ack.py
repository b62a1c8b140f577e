"""How fast `partnerbot serve` acknowledges each slash command, beside a bare Bolt app.

    .venv/bin/python -m bench.ack                  # SQLite, in a temporary folder
    .venv/bin/python -m bench.ack --database postgresql+psycopg://postgres@127.0.0.1:5432/bench
    .venv/bin/python -m bench.ack --count 400 --concurrent-count 1600

Both sides run as real processes on the same stack (uvicorn, Starlette, Bolt with
process_before_response=True): `partnerbot serve --no-scheduler`, as the Procfile's
`web` runs it, on the county-scale partnership
(bench/data.py, generated afresh into the database given, which is emptied first),
pointed at a local Slack stand-in; a bare Bolt app whose commands do nothing;
and, one client at a time only, the floor: the bare app doing first the least a
command of its kind must do with the database (`Floor`). Each gets signed
requests as the clerk for `/action list`, `/meeting next`, `/apologies DATE
REASON` (a write), `/update WS TEXT` (a write that posts) and `/agenda`: first
from one client at a time, then from 16 concurrent clients, the sides taking
turns in short rounds. Then it reads `serve`'s resident memory.
The table shows each figure beside its budget; the figures are written as JSON
to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from bench.report import ROOT, Figure, database_url, dialect, empty, fresh, table, write

SECRET = "bench-signing-secret-000000000000"
TOKEN = "xoxb-bench"
USER = "UB0000001"  # the clerk of the generated partnership, an officer of every group
ZONE = ZoneInfo("Europe/London")
COMMANDS = ("/action", "/meeting", "/apologies", "/update", "/agenda")
P50_BUDGET_MS = 5.0  # SPEC 9
P50_RATIO_BUDGET = 2.0  # issue 16 (SPEC 9 allows 3x)
P99_BUDGET_MS = 50.0
MEMORY_BUDGET_MB = 200


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a database URL to empty and fill (default: SQLite, temporary)")
    parser.add_argument(
        "--count", type=int, default=200, help="requests per command sent one at a time (each side)"
    )
    parser.add_argument(
        "--concurrent-count",
        type=int,
        default=800,
        help="requests per command sent by the concurrent clients",
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument(
        "--workers", type=int, default=1, help="processes of `partnerbot serve` (the bare app stays one)"
    )
    parser.add_argument("--bare", type=int, metavar="PORT", help=argparse.SUPPRESS)  # the bare app's process
    parser.add_argument("--floor", metavar="URL", help=argparse.SUPPRESS)  # ... doing the least with URL
    parser.add_argument("--slack", action="store_true", help=argparse.SUPPRESS)  # the Slack stand-in's
    args = parser.parse_args(argv)
    if args.bare:
        return _serve_bare(args.bare, floor=args.floor)
    if args.slack:
        return _serve_slack()
    return _run(args)


# -- the servers -------------------------------------------------------------


def _serve_bare(port: int, *, floor: str | None = None) -> int:
    """A Bolt app whose commands do nothing but acknowledge, on the same web stack as
    `partnerbot serve`; with `floor`, a database URL, each does the least a command
    of its kind must do with the database first (`Floor`)."""
    import uvicorn

    app = bare_web_app(os.environ["SLACK_API_URL"], floor=Floor(floor) if floor else None)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    return 0


WRITES = ("/apologies", "/update")  # the commands of the probes that write
FLOOR = "bare Bolt + database"  # the side of the bare app doing the least (`Floor`)


class Floor:
    """The least a command can do with the database before it answers: one that
    reads, one round trip (`SELECT 1`); one that writes, a row inserted and
    committed as durably as partnerbot commits (PostgreSQL flushes its log to
    disk; SQLite in WAL mode with synchronous=NORMAL, as storage/session.py sets
    it), one round trip too. Through the driver itself, on a connection each
    thread keeps: no SQLAlchemy, no transaction of more than one statement. What
    a bare Bolt app doing this answers in is as fast as any command of partnerbot
    could answer, however it were written."""

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        self._url = make_url(url)
        self._postgres = self._url.get_backend_name() == "postgresql"
        self._mine = threading.local()
        key = "BIGSERIAL PRIMARY KEY" if self._postgres else "INTEGER PRIMARY KEY"
        self._connection().execute(f"CREATE TABLE IF NOT EXISTS bench_floor (id {key}, said TEXT NOT NULL)")
        self._insert = f"INSERT INTO bench_floor (said) VALUES ({'%s' if self._postgres else '?'})"

    def read(self) -> None:
        self._connection().execute("SELECT 1").fetchall()

    def write(self, said: str) -> None:
        self._connection().execute(self._insert, (said,))

    def close(self) -> None:
        """Close this thread's connection (the next call opens another)."""
        connection, self._mine.connection = getattr(self._mine, "connection", None), None
        if connection is not None:
            connection.close()

    def _connection(self) -> Any:
        connection = getattr(self._mine, "connection", None)
        if connection is None:
            connection = self._mine.connection = self._connect()
        return connection

    def _connect(self) -> Any:
        if self._postgres:
            import psycopg

            dsn = self._url.set(drivername="postgresql").render_as_string(hide_password=False)
            return psycopg.connect(dsn, autocommit=True)
        import sqlite3

        connection = sqlite3.connect(self._url.database or "", isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA busy_timeout=2000")  # serve's sending process writes too
        return connection


def bare_web_app(slack_api_url: str, *, floor: Floor | None = None):
    """The bare app's Starlette app: `partnerbot serve`'s web stack, with a Bolt app
    whose commands only acknowledge (with `floor`, after reading or writing once)."""
    from slack_bolt import App
    from slack_bolt.authorization import AuthorizeResult
    from slack_sdk import WebClient

    from bot.server import create_web_app
    from storage.session import make_engine, make_session_factory

    bolt = App(
        client=WebClient(base_url=slack_api_url),
        signing_secret=SECRET,
        process_before_response=True,
        authorize=lambda enterprise_id, team_id: AuthorizeResult(
            enterprise_id=enterprise_id, team_id=team_id, bot_token=TOKEN
        ),
    )

    def command(ack) -> None:
        ack(response_type="ephemeral", text="ok")

    def command_with_database(ack, body) -> None:
        assert floor is not None
        if body["command"] in WRITES:
            floor.write(body.get("text", ""))
        else:
            floor.read()
        ack(response_type="ephemeral", text="ok")

    for name in COMMANDS:
        bolt.command(name)(command if floor is None else command_with_database)

    return create_web_app(bolt=bolt, sessions=make_session_factory(make_engine("sqlite://")))


def _serve_slack() -> int:
    """The Slack stand-in (tests/slack/fake_api.py), in a process of its own: its
    address on the first line out, then serving until its input closes. In the
    bench's own process it took the interpreter from the clients timing each
    answer whenever serve's sending process posted (`/update`'s posts, the Home
    tab every write publishes)."""
    from tests.slack.fake_api import FakeSlackAPI

    with FakeSlackAPI() as slack:
        print(slack.url, flush=True)
        sys.stdin.read()
    return 0


@contextlib.contextmanager
def _slack_stand_in() -> Iterator[str]:
    """Start the Slack stand-in's process: its address, until the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.ack", "--slack"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        address = process.stdout.readline().strip()
        if not address:
            raise SystemExit("bench: the Slack stand-in did not start")
        yield address
    finally:
        if process.stdin is not None:
            process.stdin.close()
        process.wait(10)


def _wait_until_sent(url: str, timeout: float = 120) -> None:
    """Until `serve` has sent every message queued so far (none pending and due)."""
    from sqlalchemy import func, select

    from storage.models import Delivery
    from storage.session import make_engine

    engine = make_engine(url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                waiting = connection.scalar(
                    select(func.count())
                    .select_from(Delivery)
                    .where(Delivery.status == "pending", Delivery.next_attempt_at <= datetime.now(UTC))
                )
            if not waiting:
                return
            time.sleep(0.2)
        raise SystemExit(f"bench: {waiting} messages still unsent after {timeout:.0f} s")
    finally:
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _start(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        argv, env=os.environ | env, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT
    )


def _wait_healthy(port: int, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"bench: a server stopped at start-up:\n{log.read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
                if conn.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"bench: a server did not answer /healthz:\n{log.read_text()}")


# -- the clients --------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """One command as the bench types it: `text(i)` is the i-th request's text
    (writes vary it, so that every request is a real write), `check` a part of
    the reply that shows it worked."""

    label: str
    command: str
    text: Callable[[int], str]
    check: bytes


def _probes(url: str) -> list[Probe]:
    """The commands of issue 16, typed by the clerk in a channel of no group, on the
    generated partnership: dates of coming meetings and an open workstream from it."""
    from sqlalchemy import select

    from storage.models import Meeting, Workstream
    from storage.session import make_engine

    engine = make_engine(url)
    with engine.connect() as connection:
        days = connection.scalars(
            select(Meeting.starts_at)
            .where(Meeting.starts_at > datetime.now(UTC) + timedelta(days=1), Meeting.status == "scheduled")
            .order_by(Meeting.starts_at)
            .limit(12)
        ).all()
        workstream = connection.scalar(
            select(Workstream.slug).where(Workstream.is_open).order_by(Workstream.id)
        )
    engine.dispose()
    dates = sorted({d.astimezone(ZONE).date().isoformat() for d in days})
    run = datetime.now(UTC).strftime("%H%M%S")  # a new text each run, on a database kept between runs
    return [
        Probe("/action list", "/action", lambda i: "list", b"open actions"),
        Probe("/meeting next", "/meeting", lambda i: "next", b"Next meeting"),
        Probe(
            "/apologies DATE REASON",
            "/apologies",
            lambda i: f"{dates[i % len(dates)]} Leave booked, bench {run}-{i}",
            b"pologies",
        ),
        Probe(
            "/update WS TEXT",
            "/update",
            lambda i: f"{workstream} amber Bench highlight {run}-{i}: referrals up",
            b"Saved and posted",
        ),
        Probe("/agenda", "/agenda", lambda i: "", b"agenda"),
    ]


def signed(command: str, text: str) -> tuple[bytes, dict[str, str]]:
    """A slash command's body as Slack sends it, typed by the clerk, and the headers that sign it."""
    body = urlencode(
        {
            "token": "deprecated",
            "team_id": "T0TEAM001",
            "team_domain": "bench",
            "channel_id": "C0GENERAL",
            "channel_name": "general",
            "user_id": USER,
            "user_name": "clerk",
            "command": command,
            "text": text,
            "api_app_id": "A0APP0001",
            "is_enterprise_install": "false",
            "response_url": "http://127.0.0.1:9/response/unused",
            "trigger_id": "1.2.3",
        }
    ).encode()
    timestamp = str(int(time.time()))
    signature = hmac.new(SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return body, {
        "Content-Type": "application/x-www-form-urlencoded",
        "Content-Length": str(len(body)),
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={signature.hexdigest()}",
    }


def _signed_request(port: int, command: str, text: str) -> bytes:
    body, headers = signed(command, text)
    head = f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in headers.items()
    )
    return (head + "\r\n").encode() + body


async def _client(port: int, requests: list[bytes], times: list[float], check: bytes) -> None:
    """One keep-alive connection sending its requests one after another."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for request in requests:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            body = await reader.readexactly(length)
            times.append(time.perf_counter() - started)
            if not head.startswith(b"HTTP/1.1 200") or check not in body:
                raise SystemExit(f"bench: unexpected answer {head[:12]!r} {body[:300]!r}")
    finally:
        writer.close()


async def _load(port: int, clients: int, requests: list[bytes], check: bytes) -> list[float]:
    times: list[float] = []
    await asyncio.gather(*(_client(port, requests[i::clients], times, check) for i in range(clients)))
    return times


def _percentiles(times: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49] * 1000, 2), "p99_ms": round(cuts[98] * 1000, 2), "n": len(times)}


def resident_memory(pid: int) -> tuple[float, float]:
    """A process's resident memory now and at its peak, in MB, from /proc."""
    fields = _fields(Path(f"/proc/{pid}/status"))
    return tuple(int(fields[name].split()[0]) / 1024 for name in ("VmRSS", "VmHWM"))  # type: ignore[return-value]


def tree_memory(pid: int) -> tuple[float, float]:
    """The proportional (PSS) and resident (RSS) memory of a process and its
    children, in MB, from /proc: PSS counts a page shared by forked workers once
    in all, where the RSS of each counts it again."""
    pss = rss = 0
    for member in [pid, *_children(pid)]:
        fields = _fields(Path(f"/proc/{member}/smaps_rollup"))
        pss += int(fields["Pss"].split()[0])
        rss += int(fields["Rss"].split()[0])
    return pss / 1024, rss / 1024


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # gone meanwhile
        if int(text.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _fields(path: Path) -> dict[str, str]:
    return dict(line.split(":", 1) for line in path.read_text().splitlines() if ":" in line)


# -- the run --------------------------------------------------------------------


def measure(
    url: str | None = None,
    *,
    count: int = 200,
    concurrent_count: int = 800,
    clients: int = 16,
    workers: int = 1,
    scale: float = 1,
) -> tuple[list[Figure], dict]:
    """Start both servers on a freshly generated partnership and measure every
    probe: the figures, and the raw percentiles by command, load and side."""
    url = database_url(url)
    engine, generated = fresh(url, scale=scale)
    engine.dispose()
    probes = _probes(url)
    work = Path(tempfile.mkdtemp(prefix="partnerbot-bench-"))
    env = {"DATABASE_URL": url, "LOG_LEVEL": "WARNING"}
    servers: list[subprocess.Popen] = []
    results: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    with _slack_stand_in() as slack_url:
        env |= {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack_url}
        ports = {"partnerbot": _free_port(), "bare Bolt": _free_port(), FLOOR: _free_port()}
        logs = {side: work / f"{side.replace(' ', '-')}.log" for side in ports}
        try:
            serve = ["bot.cli", "serve", "--host", "127.0.0.1", "--port", str(ports["partnerbot"])]
            # As the Procfile runs it: reminders are the worker's (bench/run_due.py
            # measures them). With the scheduler on, its first run (233 reminders
            # sent) took the CPU from the first command measured: 1.9 -> 3.6 ms.
            serve += ["--workers", str(workers), "--no-scheduler"]
            servers.append(_start([sys.executable, "-m", *serve], env, logs["partnerbot"]))
            for side, floor in (("bare Bolt", []), (FLOOR, ["--floor", url])):
                bare = [sys.executable, "-m", "bench.ack", "--bare", str(ports[side]), *floor]
                servers.append(_start(bare, env, logs[side]))
            for (side, port), process in zip(ports.items(), servers, strict=True):
                _wait_healthy(port, process, logs[side])
            pss_started, _ = tree_memory(servers[0].pid)
            sent = 0

            def requests(side: str, probe: Probe, n: int) -> list[bytes]:
                nonlocal sent
                # Signed now: each load lasts far less than Slack's 5 minutes.
                made = [_signed_request(ports[side], probe.command, probe.text(sent + i)) for i in range(n)]
                sent += n
                return made

            def check(side: str, probe: Probe) -> bytes:
                return probe.check if side == "partnerbot" else b"ok"

            for probe in probes:
                # Each command's figures are its own: the messages an earlier one
                # queued (800 posts after `/update`'s 16 clients) are sent first.
                _wait_until_sent(url)
                for side, port in ports.items():  # warm-up
                    asyncio.run(_load(port, 4, requests(side, probe, 100), check(side, probe)))
                results[probe.label] = {}
                for label, many, total in (
                    ("1 client", 1, count),
                    (f"{clients} clients", clients, concurrent_count),
                ):
                    # The sides take turns in short rounds, so that whatever else the
                    # machine is doing slows both alike.
                    # The floor is measured one client at a time: it is what a single
                    # request cannot beat.
                    sides = {side: port for side, port in ports.items() if many == 1 or side != FLOOR}
                    times: dict[str, list[float]] = {side: [] for side in sides}
                    per_round = many * 10
                    for _ in range(max(total // per_round, 1)):
                        for side, port in sides.items():
                            times[side] += asyncio.run(
                                _load(port, many, requests(side, probe, per_round), check(side, probe))
                            )
                    results[probe.label][label] = {side: _percentiles(found) for side, found in times.items()}
            rss, peak = resident_memory(servers[0].pid)
            pss, rss_tree = tree_memory(servers[0].pid)
        finally:
            for process in servers:
                process.terminate()
            for process in servers:
                process.wait(10)
    shutil.rmtree(work, ignore_errors=True)  # kept when a server failed: its log is there
    if url.startswith("sqlite"):
        empty(engine)
    figures = _figures(results, clients)
    # The whole serve, the sending process included: a page the forked processes
    # share is counted once (PSS).
    answering = f"{workers} processes answering" if workers > 1 else "one process answering"
    figures.append(
        Figure(
            "memory",
            f"`serve` memory ({answering}, one sending), PSS summed, after the {clients}-client load",
            round(pss, 1),
            "MB",
            f"under {MEMORY_BUDGET_MB} MB",
            pss < MEMORY_BUDGET_MB,
            f"RSS summed {rss_tree:.0f} MB (parent {rss:.0f}, peak {peak:.0f}); "
            f"at start PSS {pss_started:.0f} MB",
        )
    )
    extra = {
        "latency": results,
        "rows": generated.counts,
        "requests_sent": sent,
        "workers": workers,
        "memory_mb": {"pss": round(pss, 1), "rss": round(rss_tree, 1), "parent_rss": round(rss, 1)},
    }
    return figures, extra


def _figures(results: dict, clients: int) -> list[Figure]:
    figures = []
    for label, loads in results.items():
        one, many = loads["1 client"], loads[f"{clients} clients"]
        ours, bare, floor = (one[side]["p50_ms"] for side in ("partnerbot", "bare Bolt", FLOOR))
        least = "write" if label.split()[0] in WRITES else "read"
        figures.append(
            Figure(
                "ack",
                f"`{label}`, 1 client, p50",
                ours,
                "ms",
                f"under {P50_BUDGET_MS:.0f} ms and {P50_RATIO_BUDGET:.0f}x bare",
                ours < P50_BUDGET_MS and ours <= P50_RATIO_BUDGET * bare,
                f"bare {bare:.2f} ms ({ours / bare:.1f}x); bare + one {least} {floor:.2f} ms "
                f"({floor / bare:.1f}x)",
            )
        )
        p99, bare99 = many["partnerbot"]["p99_ms"], many["bare Bolt"]["p99_ms"]
        figures.append(
            Figure(
                "ack",
                f"`{label}`, {clients} clients, p99",
                p99,
                "ms",
                f"under {P99_BUDGET_MS:.0f} ms",
                p99 < P99_BUDGET_MS,
                f"bare {bare99:.2f} ms; p50 {many['partnerbot']['p50_ms']:.2f} ms",
            )
        )
    return figures


def _run(args) -> int:
    figures, extra = measure(
        args.database,
        count=args.count,
        concurrent_count=args.concurrent_count,
        clients=args.clients,
        workers=args.workers,
    )
    database = dialect(database_url(args.database))
    serve = (
        f"serve with {args.workers} processes answering"
        if args.workers > 1
        else "serve in one process answering"
    )
    print(table(figures, title=f"Acknowledgements on {database}, {serve} (the bare Bolt app in one)"))
    path = write("ack", database, figures, extra)
    print(f"written to {path.relative_to(ROOT)}")
    return 0 if all(f.ok for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
