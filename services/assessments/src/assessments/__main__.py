"""`python -m assessments [serve|migrate|reencrypt|lookup-hash-key]`."""

from __future__ import annotations

from alooba_common.service_main import run_service
from assessments.config import Settings
from assessments.jobs.reencrypt import print_lookup_hash_key, reencrypt_all
from assessments.server import MIGRATIONS, serve


def run() -> None:
    run_service(
        name="assessments",
        load_settings=Settings.from_env,
        serve=serve,
        migrations=MIGRATIONS,
        commands={"reencrypt": reencrypt_all, "lookup-hash-key": print_lookup_hash_key},
    )


if __name__ == "__main__":
    run()
