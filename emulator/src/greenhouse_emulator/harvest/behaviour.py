"""How the emulator answers where Harvest v3's behaviour is still unconfirmed.

Each setting below is a fact that `../shared/reference/harvest-v3-facts.md` leaves open (its
row is named). The emulator can play every plausible behaviour; the default is the worst one
for a client, so that a client that works against the defaults works whichever way
Greenhouse turns out to behave. `V3Behaviour.other()` is the opposite choice of every
setting, for running the same suite against the other readings.
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass
from typing import Final, Literal

PatchMode = Literal["replace", "merge"]
ForbiddenBody = Literal["opaque", "insufficient_scope"]
NonAdminReads = Literal["empty", "forbidden"]
UnknownParameters = Literal["reject", "ignore"]
CreatedBody = Literal["id_only", "full"]
TokenRevocation = Literal["per_sub", "none"]
ExpiryField = Literal["expires_in", "expires_at", "both"]


@dataclass(frozen=True)
class V3Behaviour:
    """The emulator's choice for each unconfirmed Harvest v3 behaviour."""

    # Row 27: BM states that a v3 PATCH "replaces a record's custom_fields collection
    # wholesale"; Greenhouse's text says nothing. "replace": every custom field of the
    # application not in the body loses its value. "merge": v1's rule, the others stay.
    patch_custom_fields: PatchMode = "replace"
    # E12: SV states client credentials have "single-active-token semantics (a new token
    # revokes the prior)". "per_sub": minting a token revokes the earlier tokens of the
    # same client and `sub`; "none": tokens live until they expire.
    revocation: TokenRevocation = "per_sub"
    # Row 35: "the exact body of a 403 ... from an out-of-scope v3 token was never observed
    # on the wire" (W6W). "opaque": a missing scope and an acting user who is not a Site
    # Admin get the same `{"message": "Forbidden"}`; "insufficient_scope": RFC 6750's
    # `{"error": "insufficient_scope", "scope": ...}` with WWW-Authenticate.
    forbidden_body: ForbiddenBody = "opaque"
    # Row 36: whether the token response carries `scope` (no client-credentials example
    # showing it was found).
    token_scope: bool = False
    # E6: "GET endpoints are only accessible by site admin users. All other user types
    # will not return results." "empty": a list read by a user who is not a Site Admin
    # answers 200 []; "forbidden": 403.
    non_admin_reads: NonAdminReads = "empty"
    # E6 (inference): whether the service account (a token without `sub`) counts as a
    # Site Admin for reads. No source says it does.
    service_account_reads: bool = False
    # E3: "Harvest v3 REJECTS [an unsupported query parameter] with 422 (it does not
    # ignore it)" (SV's notes). "reject" or "ignore".
    unknown_query_parameters: UnknownParameters = "reject"
    # E5: "Harvest v3 accepts no idempotency key on any endpoint" (W6W). False: a repeated
    # POST creates again; True: an `Idempotency-Key` header makes a repeat answer as the
    # first did.
    idempotency_keys: bool = False
    # Row 24: only mocks of the 201 bodies were found (`{"id": 5}`). "id_only": POST
    # /v3/users and /v3/custom_fields answer `{"id": ...}`; "full": the whole record.
    created_body: CreatedBody = "id_only"
    # Row 37 (confirmed lifetime, conflicting field): W6W reads `expires_in` from the
    # OpenAPI document, SV, baton and AB parse an ISO-8601 `expires_at`.
    expiry_field: ExpiryField = "expires_in"

    @classmethod
    def worst_case(cls) -> V3Behaviour:
        """The defaults."""
        return cls()

    @classmethod
    def other(cls) -> V3Behaviour:
        """The other reading of every setting."""
        return cls(
            patch_custom_fields="merge",
            revocation="none",
            forbidden_body="insufficient_scope",
            token_scope=True,
            non_admin_reads="forbidden",
            service_account_reads=True,
            unknown_query_parameters="ignore",
            idempotency_keys=True,
            created_body="full",
            expiry_field="expires_at",
        )

    def describe(self) -> str:
        """One line naming every setting, for logs and the program's output."""
        return " ".join(
            f"{field.name}={getattr(self, field.name)}" for field in dataclasses.fields(self)
        )


PRESETS: Final = {"worst-case": V3Behaviour.worst_case, "other": V3Behaviour.other}
_CHOICES: Final = {
    "patch_custom_fields": ("replace", "merge"),
    "revocation": ("per_sub", "none"),
    "forbidden_body": ("opaque", "insufficient_scope"),
    "non_admin_reads": ("empty", "forbidden"),
    "unknown_query_parameters": ("reject", "ignore"),
    "created_body": ("id_only", "full"),
    "expiry_field": ("expires_in", "expires_at", "both"),
}
_FLAGS: Final = ("token_scope", "service_account_reads", "idempotency_keys")
_HELP: Final = {
    "patch_custom_fields": "row 27: a PATCH replaces the custom_fields collection, or merges",
    "revocation": "E12: a new token revokes the last of its client and sub, or not",
    "forbidden_body": "row 35: a 403 says nothing, or names the missing scope (RFC 6750)",
    "non_admin_reads": "E6: reads by a user who is not a Site Admin are empty, or 403",
    "unknown_query_parameters": "E3: an unsupported query parameter is a 422, or ignored",
    "created_body": "row 24: a create answers {id} only, or the whole record",
    "expiry_field": "row 37: the token answer's expires_in, expires_at, or both",
    "token_scope": "row 36: the token answer carries `scope`",
    "service_account_reads": "E6: the service account (no sub) reads as a Site Admin",
    "idempotency_keys": "E5: an Idempotency-Key header makes a repeated create answer the same",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`--v3-behaviour PRESET` and one option per setting (overriding the preset)."""
    group = parser.add_argument_group(
        "unconfirmed Harvest v3 behaviour (default: the worst case for a client)"
    )
    group.add_argument(
        "--v3-behaviour",
        choices=sorted(PRESETS),
        default="worst-case",
        help="every setting's worst reading, or the other one (default: %(default)s); "
        "the options below override it",
    )
    for name, choices in _CHOICES.items():
        group.add_argument(
            "--" + name.replace("_", "-"), choices=choices, default=None, help=_HELP[name]
        )
    for name in _FLAGS:
        group.add_argument(
            "--" + name.replace("_", "-"),
            action=argparse.BooleanOptionalAction,
            default=None,
            help=_HELP[name],
        )


def from_arguments(args: argparse.Namespace) -> V3Behaviour:
    """The behaviour `add_arguments`' options describe."""
    chosen = PRESETS[args.v3_behaviour]()
    overrides = {
        name: getattr(args, name)
        for name in (*_CHOICES, *_FLAGS)
        if getattr(args, name, None) is not None
    }
    return dataclasses.replace(chosen, **overrides)
