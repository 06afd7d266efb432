"""GreenhouseEmulator: plays Greenhouse for one organization against a partner under test.

It calls the partner's four endpoints with the organization's key, checks every answer
against the documented contract (reporting breaches to the partner's response_error
endpoint, as Greenhouse does), hosts the callback URLs it hands out in send_test, and on an
accepted callback immediately fetches test_status. What Greenhouse would show for each
sent test is kept in `tests`; everything the partner got wrong is kept in `violations`.
It also sends the organization's Recruiting Webhooks, signed and retried as Greenhouse
does (`send_webhook`, payloads from greenhouse_emulator.webhooks), kept in
`webhook_deliveries`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import ssl
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

import aiohttp
from yarl import URL

from greenhouse_emulator import contract
from greenhouse_emulator.auth import authorization_problem, basic_auth
from greenhouse_emulator.client import PartnerClient, PartnerEndpoints, join_url
from greenhouse_emulator.errors import ContractViolationError, PartnerError
from greenhouse_emulator.models import (
    CALLBACK,
    RESPONSE_ERROR,
    CallbackAttempt,
    Candidate,
    RawResponse,
    TakeHomeTest,
    Violation,
    WebhookDelivery,
)
from greenhouse_emulator.server import (
    CALLBACK_PATH,
    CallbackAnswer,
    CallbackRequest,
    create_app,
)
from greenhouse_emulator.serving import Served, serve
from greenhouse_emulator.tls import (
    DEFAULT_NAMES,
    TlsFiles,
)
from greenhouse_emulator.webhook_sender import WebhookSender

_WILDCARD_HOSTS: Final = frozenset({"", "0.0.0.0", "::"})
_CALLBACK_PREFIX: Final = CALLBACK_PATH.removesuffix("{take_home_test_id}")
# Greenhouse's real take-home test ids are large integers; a random start keeps a
# long-lived partner database from mistaking a restarted emulator's URLs for old ones
# (partners deduplicate send_test by callback URL).
_RANDOM_ID_START: Final = 1_000_000


class GreenhouseEmulator:
    """Greenhouse, for one organization, against one partner.

    Use as `async with GreenhouseEmulator(url, key) as greenhouse: ...` or call
    `start()`/`stop()`. Callback faults can be scripted: `callback_responses` is a FIFO of
    statuses answered before behaving normally (200 there means "behave normally"),
    `callback_always(status)` answers every callback with `status` until reset with None,
    and a 429 carries `Retry-After: <callback_retry_after>`.
    """

    def __init__(
        self,
        partner_base_url: str,
        api_key: str,
        *,
        list_tests_path: str = "list_tests",
        send_test_path: str = "send_test",
        test_status_path: str = "test_status",
        response_error_path: str = "response_error",
        webhook_path: str = "webhook",
        tls: bool = True,
        cert_dir: str | Path | None = None,
        callback_host: str | None = None,
        partner_ssl: ssl.SSLContext | bool = True,
        timeout: float = 30.0,
        first_take_home_test_id: int | None = None,
        webhook_time_scale: float = 1.0,
        webhook_timeout: float | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        """`partner_base_url` is where the four endpoints and the webhook receiver live;
        each `*_path` may also be an absolute URL. `callback_host` is the host put in
        callback URLs (default: the bound host, or 127.0.0.1 when bound to all
        interfaces). `partner_ssl` is how the partner's own certificate is verified
        (aiohttp's `ssl=`). `webhook_time_scale` multiplies Greenhouse's webhook retry
        delays (0.001 runs the 15-hour schedule in under a minute); `webhook_timeout`
        is seconds per webhook attempt (default: `timeout`)."""
        self._api_key = api_key
        self._partner_base_url = partner_base_url
        self.endpoints = PartnerEndpoints.under(
            partner_base_url,
            list_tests=list_tests_path,
            send_test=send_test_path,
            test_status=test_status_path,
            response_error=response_error_path,
        )
        self.tls = tls
        self.tests: dict[int, TakeHomeTest] = {}
        self.violations: list[Violation] = []
        self.callbacks: list[CallbackAttempt] = []
        self.callback_responses: deque[int] = deque()
        self.callback_retry_after: int | str = 1
        self._callback_always: int | None = None
        self._cert_dir = Path(cert_dir) if cert_dir is not None else None
        self._callback_host = callback_host
        self._client = PartnerClient(
            self.endpoints, api_key, ssl_context=partner_ssl, timeout=timeout
        )
        self._log = logger or logging.getLogger("greenhouse_emulator")
        self.webhook_url = str(join_url(partner_base_url, webhook_path))
        self.webhooks = WebhookSender(
            ssl_context=partner_ssl,
            timeout=webhook_timeout if webhook_timeout is not None else timeout,
            time_scale=webhook_time_scale,
            logger=self._log,
        )
        self._next_id = (
            first_take_home_test_id
            if first_take_home_test_id is not None
            else _RANDOM_ID_START + secrets.randbelow(_RANDOM_ID_START * 100)
        )
        self._test_names: dict[str, str] = {}
        self._by_interview: dict[str, int] = {}
        self._background: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()
        self._served: Served | None = None
        self._tls_files: TlsFiles | None = None
        self._host = ""
        self._port = 0

    # --- lifecycle -------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Generate the TLS certificate (unless tls=False), serve the callback endpoint
        on host:port (0 picks a free port) and open the client session."""
        if self._served is not None:
            raise RuntimeError("the emulator is already started")
        self._host = self._callback_host or (host if host not in _WILDCARD_HOSTS else "127.0.0.1")
        names = [*DEFAULT_NAMES, self._host]
        if host not in _WILDCARD_HOSTS:
            names.append(host)
        served = await serve(
            create_app(self),
            host,
            port,
            tls_names=names if self.tls else None,
            cert_dir=self._cert_dir,
            temp_prefix="greenhouse-emulator-",
        )
        self._served, self._tls_files, self._port = served, served.tls_files, served.port
        await self._client.open()
        await self.webhooks.open()
        self._log.info(
            "emulator.started callback_base=%s ca_cert=%s",
            self.callback_base_url,
            self.ca_cert_path,
        )

    async def stop(self) -> None:
        """Stop serving, cancel pending background calls and webhook deliveries, close
        the sessions and remove generated certificates (unless they were written to a
        given cert_dir)."""
        # The server goes first, so that no callback starts a new background call.
        if self._served is not None:
            await self._served.stop()
            self._served = None
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self.webhooks.close()
        await self._client.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # --- addresses ---------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the callback endpoint listens on."""
        self._require_started()
        return self._port

    @property
    def base_url(self) -> str:
        """scheme://host:port of the emulator's own HTTP server."""
        self._require_started()
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{'https' if self.tls else 'http'}://{host}:{self._port}"

    @property
    def callback_base_url(self) -> str:
        """Callback URLs are this plus the take-home test id."""
        return self.base_url + _CALLBACK_PREFIX

    def callback_url(self, take_home_test_id: int) -> str:
        """The `url` Greenhouse passes in send_test for this take-home test."""
        return f"{self.callback_base_url}{take_home_test_id}"

    @property
    def ca_cert_path(self) -> Path | None:
        """The PEM CA certificate the partner must trust (None with tls=False)."""
        self._require_started()
        return self._tls_files.ca_cert if self._tls_files is not None else None

    @property
    def api_key(self) -> str:
        """The organization's partner key, sent on calls and expected on callbacks."""
        return self._api_key

    @api_key.setter
    def api_key(self, value: str) -> None:
        # Greenhouse Support can enter a new key at any time (say, after a rotation).
        self._api_key = value
        self._client.use_key(value)

    @property
    def authorization(self) -> str:
        """The Authorization header Greenhouse sends, for hand-made requests."""
        return basic_auth(self.api_key)

    # --- scripted callback answers --------------------------------------------------

    def callback_always(self, status: int | None) -> None:
        """Answer every callback with `status` (after any queued `callback_responses`);
        None goes back to normal behaviour."""
        self._callback_always = status

    # --- Greenhouse's calls to the partner ----------------------------------------------

    async def list_tests(self) -> list[dict[str, Any]]:
        """GET list_tests; returns the tests. Raises PartnerError on a non-2xx answer,
        ContractViolationError on an invalid one (recorded and reported first)."""
        response = await self._client.list_tests()
        tests: list[dict[str, Any]] = await self._checked(
            contract.LIST_TESTS, response, Violation(contract.LIST_TESTS, [])
        )
        # Greenhouse labels the test with this name from now on (the Send Test dialog).
        self._test_names = {test["partner_test_id"]: test["partner_test_name"] for test in tests}
        return tests

    def allocate_take_home_test_id(self) -> int:
        """A take-home test id not handed out before by this emulator."""
        take_home_test_id = self._next_id
        self._next_id += 1
        return take_home_test_id

    async def send_test(
        self,
        partner_test_id: str,
        candidate: Candidate | None = None,
        *,
        sent_by: str | None = None,
        take_home_test_id: int | None = None,
    ) -> str:
        """POST send_test for `candidate` (default: the docs' Harry Potter) and return the
        partner_interview_id. A new take-home test id is allocated unless one is given
        (giving an old one repeats a send, as a Greenhouse retry would)."""
        candidate = candidate or Candidate()
        if take_home_test_id is None:
            take_home_test_id = self.allocate_take_home_test_id()
        # A caller's own id must never be handed out again by allocation.
        self._next_id = max(self._next_id, take_home_test_id + 1)
        url = self.callback_url(take_home_test_id)
        body = {
            "partner_test_id": partner_test_id,
            "candidate": candidate.to_send_test(),
            "sent_by": sent_by,
            "url": url,
        }
        test_name = self._test_names.get(partner_test_id)
        response = await self._client.send_test(body)
        result = await self._checked(
            contract.SEND_TEST,
            response,
            Violation(
                contract.SEND_TEST,
                [],
                partner_test_id=partner_test_id,
                partner_test_name=test_name,
                candidate_email=candidate.email,
                take_home_test_id=take_home_test_id,
            ),
        )
        interview_id: str = result["partner_interview_id"]

        earlier = self._by_interview.get(interview_id)
        if earlier is not None and earlier != take_home_test_id:
            # Not something Greenhouse checks, so not reported; but an id that
            # "identifies a candidate's test" cannot stand for two of them.
            self._record(
                Violation(
                    contract.SEND_TEST,
                    [
                        f"partner_interview_id {interview_id!r} was already returned for "
                        f"take-home test {earlier}"
                    ],
                    partner_interview_id=interview_id,
                    partner_test_id=partner_test_id,
                    partner_test_name=test_name,
                    candidate_email=candidate.email,
                    take_home_test_id=take_home_test_id,
                )
            )
        record = self.tests.get(take_home_test_id)
        if record is None:
            self.tests[take_home_test_id] = TakeHomeTest(
                take_home_test_id=take_home_test_id,
                partner_test_id=partner_test_id,
                partner_test_name=test_name,
                partner_interview_id=interview_id,
                candidate=candidate,
                sent_by=sent_by,
                callback_url=url,
            )
        else:
            record.partner_interview_id = interview_id
        self._by_interview[interview_id] = take_home_test_id
        self._notify()
        return interview_id

    async def test_status(self, partner_interview_id: str) -> dict[str, Any]:
        """GET test_status for `partner_interview_id` (what Greenhouse does after a
        callback, or when polling) and update the take-home test's record. Raises
        PartnerError on a non-2xx answer, ContractViolationError on an invalid one."""
        record = self._record_for(partner_interview_id)
        context = Violation(contract.TEST_STATUS, [], partner_interview_id=partner_interview_id)
        if record is not None:
            record.test_status_calls += 1
            context = self._context(contract.TEST_STATUS, record)
            self._notify()
        response = await self._client.test_status(partner_interview_id)
        status = await self._checked(contract.TEST_STATUS, response, context)
        if record is not None:
            record.status = status["partner_status"]
            record.score = status.get("partner_score")
            record.report_url = status.get("partner_profile_url")
            record.metadata = status.get("metadata")
            self._notify()
        result: dict[str, Any] = status
        return result

    async def raw(
        self,
        method: str,
        path: str | URL,
        *,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> RawResponse:
        """Send any request to the partner, for hostile-input tests. A str `path` is
        taken relative to the partner base URL unless absolute; a yarl URL is sent as
        is (use URL(..., encoded=True) to keep odd bytes). Greenhouse's Authorization
        is added when `auth` and `headers` carry none. Nothing is checked or recorded."""
        url = path if isinstance(path, URL) else join_url(self._partner_base_url, path)
        return await self._client.request(method, url, body=body, headers=headers, auth=auth)

    # --- Recruiting Webhooks ----------------------------------------------------------

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        """Every webhook delivery so far, in the order they were started."""
        return self.webhooks.deliveries

    async def send_webhook(
        self,
        payload: Mapping[str, Any] | bytes,
        *,
        organisation: str | None,
        secret: str | None = None,
        event_id: str | None = None,
        url: str | None = None,
        signature_override: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        retry: bool = True,
    ) -> WebhookDelivery:
        """POST `payload` (a dict from greenhouse_emulator.webhooks, or raw bytes) to the
        partner's webhook URL as Greenhouse does, and return once it is delivered (a 200)
        or the retry schedule is spent (7 attempts; one without `retry`).

        Headers: Content-Type: application/json, Greenhouse-Event-ID (`event_id`, default
        a fresh UUID, the same on every retry), Signature: sha256 <hex HMAC of the body
        keyed with `secret`> (default: the organization's API key; `signature_override`
        replaces it), and X-Organisation: `organisation` (None leaves it out).
        `extra_headers` come last and may override any of them."""
        delivery = self._prepare_webhook(
            payload, organisation, secret, event_id, url, signature_override, extra_headers
        )
        return await self.webhooks.deliver(delivery, retry=retry)

    def send_webhook_in_background(
        self,
        payload: Mapping[str, Any] | bytes,
        *,
        organisation: str | None,
        secret: str | None = None,
        event_id: str | None = None,
        url: str | None = None,
        signature_override: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        retry: bool = True,
    ) -> asyncio.Task[WebhookDelivery]:
        """send_webhook without waiting: the delivery is recorded at once, the task
        returns it when finished; stop() cancels it if still running."""
        delivery = self._prepare_webhook(
            payload, organisation, secret, event_id, url, signature_override, extra_headers
        )
        return self.webhooks.deliver_in_background(delivery, retry=retry)

    async def send_webhooks(
        self,
        payloads: Iterable[Mapping[str, Any] | bytes],
        *,
        organisation: str | None,
        secret: str | None = None,
        url: str | None = None,
        extra_headers: Mapping[str, str] | None = None,
        retry: bool = True,
        concurrency: int = 50,
    ) -> list[WebhookDelivery]:
        """A burst: every payload as its own delivery (its own event id), with at most
        `concurrency` requests in flight; returns the deliveries in payload order."""
        deliveries = [
            self._prepare_webhook(payload, organisation, secret, None, url, None, extra_headers)
            for payload in payloads
        ]
        return await self.webhooks.deliver_all(deliveries, concurrency=concurrency, retry=retry)

    def _prepare_webhook(
        self,
        payload: Mapping[str, Any] | bytes,
        organisation: str | None,
        secret: str | None,
        event_id: str | None,
        url: str | None,
        signature_override: str | None,
        extra_headers: Mapping[str, str] | None,
    ) -> WebhookDelivery:
        self._require_started()
        return self.webhooks.prepare(
            payload,
            url=url if url is not None else self.webhook_url,
            organisation=organisation,
            secret=secret if secret is not None else self.api_key,
            event_id=event_id,
            signature_override=signature_override,
            extra_headers=extra_headers,
        )

    # --- waiting --------------------------------------------------------------------

    # The timeout is a parameter, not asyncio.timeout() around the call, so that the
    # error can say what was awaited and which violations were seen meanwhile.
    async def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float = 10.0,  # noqa: ASYNC109
        what: str = "condition",
    ) -> None:
        """Return once `predicate()` is true; TimeoutError after `timeout` seconds. Woken
        by every change to the records, and re-checked at least every 50 ms for
        predicates that look elsewhere."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"gave up after {timeout}s waiting for {what}; violations so far: "
                    f"{[v.errors for v in self.violations]}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.05))

    async def wait_until_complete(
        self,
        take_home_test_id: int,
        timeout: float = 10.0,  # noqa: ASYNC109 - see wait_for
    ) -> TakeHomeTest:
        """Wait until Greenhouse shows the take-home test as complete; returns its record."""

        def complete() -> bool:
            record = self.tests.get(take_home_test_id)
            return record is not None and record.complete

        await self.wait_for(complete, timeout, f"take-home test {take_home_test_id} complete")
        return self.tests[take_home_test_id]

    # --- the callback endpoint (server.CallbackDesk) ---------------------------------

    def answer_callback(self, request: CallbackRequest) -> CallbackAnswer:
        """Decide the answer to a request at a callback URL, recording the attempt and
        any violation. Order: wrong method, scripted fault, auth, unknown id, body."""
        take_home_test_id = _parse_id(request.take_home_test_id)
        record = self.tests.get(take_home_test_id) if take_home_test_id is not None else None
        authorized = authorization_problem(request.authorization, self.api_key) is None
        answer = self._decide_callback(request, take_home_test_id, record)
        self.callbacks.append(
            CallbackAttempt(
                take_home_test_id=take_home_test_id,
                method=request.method,
                status=answer.status,
                authorized=authorized,
                at=time.monotonic(),
            )
        )
        self._log.info(
            "callback.answered take_home_test_id=%s method=%s status=%s",
            take_home_test_id,
            request.method,
            answer.status,
        )
        self._notify()
        return answer

    def callback_answered(self, take_home_test_id: int) -> None:
        """The 200 has been sent: fetch test_status now, in the background, as Greenhouse
        does after the PATCH."""
        task = asyncio.get_running_loop().create_task(self._fetch_after_callback(take_home_test_id))
        self._background.add(task)
        task.add_done_callback(self._background_done)

    def inspection(self) -> Mapping[str, list[dict[str, Any]]]:
        """JSON-ready records for the /_emulator endpoints."""
        return {
            "tests": [test.to_json() for test in self.tests.values()],
            "violations": [violation.to_json() for violation in self.violations],
            "callbacks": [attempt.to_json() for attempt in self.callbacks],
            "webhooks": [delivery.to_json() for delivery in self.webhook_deliveries],
        }

    # --- internals -------------------------------------------------------------------

    def _decide_callback(
        self,
        request: CallbackRequest,
        take_home_test_id: int | None,
        record: TakeHomeTest | None,
    ) -> CallbackAnswer:
        def violation(error: str) -> None:
            if record is not None:
                self._record(replace(self._context(CALLBACK, record), errors=[error]))
            else:
                self._record(Violation(CALLBACK, [error], take_home_test_id=take_home_test_id))

        if request.method != "PATCH":
            violation(f"callback must use PATCH, not {request.method}")
            return CallbackAnswer(405, {"Allow": "PATCH"})

        scripted = self._next_scripted_status()
        if scripted is not None and scripted != 200:
            headers = {"Retry-After": str(self.callback_retry_after)} if scripted == 429 else {}
            return CallbackAnswer(scripted, headers)

        problem = authorization_problem(request.authorization, self.api_key)
        if problem is not None:
            violation(f"callback without valid auth ({problem})")
            return CallbackAnswer(401, {"WWW-Authenticate": 'Basic realm="Greenhouse"'})

        if record is None:
            violation(
                f"callback for take-home test {request.take_home_test_id!r}, "
                "which Greenhouse never sent"
            )
            return CallbackAnswer(404)
        if request.body:
            # Accepted anyway: Greenhouse ignores the body ("No parameters are necessary").
            violation(f"callback body must be empty, got {len(request.body)} bytes")
        record.callbacks_received += 1
        return CallbackAnswer(200, accepted=record.take_home_test_id)

    def _next_scripted_status(self) -> int | None:
        if self.callback_responses:
            return self.callback_responses.popleft()
        return self._callback_always

    async def _fetch_after_callback(self, take_home_test_id: int) -> None:
        record = self.tests[take_home_test_id]
        try:
            await self.test_status(record.partner_interview_id)
        except ContractViolationError:
            pass  # recorded and reported by test_status
        except PartnerError as error:
            self._record(
                replace(
                    self._context(contract.TEST_STATUS, record),
                    errors=[
                        f"test_status answered {error.status} right after the callback "
                        "PATCH; the result must be readable before the PATCH is sent"
                    ],
                )
            )
        except (aiohttp.ClientError, TimeoutError) as error:
            self._record(
                replace(
                    self._context(contract.TEST_STATUS, record),
                    errors=[f"test_status after the callback PATCH failed: {error!r}"],
                )
            )

    async def _checked(self, api_call: str, response: RawResponse, context: Violation) -> Any:
        """The payload of a valid partner answer. An invalid one is recorded (as
        `context` with the errors filled in), reported, and raised as
        ContractViolationError. Non-2xx answers raise PartnerError: they are the partner's
        documented way to refuse (401, 404), not malformed responses."""
        self._log.info("partner.answered api_call=%s status=%s", api_call, response.status)
        if not 200 <= response.status < 300:
            raise PartnerError(api_call, response.status, response.body)
        checked = contract.check_response(api_call, response.body)
        if checked.valid:
            return checked.payload
        context.errors = checked.errors
        self._record(context)
        await self._report(context)
        raise ContractViolationError(context)

    async def _report(self, violation: Violation) -> None:
        """POST the violation to the partner's response_error endpoint, as Greenhouse
        does "each time an invalid response arrives"; its answer must be 200."""
        try:
            response = await self._client.response_error(violation.report_body())
        except (aiohttp.ClientError, TimeoutError) as error:
            self._record(Violation(RESPONSE_ERROR, [f"response_error request failed: {error!r}"]))
            return
        violation.report_status = response.status
        self._notify()
        if response.status != 200:
            self._record(
                Violation(
                    RESPONSE_ERROR,
                    [f"response_error answered {response.status}, expected 200"],
                    partner_interview_id=violation.partner_interview_id,
                    partner_test_id=violation.partner_test_id,
                    take_home_test_id=violation.take_home_test_id,
                )
            )

    def _background_done(self, task: asyncio.Task[None]) -> None:
        self._background.discard(task)
        # Expected failures are recorded as violations; anything else is a bug in the
        # emulator and must not vanish as "exception never retrieved".
        if not task.cancelled() and (error := task.exception()) is not None:
            self._log.error("callback.fetch_failed", exc_info=error)

    def _record(self, violation: Violation) -> None:
        self._log.warning(
            "violation.recorded api_call=%s errors=%s", violation.api_call, violation.errors
        )
        self.violations.append(violation)
        self._notify()

    def _context(self, api_call: str, record: TakeHomeTest) -> Violation:
        """An empty violation carrying what Greenhouse knows about the take-home test."""
        return Violation(
            api_call,
            [],
            partner_interview_id=record.partner_interview_id,
            partner_test_id=record.partner_test_id,
            partner_test_name=record.partner_test_name,
            candidate_email=record.candidate_email,
            take_home_test_id=record.take_home_test_id,
        )

    def _record_for(self, partner_interview_id: str) -> TakeHomeTest | None:
        take_home_test_id = self._by_interview.get(partner_interview_id)
        return self.tests.get(take_home_test_id) if take_home_test_id is not None else None

    def _notify(self) -> None:
        # Wake every waiter: they hold the old event, the next change gets a new one.
        self._changed.set()
        self._changed = asyncio.Event()

    def _require_started(self) -> None:
        if self._served is None:
            raise RuntimeError("the emulator is not started")


def _parse_id(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() else None
