"""Every benchmark of SPEC 9 in one run, one table: `python -m bench`.

    .venv/bin/python -m bench                                   # SQLite, temporary files
    .venv/bin/python -m bench --database postgresql+psycopg://postgres@127.0.0.1:5432/bench
    .venv/bin/python -m bench --only ack --only digest
    .venv/bin/python -m bench --database postgresql+psycopg://... --workers 2   # serve in 2 processes

The database given is emptied and refilled by each benchmark in turn. The table
(Markdown, as bench/FIGURES.md holds it) shows each figure beside its budget;
everything is written as JSON to bench/results/. The exit status is 1 if any
figure is over its budget.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from bench import ack, digest, feed, run_due
from bench.report import ROOT, Figure, database_url, dialect, table, write

BENCHMARKS = {
    "ack": lambda url, args: ack.measure(
        url, count=args.count, concurrent_count=args.concurrent_count, workers=args.workers
    ),
    "digest": lambda url, args: digest.measure(url),
    "run-due": lambda url, args: run_due.measure(url),
    "feed": lambda url, args: feed.measure(url),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a database URL to empty and fill (default: SQLite, temporary)")
    parser.add_argument("--only", action="append", choices=sorted(BENCHMARKS), help="run only these")
    parser.add_argument("--count", type=int, default=200, help="ack: requests per command, one client")
    parser.add_argument(
        "--concurrent-count", type=int, default=800, help="ack: requests per command, 16 clients"
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="ack: processes of `partnerbot serve` (PostgreSQL only)"
    )
    args = parser.parse_args(argv)
    database = dialect(database_url(args.database))
    started = time.monotonic()
    figures: list[Figure] = []
    extra: dict[str, dict] = {}
    for name, measure in BENCHMARKS.items():
        if args.only and name not in args.only:
            continue
        print(f"bench: {name} on {database} ...", file=sys.stderr, flush=True)
        found, extra[name] = measure(args.database, args)
        figures += found
    minutes = (time.monotonic() - started) / 60
    revision = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    print(table(figures, title=f"partnerbot {revision} on {database}, {minutes:.1f} minutes"))
    print(f"written to {write('all', database, figures, extra).relative_to(ROOT)}")
    return 0 if all(f.ok for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
