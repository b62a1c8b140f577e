"""Telling "the database is gone" from "the database said no": the first gets a
reply that says so, the second stays an error (or, with lock timeouts, "busy")."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from storage.session import is_unreachable, make_engine
from tests.conftest import POSTGRES_URL
from tests.faults.proxy import Proxy


def error_of(engine, *statements: str) -> DBAPIError:
    with pytest.raises(DBAPIError) as caught, engine.connect() as connection:
        for statement in statements:
            connection.execute(text(statement))
    return caught.value


@pytest.fixture
def through_proxy(postgres_engine):
    url = make_url(POSTGRES_URL)
    with Proxy((url.host or "127.0.0.1", url.port or 5432)) as proxy:
        engine = make_engine(url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False))
        yield proxy, engine
        engine.dispose()


def test_a_connection_refused_or_dropped_is_unreachable(through_proxy):
    proxy, engine = through_proxy
    with engine.connect() as connection:
        proxy.cut()
        with pytest.raises(DBAPIError) as dropped:
            connection.execute(text("SELECT 1"))
    assert is_unreachable(dropped.value)
    assert is_unreachable(error_of(engine, "SELECT 1"))  # a new connection, refused
    proxy.restore()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT 1")).scalar() == 1


def test_a_lock_timeout_or_a_bad_statement_is_not(postgres_engine):
    with postgres_engine.connect() as holder:
        holder.execute(text("LOCK TABLE partnership IN ACCESS EXCLUSIVE MODE"))
        timed_out = error_of(postgres_engine, "SET lock_timeout = '50ms'", "SELECT * FROM partnership")
        holder.rollback()
    assert not is_unreachable(timed_out)
    assert not is_unreachable(error_of(postgres_engine, "SELECT * FROM no_such_table"))
    assert not is_unreachable(ValueError("not a database error"))
