"""Benchmark: the weekly digest, built and rendered, at 1x and 10x the county data.

Budgets (SPEC 9): under 150 ms, at most 20 SQL statements at any data size.

    .venv/bin/python -m bench.digest                     # SQLite, in a temporary folder
    .venv/bin/python -m bench.digest --database postgresql+psycopg://postgres@127.0.0.1:5432/bench

The database is emptied, and the partnership generated (bench/data.py) at each
scale in turn. The figure is the median of several builds of the digest as the
Monday job builds it (`bot.jobs.digest.build_now` and `render`), in one transaction.
"""

from __future__ import annotations

import argparse
import statistics
import sys

from sqlalchemy import select

from bench.report import ROOT, Figure, database_url, dialect, fresh, table, timings_ms, write
from bot.jobs import digest
from storage.models import Partnership
from storage.session import make_session_factory, transaction
from tests.statements import counting

BUDGET_MS = 150.0
MOST_STATEMENTS = 20
RUNS = 9


def measure(url: str | None = None, *, scales: tuple[float, ...] = (1, 10)) -> tuple[list[Figure], dict]:
    url = database_url(url)
    figures, extra = [], {}
    for scale in scales:
        engine, generated = fresh(url, scale=scale)
        sessions = make_session_factory(engine)

        def build(sessions=sessions, now=generated.now) -> int:
            with transaction(sessions) as session:
                partnership = session.scalar(select(Partnership).limit(1))
                assert partnership is not None
                message = digest.render(digest.build_now(session, partnership, now))
            return len(message.text) + sum(len(section.text) for section in message.sections)

        wall, cpu = timings_ms(build, RUNS)
        with counting(engine) as statements:
            size = build()
        median = statistics.median(wall)
        label = f"{scale:g}x ({generated.counts['action']:,} actions)"
        figures += [
            Figure(
                "digest",
                f"weekly digest build, {label}",
                round(median, 2),
                "ms",
                f"under {BUDGET_MS:.0f} ms",
                median < BUDGET_MS,
                f"cpu {statistics.median(cpu):.1f} ms; {size:,} characters",
            ),
            Figure(
                "digest",
                f"weekly digest statements, {label}",
                len(statements),
                "statements",
                f"at most {MOST_STATEMENTS}",
                len(statements) <= MOST_STATEMENTS,
            ),
        ]
        extra[f"{scale:g}x"] = {
            "wall_ms": wall,
            "cpu_ms": cpu,
            "statements": statements,
            "rows": generated.counts,
        }
        engine.dispose()
    return figures, extra


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a database URL to empty and fill (default: SQLite, temporary)")
    parser.add_argument("--scale", type=float, action="append", help="scales to measure (default: 1 and 10)")
    args = parser.parse_args(argv)
    figures, extra = measure(args.database, scales=tuple(args.scale or (1, 10)))
    database = dialect(database_url(args.database))
    print(table(figures, title=f"Weekly digest on {database}"))
    print(f"written to {write('digest', database, figures, extra).relative_to(ROOT)}")
    return 0 if all(f.ok for f in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
