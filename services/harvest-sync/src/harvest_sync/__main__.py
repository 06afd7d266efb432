"""`python -m harvest_sync [serve|migrate|reencrypt]`."""

from __future__ import annotations

from alooba_common.service_main import run_service
from harvest_sync.config import Settings
from harvest_sync.jobs.reencrypt import reencrypt_all
from harvest_sync.server import MIGRATIONS, serve


def run() -> None:
    run_service(
        name="harvest-sync",
        load_settings=Settings.from_env,
        serve=serve,
        migrations=MIGRATIONS,
        commands={"reencrypt": reencrypt_all},
    )


if __name__ == "__main__":
    run()
