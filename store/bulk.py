"""Fast bulk inserts of plain dict rows, for demo data, imports and benchmarks (no ORM object per row)."""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from sqlalchemy import Connection, Dialect, Table
    from sqlalchemy.sql.schema import ScalarElementColumnDefault
    from sqlmodel import Session, SQLModel

# Rows per INSERT statement on SQLite, within its bound-parameter limit. FTS5 flushes the terms it
# has gathered at the end of every statement, so the search triggers cost far less CPU when one
# statement carries thousands of rows: inserting 100k messages took 28 s of CPU one row per
# statement, 9.4 s at 1,000 rows per statement and 8.4 s at 5,000.
SQLITE_ROWS_PER_STATEMENT = 5000

Row = Mapping[str, Any]


@dataclass(frozen=True)
class PreparedInsert:
    """Rows turned into statements and driver values, ready to execute on any thread.

    Preparing is pure Python and executing is mostly the database's own work, so a producer can
    prepare the next batch while another thread executes the last one.
    """

    table: Table
    statements: list[tuple[str, tuple[Any, ...]]]  # SQLite: multi-row INSERTs with their values
    rows: Sequence[Row] = ()  # other databases: rows for SQLAlchemy's own executemany


def table_of(model: type[SQLModel]) -> Table:
    table: Table | None = getattr(model, "__table__", None)
    if table is None:
        raise TypeError(f"{model.__name__} is not a table model (it has no __table__).")
    return table


def insert_rows(session: Session, model: type[SQLModel], rows: Sequence[Row]) -> None:
    """Insert ``rows`` (column name → value) into ``model``'s table in the session's transaction.

    Values go through the column types as in any insert, so an aware datetime is still required
    where the model says so, and the store's triggers (full-text search) fire for every row. The
    session's identity map learns nothing of these rows.

    Every row must name the same columns. A column left out of all rows gets the table's default;
    leaving it out of only some rows is refused, because a batch binds one column list. Rows that
    name their ``id`` keep it: see :func:`next_free_id` to allocate ids and link rows of other
    tables to them before inserting.
    """
    execute_prepared(session, prepare_insert(session.get_bind().dialect, model, rows))


def prepare_insert(dialect: Dialect, model: type[SQLModel], rows: Sequence[Row]) -> PreparedInsert:
    """Check ``rows`` and, on SQLite, bind them to statements; see :func:`insert_rows` for the rules."""
    table = table_of(model)
    if not rows:
        return PreparedInsert(table, [])
    check_same_columns(table.name, rows)
    if dialect.name != "sqlite" or has_python_defaults_to_fill(table, rows[0]):
        return PreparedInsert(table, [], rows)
    given = list(rows[0].keys())
    # A constant default is bound like a given value: the statement stays on the fast path.
    constants = scalar_defaults_to_fill(table, rows[0])
    names = given + list(constants)
    constant_values = list(constants.values())
    # dialect_impl: the type as this dialect stores it (e.g. SQLite's DATETIME text format), which
    # is what SQLAlchemy's own inserts bind; the generic type's processor would skip that step.
    processors = [
        (index, processor)
        for index, name in enumerate(names)
        if (processor := table.c[name].type.dialect_impl(dialect).bind_processor(dialect)) is not None
    ]
    quote = dialect.identifier_preparer.quote
    per_statement = max(1, min(SQLITE_ROWS_PER_STATEMENT, sqlite_parameter_limit() // len(names)))
    one_row = "(" + ",".join("?" * len(names)) + ")"
    head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(name) for name in names)}) VALUES "
    full_statement = head + ",".join([one_row] * per_statement)
    statements = []
    for start in range(0, len(rows), per_statement):
        batch = rows[start : start + per_statement]
        values: list[Any] = []
        for row in batch:
            row_values = [row[name] for name in given]
            row_values.extend(constant_values)
            for index, process in processors:
                row_values[index] = process(row_values[index])
            values.extend(row_values)
        statement = full_statement if len(batch) == per_statement else head + ",".join([one_row] * len(batch))
        statements.append((statement, tuple(values)))
    return PreparedInsert(table, statements)


