"""What we read out of Greenhouse's send_test values.

Greenhouse sends no candidate or application id of its own; they are parsed from
`greenhouse_profile_url` (https://app.greenhouse.io/people/{candidate_id}?application_id={id}).
That shape is observed, not documented, so the parser is strict about the candidate id
(we key everything on it) and lenient about the application id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

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


def host_allowed(host: str, allowlist: tuple[str, ...]) -> bool:
    """`*.example.com` matches any subdomain of example.com (not example.com itself)."""
    host = host.lower().rstrip(".")
    for pattern in allowlist:
        pattern = pattern.lower().rstrip(".")
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]) and len(host) > len(pattern) - 1:
                return True
        elif host == pattern:
            return True
    return False


def check_callback_url(url: str, allowlist: tuple[str, ...]) -> str:
    """Greenhouse's callback `url`, refused unless https on an allowed host: we will later
    send it the organization's key, so it must never point anywhere else."""
    if len(url) > MAX_URL_LENGTH:
        raise InvalidArgument("url is too long")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError:
        raise InvalidArgument("url is not a valid URL") from None
    if parts.scheme != "https" or not parts.hostname:
        raise InvalidArgument("url must be an https URL")
    if parts.username or parts.password:
        raise InvalidArgument("url must not carry credentials")
    if not host_allowed(parts.hostname, allowlist):
        raise InvalidArgument(f"url host {parts.hostname!r} is not an allowed Greenhouse host")
    return url
