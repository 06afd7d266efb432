"""`python -m assessments [serve|migrate]`."""

from __future__ import annotations

from alooba_common.service_main import run_service
from assessments.config import Settings
from assessments.server import MIGRATIONS, serve


def run() -> None:
    run_service(
        name="assessments", load_settings=Settings.from_env, serve=serve, migrations=MIGRATIONS
    )


if __name__ == "__main__":
    run()
