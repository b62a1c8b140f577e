"""Statements that every request runs, compiled once per database and run
straight on the driver's cursor.

SQLAlchemy's `Connection.execute` costs more than the query itself for the
small reads a command makes: each call builds the statement's cache key, its
parameters and a result around the cursor (about 100,000 instructions; the
query on SQLite about 15,000). A `Prepared` statement keeps what all that
produces, per dialect: the SQL text, the order of its parameters, and the
conversions SQLAlchemy's types make on the way in and out (a date as SQLite
stores it, say). What stays SQLAlchemy's is the statement itself, its events
(what tests/statements.py counts sees these too) and its errors: a driver error
comes out as SQLAlchemy would raise it, a lost connection invalidated.

A statement whose SQL depends on its parameters' values (an expanding IN) cannot
be prepared: `in_padded` gives an IN of a fixed number of parameters instead."""

from __future__ import annotations

import threading
from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Connection, FromClause, Insert, Integer, Select, Update, bindparam
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

_Processor = Callable[[Any], Any] | None

# A kept PostgreSQL connection's info (see storage.session.transaction's
# `answer_later`): the transaction's first question, still to be asked, to go
# with its first reads; and the answer it is expected to give, as a 1-tuple.
PENDING_FIRST = "partnerbot_pending_first"
EXPECTED_FIRST = "partnerbot_expected_first"
# ... and, for a transaction that writes, the BEGIN that goes before the question.
PENDING_BEGIN = "partnerbot_pending_begin"


class FirstAnswerChanged(Exception):
    """The transaction's first question, asked late, did not answer as expected
    (storage.session.expect_first): what was done on that answer is to be done again."""


def check_first_answer(info: dict, answer: Any) -> None:
    """The late first answer against the one expected, if one was."""
    expected = info.pop(EXPECTED_FIRST, None)
    if expected is not None and expected[0] != answer:
        raise FirstAnswerChanged(f"expected {expected[0]!r}, answered {answer!r}")


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # The parameters with their conversions: in the order the SQL takes them
    # (positional, as SQLite's "?"), or each once (named, as psycopg's "%(name)s").
    parameters: tuple[tuple[str, _Processor], ...]
    positional: bool
    literals: Mapping[str, Any]  # values the statement holds itself (a LIMIT, a status)
    result: tuple[_Processor, ...]
    make_row: Callable[[Iterable[Any]], tuple]


class Prepared:
    """A SELECT of columns (not ORM entities), an INSERT or an UPDATE, its values
    all parameters, run on the driver's cursor."""

    def __init__(self, statement: Select | Insert | Update) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}
        self._lock = threading.Lock()

    def rows(self, connection: Connection, parameters: Mapping[str, Any] | None = None) -> list[Any]:
        """Every row, as named tuples (`row.id`, `row[0]`)."""
        if PENDING_FIRST in connection.connection.info:  # with the first question, in one round trip
            return read_together(connection, (self, parameters or {}))[0]
        compiled = self._compiled_for(connection.dialect)
        return _made(compiled, _run(connection, compiled, parameters or {}, fetch=True))

    def first(self, connection: Connection, parameters: Mapping[str, Any] | None = None) -> Any | None:
        found = self.rows(connection, parameters)
        return found[0] if found else None

    def scalar(self, connection: Connection, parameters: Mapping[str, Any] | None = None) -> Any:
        row = self.first(connection, parameters)
        return row[0] if row is not None else None

    def execute(self, connection: Connection, parameters: Mapping[str, Any] | None = None) -> None:
        """Run it, reading nothing back (so, on PostgreSQL, in a pipeline too)."""
        _run(connection, self._compiled_for(connection.dialect), parameters or {}, fetch=False)

    def _compiled_for(self, dialect: Dialect) -> _Compiled:
        known = self._compiled.get(dialect.name)
        if known is None:
            with self._lock:
                known = self._compiled.setdefault(dialect.name, _compile(self.statement, dialect))
        return known


