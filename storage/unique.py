"""Insert a row unless its unique key is already taken, atomically, on both
databases: how the outbox and the event inbox make 'once' hold across processes."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_if_new(session: Session, model: Any, *, unique_on: str, **values: Any) -> bool:
    """True when this call inserted the row; False when its `unique_on` value was taken."""
    statement = _statement(session.get_bind().dialect.name, model, unique_on)
    return session.execute(statement, values).scalar() is not None


@cache
def _statement(dialect: str, model: Any, unique_on: str) -> Executable:
    # Built once: the values come as parameters (SQLAlchemy compiles it once for
    # each set of columns given), so queueing a message builds no statement.
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(model).on_conflict_do_nothing(index_elements=[unique_on]).returning(model.id)
