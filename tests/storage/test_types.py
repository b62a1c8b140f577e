"""UTCDateTime: aware datetimes in, the same instants out, in UTC; stored on
SQLite as the text SQLAlchemy's own DateTime writes, so rows written before and
after compare and sort alike."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, func, insert, select, text
from sqlalchemy.exc import StatementError

from storage.types import UTCDateTime

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def stamps(engine):
    metadata = MetaData()
    table = Table("stamp", metadata, Column("id", Integer, primary_key=True), Column("at", UTCDateTime))
    metadata.create_all(engine)
    yield table
    metadata.drop_all(engine)


@pytest.mark.parametrize(
    "at",
    [
        datetime(2015, 6, 1, 10, 30, tzinfo=LONDON),  # summer time: 09:30 UTC
        datetime(2015, 12, 1, 10, 30, 0, 123, tzinfo=LONDON),
        datetime(2015, 3, 29, 1, 59, 59, 999999, tzinfo=UTC),  # the moment before the clocks go forward
    ],
    ids=["summer", "winter-microseconds", "clock-change"],
)
def test_an_aware_datetime_comes_back_the_same_instant_in_utc(engine, stamps, at):
    with engine.begin() as connection:
        connection.execute(insert(stamps), {"id": 1, "at": at})
        back = connection.scalar(select(stamps.c.at))
        found = connection.scalar(select(func.count()).where(stamps.c.at == at))
    assert back == at and back.tzinfo == UTC
    assert found == 1  # a parameter compares equal to what was stored
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            stored = connection.scalar(text("SELECT at FROM stamp"))
        as_sqlalchemy_stores_it = DateTime().dialect_impl(engine.dialect).bind_processor(engine.dialect)
        assert stored == as_sqlalchemy_stores_it(at.astimezone(UTC).replace(tzinfo=None))


def test_a_naive_datetime_is_refused_and_nothing_is_stored(engine, stamps):
    with pytest.raises(StatementError, match="naive datetime"), engine.begin() as connection:
        connection.execute(insert(stamps), {"id": 1, "at": datetime(2015, 6, 1, 10, 30)})
    with engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(stamps)) == 0
