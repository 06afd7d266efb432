"""Moving stored ciphertexts to the active key-encryption key (`python -m <service>
reencrypt`), for a KEK rotation (docs/operations.md).

One column at a time, in batches by primary key, each batch its own transaction: a row
already sealed with the active KEK is left alone, so the command can be stopped and run
again. A lookup-hash column next to the ciphertext is recomputed too, under the
configured lookup-hash key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy import CursorResult, Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alooba_common.config import DatabaseSettings
from alooba_common.db import create_engine, session_factory
from alooba_common.secrets import SecretBox

log = structlog.get_logger("alooba.reencrypt")

BATCH = 200


@dataclass(frozen=True, slots=True)
class SealedColumn:
    """A ciphertext column, how to rebuild each row's encryption context, and the column
    holding the lookup hash of the same plaintext (if any)."""

    table: Table
    column: str
    context: Callable[[Any], str]
    key_column: str = "id"
    hash_column: str | None = None


async def reencrypt(
    sessions: async_sessionmaker[AsyncSession], box: SecretBox, sealed: SealedColumn
) -> int:
    """Re-encrypts (and re-hashes) every row of `sealed` that needs it; how many changed."""
    table, key = sealed.table, sealed.table.c[sealed.key_column]
    cipher = table.c[sealed.column]
    changed, after = 0, None
    while True:
        query = select(table).where(cipher.is_not(None)).order_by(key).limit(BATCH)
        if after is not None:
            query = query.where(key > after)
        async with sessions.begin() as session:
            rows = (await session.execute(query)).all()
            for row in rows:
                values = _moved(box, sealed, row)
                if values:
                    # Only if the row still holds what was read: a value written meanwhile
                    # (a reconnect, a new token) is the service's, sealed with the active key.
                    result: CursorResult[Any] = await session.execute(  # type: ignore[assignment]
                        update(table)
                        .where(key == row._mapping[key.name])
                        .where(cipher == row._mapping[cipher.name])
                        .values(values)
                    )
                    changed += result.rowcount
        if not rows:
            break
        after = rows[-1]._mapping[key.name]
    log.info("reencrypt.column_done", table=table.name, column=cipher.name, changed=changed)
    return changed


def _moved(box: SecretBox, sealed: SealedColumn, row: Any) -> dict[str, str]:
    token = row._mapping[sealed.column]
    context = sealed.context(row._mapping)
    plain = box.decrypt(token, context=context)
    values = {}
    if not box.sealed_with_active_key(token):
        values[sealed.column] = box.encrypt(plain, context=context)
    if sealed.hash_column is not None:
        fresh = box.lookup_hash(plain)
        if row._mapping[sealed.hash_column] != fresh:
            values[sealed.hash_column] = fresh
    return values


async def reencrypt_database(
    database: DatabaseSettings, box: SecretBox, sealed: Sequence[SealedColumn]
) -> None:
    """A service's `reencrypt` command: every column in `sealed`, on its own engine."""
    engine = create_engine(database)
    try:
        for column in sealed:
            await reencrypt(session_factory(engine), box, column)
    finally:
        await engine.dispose()
