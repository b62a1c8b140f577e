"""What every benchmark hands back: figures, each beside its budget; one table
printed and one JSON file written to bench/results/ (git-ignored)."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, text

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


@dataclass(frozen=True)
class Figure:
    """One measured figure: `value` in `unit`, within budget when `ok`; `budget`
    says the budget in words, `beside` what it is compared with (the bare app)."""

    bench: str
    name: str
    value: float
    unit: str
    budget: str
    ok: bool
    beside: str = ""

    @property
    def shown(self) -> str:
        return f"{self.value:,.2f} {self.unit}" if self.unit != "statements" else f"{self.value:.0f}"


def machine() -> str:
    load = os.getloadavg()
    return f"{os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"


def table(figures: list[Figure], *, title: str) -> str:
    """The figures as a Markdown table (printed, and pasted into bench/README.md)."""
    lines = [
        f"{title} ({machine()})",
        "",
        "| benchmark | figure | measured | beside | budget | |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures:
        verdict = "ok" if f.ok else "**OVER**"
        lines.append(f"| {f.bench} | {f.name} | {f.shown} | {f.beside} | {f.budget} | {verdict} |")
    return "\n".join(lines)


def write(bench: str, database: str, figures: list[Figure], extra: dict | None = None) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS / f"{bench}-{database}-{stamp}.json"
    document = {
        "at": stamp,
        "database": database,
        "machine": machine(),
        "figures": [asdict(f) for f in figures],
    }
    path.write_text(json.dumps(document | (extra or {}), indent=2) + "\n")
    return path


def database_url(given: str | None) -> str:
    """The database a benchmark empties and fills: the one given (PostgreSQL or a
    SQLite file), or a fresh SQLite file in a temporary folder."""
    return given or f"sqlite:///{tempfile.mkdtemp(prefix='partnerbot-bench-')}/bench.db"


def empty(engine: Engine) -> None:
    """Drop everything in the benchmark's database, so migrations start afresh."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    else:
        path = engine.url.database
        engine.dispose()
        if path and os.path.exists(path):
            os.remove(path)


def dialect(url: str) -> str:
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def fresh(url: str, *, scale: float, now: datetime | None = None):
    """Empty the database, migrate it and generate the county partnership at `scale`:
    the engine and what was generated."""
    from bench.data import generate
    from storage import migrate
    from storage.session import make_engine

    empty(make_engine(url))
    engine = make_engine(url)
    migrate.upgrade(engine)
    generated = generate(engine, scale=scale, now=now)
    if engine.dialect.name == "postgresql":
        vacuum_analyze(engine)
    return engine, generated


def vacuum_analyze(engine: Engine) -> None:
    """What autovacuum does soon after a bulk load (an insert-driven vacuum since
    PostgreSQL 13, then statistics): without statistics the planner guesses, and a
    freshly loaded 500,000 actions read as a few pages; without the vacuum's
    visibility map, a count that an index could answer reads every row as well."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))


def timings_ms(run: Callable[[], object], runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock and this process's CPU milliseconds of each of `runs` runs, after one to warm up."""
    run()
    wall, cpu = [], []
    for _ in range(runs):
        started, cpu_started = time.perf_counter(), time.process_time()
        run()
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
    return wall, cpu
