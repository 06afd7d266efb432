"""Fixtures shared by the whole suite: real databases, migrated, one per service."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import structlog
from support.databases import SERVICES, DatabaseServer, discover

from alooba_common.config import LoggingSettings
from alooba_common.logging import log_processors
from alooba_common.migrations import upgrade_to_head


@pytest.fixture(scope="session", autouse=True)
def production_log_rendering() -> None:
    """Services running inside the test process log through the production chain (JSON,
    tracebacks without frame locals) rather than structlog's unconfigured default, whose
    tracebacks show every frame's locals (PII) and take seconds to render, enough to
    blow a request's deadline. Loggers are not cached and print to whatever sys.stdout
    is at the time, so capsys sees them."""
    structlog.configure(
        processors=log_processors(LoggingSettings(level="info", format="json"), service="test"),
        logger_factory=structlog.PrintLoggerFactory(),
        cache_logger_on_first_use=False,
    )


def migrations_of(service: str) -> Path:
    module = importlib.import_module(f"{service.replace('-', '_')}.server")
    path: Path = module.MIGRATIONS
    return path


@pytest.fixture(scope="session")
def database_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseServer]:
    server, container = discover(tmp_path_factory.mktemp("sqlite"))
    yield server
    server.drop_all()
    if container is not None:
        container.stop()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def new_databases(database_server: DatabaseServer) -> Callable[[], dict[str, str]]:
    """Makes a fresh, migrated database for each service: {service: DATABASE_URL}."""

    def make() -> dict[str, str]:
        urls = {service: database_server.create_database(service) for service in SERVICES}
        for service, url in urls.items():
            upgrade_to_head(migrations_of(service), url)
        return urls

    return make


@pytest.fixture(scope="session")
def shared_databases(new_databases: Callable[[], dict[str, str]]) -> dict[str, str]:
    """One set of migrated databases for the tests that can share them (tests keep to
    their own organizations, which is what tenants do too)."""
    return new_databases()
