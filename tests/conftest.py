"""Fixtures shared by the whole suite.

Every database test runs twice: on SQLite and on PostgreSQL. PostgreSQL comes
from TEST_DATABASE_URL (default: the local server, user postgres, database
test). Where it does not answer, its runs are skipped and the summary says so,
unless PARTNERBOT_REQUIRE_POSTGRES=1 (CI), where they fail.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from bot.logs import KeyValueFormatter
from services.clock import MovableClock
from storage import migrate
from storage.models import Base
from storage.session import make_engine, make_session_factory
from tests.slack.signing import SIGNING_SECRET

pytest_plugins = ["tests.slack.fixtures"]

LONDON = ZoneInfo("Europe/London")
POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_POSTGRES = os.environ.get("PARTNERBOT_REQUIRE_POSTGRES") == "1"

_postgres_skips: list[str] = []
_LOOPBACK = ("127.", "::1", "localhost")


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """A test reaches this machine only: Slack, SMTP and the rest are stand-ins."""
    real_connect = socket.socket.connect

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6) and not str(address[0]).startswith(_LOOPBACK):
            raise AssertionError(f"a test tried to reach {address[0]}: only loopback is allowed")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


DEMO_NOW = datetime(2015, 4, 13, 9, 0, tzinfo=LONDON)
DEMO_FILE = Path(__file__).parent.parent / "storage" / "examples" / "chorley.yaml"
_demo_preloaded = pytest.StashKey[bool]()


def _load_demo(engine, now: datetime) -> None:
    from storage.partnership_file import load, read_file

    with make_session_factory(engine).begin() as session:
        load(session, read_file(DEMO_FILE), now=now)


@pytest.fixture(autouse=True)
def cli_logging_removed():
    """A test that runs the CLI in-process gets its logging set up (bot/logs.py):
    a handler on that test's captured stderr, closed when the test ends. Left in
    place, a delivery thread of a later test logging through it printed
    "Logging error: I/O operation on closed file"."""
    root = logging.getLogger()
    level = root.level
    yield
    for handler in root.handlers[:]:
        if isinstance(handler.formatter, KeyValueFormatter):
            root.removeHandler(handler)
    root.setLevel(level)


# Every token and secret the tests hand to the bot: none may reach a log line.
TEST_SECRETS = ("xoxb-test", "xapp-test", SIGNING_SECRET)


@pytest.fixture(autouse=True)
def no_secret_in_logs(caplog):
    yield
    formatter = KeyValueFormatter("%(message)s")
    for when in ("setup", "call", "teardown"):
        for record in caplog.get_records(when):  # type: ignore[arg-type]
            line = formatter.format(record)
            leaked = [secret for secret in TEST_SECRETS if secret in line]
            assert not leaked, f"a log line holds a secret: {line[:300]}"


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory) -> dict[str, str]:
    """SQLite files made once, each test getting a fresh copy of one: the schema
    alone ("empty"), and the schema with the demo partnership loaded ("demo")."""
    folder = tmp_path_factory.mktemp("db")
    templates = {}
    for name in ("empty", "demo"):
        path = folder / f"{name}.db"
        engine = make_engine(f"sqlite:///{path}")
        migrate.upgrade(engine)
        if name == "demo":
            _load_demo(engine, DEMO_NOW)
        with engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        engine.dispose()
        templates[name] = str(path)
    return templates


class Snapshot:
    """Every row of every table, taken once, put back in one transaction: how each
    PostgreSQL test starts from the demo partnership without loading it again."""

    def __init__(self, engine) -> None:
        with engine.connect() as connection:
            self.rows = {
                table: [dict(row._mapping) for row in connection.execute(table.select())]
                for table in Base.metadata.sorted_tables
            }

    @staticmethod
    def clear(connection) -> None:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())

    def restore(self, engine) -> None:
        with engine.begin() as connection:
            self.clear(connection)
            for table, rows in self.rows.items():
                if rows:
                    connection.execute(table.insert(), rows)
            _reset_sequences(connection)


def _reset_sequences(connection) -> None:
    """Ids go on from the highest row, as after a load: rows were put back with their ids."""
    parts = [
        f"setval(pg_get_serial_sequence('\"{t.name}\"', 'id'), "
        f'coalesce((SELECT max(id) FROM "{t.name}"), 0) + 1, false)'
        for t in Base.metadata.sorted_tables
    ]
    connection.execute(text("SELECT " + ", ".join(parts)))


@pytest.fixture(scope="session")
def postgres_engine():
    try:
        probe = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with probe.connect():
            pass
        probe.dispose()
    except (OperationalError, ModuleNotFoundError) as error:
        reason = f"PostgreSQL not reachable at {POSTGRES_URL}: {type(error).__name__}"
        if REQUIRE_POSTGRES:
            pytest.fail(reason + " (PARTNERBOT_REQUIRE_POSTGRES=1)", pytrace=False)
        _postgres_skips.append(reason)
        pytest.skip(reason)
    engine = make_engine(POSTGRES_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_demo(postgres_engine) -> Snapshot:
    with postgres_engine.begin() as connection:
        Snapshot.clear(connection)
    _load_demo(postgres_engine, DEMO_NOW)
    return Snapshot(postgres_engine)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    """The database a test runs on, fresh for it: empty, or holding the demo
    partnership already when the test asks for `demo` at the demo's own time."""
    with_demo = "demo" in request.fixturenames and request.getfixturevalue("clock").now() == DEMO_NOW
    request.node.stash[_demo_preloaded] = with_demo
    if request.param == "sqlite":
        path = tmp_path / "partnerbot.db"
        shutil.copy(request.getfixturevalue("sqlite_templates")["demo" if with_demo else "empty"], path)
        engine = make_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
    else:
        engine = request.getfixturevalue("postgres_engine")
        if with_demo:
            request.getfixturevalue("postgres_demo").restore(engine)
        else:
            with engine.begin() as connection:
                Snapshot.clear(connection)
                _reset_sequences(connection)
        yield engine