def pipelines(connection: Connection) -> bool:
    """Whether reads sent together save round trips here (`read_together`): on
    PostgreSQL through psycopg; SQLite, in the process, has none to save."""
    return connection.dialect.driver == "psycopg"


def read_together(connection: Connection, *reads: tuple[Prepared, Mapping[str, Any]]) -> list[list[Any]]:
    """The rows of each read (as `Prepared.rows`), for reads that do not wait on
    each other's answers: on PostgreSQL (psycopg) all sent at once, in a
    pipeline, and answered in one round trip; elsewhere run one after another.
    A first question still to be asked (`PENDING_FIRST`) goes first in the same
    pipeline, after the BEGIN of a transaction that writes (`PENDING_BEGIN`),
    and its answer is checked before any rows are given."""
    if not pipelines(connection):
        return [prepared.rows(connection, parameters) for prepared, parameters in reads]
    compiled = [(prepared._compiled_for(connection.dialect), parameters) for prepared, parameters in reads]
    info = connection.connection.info
    first = info.pop(PENDING_FIRST, None)
    begin = info.pop(PENDING_BEGIN, None) if first is not None else None
    dbapi_connection: Any = connection.connection.driver_connection
    cursors: list[Any] = []
    sql = ""
    try:
        with dbapi_connection.pipeline():
            if begin is not None:
                sql = begin
                dbapi_connection.execute(begin)
            if first is not None:
                cursors.append(dbapi_connection.cursor())
                sql = first
                cursors[0].execute(first)
            for each, parameters in compiled:
                cursor = dbapi_connection.cursor()
                cursors.append(cursor)
                sql, sent = _announced(connection, cursor, each, parameters)
                cursor.execute(sql, sent)
        # Leaving the pipeline sent it and read every answer; fetching inside it
        # would have cost a round trip of its own first.
        raw = [cursor.fetchall() for cursor in cursors]
    except connection.dialect.loaded_dbapi.Error as error:  # raised as the answers are read
        info.pop(EXPECTED_FIRST, None)
        raise driver_error(connection, error, sql) from error
    finally:
        for cursor in cursors:
            cursor.close()
    if first is not None:
        answered = raw.pop(0)
        check_first_answer(info, answered[0][0] if answered else None)
    return [_made(each, rows) for (each, _), rows in zip(compiled, raw, strict=True)]


def _made(compiled: _Compiled, raw: list[tuple]) -> list[Any]:
    make, processors = compiled.make_row, compiled.result
    if not any(processors):
        return [make(row) for row in raw]
    return [
        make([value if p is None else p(value) for p, value in zip(processors, row, strict=True)])
        for row in raw
    ]


def _compile(statement: Select | Insert | Update, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    if "__[POSTCOMPILE" in compiled.string:
        raise ValueError("a statement with an expanding IN cannot be prepared: use in_padded")
    positional = bool(compiled.positional)
    names = tuple(compiled.positiontup or ()) if positional else tuple(compiled.binds)
    bind = {name: b.type.dialect_impl(dialect).bind_processor(dialect) for name, b in compiled.binds.items()}
    columns = list(statement.exported_columns)  # a SELECT's columns, or what an INSERT returns
    result = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None) for c in columns)
    fields = [c.key or f"c{i}" for i, c in enumerate(columns)]
    return _Compiled(
        sql=compiled.string,
        parameters=tuple((name, bind[name]) for name in names),
        positional=positional,
        literals={name: b.value for name, b in compiled.binds.items() if not b.required},
        result=result,
        make_row=namedtuple("Row", fields, rename=True)._make,  # type: ignore[attr-defined]
    )


def _run(
    connection: Connection, compiled: _Compiled, parameters: Mapping[str, Any], *, fetch: bool
) -> list[tuple]:
    dbapi_connection: Any = connection.connection.driver_connection
    cursor = dbapi_connection.cursor()
    sql = compiled.sql
    try:
        sql, sent = _announced(connection, cursor, compiled, parameters)
        cursor.execute(sql, sent)
        return cursor.fetchall() if fetch else []
    except connection.dialect.loaded_dbapi.Error as error:
        raise driver_error(connection, error, sql) from error
    finally:
        cursor.close()


