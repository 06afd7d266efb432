"""`python -m harvest_sync [serve|migrate]`."""

from __future__ import annotations

from alooba_common.service_main import run_service
from harvest_sync.config import Settings
from harvest_sync.server import MIGRATIONS, serve


def run() -> None:
    run_service(
        name="harvest-sync", load_settings=Settings.from_env, serve=serve, migrations=MIGRATIONS
    )


if __name__ == "__main__":
    run()
