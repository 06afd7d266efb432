"""A Harvest credential: how it is held in memory, sealed at rest, and fingerprinted."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum

from alooba_common.errors import InvalidArgument
from alooba_common.secrets import SecretBox


class HarvestMode(StrEnum):
    """Which Harvest API a credential is for (the same text in the database and the protos)."""

    V1 = "v1"
    V3 = "v3"


V1 = HarvestMode.V1
V3 = HarvestMode.V3


@dataclass(frozen=True, slots=True)
class Credential:
    mode: HarvestMode
    # v1: the API key. v3: the OAuth client id and secret.
    api_key: str = ""
    client_id: str = ""
    client_secret: str = ""

    def __repr__(self) -> str:  # secrets never reach a log line or a traceback
        return f"Credential(mode={self.mode!r})"

    @classmethod
    def v1(cls, api_key: str) -> Credential:
        api_key = api_key.strip()
        if not api_key or len(api_key) > 500 or not api_key.isprintable():
            raise InvalidArgument("a Harvest API key is required (printable, at most 500 chars)")
        return cls(mode=V1, api_key=api_key)

    @classmethod
    def v3(cls, client_id: str, client_secret: str) -> Credential:
        client_id, client_secret = client_id.strip(), client_secret.strip()
        for name, value in (("client_id", client_id), ("client_secret", client_secret)):
            if not value or len(value) > 500 or not value.isprintable():
                raise InvalidArgument(f"{name} is required (printable, at most 500 chars)")
        return cls(mode=V3, client_id=client_id, client_secret=client_secret)

    def fingerprint(self) -> str:
        """Identifies the credential without revealing it: Greenhouse's rate limit is per
        key, so organizations sharing one share a budget."""
        material = json.dumps([self.mode, self.api_key, self.client_id, self.client_secret])
        return hashlib.sha256(material.encode()).hexdigest()

    def seal(self, box: SecretBox, organization_id: str) -> str:
        plain = json.dumps(
            {"api_key": self.api_key, "client_id": self.client_id, "secret": self.client_secret}
        )
        return box.encrypt(plain, context=sealing_context(organization_id, self.mode))

    @classmethod
    def unseal(cls, box: SecretBox, organization_id: str, mode: str, sealed: str) -> Credential:
        plain = json.loads(box.decrypt(sealed, context=sealing_context(organization_id, mode)))
        return cls(
            mode=HarvestMode(mode),
            api_key=plain["api_key"],
            client_id=plain["client_id"],
            client_secret=plain["secret"],
        )


def sealing_context(organization_id: str, mode: str) -> str:
    # Bound to the organization and mode: a sealed credential copied onto another row
    # does not decrypt.
    return f"harvest-credential:{organization_id}:{mode}"
