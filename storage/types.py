"""Column types that keep the database honest about time."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC and hands them back aware.

    SQLite has no time zone support, so the value goes in as naive UTC and is
    re-labelled UTC on the way out; PostgreSQL stores timestamptz. A naive
    datetime is refused: it would be read in whatever zone the server has.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        value = _utc(value)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def bind_processor(self, dialect) -> Callable[[datetime | None], Any] | None:
        """On SQLite, the text SQLAlchemy's DateTime stores ("2015-04-13
        08:00:00.000000", naive UTC), written in one step by datetime's own
        isoformat: SQLAlchemy's formatting, after this type's conversion, was 6% of
        `/apologies`' time (bench/README.md)."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            return _utc(value).replace(tzinfo=None).isoformat(" ", "microseconds")

        return process

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: store aware datetimes only")
    return value.astimezone(UTC)
