"""`python -m console [serve|migrate]`."""

from __future__ import annotations

from alooba_common.service_main import run_service
from console.config import Settings
from console.server import MIGRATIONS, serve


def run() -> None:
    run_service(name="console", load_settings=Settings.from_env, serve=serve, migrations=MIGRATIONS)


if __name__ == "__main__":
    run()
