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
Not a budget: SPEC 9's are in milliseconds, measured by bench/ack.py."""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
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
        print(f"| {label} | {instructions / 1000:,.0f}k |")
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


def _count(commands: dict[str, Callable[[int], object]], me: str, count: int) -> None:
    """Each command warmed up, then `count` runs counted, dumped under its name."""
    done = 0
    for label, command in commands.items():
        for _ in range(WARM_UP):
            command(done)
            done += 1
        subprocess.run(["callgrind_control", "--zero", me], stdout=subprocess.DEVNULL, check=True)
        subprocess.run(["callgrind_control", "--instr=on", me], stdout=subprocess.DEVNULL, check=True)
        for _ in range(count):
            command(done)
            done += 1
        subprocess.run(["callgrind_control", "--instr=off", me], stdout=subprocess.DEVNULL, check=True)
        subprocess.run(["callgrind_control", f"--dump={label}", me], stdout=subprocess.DEVNULL, check=True)


if __name__ == "__main__":
    sys.exit(main())
