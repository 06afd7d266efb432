"""What we read out of Greenhouse's send_test values.

Greenhouse sends no candidate or application id of its own; they are parsed from
`greenhouse_profile_url` (https://app.greenhouse.io/people/{candidate_id}?application_id={id}).
That shape is observed, not documented, so the parser is strict about the candidate id
(we key everything on it) and lenient about the application id.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from yarl import URL

from alooba_common.errors import InvalidArgument

MAX_URL_LENGTH = 2048
# [0-9], not \d: \d matches every Unicode digit (fullwidth ones, say), which int() would
# then read as an id Greenhouse never sent.
_PEOPLE_PATH = re.compile(r"/people/([0-9]{1,18})(?:/|$)")
_DIGITS = re.compile(r"^[0-9]{1,18}$")


@dataclass(frozen=True, slots=True)
class ProfileIds:
    candidate_id: int
    application_id: int | None


# Why an invitation's scores cannot go to Greenhouse through Harvest (the invitation
# itself is created and sent all the same); the setup check shows them.
NO_PROFILE_URL = "no_profile_url"
URL_SHAPE = "url_shape"
NO_APPLICATION = "no_application"


@dataclass(frozen=True, slots=True)
class ProfileReading:
    """What a send_test's greenhouse_profile_url gave: the Greenhouse ids it names (None
    when it names no candidate) and, when they are not enough for a Harvest push, why."""

    ids: ProfileIds | None
    harvest_skip: str | None


def read_profile_url(url: str | None) -> ProfileReading:
    """Never refuses: the URL's shape is observed, not documented, and a send_test
    refused for it would be a candidate who never gets a test."""
    if not url or not url.strip():
        return ProfileReading(None, NO_PROFILE_URL)
    try:
        ids = parse_profile_url(url.strip())
    except InvalidArgument:
        return ProfileReading(None, URL_SHAPE)
    return ProfileReading(ids, NO_APPLICATION if ids.application_id is None else None)


def parse_profile_url(url: str) -> ProfileIds:
    """The Greenhouse candidate id (required) and application id (if present)."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidArgument("candidate.greenhouse_profile_url is too long")
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:  # an unbalanced "[" in the host, say
        raise InvalidArgument("candidate.greenhouse_profile_url is not a valid URL") from None
    if parts.scheme not in {"http", "https"} or not hostname:
        raise InvalidArgument("candidate.greenhouse_profile_url must be an absolute URL")
    match = _PEOPLE_PATH.search(parts.path)
    if not match:
        raise InvalidArgument(
            "candidate.greenhouse_profile_url must look like "
            "https://app.greenhouse.io/people/{candidate_id}?application_id={application_id}"
        )
    application_values = parse_qs(parts.query).get("application_id", [])
    application_id = None
    if application_values and _DIGITS.match(application_values[0]):
        application_id = int(application_values[0])
    return ProfileIds(candidate_id=int(match.group(1)), application_id=application_id)


HTTPS_PORT = 443
# A host name as the client connects to it (yarl's IDNA-encoded raw_host): letters,
# digits and hyphens in dot-separated labels, or an IP address. Anything else (a
# percent-escape, say) is no host Greenhouse would give.
_HOST = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*\.?")


def _allowlist_entry(entry: str) -> tuple[str, int]:
    """`host` (port 443) or `host:port`: the port must be named to be anything but 443."""
    host, colon, port = entry.rpartition(":")
    if colon and port.isdigit() and (":" not in host or host.endswith("]")):
        return host.strip("[]"), int(port)
    return entry, HTTPS_PORT


def host_allowed(host: str, allowlist: tuple[str, ...], port: int = HTTPS_PORT) -> bool:
    """Whether `host:port` is on the allow-list. `*.example.com` matches any subdomain of
    example.com (not example.com itself); an entry without a port allows 443 only."""
    host = host.lower().rstrip(".")
    for entry in allowlist:
        pattern, allowed_port = _allowlist_entry(entry)
        pattern = pattern.lower().rstrip(".")
        if port != allowed_port:
            continue
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False


def check_callback_url(url: str, allowlist: tuple[str, ...]) -> str:
    """Greenhouse's callback `url`, refused unless https on an allowed host and port: we
    will later send it the organization's key, so it must never point anywhere else.

    Read exactly as aiohttp will read it when it sends the PATCH (yarl.URL: IDNA, its own
    refusals), so the host judged here is the host connected to there."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidArgument("url is too long")
    try:
        parsed = URL(url)
        host = parsed.raw_host
        port = parsed.port
    except (ValueError, UnicodeError):
        raise InvalidArgument("url is not a valid URL") from None
    if parsed.scheme != "https" or not host:
        raise InvalidArgument("url must be an https URL")
    if parsed.raw_user is not None or parsed.raw_password is not None:
        raise InvalidArgument("url must not carry credentials")
    if not (_HOST.fullmatch(host) or _is_ip_address(host)):
        raise InvalidArgument("url host is not a valid host name")
    if not host_allowed(host, allowlist, port or HTTPS_PORT):
        if host_allowed(host, allowlist):
            raise InvalidArgument(f"url port {port} is not allowed: Greenhouse is called on 443")
        raise InvalidArgument(f"url host {host!r} is not an allowed Greenhouse host")
    return url


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
