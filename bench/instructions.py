"""Instructions each command of `bench/ack.py` costs, in one process, counted by
valgrind's callgrind: a figure that a busy machine cannot move, to compare code.

    .venv/bin/python -m bench.instructions                  # SQLite, a county partnership made afresh
    .venv/bin/python -m bench.instructions --database sqlite:////tmp/bench.db --keep

The milliseconds of bench/ack.py swing by a third from one minute to the next on
a shared machine, more than most changes move them; the instructions a command
runs do not (the same code counts the same to within about 1%). This runs the
commands as the Slack listener does (`bot.commands.core.run`, as the clerk, in a
channel of no group, keeping its connection as serve's threads do), each warmed up and then counted over `--count` runs, under
`valgrind --tool=callgrind` with counting switched on only around them; "the
fixed part" is "a command that does nothing": what every command pays (its
transaction, who is typing). Needs valgrind (Debian: `apt-get install valgrind`).

It counts whole requests too, as bench/ack.py's one client sends them, beside the
bare Bolt app's: signed slash commands through `serve`'s Starlette app (Bolt,
the command, the answer's JSON), called in the process as uvicorn would call it
(uvicorn and the network, the same for both, are left out). Not a budget: SPEC
9's are in milliseconds, measured by bench/ack.py, which counts what this does
not (a larger program's cache misses, the processes beside it); but a ratio of
instructions no load can move shows what the code itself costs against issue
16's 2x."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

WARM_UP = 30


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a SQLite or PostgreSQL URL holding bench/data.py's partnership")
    parser.add_argument(
        "--keep", action="store_true", help="use --database as it is (else: emptied, made afresh)"
    )
    parser.add_argument("--count", type=int, default=50, help="runs counted per command")
    parser.add_argument("--counted", help=argparse.SUPPRESS)  # the run under valgrind
    args = parser.parse_args(argv)
    if args.counted:
        _run_counted(args.counted, args.count)
        return 0
    if shutil.which("valgrind") is None:
        print("bench.instructions: valgrind is not installed (apt-get install valgrind)", file=sys.stderr)
        return 2
    url = args.database or f"sqlite:///{tempfile.mkdtemp(prefix='partnerbot-bench-')}/bench.db"
    if not args.keep:
        from bench.report import fresh

        fresh(url, scale=1)[0].dispose()
    with tempfile.TemporaryDirectory(prefix="partnerbot-callgrind-") as folder:
        out = Path(folder) / "callgrind.out"
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--callgrind-out-file={out}",
                sys.executable,
                "-m",
                "bench.instructions",
                "--counted",
                url,
                "--count",
                str(args.count),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        counted = {}
        for dump in sorted(Path(folder).glob("callgrind.out.*"), key=lambda p: int(p.suffix[1:])):
            text = dump.read_text(errors="replace")
            label = re.search(r"^desc: Trigger: dump (.*)$", text, re.M)
            totals = re.search(r"^totals: (\d+)", text, re.M)
            if label and totals:
                counted[label.group(1)] = int(totals.group(1)) / args.count
    print("| command | instructions a command |\n|---|---|")
    for label, instructions in counted.items():
        if not label.startswith(("request ", "bare ")):
            print(f"| {label} | {instructions / 1000:,.0f}k |")
    print("\n| a whole request | `serve` | the bare Bolt app | ratio |\n|---|---|---|---|")
    for label, instructions in counted.items():
        if label.startswith("request "):
            command = label.removeprefix("request ")
            bare = counted[f"bare {command}"]
            print(
                f"| {command} | {instructions / 1000:,.0f}k | {bare / 1000:,.0f}k | {instructions / bare:.2f}x |"
            )
    return 0


def _run_counted(url: str, count: int) -> None:
    """Inside valgrind: each command warmed up, then counted alone."""
    import storage.session
    from bench.ack import USER, _probes
    from bot.commands import COMMANDS
    from bot.commands.core import execute, run
    from services.clock import SystemClock
    from storage.session import make_engine, make_session_factory

    sessions = make_session_factory(make_engine(url))
    clock = SystemClock()
    commands = {
        "a command that does nothing": lambda i: execute(
            lambda context: "", label="nothing", sessions=sessions, clock=clock, slack_user_id=USER
        )
    }
    for probe in _probes(url):
        commands[probe.label] = lambda i, probe=probe: run(
            COMMANDS[probe.command],
            probe.text(i),
            sessions=sessions,
            clock=clock,
            slack_user_id=USER,
            channel_id="C0GENERAL",
        )
    me = str(os.getpid())
    # As serve's threads answering Slack do; code from before keeping_connections did without.
    keeping = getattr(storage.session, "keeping_connections", contextlib.nullcontext)
    with keeping():
        _count(commands, me, count)
    _count(_requests(url, _probes(url)), me, count)


def _requests(url: str, probes: list) -> dict[str, Callable[[int], object]]:
    """Each probe as a whole request to `serve`'s web app and to the bare app's,
    called as uvicorn calls them, in one event loop."""
    from bench.ack import SECRET, TOKEN, bare_web_app, signed
    from bot.server import build, settle
    from bot.settings import load
    from services.clock import SystemClock
    from storage.session import make_engine, make_session_factory

    api = "http://127.0.0.1:9/api/"  # never called: nothing here posts or opens a form
    settings = load(
        {"DATABASE_URL": url, "SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": api}
    )
    sessions = make_session_factory(make_engine(url))
    ours = build(settings=settings, sessions=sessions, clock=SystemClock(), on_queued=lambda: None).web
    bare = bare_web_app(api)
    settle()
    loop = _serving_loop()

    def request(app, command: str, text: str) -> None:
        body, headers = signed(command, text)
        status = asyncio.run_coroutine_threadsafe(_asgi_post(app, body, headers), loop).result()
        if status != 200:
            raise SystemExit(f"bench.instructions: {command} {text!r} answered {status}")

    requests: dict[str, Callable[[int], object]] = {}
    for probe in probes:
        for name, app in (("request", ours), ("bare", bare)):
            requests[f"{name} {probe.label}"] = lambda i, app=app, probe=probe: request(
                app, probe.command, probe.text(i)
            )
    return requests


def _serving_loop() -> asyncio.AbstractEventLoop:
    """An event loop in a thread of its own, in one task for as long as the process
    runs, as uvicorn's is: anyio's threads that answer requests last as long as
    that task (a loop run for each request would start new ones each time, and
    each new thread would look up the partnership and the person afresh)."""
    loop = asyncio.new_event_loop()
    started = threading.Event()

    async def serving() -> None:
        started.set()
        await asyncio.Event().wait()

    threading.Thread(target=loop.run_until_complete, args=(serving(),), daemon=True).start()
    started.wait()
    return loop


async def _asgi_post(app, body: bytes, headers: dict[str, str]) -> int:
    """POST /slack/events to an ASGI app as uvicorn would: its status."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/slack/events",
        "raw_path": b"/slack/events",
        "query_string": b"",
        "root_path": "",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 3000),
    }
    received = False
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal received
        if received:  # the body is read once; a second read waits for a disconnect that never comes
            await asyncio.Event().wait()
        received = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent[0]["status"]


def _count(commands: dict[str, Callable[[int], object]], me: str, count: int) -> None:
    """Each command warmed up, then `count` runs counted, dumped under its name.
    What is alive when counting starts is frozen, as `serve` freezes what it has
    built (bot.server.settle), so the garbage collector walks only what the
    counted runs make."""
    done = 0
    for label, command in commands.items():
        for _ in range(WARM_UP):
            command(done)
            done += 1
        gc.collect()
        gc.freeze()
        subprocess.run(["callgrind_control", "--zero", me], stdout=subprocess.DEVNULL, check=True)
        subprocess.run(["callgrind_control", "--instr=on", me], stdout=subprocess.DEVNULL, check=True)
        for _ in range(count):
            command(done)
            done += 1
        subprocess.run(["callgrind_control", "--instr=off", me], stdout=subprocess.DEVNULL, check=True)
        subprocess.run(["callgrind_control", f"--dump={label}", me], stdout=subprocess.DEVNULL, check=True)


if __name__ == "__main__":
    sys.exit(main())
