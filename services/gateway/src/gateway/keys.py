"""Typed application keys (aiohttp's AppKey) for what the gateway keeps in its app."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from gateway.clients import Backends
from gateway.config import Settings
from gateway.metrics import HttpMetrics
from gateway.throttle import AuthThrottle
from gateway.webhook_gate import OrganizationLookups, VerificationGate


@dataclass
class Lifecycle:
    """Readiness as /readyz reports it: false before start-up and once SIGTERM arrives."""

    ready: bool = False


SETTINGS = web.AppKey("settings", Settings)
BACKENDS = web.AppKey("backends", Backends)
LIFECYCLE = web.AppKey("lifecycle", Lifecycle)
METRICS = web.AppKey("metrics", HttpMetrics)
AUTH_THROTTLE = web.AppKey("auth_throttle", AuthThrottle)
WEBHOOK_GATE = web.AppKey("webhook_gate", VerificationGate)
WEBHOOK_ORGANIZATIONS = web.AppKey("webhook_organizations", OrganizationLookups)
