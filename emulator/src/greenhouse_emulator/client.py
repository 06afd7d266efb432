"""HTTP to the partner, the way Greenhouse makes it: Basic auth with the organization's
key as username and an empty password, no redirects followed, one timeout per call.

This module only moves bytes; judging the answers is the emulator's job.
"""

from __future__ import annotations

import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from yarl import URL

from greenhouse_emulator.auth import basic_auth
from greenhouse_emulator.models import RawResponse


def join_url(base: str, path: str) -> URL:
    """`path` under `base`, unless `path` is already an absolute URL (Greenhouse stores
    each endpoint as a full URL, so any of them may live elsewhere)."""
    if path.startswith(("http://", "https://")):
        return URL(path)
    return URL(base.rstrip("/") + "/" + path.lstrip("/"))


@dataclass(frozen=True)
class PartnerEndpoints:
    """The four URLs a partner registers with Greenhouse."""

    list_tests: URL
    send_test: URL
    test_status: URL
    response_error: URL

    @classmethod
    def under(
        cls,
        base_url: str,
        *,
        list_tests: str = "list_tests",
        send_test: str = "send_test",
        test_status: str = "test_status",
        response_error: str = "response_error",
    ) -> PartnerEndpoints:
        """Endpoints as paths under `base_url` (or absolute URLs)."""
        return cls(
            list_tests=join_url(base_url, list_tests),
            send_test=join_url(base_url, send_test),
            test_status=join_url(base_url, test_status),
            response_error=join_url(base_url, response_error),
        )


class PartnerClient:
    """Sends Greenhouse's requests to one partner for one organization."""

    def __init__(
        self,
        endpoints: PartnerEndpoints,
        api_key: str,
        *,
        ssl_context: ssl.SSLContext | bool = True,
        timeout: float = 30.0,
    ) -> None:
        self.endpoints = endpoints
        self._authorization = basic_auth(api_key)
        self._ssl = ssl_context
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def use_key(self, api_key: str) -> None:
        """Switches the key sent from now on (Greenhouse Support entering a new key)."""
        self._authorization = basic_auth(api_key)

    async def open(self) -> None:
        """Create the HTTP session (it needs the running event loop)."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        url: URL | str,
        *,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
    ) -> RawResponse:
        """Send one request and read the whole answer. `auth` adds Greenhouse's
        Authorization header unless `headers` already carry one."""
        if self._session is None:
            raise RuntimeError("the emulator is not started")
        sent_headers = dict(headers or {})
        if auth and not any(name.lower() == "authorization" for name in sent_headers):
            sent_headers["Authorization"] = self._authorization
        async with self._session.request(
            method,
            url,
            data=body or None,
            headers=sent_headers,
            ssl=self._ssl,
            # Greenhouse calls the URL registered, not wherever it redirects.
            allow_redirects=False,
        ) as response:
            return RawResponse(
                status=response.status,
                headers=response.headers,
                body=await response.read(),
            )

    async def list_tests(self) -> RawResponse:
        """GET list_tests."""
        return await self.request("GET", self.endpoints.list_tests)

    async def send_test(self, body: Mapping[str, Any]) -> RawResponse:
        """POST send_test with a JSON body."""
        return await self._post_json(self.endpoints.send_test, body)

    async def test_status(self, partner_interview_id: str) -> RawResponse:
        """GET test_status?partner_interview_id=..."""
        url = self.endpoints.test_status.update_query(partner_interview_id=partner_interview_id)
        return await self.request("GET", url)

    async def response_error(self, body: Mapping[str, Any]) -> RawResponse:
        """POST response_error with a JSON body."""
        return await self._post_json(self.endpoints.response_error, body)

    async def _post_json(self, url: URL, body: Mapping[str, Any]) -> RawResponse:
        return await self.request(
            "POST",
            url,
            body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