def _announced(
    connection: Connection, cursor: Any, compiled: _Compiled, parameters: Mapping[str, Any]
) -> tuple[str, Sequence[Any] | Mapping[str, Any]]:
    """The SQL and the driver's parameters, converted, as the connection's
    before_cursor_execute listeners leave them."""
    values = {**compiled.literals, **parameters} if compiled.literals else parameters
    try:
        if compiled.positional:
            sent: Sequence[Any] | Mapping[str, Any] = [
                values[name] if p is None else p(values[name]) for name, p in compiled.parameters
            ]
        else:
            sent = {name: values[name] if p is None else p(values[name]) for name, p in compiled.parameters}
    except KeyError as missing:
        raise ValueError(f"no value given for the parameter {missing}") from None
    sql = compiled.sql
    for listen in connection.dispatch.before_cursor_execute:
        sql, sent = listen(connection, cursor, sql, sent, None, False)
    return sql, sent


def driver_error(connection: Connection, error: Any, statement: str) -> StatementError:
    """A driver's error, raised outside SQLAlchemy's statement machinery, as
    SQLAlchemy would raise it; a connection that it says was lost is invalidated."""
    dialect = connection.dialect
    lost = dialect.is_disconnect(error, connection.connection.driver_connection, None)
    if lost:
        connection.invalidate(error)
    return DBAPIError.instance(
        statement, None, error, dialect.loaded_dbapi.Error, connection_invalidated=lost, dialect=dialect
    )


@cache
def _slots(prefix: str, size: int) -> tuple[str, ...]:
    return tuple(f"{prefix}_{i}" for i in range(size))


def padded_size(count: int) -> int:
    """The number of slots for `count` values: the next power of two."""
    size = 1
    while size < count:
        size *= 2
    return size


def in_padded(
    column: ColumnElement[Any] | QueryableAttribute[Any], prefix: str, size: int
) -> ColumnElement[bool]:
    """`column IN (:prefix_0, ... :prefix_{size-1})`, for `padded` values."""
    return column.in_([bindparam(name) for name in _slots(prefix, size)])


def padded(prefix: str, values: Sequence[Any]) -> dict[str, Any]:
    """The parameters of `in_padded` for these values (at least one): the last
    repeated to fill the slots, so a list of 1 to N values takes one of log2(N)
    statements."""
    slots = _slots(prefix, padded_size(len(values)))
    return {name: values[min(i, len(values) - 1)] for i, name in enumerate(slots)}


class next_id(FunctionElement[int]):  # noqa: N801 (used as a SQL function is)
    """The id the next row of `table` will get, drawn now, as a column of a read
    (on PostgreSQL, from the sequence behind its `id`; the value is that row's
    whether or not it is ever written). Elsewhere NULL: SQLite gives an id only as
    a row is written. A write that needs its row's id before the commit (for the
    rows that name it) can then be left for the commit too, one round trip fewer
    (see storage.session.at_commit)."""

    type = Integer()
    inherit_cache = True

    def __init__(self, table: FromClause) -> None:
        super().__init__(table.c.id)  # its one argument: what the statement's cache key tells apart

    @property
    def _from_objects(self) -> list[Any]:
        return []  # it reads the sequence, not the table


@compiles(next_id)
def _next_id_unknown(element: next_id, compiler: SQLCompiler, **kw: Any) -> str:
    return "NULL"


@compiles(next_id, "postgresql")
def _next_id_postgresql(element: next_id, compiler: SQLCompiler, **kw: Any) -> str:
    [id_column] = element.clauses
    table = id_column.table.name.replace('"', '""').replace("'", "''")
    return f"nextval(pg_get_serial_sequence('\"{table}\"', 'id'))"
