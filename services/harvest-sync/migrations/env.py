"""Alembic environment for the harvest_sync database (PostgreSQL and SQLite)."""

from alembic import context

from alooba_common.migrations import run_migrations
from harvest_sync.store.models import Base

run_migrations(context.config, Base.metadata, offline=context.is_offline_mode())
