"""Alembic environment: the tracker's metadata, batch mode for SQLite, type comparison."""

from __future__ import annotations

from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context

# Import every model module so that the metadata is complete.
from app.admin import models as _admin  # noqa: F401
from app.auth import models as _auth  # noqa: F401
from app.db import Base
from app.offices import models as _offices  # noqa: F401
from app.printjobs import models as _printjobs  # noqa: F401
from app.procedures import models as _procedures  # noqa: F401
from app.tracking import models as _tracking  # noqa: F401

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("sqlalchemy_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        from app import create_app

        url = create_app().config["SQLALCHEMY_DATABASE_URI"]
    return str(url)


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = sa.create_engine(_url(), poolclass=sa.pool.NullPool)
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connectable)


def _run(connection: sa.Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
