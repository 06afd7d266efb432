"""Alembic environment for the assessments database (PostgreSQL and SQLite)."""

from alembic import context

from alooba_common.migrations import run_migrations
from assessments.store.models import Base

run_migrations(context.config, Base.metadata, offline=context.is_offline_mode())
