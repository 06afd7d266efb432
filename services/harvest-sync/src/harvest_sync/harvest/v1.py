"""Harvest v1 (the seed's flow): Basic auth with the API key as username and a blank
password, `On-Behalf-Of` on writes, Link-header pagination (reference §3.2-3.5)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import aiohttp
from yarl import URL

from harvest_sync.harvest import unconfirmed
from harvest_sync.harvest.client import HarvestClient
from harvest_sync.harvest.errors import CredentialRefused, PermissionMissing
from harvest_sync.harvest.transport import Answer, Transport


class HarvestV1(HarvestClient):
    mode = "v1"

    def __init__(self, transport: Transport, api_key: str) -> None:
        super().__init__(transport)
        self._authorization = aiohttp.encode_basic_auth(api_key, "")

    async def _headers(self, acting_user_id: int | None) -> dict[str, str]:
        headers = {"Authorization": self._authorization}
        if acting_user_id is not None:
            headers["On-Behalf-Of"] = str(acting_user_id)
        return headers

    async def _refused(
        self,
        answer: Answer,
        permission: str,
        acting_user_id: int | None,
        *,
        sent_headers: Mapping[str, str],
        retried: bool,
    ) -> bool:
        # A 403 is "no access to that record" (the acting user's view): not a refusal of
        # the key, so the caller sees it as a rejected request.
        if answer.status == unconfirmed.V1_PERMISSION_REFUSED_STATUS:
            raise PermissionMissing(permission, status=answer.status)
        return False

    def _users_url(self) -> URL:
        return self._transport.url("/v1/users")

    def _fields_url(self) -> URL:
        return self._transport.url("/v1/custom_fields/application").with_query(per_page=100)

    def _create_field_url(self) -> URL:
        return self._transport.url("/v1/custom_fields")

    def _application_url(self, application_id: int) -> URL:
        return self._transport.url(f"/v1/applications/{application_id}")

    def _next_page(self, answer: Answer) -> URL | None:
        # "It is important to use the Link headers and not page manually."
        return answer.links.get("next")

    async def missing_permissions(self, acting_user_id: int | None) -> list[str]:
        url = self._transport.url
        probes: dict[str, tuple[str, URL, object]] = {
            unconfirmed.LIST_USERS: ("GET", url("/v1/users").with_query(per_page=1), None),
            unconfirmed.GET_CUSTOM_FIELDS: (
                "GET",
                url("/v1/custom_fields/application").with_query(per_page=1),
                None,
            ),
            unconfirmed.ADD_USER: ("POST", url("/v1/users"), {}),
            unconfirmed.CREATE_CUSTOM_FIELD: ("POST", url("/v1/custom_fields"), {}),
            unconfirmed.UPDATE_APPLICATION: (
                "PATCH",
                url(f"/v1/applications/{unconfirmed.V1_PROBE_APPLICATION_ID}"),
                {},
            ),
        }

        async def refused(method: str, target: URL, body: object) -> bool:
            answer = await self._transport.send(
                method, target, headers=await self._headers(acting_user_id), json_body=body
            )
            return answer.status == unconfirmed.V1_PERMISSION_REFUSED_STATUS

        results = await asyncio.gather(*(refused(*probe) for probe in probes.values()))
        missing = [name for name, was_refused in zip(probes, results, strict=True) if was_refused]
        if len(missing) == len(probes):
            raise CredentialRefused(
                "Greenhouse refused this Harvest API key: it is not a valid key, "
                "or it has none of the needed endpoint permissions",
                status=401,
            )
        return [name for name in unconfirmed.NEEDED_PERMISSIONS if name in missing]
