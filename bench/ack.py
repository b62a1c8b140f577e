"""How fast `partnerbot serve` acknowledges a slash command, beside a bare Bolt app.

    .venv/bin/python -m bench.ack                 # 400 requests one at a time, 1,600 from 16 clients
    .venv/bin/python -m bench.ack --count 200 --concurrent-count 800

Both sides run as real processes on the same stack (uvicorn, Starlette, Bolt with
process_before_response=True): `partnerbot serve` on SQLite with the demo
partnership loaded, pointed at a local Slack stand-in; and a bare Bolt app whose
command does nothing. Each gets signed `/action list` requests, first from one client at
a time, then from 16 concurrent clients, the two sides taking turns in short
rounds; the table shows p50 and p99 of both, and the figures are written as JSON
to bench/results/.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SECRET = "bench-signing-secret-000000000000"
TOKEN = "xoxb-bench"
TEXT = "list"  # the clerk's own open actions
USER = "U0CLERK01"  # Jess Marland, the clerk in the demo partnership


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=400, help="requests sent one at a time (each side)")
    parser.add_argument(
        "--concurrent-count", type=int, default=1600, help="requests sent by the concurrent clients"
    )
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--bare", type=int, metavar="PORT", help=argparse.SUPPRESS)  # the bare app's process
    args = parser.parse_args(argv)
    if args.bare:
        return _serve_bare(args.bare)
    return _run(args)


# -- the two servers ---------------------------------------------------------


def _serve_bare(port: int) -> int:
    """A Bolt app with a no-op /action, on the same web stack as `partnerbot serve`."""
    import uvicorn
    from slack_bolt import App
    from slack_bolt.authorization import AuthorizeResult
    from slack_sdk import WebClient

    from bot.server import create_web_app
    from storage.session import make_engine, make_session_factory

    bolt = App(
        client=WebClient(base_url=os.environ["SLACK_API_URL"]),
        signing_secret=SECRET,
        process_before_response=True,
        authorize=lambda enterprise_id, team_id: AuthorizeResult(
            enterprise_id=enterprise_id, team_id=team_id, bot_token=TOKEN
        ),
    )

    @bolt.command("/action")
    def action(ack) -> None:
        ack(response_type="ephemeral", text="ok")

    sessions = make_session_factory(make_engine("sqlite://"))
    uvicorn.run(
        create_web_app(bolt=bolt, sessions=sessions), host="127.0.0.1", port=port, log_level="warning"
    )
    return 0


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


def _signed_request(port: int) -> bytes:
    body = urlencode(
        {
            "token": "deprecated",
            "team_id": "T0TEAM001",
            "team_domain": "bench",
            "channel_id": "C0GENERAL",
            "channel_name": "general",
            "user_id": USER,
            "user_name": "clerk",
            "command": "/action",
            "text": TEXT,
            "api_app_id": "A0APP0001",
            "is_enterprise_install": "false",
            "response_url": "http://127.0.0.1:9/response/unused",
            "trigger_id": "1.2.3",
        }
    ).encode()
    timestamp = str(int(time.time()))
    signature = hmac.new(SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    head = (
        f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nX-Slack-Request-Timestamp: {timestamp}\r\n"
        f"X-Slack-Signature: v0={signature.hexdigest()}\r\n\r\n"
    )
    return head.encode() + body


async def _client(port: int, count: int, request: bytes, times: list[float], check: bytes) -> None:
    """One keep-alive connection sending `count` requests one after another."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for _ in range(count):
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            body = await reader.readexactly(length)
            times.append(time.perf_counter() - started)
            if not head.startswith(b"HTTP/1.1 200") or check not in body:
                raise SystemExit(f"bench: unexpected answer {head[:12]!r} {body[:200]!r}")
    finally:
        writer.close()


async def _load(port: int, clients: int, count: int, check: bytes) -> list[float]:
    request = _signed_request(port)  # signed now; a run lasts far less than Slack's 5 minutes
    times: list[float] = []
    each, extra = divmod(count, clients)
    await asyncio.gather(*(_client(port, each + (i < extra), request, times, check) for i in range(clients)))
    return times


def _percentiles(times: list[float]) -> dict[str, float]:
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49] * 1000, 2), "p99_ms": round(cuts[98] * 1000, 2), "n": len(times)}


# -- the run --------------------------------------------------------------------


def _run(args) -> int:
    from tests.slack.fake_api import FakeSlackAPI

    work = Path(tempfile.mkdtemp(prefix="partnerbot-bench-"))
    database = f"sqlite:///{work / 'bench.db'}"
    env = {"DATABASE_URL": database, "LOG_LEVEL": "WARNING"}
    subprocess.run(
        [sys.executable, "-m", "bot.cli", "load", "storage/examples/chorley.yaml"],
        env=os.environ | env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    servers: list[subprocess.Popen] = []
    with FakeSlackAPI() as slack:
        env |= {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.url}
        ports = {"partnerbot": _free_port(), "bare Bolt": _free_port()}
        logs = {side: work / f"{side.split()[0]}.log" for side in ports}
        try:
            servers.append(
                _start(
                    [
                        sys.executable,
                        "-m",
                        "bot.cli",
                        "serve",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        str(ports["partnerbot"]),
                    ],
                    env,
                    logs["partnerbot"],
                )
            )
            servers.append(
                _start(
                    [sys.executable, "-m", "bench.ack", "--bare", str(ports["bare Bolt"])],
                    env,
                    logs["bare Bolt"],
                )
            )
            for (side, port), process in zip(ports.items(), servers, strict=True):
                _wait_healthy(port, process, logs[side])
            checks = {"partnerbot": b"open actions", "bare Bolt": b"ok"}
            for side, port in ports.items():
                asyncio.run(_load(port, 4, 400, checks[side]))  # warm-up
            results: dict[str, dict[str, dict[str, float]]] = {}
            for label, clients, count in (
                ("1 client", 1, args.count),
                (f"{args.clients} clients", args.clients, args.concurrent_count),
            ):
                # The sides take turns in short rounds, so that whatever else the
                # machine is doing slows both alike.
                times: dict[str, list[float]] = {side: [] for side in ports}
                per_round = clients * 10
                for _ in range(max(count // per_round, 1)):
                    for side, port in ports.items():
                        times[side] += asyncio.run(_load(port, clients, per_round, checks[side]))
                results[label] = {side: _percentiles(found) for side, found in times.items()}
        finally:
            for process in servers:
                process.terminate()
            for process in servers:
                process.wait(10)
    shutil.rmtree(work, ignore_errors=True)  # kept when a server failed: its log is there
    _report(results)
    return 0


def _report(results: dict[str, dict[str, dict[str, float]]]) -> None:
    print(
        f"{'signed /action list':<22}{'partnerbot p50':>16}{'p99':>10}{'bare Bolt p50':>16}{'p99':>10}{'p50 ratio':>11}"
    )
    for label, sides in results.items():
        ours, bare = sides["partnerbot"], sides["bare Bolt"]
        print(
            f"{label:<22}{ours['p50_ms']:>13.2f} ms{ours['p99_ms']:>7.2f} ms"
            f"{bare['p50_ms']:>13.2f} ms{bare['p99_ms']:>7.2f} ms{ours['p50_ms'] / bare['p50_ms']:>10.2f}x"
        )
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"ack-{stamp}.json"
    path.write_text(json.dumps({"at": stamp, "database": "sqlite", "results": results}, indent=2) + "\n")
    print(f"written to {path.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