def execute_prepared(session: Session, prepared: PreparedInsert) -> None:
    connection = session.connection()
    for statement, values in prepared.statements:
        connection.exec_driver_sql(statement, values)
    if prepared.rows:
        from sqlalchemy import insert

        table = prepared.table
        # RETURNING lets SQLAlchemy send the rows as multi-row statements ("insertmanyvalues").
        connection.execute(insert(table).returning(*table.primary_key.columns), list(prepared.rows)).close()
        if "id" in prepared.rows[0] and connection.dialect.name == "postgresql":
            resync_id_sequence(connection, table)


def check_same_columns(table_name: str, rows: Sequence[Row]) -> None:
    expected = rows[0].keys()
    for index, row in enumerate(rows):
        if row.keys() != expected:
            missing = sorted(set(expected) - set(row))
            extra = sorted(set(row) - set(expected))
            raise ValueError(
                f"Row {index} for {table_name} names other columns than row 0 "
                f"(missing {missing}, extra {extra}); every row of one insert must name the same columns."
            )


def has_python_defaults_to_fill(table: Table, row: Row) -> bool:
    """True when a column left out of the rows has a default that only SQLAlchemy computes.

    A constant default (``""``, ``False``, ``0``) is not one: :func:`scalar_defaults_to_fill` binds it.
    """
    return any(
        column.default is not None and not column.default.is_scalar
        for column in table.columns
        if column.name not in row
    )


def scalar_defaults_to_fill(table: Table, row: Row) -> dict[str, Any]:
    """The constant defaults of the columns left out of ``row``, by column name."""
    return {
        column.name: cast("ScalarElementColumnDefault", column.default).arg
        for column in table.columns
        if column.name not in row and column.default is not None and column.default.is_scalar
    }


@functools.cache
def sqlite_parameter_limit() -> int:
    """How many values one statement may bind in the SQLite library this process uses."""
    connection = sqlite3.connect(":memory:")
    try:
        return connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    finally:
        connection.close()


def update_rows(session: Session, model: type[SQLModel], rows: Sequence[Row]) -> None:
    """Set columns of existing rows by ``id``: each row is ``{"id": ..., column: new value, ...}``.

    Every row must name the same columns, as for :func:`insert_rows`.
    """
    if not rows:
        return
    from sqlalchemy import bindparam, update

    table = table_of(model)
    check_same_columns(table.name, rows)
    names = [name for name in rows[0] if name != "id"]
    # Bind names must differ from column names in an executemany UPDATE.
    statement = (
        update(table)
        .where(table.c.id == bindparam("match_id"))
        .values({name: bindparam(f"new_{name}") for name in names})
    )
    parameters = [{"match_id": row["id"], **{f"new_{name}": row[name] for name in names}} for row in rows]
    session.connection().execute(statement, parameters)


def next_free_id(session: Session, model: type[SQLModel]) -> int:
    """The first integer id above every id in ``model``'s table (1 for an empty table).

    Callers that assign ids themselves can link rows across tables before inserting any of them;
    they must hold the write transaction meanwhile, which a session's first insert takes on SQLite.
    """
    from sqlalchemy import func, select

    id_column = table_of(model).c.id
    highest = session.connection().execute(select(func.max(id_column))).scalar()
    return int(highest or 0) + 1


def assign_ids(rows: Iterable[dict[str, Any]], first_id: int) -> list[int]:
    """Give each row an ``id`` counting up from ``first_id``; returns the ids in row order."""
    ids = []
    for offset, row in enumerate(rows):
        row["id"] = first_id + offset
        ids.append(row["id"])
    return ids


def resync_id_sequence(connection: Connection, table: Table) -> None:
    """After explicit ids on PostgreSQL, move the id sequence past them so later inserts do not collide."""
    from sqlalchemy import text

    connection.execute(
        text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f"(SELECT COALESCE(MAX(id), 1) FROM {table.name}))"
        )
    )
