"""Fixtures shared by the whole suite.

Every database test runs twice: on SQLite and on PostgreSQL. PostgreSQL comes
from TEST_DATABASE_URL (default: the local server, user postgres, database
test). Where it does not answer, its runs are skipped and the summary says so,
unless PARTNERBOT_REQUIRE_POSTGRES=1 (CI), where they fail.
"""

from __future__ import annotations

import os
import shutil
import socket
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from services.clock import MovableClock
from storage import migrate
from storage.models import Base
from storage.session import make_engine, make_session_factory

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


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    """A SQLite file migrated once; each test gets a fresh copy."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return str(path)


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


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request, tmp_path):
    if request.param == "sqlite":
        path = tmp_path / "partnerbot.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        engine = make_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
    else:
        engine = request.getfixturevalue("postgres_engine")
        yield engine
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


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
    return MovableClock(datetime(2015, 4, 13, 9, 0, tzinfo=LONDON))


def pytest_terminal_summary(terminalreporter):
    if _postgres_skips:
        terminalreporter.write_sep("-", "PostgreSQL")
        terminalreporter.write_line(
            f"{_postgres_skips[0]}; every PostgreSQL run was skipped and the suite ran on "
            "SQLite only. Start PostgreSQL or set TEST_DATABASE_URL to run both."
        )


DEMO_FILE = Path(__file__).parent.parent / "storage" / "examples" / "chorley.yaml"


@pytest.fixture
def demo(db, clock):
    """The bundled demo partnership, loaded: the Chorley board's shape, fictional people."""
    from storage.partnership_file import load, read_file

    with db() as session, session.begin():
        load(session, read_file(DEMO_FILE), now=clock.now())
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


def count_rows(sessions) -> dict[str, int]:
    """Rows in every table: what 'nothing was stored' is checked against."""
    from sqlalchemy import func, select

    with sessions() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables
        }
