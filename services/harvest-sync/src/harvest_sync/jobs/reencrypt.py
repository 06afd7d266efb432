"""`python -m harvest_sync reencrypt`: the harvest-sync side of a key-encryption-key
rotation (docs/operations.md). Every ciphertext harvest-sync stores is listed in SEALED;
a new encrypted column is added there."""

from __future__ import annotations

from alooba_common.reencrypt import SealedColumn, reencrypt_database
from harvest_sync.config import Settings
from harvest_sync.store.credentials import sealing_context
from harvest_sync.store.models import Connection, TokenRecord
from harvest_sync.store.token_store import token_context

SEALED = (
    SealedColumn(
        Connection.__table__,  # type: ignore[arg-type]
        "encrypted_credential",
        context=lambda row: sealing_context(str(row["organization_id"]), str(row["mode"])),
        key_column="organization_id",
    ),
    SealedColumn(
        TokenRecord.__table__,  # type: ignore[arg-type]
        "encrypted_token",
        context=lambda row: token_context(str(row["key"]), int(row["generation"])),
        key_column="key",
    ),
)


async def reencrypt_all(settings: Settings) -> None:
    """Seals every stored Harvest credential and v3 token with the active KEK."""
    await reencrypt_database(settings.database, settings.secret_box(), SEALED)
