"""Alembic environment: migrations run in one real transaction, so a crash leaves the old schema."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, event

from store.models import SQLModel

config = context.config


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None, "store.migrate sets sqlalchemy.url"
    engine = create_engine(url)
    if url.startswith("sqlite"):
        # Python's sqlite3 module commits before DDL on its own; take the transaction over so
        # that a migration is all or nothing (SQLAlchemy's documented recipe for pysqlite).
        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            dbapi_connection.isolation_level = None
            dbapi_connection.execute("PRAGMA foreign_keys=OFF")

        @event.listens_for(engine, "begin")
        def _begin(connection):  # type: ignore[no-untyped-def]
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=SQLModel.metadata,
                transactional_ddl=True,
                render_as_batch=True,  # SQLite alters tables by copy-and-move
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()  # release the file (and its WAL) even when the upgrade failed


run_migrations_online()
