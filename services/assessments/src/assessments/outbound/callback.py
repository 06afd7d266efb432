"""The Greenhouse callback: PATCH the `url` from send_test once a result is final.

Greenhouse documents no body ("No parameters are necessary") and answers with a status
code only; it then fetches test_status. We send Basic auth with the organization's
active partner key, as the documented example shows. Retries: timeouts, connection
errors, 429 (after its Retry-After) and 5xx. Any other 4xx will not get better by
retrying: it becomes a dead letter, a metric and an error log line.
"""

from __future__ import annotations

import aiohttp
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from alooba_common.db import utcnow
from alooba_common.errors import InvalidArgument
from alooba_common.http_client import retry_after_seconds
from alooba_common.outbox import OutboxMessage, PermanentFailure, RetryLater
from alooba_common.secrets import SecretBox
from assessments.app.greenhouse import check_callback_url
from assessments.metrics import CALLBACKS, CALLBACKS_REJECTED
from assessments.store.repository import Repository

log = structlog.get_logger("assessments.outbound.callback")


class GreenhouseCallback:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        box: SecretBox,
        http: aiohttp.ClientSession,
        *,
        allowlist: tuple[str, ...],
        timeout: float,
    ) -> None:
        self._sessions = sessions
        self._box = box
        self._http = http
        self._allowlist = allowlist
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def __call__(self, message: OutboxMessage) -> None:
        invitation_id = str(message.payload["invitation_id"])
        async with self._sessions.begin() as session:
            repo = Repository(session)
            invitation = await repo.invitation_by_id(invitation_id)
            if invitation is None:
                raise PermanentFailure("the invitation no longer exists")
            key = await repo.current_api_key(invitation.organization_id)
            if key is None:
                raise PermanentFailure("the organization has no active partner key")
            url = invitation.callback_url
            secret = self._box.decrypt(key.encrypted_secret, context=key.id)

        # Checked again at sending time, exactly as aiohttp reads it: the allow-list may
        # have been narrowed since, and URLs stored before the check was this strict.
        try:
            check_callback_url(url, self._allowlist)
        except InvalidArgument as refused:
            CALLBACKS_REJECTED.inc()
            raise PermanentFailure(f"callback refused: {refused.message}") from None

        try:
            async with self._http.patch(
                url,
                data=b"",
                # Basic with the key as username and an empty password, as Greenhouse's
                # own calls to us are made.
                headers={"Authorization": aiohttp.encode_basic_auth(secret, "")},
                timeout=self._timeout,
                allow_redirects=False,
            ) as response:
                status = response.status
                retry_after = response.headers.get("Retry-After")
                await response.read()
        except (TimeoutError, aiohttp.ClientError) as error:
            CALLBACKS.labels("retry").inc()
            raise RetryLater(f"callback failed: {type(error).__name__}") from None

        if 200 <= status < 300:
            CALLBACKS.labels("delivered").inc()
            log.info("callback.delivered", invitation_id=invitation_id, status=status)
            return
        if status == 429 or status >= 500:
            CALLBACKS.labels("retry").inc()
            raise RetryLater(
                f"Greenhouse answered {status}",
                after=retry_after_seconds(retry_after, utcnow()) if status == 429 else None,
            )
        CALLBACKS.labels("rejected").inc()
        CALLBACKS_REJECTED.inc()
        log.error("callback.rejected", invitation_id=invitation_id, status=status)
        raise PermanentFailure(f"Greenhouse answered {status}")
