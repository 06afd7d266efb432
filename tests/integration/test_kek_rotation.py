"""Finding 4f: a key-encryption key can be rotated. Secrets sealed under the old KEK are
re-encrypted under the new one by each service's `reencrypt` command, on real databases;
afterwards the old KEK can be dropped and everything still works: partner keys
authenticate (their lookup hashes survive, the lookup-hash key not being a KEK), access
tokens and Harvest credentials decrypt."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import select
from support.inprocess import server_settings

import assessments.config
import harvest_sync.config
from alooba_common.config import ConfigError, DatabaseSettings, LoggingSettings
from alooba_common.db import create_engine, session_factory
from alooba_common.secrets import SecretBox, generate_kek, legacy_lookup_hash_key
from alooba_common.tls import Identity
from assessments.app.administration import Administration
from assessments.app.candidate_directory import ApplicationRefs, CandidateContact
from assessments.app.key_cache import KeyCache
from assessments.app.partner import PartnerApi, SendTestCommand
from assessments.jobs.reencrypt import reencrypt_all as reencrypt_assessments
from assessments.store.models import ApiKey, Invitation
from harvest_sync.jobs.reencrypt import reencrypt_all as reencrypt_harvest_sync
from harvest_sync.store.credentials import Credential
from harvest_sync.store.models import Connection, TokenRecord
from harvest_sync.store.token_store import token_context


class _Candidates:
    async def register_application(self, **_: Any) -> ApplicationRefs:
        return ApplicationRefs(candidate_id=uuid.uuid4().hex, application_id=uuid.uuid4().hex)


def _assessments(url: str, active: str, previous: tuple[str, ...], hash_key: str) -> Any:
    return assessments.config.Settings(
        server=server_settings(Identity.ASSESSMENTS),
        database=DatabaseSettings(url=url),
        logging=LoggingSettings(),
        key_encryption_key=active,
        previous_key_encryption_keys=previous,
        lookup_hash_key=hash_key,
        candidates_addr="unused:1",
    )


async def _sealed_values(url: str, column: Any) -> list[str]:
    engine = create_engine(DatabaseSettings(url=url))
    try:
        async with session_factory(engine).begin() as session:
            return [value for value in (await session.execute(select(column))).scalars() if value]
    finally:
        await engine.dispose()


async def test_assessments_secrets_move_to_the_new_kek_and_keys_still_authenticate(
    new_databases: Callable[[], dict[str, str]],
) -> None:
    url = (await asyncio.to_thread(new_databases))["assessments"]
    old, new = generate_kek(), generate_kek()
    pinned = legacy_lookup_hash_key(old)  # the hashes stored so far were made with it
    engine = create_engine(DatabaseSettings(url=url))
    try:
        sessions = session_factory(engine)
        before = SecretBox.from_base64(old)  # today's configuration: one KEK, no pinning
        cache = KeyCache()  # shared by the APIs of one process, as in assessments.server
        admin = Administration(
            sessions,
            before,
            default_expiry_days=7,
            key_rotation_grace_seconds=3600,
            key_cache=cache,
        )
        organization = await admin.create_organization(f"Rotating {uuid.uuid4().hex}")
        _, partner_key = await admin.issue_key(organization.id)
        test = await admin.create_test(
            organization.id, name="SQL", skills=[], needs_manual_evaluation=False, expiry_days=7
        )
        partner = PartnerApi(
            sessions,
            before,
            _Candidates(),
            callback_host_allowlist=("*.greenhouse.io",),
            key_cache=cache,
        )
        await partner.send_test(
            partner_key,
            SendTestCommand(
                partner_test_id=test.id,
                contact=CandidateContact("Harry", "Potter", None, "h@hogwarts.edu", None),
                resume_url=None,
                greenhouse_profile_url="https://app.greenhouse.io/people/1?application_id=2",
                sent_by=None,
                url="https://app.greenhouse.io/integrations/testing_partners/take_home_tests/9",
            ),
        )

        await reencrypt_assessments(_assessments(url, new, (old,), pinned))

        after = SecretBox.from_base64(new, lookup_hash_key=pinned)  # the old KEK dropped
        # A process started after the rotation: its own, empty cache.
        rotated = PartnerApi(
            sessions,
            after,
            _Candidates(),
            callback_host_allowlist=("*.greenhouse.io",),
            key_cache=KeyCache(),
        )
        assert await rotated.authenticate(partner_key) == organization.id
        async with sessions.begin() as session:
            invitation = (await session.execute(select(Invitation))).scalar_one()
        assert after.decrypt(invitation.encrypted_access_token or "", context=invitation.id)
    finally:
        await engine.dispose()

    sealed = await _sealed_values(url, ApiKey.encrypted_secret)
    sealed += await _sealed_values(url, Invitation.encrypted_access_token)
    assert len(sealed) == 2
    assert all(token.startswith(f"v2.{after.active_key_id}.") for token in sealed)


async def test_a_second_run_changes_nothing(new_databases: Callable[[], dict[str, str]]) -> None:
    url = (await asyncio.to_thread(new_databases))["assessments"]
    old, new = generate_kek(), generate_kek()
    engine = create_engine(DatabaseSettings(url=url))
    try:
        admin = Administration(
            session_factory(engine),
            SecretBox.from_base64(old),
            default_expiry_days=7,
            key_rotation_grace_seconds=3600,
            key_cache=KeyCache(),
        )
        organization = await admin.create_organization(f"Twice {uuid.uuid4().hex}")
        await admin.issue_key(organization.id)
    finally:
        await engine.dispose()
    settings = _assessments(url, new, (old,), legacy_lookup_hash_key(old))

    await reencrypt_assessments(settings)
    first = await _sealed_values(url, ApiKey.encrypted_secret)
    await reencrypt_assessments(settings)

    assert await _sealed_values(url, ApiKey.encrypted_secret) == first


async def test_harvest_credentials_and_tokens_move_to_the_new_kek(
    new_databases: Callable[[], dict[str, str]],
) -> None:
    url = (await asyncio.to_thread(new_databases))["harvest-sync"]
    old, new = generate_kek(), generate_kek()
    organization_id = uuid.uuid4().hex
    engine = create_engine(DatabaseSettings(url=url))
    try:
        async with session_factory(engine).begin() as session:
            session.add(
                Connection(
                    organization_id=organization_id,
                    mode="v1",
                    encrypted_credential=Credential.v1("harvest-secret-key").seal(
                        SecretBox.from_base64(old), organization_id
                    ),
                    integration_user_email="integration@alooba.example",
                )
            )
            token_key = f"client-fingerprint:{organization_id}"
            session.add(
                TokenRecord(
                    key=token_key,
                    encrypted_token=SecretBox.from_base64(old).encrypt(
                        "v3-access-token", context=token_context(token_key, 3)
                    ),
                    generation=3,
                    expires_at=0.0,
                    renew_at=0.0,
                    scopes=None,
                )
            )
    finally:
        await engine.dispose()

    await reencrypt_harvest_sync(
        harvest_sync.config.Settings(
            server=server_settings(Identity.HARVEST_SYNC),
            database=DatabaseSettings(url=url),
            logging=LoggingSettings(),
            key_encryption_key=new,
            previous_key_encryption_keys=(old,),
        )
    )

    [sealed] = await _sealed_values(url, Connection.encrypted_credential)
    credential = Credential.unseal(SecretBox.from_base64(new), organization_id, "v1", sealed)
    assert credential.api_key == "harvest-secret-key"
    [token] = await _sealed_values(url, TokenRecord.encrypted_token)
    only_new = SecretBox.from_base64(new)
    assert only_new.sealed_with_active_key(token)
    assert only_new.decrypt(token, context=token_context(token_key, 3)) == "v3-access-token"


def test_previous_keks_without_a_pinned_lookup_hash_key_are_a_config_error() -> None:
    environ = {
        "TLS_DIR": "/tls",
        "KEY_ENCRYPTION_KEY": generate_kek(),
        "KEY_ENCRYPTION_KEYS_PREVIOUS": generate_kek(),
    }
    with pytest.raises(ConfigError, match="LOOKUP_HASH_KEY"):
        assessments.config.Settings.from_env(environ)
