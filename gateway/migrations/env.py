"""Alembic environment of the gateway, driven in code by :func:`gateway.db.upgrade`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

import gateway.contract_tables
import gateway.tables  # noqa: F401 - registers every table on Base.metadata
from gateway.db import VERSION_TABLE, Base, make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        version_table=VERSION_TABLE,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if not isinstance(engine, Engine):
        engine = make_engine(str(config.get_main_option("sqlalchemy.url")))
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table=VERSION_TABLE,
            render_as_batch=True,
            include_name=lambda name, type_, _parent: (
                type_ != "table" or str(name).startswith("gw_")
            ),
        )
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
