"""Alembic environment for the candidates database (PostgreSQL and SQLite)."""

from alembic import context

from alooba_common.migrations import run_migrations
from candidates.store.models import Base

run_migrations(context.config, Base.metadata, offline=context.is_offline_mode())
