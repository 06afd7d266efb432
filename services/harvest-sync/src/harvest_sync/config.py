"""Settings for the harvest-sync service, read once from the environment in main()."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from alooba_common.config import DatabaseSettings, GrpcServerSettings, LoggingSettings


@dataclass(frozen=True, slots=True)
class Settings:
    server: GrpcServerSettings
    database: DatabaseSettings
    logging: LoggingSettings

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        return cls(
            server=GrpcServerSettings.from_env(environ),
            database=DatabaseSettings.from_env(environ, "sqlite:///var/harvest-sync.db"),
            logging=LoggingSettings.from_env(environ),
        )
