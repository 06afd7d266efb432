"""Typed keys for what the app and each request carry."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from argon2 import PasswordHasher

from console.accounts import Accounts, Authenticator, LoginThrottle
from console.clients import Backends
from console.config import Settings
from console.metrics import HttpMetrics
from console.sessions import Sessions


@dataclass
class Lifecycle:
    ready: bool = False


@dataclass(frozen=True, slots=True)
class Services:
    """The use cases the pages call, built once by the composition root (server.py)."""

    accounts: Accounts
    authenticator: Authenticator
    throttle: LoginThrottle
    sessions: Sessions
    hasher: PasswordHasher
    # The database answers and its schema is this code's.
    database_ready: Callable[[], Awaitable[bool]]


SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", Services)
BACKENDS = web.AppKey("backends", Backends)
METRICS = web.AppKey("metrics", HttpMetrics)
LIFECYCLE = web.AppKey("lifecycle", Lifecycle)
