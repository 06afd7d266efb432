"""Acting for a person (ARCHITECTURE §8): the console passes the signed-in user, their
organization and their role in gRPC metadata, and a service scopes the call to that
organization.

The console sends `acting_metadata(actor)` with every call it makes. A servicer the
console calls asks `acting_user(context)` who (if anyone) the call acts for, and then
`scope(actor, organization_id)` / `require_role(actor, ...)` before it touches data:
another organization's ids read as NOT_FOUND, exactly as an unknown id does.

Who may send the metadata is decided from the caller's identity alone, in one function,
`actor_from_metadata`: only the console identity acts for a person, and the console
always must. The identity is the peer's SPIFFE id from its client certificate
(alooba_common.tls); every call carries one, since servers accept mutual TLS only.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import grpc
import structlog

from alooba_common.errors import DomainError, NotFound
from alooba_common.tls import Identity, peer_spiffe_id

ACTING_USER_KEY = "x-alooba-acting-user"
ACTING_ORGANIZATION_KEY = "x-alooba-acting-organization"
ACTING_ROLE_KEY = "x-alooba-acting-role"
# Sent ("1") only for a Member the organization made a grader: they may record evaluations.
ACTING_GRADER_KEY = "x-alooba-acting-grader"
_ACTING_KEYS = (ACTING_USER_KEY, ACTING_ORGANIZATION_KEY, ACTING_ROLE_KEY, ACTING_GRADER_KEY)

CONSOLE_IDENTITY = Identity.CONSOLE.spiffe_id

OWNER = "owner"
ADMIN = "admin"
MEMBER = "member"
ROLES = (OWNER, ADMIN, MEMBER)
# Who may see and change the Greenhouse key and Harvest (the seed's "Owner or Admin").
SETTINGS_ROLES = (OWNER, ADMIN)

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class PermissionDenied(DomainError):
    """The caller may not make this call (or not this way)."""

    code = grpc.StatusCode.PERMISSION_DENIED


@dataclass(frozen=True, slots=True)
class ActingUser:
    """The person a console call acts for."""

    user_id: str
    organization_id: str
    role: str
    # Whether the organization lets them record manual evaluations (CONSOLE.md: "Members
    # who are graders"); Owners and Admins may whatever this says.
    grader: bool = False


def is_identifier(value: str) -> bool:
    """Whether `value` has the shape of the ids acting metadata carries (users, organizations)."""
    return _ID.fullmatch(value) is not None


def acting_metadata(actor: ActingUser) -> tuple[tuple[str, str], ...]:
    """The metadata the console sends with every call it makes for `actor`."""
    metadata = (
        (ACTING_USER_KEY, actor.user_id),
        (ACTING_ORGANIZATION_KEY, actor.organization_id),
        (ACTING_ROLE_KEY, actor.role),
    )
    return (*metadata, (ACTING_GRADER_KEY, "1")) if actor.grader else metadata


def actor_from_metadata(
    metadata: Mapping[str, str | bytes], caller_identity: str | None
) -> ActingUser | None:
    """Who the call acts for, or None for a call that acts for nobody (an operator's, a
    service's). The rule, by caller identity:

    - the console: must send the user, organization and role, well formed, and the
      grader key only as "1" (PERMISSION_DENIED otherwise: the console never calls
      unscoped);
    - any other identity, or none: must send none of them (PERMISSION_DENIED).
    """
    present = {key: value for key, value in metadata.items() if key in _ACTING_KEYS}
    if caller_identity != CONSOLE_IDENTITY:
        if present:
            raise PermissionDenied("only the console acts for a person")
        return None
    if not present:
        raise PermissionDenied("the console must say whom it acts for")
    values = {key: value for key, value in present.items() if isinstance(value, str)}
    user_id = values.get(ACTING_USER_KEY, "")
    organization_id = values.get(ACTING_ORGANIZATION_KEY, "")
    role = values.get(ACTING_ROLE_KEY, "")
    grader = values.get(ACTING_GRADER_KEY)
    if not (_ID.fullmatch(user_id) and _ID.fullmatch(organization_id) and role in ROLES):
        raise PermissionDenied("malformed acting-user metadata")
    if ACTING_GRADER_KEY in present and grader != "1":
        raise PermissionDenied("malformed acting-user metadata")
    return ActingUser(
        user_id=user_id, organization_id=organization_id, role=role, grader=grader == "1"
    )


def acting_user(context: grpc.aio.ServicerContext[Any, Any]) -> ActingUser | None:
    """Who this call acts for (see actor_from_metadata); binds them for the log line."""
    metadata = {key: value for key, value in context.invocation_metadata() or ()}
    actor = actor_from_metadata(metadata, peer_spiffe_id(context))
    if actor is not None:
        structlog.contextvars.bind_contextvars(
            acting_user_id=actor.user_id, acting_organization_id=actor.organization_id
        )
    return actor


def scope(actor: ActingUser | None, organization_id: str) -> str:
    """`organization_id`, once it is the acting user's own (or nobody is acted for).
    Another organization's is NOT_FOUND, never a hint that it exists."""
    if actor is not None and organization_id.strip() != actor.organization_id:
        raise NotFound("no such organization")
    return organization_id


def require_role(actor: ActingUser | None, roles: Collection[str]) -> None:
    """PERMISSION_DENIED when the acting user's role is not one of `roles`."""
    if actor is not None and actor.role not in roles:
        raise PermissionDenied(f"the {actor.role} role may not do this")


def require_grader(actor: ActingUser | None) -> None:
    """PERMISSION_DENIED unless the acting user may record evaluations: Owners, Admins,
    and Members the organization made graders."""
    if actor is not None and actor.role not in SETTINGS_ROLES and not actor.grader:
        raise PermissionDenied("only Owners, Admins and graders record evaluations")


def refuse_actor(actor: ActingUser | None) -> None:
    """For calls no person may make through the console (creating organizations, say)."""
    if actor is not None:
        raise PermissionDenied("not available to the console")
