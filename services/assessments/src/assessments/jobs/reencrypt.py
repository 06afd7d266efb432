"""`python -m assessments reencrypt` and `python -m assessments lookup-hash-key`: the
assessments side of a key-encryption-key rotation (docs/operations.md)."""

from __future__ import annotations

from alooba_common.reencrypt import SealedColumn, reencrypt_database
from alooba_common.secrets import legacy_lookup_hash_key
from assessments.config import Settings
from assessments.store.models import ApiKey, Invitation

# Every ciphertext this service stores, with the context it was sealed with (the row's
# id, see service.py) and the lookup hash kept of the same plaintext.
SEALED = (
    SealedColumn(
        ApiKey.__table__,  # type: ignore[arg-type]
        "encrypted_secret",
        context=lambda row: str(row["id"]),
        hash_column="lookup_hash",
    ),
    SealedColumn(
        Invitation.__table__,  # type: ignore[arg-type]
        "encrypted_access_token",
        context=lambda row: str(row["id"]),
        hash_column="access_token_hash",
    ),
)


async def reencrypt_all(settings: Settings) -> None:
    """Seals every partner key and access token with the active KEK, and recomputes
    their lookup hashes with the configured lookup-hash key."""
    await reencrypt_database(settings.database, settings.secret_box(), SEALED)


async def print_lookup_hash_key(settings: Settings) -> None:
    """Prints the lookup-hash key the hashes stored so far were made with, for
    LOOKUP_HASH_KEY (a secret: into the secret store, not a log)."""
    print(settings.lookup_hash_key or legacy_lookup_hash_key(settings.key_encryption_key))
