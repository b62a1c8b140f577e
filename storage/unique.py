"""Insert a row unless its unique key is already taken, atomically, on both
databases: how the outbox and the event inbox make 'once' hold across processes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from sqlalchemy import JSON, Executable, Insert, bindparam, column, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_if_new(session: Session, model: Any, *, unique_on: str, **values: Any) -> bool:
    """True when this call inserted the row; False when its `unique_on` value was taken."""
    statement = _statement(session.get_bind().dialect.name, model, unique_on)
    # Straight to the connection: through the session it went the ORM's bulk-insert way.
    return session.connection().execute(statement, values).scalar() is not None


@cache
def _statement(dialect: str, model: Any, unique_on: str) -> Executable:
    # Built once: the values come as parameters (SQLAlchemy compiles it once for
    # each set of columns given), so queueing a message builds no statement.
    return unless_taken(dialect, model, unique_on).returning(model.id)


def unless_taken(dialect: str, model: Any, unique_on: str) -> Insert:
    """An INSERT into `model` that leaves a row alone, atomically, when its
    `unique_on` value is taken: its values or a SELECT to follow."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(model).on_conflict_do_nothing(index_elements=[unique_on])


def insert_new(
    session: Session,
    model: Any,
    *,
    unique_on: str,
    rows: Sequence[Mapping[str, Any]],
    shared: Mapping[str, Any] | None = None,
) -> set[Any]:
    """Insert, in the order given, each row whose `unique_on` value is not taken
    (every row has the same columns, and the `shared` values besides); the
    `unique_on` values this call inserted (one taken meanwhile by another process
    is left alone, as in `insert_if_new`). Writers that may race insert in the
    same order (sorted by `unique_on`), so on PostgreSQL neither waits for a row
    that the other will wait for in turn.

    One statement and one round trip, whatever the number of rows: on PostgreSQL
    the rows travel as one JSON document (`INSERT ... SELECT FROM
    json_to_recordset(...)`), so the statement is short and the same each time and
    the rows cost one `json.dumps` (their values must be JSON: strings, numbers,
    dicts; datetimes go in `shared`); SQLite, in this process, runs the one
    statement with the rows as its parameters (executemany)."""
    if not rows:
        return set()
    table = model.__table__
    shared = dict(shared or {})
    if session.get_bind().dialect.name != "postgresql":
        statement = (
            sqlite.insert(table)
            .on_conflict_do_nothing(index_elements=[unique_on])
            .returning(table.c[unique_on])
        )
        return set(session.connection().scalars(statement, [{**row, **shared} for row in rows]))
    varying = list(rows[0])
    source = (
        func.json_to_recordset(bindparam("rows", list(rows), type_=JSON))
        .table_valued(*(column(name, table.c[name].type) for name in varying))
        .render_derived(with_types=True)
    )
    constants = [literal(value, table.c[name].type).label(name) for name, value in shared.items()]
    statement = (
        postgresql.insert(table)
        .from_select([*varying, *shared], select(*(source.c[name] for name in varying), *constants))
        .on_conflict_do_nothing(index_elements=[unique_on])
        .returning(table.c[unique_on])
    )
    return set(session.connection().scalars(statement))
