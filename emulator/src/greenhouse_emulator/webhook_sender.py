"""Webhook deliveries the way Greenhouse makes them (reference §2.1, §2.3, §2.4): a signed
JSON POST, retried on anything but a 200 (and on timeouts and network errors), up to 7
attempts over about 15 hours.

`time_scale` multiplies every retry delay, so a test can run the 15-hour schedule in
milliseconds while keeping its proportions (1 : 15 : 60 : 120 : 240 : 480).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import aiohttp

from greenhouse_emulator.models import WebhookAttempt, WebhookDelivery
from greenhouse_emulator.signing import encode_webhook_body, sign

# Seconds to wait after each failed attempt: 1m, 15m, 60m, 120m, 240m, 480m, so 7 attempts.
GREENHOUSE_RETRY_DELAYS: Final[tuple[float, ...]] = (60, 900, 3600, 7200, 14400, 28800)

ORGANISATION_HEADER: Final = "X-Organisation"


class WebhookSender:
    """Sends webhooks and records every delivery in `deliveries`.

    `retry_delays` (seconds, before scaling) sets the schedule: one more attempt than
    delays. `timeout` is seconds per attempt (Greenhouse's own is undocumented).
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext | bool = True,
        timeout: float = 30.0,
        time_scale: float = 1.0,
        retry_delays: Sequence[float] = GREENHOUSE_RETRY_DELAYS,
        logger: logging.Logger | None = None,
    ) -> None:
        self.time_scale = time_scale
        self.retry_delays: tuple[float, ...] = tuple(retry_delays)
        self.deliveries: list[WebhookDelivery] = []
        self._ssl = ssl_context
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._log = logger or logging.getLogger("greenhouse_emulator")
        self._session: aiohttp.ClientSession | None = None
        self._background: set[asyncio.Task[WebhookDelivery]] = set()

    async def open(self) -> None:
        """Create the HTTP session (it needs the running event loop)."""
        if self._session is None:
            # No connection cap of our own: bursts are bounded by `concurrency`, or
            # are deliberately unbounded, as many Greenhouse workers would be.
            connector = aiohttp.TCPConnector(limit=0)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self._timeout)

    async def close(self) -> None:
        """Cancel the background deliveries still running (they end finished and not
        delivered) and close the session."""
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def prepare(
        self,
        payload: Mapping[str, Any] | bytes,
        *,
        url: str,
        organisation: str | None,
        secret: str,
        event_id: str | None = None,
        signature_override: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> WebhookDelivery:
        """Encode and sign `payload` (bytes are sent as given, for hostile tests) and
        record the delivery, not yet attempted. `organisation` None leaves out the
        X-Organisation header; `extra_headers` are added last and may override any
        header (real Greenhouse refuses custom headers with reserved names)."""
        body = payload if isinstance(payload, bytes) else encode_webhook_body(payload)
        action = None if isinstance(payload, bytes) else payload.get("action")
        event_id = event_id if event_id is not None else str(uuid.uuid4())
        signature = signature_override if signature_override is not None else sign(body, secret)
        headers = {
            "Content-Type": "application/json",
            "Greenhouse-Event-ID": event_id,
            "Signature": signature,
        }
        if organisation is not None:
            headers[ORGANISATION_HEADER] = organisation
        for name, value in (extra_headers or {}).items():
            # Header names are case-insensitive: an override replaces, never duplicates.
            headers = {key: kept for key, kept in headers.items() if key.lower() != name.lower()}
            headers[name] = value
        delivery = WebhookDelivery(
            event_id=event_id,
            action=action if isinstance(action, str) else None,
            url=url,
            body=body,
            headers=headers,
        )
        self.deliveries.append(delivery)
        return delivery

    async def deliver(
        self,
        delivery: WebhookDelivery,
        *,
        retry: bool = True,
        limit: asyncio.Semaphore | None = None,
    ) -> WebhookDelivery:
        """Attempt `delivery` until a 200, or until the schedule (one attempt when not
        `retry`) runs out. `limit` bounds concurrent requests, not the waits between."""
        delays = self.retry_delays if retry else ()
        try:
            waited = 0.0
            for number in range(1, len(delays) + 2):
                if number > 1:
                    waited = delays[number - 2] * self.time_scale
                    await asyncio.sleep(waited)
                attempt = await self._attempt(delivery, number, waited, limit)
                if attempt.succeeded:
                    delivery.delivered = True
                    break
        finally:
            delivery.finished = True
        if not delivery.delivered:
            self._log.warning(
                "webhook.undelivered event_id=%s attempts=%d",
                delivery.event_id,
                len(delivery.attempts),
            )
        return delivery

    def deliver_in_background(
        self, delivery: WebhookDelivery, *, retry: bool = True
    ) -> asyncio.Task[WebhookDelivery]:
        """`deliver` as a task, cancelled by close() if still running."""
        task = asyncio.get_running_loop().create_task(self.deliver(delivery, retry=retry))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def deliver_all(
        self, deliveries: Iterable[WebhookDelivery], *, concurrency: int, retry: bool = True
    ) -> list[WebhookDelivery]:
        """Deliver all at once, at most `concurrency` requests in flight."""
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        limit = asyncio.Semaphore(concurrency)
        return list(
            await asyncio.gather(
                *(self.deliver(delivery, retry=retry, limit=limit) for delivery in deliveries)
            )
        )

    async def _attempt(
        self,
        delivery: WebhookDelivery,
        number: int,
        waited: float,
        limit: asyncio.Semaphore | None,
    ) -> WebhookAttempt:
        if self._session is None:
            raise RuntimeError("the emulator is not started")
        status: int | None = None
        error: str | None = None
        async with limit if limit is not None else contextlib.nullcontext():
            at = time.monotonic()
            try:
                async with self._session.post(
                    delivery.url,
                    data=delivery.body,
                    headers=delivery.headers,
                    ssl=self._ssl,
                    allow_redirects=False,
                ) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as failure:
                error = repr(failure)
        attempt = WebhookAttempt(number=number, at=at, waited=waited, status=status, error=error)
        delivery.attempts.append(attempt)
        self._log.info(
            "webhook.attempt event_id=%s action=%s number=%d status=%s error=%s",
            delivery.event_id,
            delivery.action,
            number,
            status,
            error,
        )
        return attempt
