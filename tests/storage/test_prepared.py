"""Statements run straight on the driver's cursor give what SQLAlchemy gives:
the same rows, the same types, the same errors, seen by the same events."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import bindparam, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from storage.models import Action, Meeting
from storage.prepared import Prepared, in_padded, padded, padded_size, read_together
from storage.session import make_engine, transaction
from tests.conftest import POSTGRES_URL
from tests.faults.proxy import Proxy
from tests.statements import counting

_MEETINGS = (
    select(Meeting.id, Meeting.group_id, Meeting.starts_at, Meeting.agenda_published_at, Meeting.status)
    .where(Meeting.starts_at > bindparam("after"), Meeting.status == "scheduled")
    .order_by(Meeting.starts_at, Meeting.id)
    .limit(5)
)


def test_rows_and_their_types_are_sqlalchemys(demo, clock):
    after = datetime(2015, 1, 1, tzinfo=UTC)
    prepared = Prepared(_MEETINGS)
    with transaction(demo) as session:
        connection = session.connection()
        expected = connection.execute(_MEETINGS, {"after": after}).all()
        found = prepared.rows(connection, {"after": after})

    assert len(expected) == 5
    assert [tuple(row) for row in found] == [tuple(row) for row in expected]
    first = found[0]
    assert first.starts_at.tzinfo is not None and first.starts_at.utcoffset() == timedelta(0)
    assert first.status == "scheduled" and first.id == expected[0].id


def test_a_date_and_a_count_come_back_as_sqlalchemy_reads_them(demo):
    statement = select(func.count(), func.min(Action.due)).where(Action.status == bindparam("status"))
    with transaction(demo) as session:
        connection = session.connection()
        expected = connection.execute(statement, {"status": "open"}).one()
        count, earliest = Prepared(statement).first(connection, {"status": "open"})
    assert (count, earliest) == tuple(expected) and isinstance(earliest, date) and count > 0


def test_its_statements_are_seen_by_the_engines_events(engine, demo):
    prepared = Prepared(_MEETINGS)
    with transaction(demo) as session, counting(engine) as statements:
        prepared.rows(session.connection(), {"after": datetime(2015, 1, 1, tzinfo=UTC)})
    assert len(statements) == 1 and "FROM meeting" in statements[0]


def test_an_error_comes_out_as_sqlalchemy_raises_it(demo):
    broken = Prepared(select(text("no_such_column")).select_from(Meeting.__table__))
    with pytest.raises(DBAPIError) as raised, transaction(demo) as session:
        broken.rows(session.connection())
    assert "no_such_column" in str(raised.value.statement) and raised.value.orig is not None


_OPEN_ACTIONS = Prepared(select(func.count()).select_from(Action).where(Action.status == "open"))


def test_reads_together_bring_what_each_brings_alone_and_are_each_seen(engine, demo):
    after = {"after": datetime(2015, 1, 1, tzinfo=UTC)}
    prepared = Prepared(_MEETINGS)
    with transaction(demo) as session:
        connection = session.connection()
        alone = [_OPEN_ACTIONS.rows(connection), prepared.rows(connection, after)]
        with counting(engine) as statements:
            together = read_together(connection, (_OPEN_ACTIONS, {}), (prepared, after))
    assert together == alone and alone[0][0][0] > 0 and len(alone[1]) == 5
    assert together[1][0].starts_at == alone[1][0].starts_at
    assert len(statements) == 2


def test_an_error_among_reads_together_comes_out_as_sqlalchemy_raises_it(demo):
    broken = Prepared(select(text("no_such_column")).select_from(Meeting.__table__))
    with pytest.raises(DBAPIError) as raised, transaction(demo) as session:
        read_together(session.connection(), (_OPEN_ACTIONS, {}), (broken, {}))
    assert "no_such_column" in str(raised.value.statement) and raised.value.orig is not None


def test_reads_together_take_one_round_trip_on_postgres(postgres_engine):
    """Through a network 50 ms each way, two reads one after the other take two
    round trips (200 ms); together, one."""
    url = make_url(POSTGRES_URL)
    with Proxy((url.host or "127.0.0.1", url.port or 5432), latency=0.05) as proxy:
        far = make_engine(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
        try:
            reads = ((_OPEN_ACTIONS, {}), (Prepared(_MEETINGS), {"after": datetime(2015, 1, 1, tzinfo=UTC)}))
            with far.connect() as connection:
                read_together(connection, *reads)  # connected, and the transaction begun
                started = time.monotonic()
                for prepared, parameters in reads:
                    prepared.rows(connection, parameters)
                one_by_one = time.monotonic() - started
                started = time.monotonic()
                read_together(connection, *reads)
                together = time.monotonic() - started
        finally:
            far.dispose()
    assert one_by_one >= 0.2 and together < 0.18, (one_by_one, together)


def test_a_statement_whose_sql_depends_on_its_values_is_refused(demo):
    expanding = select(Meeting.id).where(Meeting.group_id.in_(bindparam("groups", expanding=True)))
    with transaction(demo) as session, pytest.raises(ValueError, match="in_padded"):
        Prepared(expanding).rows(session.connection(), {"groups": [1]})


@settings(max_examples=20, deadline=None)
@given(st.lists(st.integers(min_value=-3, max_value=12), min_size=1, max_size=20))
def test_a_padded_in_finds_what_an_in_of_the_values_finds(sqlite_demo_sessions, ids):
    statement = select(Meeting.id).order_by(Meeting.id)
    size = padded_size(len(ids))
    assert len(ids) <= size < 2 * len(ids) or size == 1
    padded_statement = Prepared(statement.where(in_padded(Meeting.group_id, "group", size)))
    with transaction(sqlite_demo_sessions) as session:
        connection = session.connection()
        expected = connection.scalars(statement.where(Meeting.group_id.in_(ids))).all()
        found = [row.id for row in padded_statement.rows(connection, padded("group", ids))]
    assert found == expected


@pytest.fixture(scope="module")
def sqlite_demo_sessions(sqlite_templates, tmp_path_factory):
    """The demo partnership on SQLite, read only, for a test run many times over."""
    import shutil

    from storage.session import make_engine, make_session_factory

    path = tmp_path_factory.mktemp("prepared") / "demo.db"
    shutil.copy(sqlite_templates["demo"], path)
    engine = make_engine(f"sqlite:///{path}")
    yield make_session_factory(engine)
    engine.dispose()


def test_a_parameter_not_given_is_named(demo):
    with transaction(demo) as session, pytest.raises(ValueError, match="after"):
        Prepared(_MEETINGS).rows(session.connection(), {})
