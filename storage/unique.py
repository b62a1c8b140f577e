"""Insert a row unless its unique key is already taken, atomically, on both
databases: how the outbox and the event inbox make 'once' hold across processes."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_if_new(session: Session, model: Any, *, unique_on: str, **values: Any) -> bool:
    """True when this call inserted the row; False when its `unique_on` value was taken."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(model).values(**values).on_conflict_do_nothing(index_elements=[unique_on]).returning(model.id)
    )
    return session.execute(statement).scalar() is not None
