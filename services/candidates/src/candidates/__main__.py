"""`python -m candidates [serve|migrate]`."""

from __future__ import annotations

from alooba_common.service_main import run_service
from candidates.config import Settings
from candidates.server import MIGRATIONS, serve


def run() -> None:
    run_service(
        name="candidates", load_settings=Settings.from_env, serve=serve, migrations=MIGRATIONS
    )


if __name__ == "__main__":
    run()
