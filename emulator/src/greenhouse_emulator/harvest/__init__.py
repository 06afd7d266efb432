"""An in-process Harvest API emulator (v1 and v3, with the OAuth token endpoint) for
testing a Harvest client; see HarvestEmulator and the emulator README."""

from greenhouse_emulator.harvest.behaviour import V3Behaviour
from greenhouse_emulator.harvest.emulator import HarvestEmulator
from greenhouse_emulator.harvest.permissions import (
    ADD_USER,
    ALL_PERMISSIONS,
    ALL_SCOPES,
    APPLICATIONS_LIST,
    APPLICATIONS_UPDATE,
    CREATE_CUSTOM_FIELD,
    CUSTOM_FIELDS_CREATE,
    CUSTOM_FIELDS_LIST,
    GET_CUSTOM_FIELDS,
    LIST_USERS,
    RETRIEVE_USER,
    UPDATE_APPLICATION,
    USERS_CREATE,
    USERS_LIST,
)
from greenhouse_emulator.harvest.ratelimit import WindowCount
from greenhouse_emulator.harvest.records import HarvestRequest, HarvestStats, TokenRequest

__all__ = [
    "ADD_USER",
    "ALL_PERMISSIONS",
    "ALL_SCOPES",
    "APPLICATIONS_LIST",
    "APPLICATIONS_UPDATE",
    "CREATE_CUSTOM_FIELD",
    "CUSTOM_FIELDS_CREATE",
    "CUSTOM_FIELDS_LIST",
    "GET_CUSTOM_FIELDS",
    "LIST_USERS",
    "RETRIEVE_USER",
    "UPDATE_APPLICATION",
    "USERS_CREATE",
    "USERS_LIST",
    "HarvestEmulator",
    "HarvestRequest",
    "HarvestStats",
    "TokenRequest",
    "V3Behaviour",
    "WindowCount",
]
