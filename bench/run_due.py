"""Benchmark: `partnerbot jobs run-due` over the county data (50,000 actions).

Budgets (SPEC 9): under 1 s; the statements that work out what is due are the
same in number whatever the number of actions.

    .venv/bin/python -m bench.run_due                   # SQLite, in a temporary folder
    .venv/bin/python -m bench.run_due --database postgresql+psycopg://postgres@127.0.0.1:5432/bench

The database is emptied and the partnership generated (bench/data.py) with its
clock on a Monday at 09:05, so the weekly digest falls due beside the nudges and
meeting reminders. `run_due` runs as the scheduler runs it, with a sender that
records each message instead of calling Slack or SMTP: the first run queues and
sends everything due; the next, a minute later, finds little or nothing new, as
nearly every run does. The same is done at a tenth of the scale, and the
statements of the read that decides what is due compared.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bench.report import ROOT, Figure, database_url, dialect, fresh, table, write
from bot.jobs import run_due as jobs
from bot.jobs.deliveries import Claimed
from services.clock import MovableClock, SystemClock
from storage.session import make_session_factory
from tests.statements import counting

BUDGET_S = 1.0
ZONE = ZoneInfo("Europe/London")


class Recorder:
    """A sender that keeps what it is given: no network."""

    def __init__(self) -> None:
        self.sent: list[Claimed] = []

    def send(self, delivery: Claimed) -> None:
        self.sent.append(delivery)


def monday_morning() -> datetime:
    """The last Monday at 09:05 in London, when the weekly digest falls due."""
    today = SystemClock().now().astimezone(ZONE).date()
    monday = today - timedelta(days=today.weekday())
    return datetime(monday.year, monday.month, monday.day, 9, 5, tzinfo=ZONE)


def measure(url: str | None = None, *, scales: tuple[float, ...] = (1, 0.1)) -> tuple[list[Figure], dict]:
    url = database_url(url)
    now = monday_morning()
    figures, extra, decided_statements = [], {}, {}
    for scale in scales:
        engine, generated = fresh(url, scale=scale, now=now)
        sessions = make_session_factory(engine)
        clock = MovableClock(now)
        runs: list[dict[str, Any]] = []
        for label in ("first run", "a minute later"):
            sender = Recorder()
            with counting(engine) as statements:
                started = time.perf_counter()
                outcome = jobs.run_due(sessions=sessions, clock=clock, sender=sender)
                seconds = time.perf_counter() - started
            runs.append(
                {"run": label, "seconds": seconds, "statements": len(statements), "sent": outcome.sent}
            )
            clock.set(now + timedelta(minutes=1))
        with counting(engine) as statements:
            jobs.decide(sessions, now)
        decided_statements[scale] = len(statements)
        actions = generated.counts["action"]
        if scale == max(scales):
            for run in runs:
                figures.append(
                    Figure(
                        "run-due",
                        f"run-due, {actions:,} actions, {run['run']}",
                        round(run["seconds"], 3),
                        "s",
                        f"under {BUDGET_S:g} s",
                        run["seconds"] < BUDGET_S,
                        f"{run['sent']} messages sent, {run['statements']} statements",
                    )
                )
        extra[f"{scale:g}x"] = {"actions": actions, "runs": runs, "decide_statements": len(statements)}
        engine.dispose()
    counts = [f"{decided_statements[s]} at {s:g}x" for s in scales]
    same = len(set(decided_statements.values())) == 1
    figures.append(
        Figure(
            "run-due",
            "statements deciding what is due",
            decided_statements[max(scales)],
            "statements",
            "the same at every scale",
            same,
            ", ".join(counts),
        )
    )
    return figures, extra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a database URL to empty and fill (default: SQLite, temporary)")
    args = parser.parse_args(argv)
    figures, extra = measure(args.database)
    database = dialect(database_url(args.database))
    print(table(figures, title=f"run-due on {database}"))
    print(f"written to {write('run_due', database, figures, extra).relative_to(ROOT)}")
    return 0 if all(f.ok for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
