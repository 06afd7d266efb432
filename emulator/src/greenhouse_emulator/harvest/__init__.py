"""An in-process Harvest API emulator (v1 and v3, with the OAuth token endpoint) for
testing a Harvest client; see HarvestEmulator and the emulator README."""

from greenhouse_emulator.harvest.emulator import HarvestEmulator
from greenhouse_emulator.harvest.permissions import (
    ADD_USER,
    ALL_PERMISSIONS,
    CREATE_CUSTOM_FIELD,
    GET_CUSTOM_FIELDS,
    LIST_USERS,
    RETRIEVE_USER,
    UPDATE_APPLICATION,
)
from greenhouse_emulator.harvest.records import HarvestRequest, HarvestStats, TokenRequest
from greenhouse_emulator.harvest.v3 import V3_SCOPES

__all__ = [
    "ADD_USER",
    "ALL_PERMISSIONS",
    "CREATE_CUSTOM_FIELD",
    "GET_CUSTOM_FIELDS",
    "LIST_USERS",
    "RETRIEVE_USER",
    "UPDATE_APPLICATION",
    "V3_SCOPES",
    "HarvestEmulator",
    "HarvestRequest",
    "HarvestStats",
    "TokenRequest",
]