@pytest.fixture
def database_url(engine) -> str:
    return engine.url.render_as_string(hide_password=False)


@pytest.fixture
def db(engine):
    """The session factory, as the front ends get it."""
    return make_session_factory(engine)


@pytest.fixture
def session(db):
    with db() as session:
        yield session


@pytest.fixture
def clock() -> MovableClock:
    """Mon 13 Apr 2015, 09:00 in Chorley: a week before the April board."""
    return MovableClock(DEMO_NOW)


def pytest_terminal_summary(terminalreporter):
    if _postgres_skips:
        terminalreporter.write_sep("-", "PostgreSQL")
        terminalreporter.write_line(
            f"{_postgres_skips[0]}; every PostgreSQL run was skipped and the suite ran on "
            "SQLite only. Start PostgreSQL or set TEST_DATABASE_URL to run both."
        )


@pytest.fixture
def demo(request, engine, db, clock):
    """The bundled demo partnership, loaded: the Chorley board's shape, fictional people."""
    if not request.node.stash[_demo_preloaded]:
        _load_demo(engine, clock.now())
    return db


@pytest.fixture
def type_command(demo, clock):
    """Type a slash command as someone (a person id), optionally in a group's channel."""
    from bot.commands import COMMANDS
    from bot.commands.core import run

    def type_command(line: str, *, person: str | None = "clerk", channel: str | None = None):
        name, _, text = line.partition(" ")
        return run(COMMANDS[name], text, sessions=demo, clock=clock, person_key=person, channel_id=channel)

    return type_command


@pytest.fixture
def leave(demo, clock):
    """Load the demo file again without someone, as the engineer does when they leave
    the partnership: out of its people, every group and every workstream."""
    from storage.partnership_file import load, read_file

    def leave(key: str) -> None:
        data = read_file(DEMO_FILE)
        data["people"] = [p for p in data["people"] if p["id"] != key]
        for group in data["groups"]:
            group["members"] = [m for m in group.get("members", []) if m["person"] != key]
        for workstream in data.get("workstreams", []):
            for role in ("leads", "contributors"):
                workstream[role] = [k for k in workstream.get(role, []) if k != key]
        with demo.begin() as session:
            load(session, data, now=clock.now())

    return leave


def count_rows(sessions) -> dict[str, int]:
    """Rows in every table: what 'nothing was stored' is checked against."""
    from sqlalchemy import func, select

    with sessions() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables
        }
