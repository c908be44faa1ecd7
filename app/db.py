"""Database base class, the shared ``db`` handle and column type aliases."""

from __future__ import annotations

import datetime as dt
import enum
import time
from collections.abc import Callable, Hashable
from typing import Annotated, Any, TypeVar

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event, orm
from sqlalchemy.orm import mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    """The current instant, timezone-aware in UTC (the one clock of the server)."""
    return dt.datetime.now(dt.UTC)


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """A timestamp stored in UTC and always handed back timezone-aware.

    SQLite returns naive datetimes even for ``DateTime(timezone=True)``; normalizing here keeps
    every comparison in the code base the same on SQLite and PostgreSQL.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            msg = "naive datetime given to a UTC column"
            raise ValueError(msg)
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(orm.DeclarativeBase):
    registry = orm.registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={
            enum.Enum: sa.Enum(enum.Enum, native_enum=False, length=32),
            dt.datetime: UTCDateTime(),
        },
    )


db = SQLAlchemy(model_class=Base)

# PostgreSQL: the rows of a JSON array as records of a table's type, for the batch writes of
# scans (app.tracking.operations). json_populate_recordset itself is estimated at 100 rows,
# which makes the planner hash-join a small table's every row (or every open stay) for a
# batch of one; this wrapper says one row, so each row is found by its key. VOLATILE keeps
# it from being inlined (where the estimate would be json_populate_recordset's again).
# Migration 0017 creates it; so does create_all (the tests' schema).
BATCH_ROWS_DDL = (
    "CREATE OR REPLACE FUNCTION batch_rows(base anyelement, rows json) "
    "RETURNS SETOF anyelement "
    "LANGUAGE sql VOLATILE ROWS 1 "
    "AS 'SELECT * FROM json_populate_recordset(base, rows)'")
sa.event.listen(Base.metadata, "after_create",
                sa.DDL(BATCH_ROWS_DDL).execute_if(dialect="postgresql"))

T = TypeVar("T")

intpk = Annotated[int, mapped_column(primary_key=True)]
code32 = Annotated[str, mapped_column(sa.String(32))]
name200 = Annotated[str, mapped_column(sa.String(200))]
created_at = Annotated[dt.datetime, mapped_column(default=utcnow)]


def configure_sqlite(engine: sa.Engine) -> None:
    """Make SQLite behave under concurrent writers.

    WAL lets readers run beside the writer; ``BEGIN IMMEDIATE`` takes the write lock at the start
    of a transaction, so two requests can never both read and then fail to upgrade (the
    ``database is locked`` deadlock that deferred transactions hit); the busy timeout makes the
    second writer wait instead of failing.
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def commit_with_retry(work: Callable[[], T], attempts: int = 3) -> T:
    """Run ``work`` and commit: the one transaction of a request or command.

    A unique-constraint race (two clients registering the same code or posting the same event
    at once) loses only its turn: the work is rolled back and run again, and the second run
    sees what the winner committed. So does work that met a pooled connection the database
    had dropped (a restart): SQLAlchemy renews the pool, and the next run gets a fresh one.
    """
    for attempt in range(1, attempts + 1):
        try:
            result = work()
            db.session.commit()
            return result
        except sa.exc.DBAPIError as exc:
            retry = isinstance(exc, sa.exc.IntegrityError) or exc.connection_invalidated
            try:
                db.session.rollback()
            except sa.exc.DBAPIError:  # nothing left to undo on a dead connection
                db.session.remove()
            if not retry or attempt == attempts:
                raise
    raise AssertionError("unreachable")


def cached_for(namespace: str, key: Hashable, load: Callable[[], T]) -> T:
    """``load()``'s answer for ``key``, kept in this server process for ``CACHE_SECONDS``.

    For reference data read on every scan and changed a few times a year (calendar overrides,
    office hours, procedure names): a change made through this process applies at once
    (:func:`forget`), one made through another worker within ``CACHE_SECONDS``. Outside an
    app context nothing is kept.
    """
    if not has_app_context():
        return load()
    entries: dict[Hashable, tuple[float, T]] = current_app.extensions.setdefault(
        f"tracker.cache.{namespace}", {})
    now = time.monotonic()
    hit = entries.get(key)
    if hit is None or hit[0] <= now:
        hit = (now + float(current_app.config["CACHE_SECONDS"]), load())
        entries[key] = hit
    return hit[1]


def forget(namespace: str) -> None:
    """Drop what :func:`cached_for` keeps under ``namespace`` (after a change)."""
    if has_app_context():
        current_app.extensions.pop(f"tracker.cache.{namespace}", None)
