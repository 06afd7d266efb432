"""Harvest v1 (the seed's flow): Basic auth with the API key as username and a blank
password, `On-Behalf-Of` on writes, Link-header pagination (reference §3.2-3.11).

Reads are the key's, whoever asks (`as_user` is not sent): v1 has no per-user reads.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

import aiohttp
from yarl import URL

from harvest_sync.app import harvest_contract as contract
from harvest_sync.app import harvest_unconfirmed as unconfirmed
from harvest_sync.app.harvest_api import FieldValue, HarvestField, HarvestUser, Missing, Visibility
from harvest_sync.domain.harvest_errors import CredentialRefused, PermissionMissing
from harvest_sync.outbound.harvest.client import HarvestClient, number_field
from harvest_sync.outbound.harvest.transport import Answer, Transport, rejected

_PAGE_SIZE = 100


class HarvestV1(HarvestClient):
    mode = "v1"
    needed = contract.V1_PERMISSIONS

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
        if answer.status == contract.V1_PERMISSION_REFUSED_STATUS:
            raise PermissionMissing(permission, status=answer.status)
        return False

    async def forget_tokens(self) -> None:
        """v1 has no tokens: the key is the credential."""

    def _url(self, path: str) -> URL:
        return self._transport.url(path)

    def _next_page(self, answer: Answer) -> URL | None:
        # "It is important to use the Link headers and not page manually."
        return answer.links.get("next")

    async def missing_permissions(self, *, reader: int | None, writer: int | None) -> Missing:
        """Each needed endpoint probed on behalf of `writer` (the Site Admin named at
        connect, if any) with a request that cannot change anything (row 8)."""
        url = self._url
        probes: dict[str, tuple[str, URL, object]] = {
            contract.LIST_USERS: ("GET", url("/v1/users").with_query(per_page=1), None),
            contract.GET_CUSTOM_FIELDS: (
                "GET",
                url("/v1/custom_fields/application").with_query(per_page=1),
                None,
            ),
            contract.ADD_USER: ("POST", url("/v1/users"), {}),
            contract.CREATE_CUSTOM_FIELD: ("POST", url("/v1/custom_fields"), {}),
            contract.UPDATE_APPLICATION: (
                "PATCH",
                url(f"/v1/applications/{unconfirmed.V1_PROBE_APPLICATION_ID}"),
                {},
            ),
        }

        async def refused(method: str, target: URL, body: object) -> bool:
            answer = await self._transport.send(
                method, target, headers=await self._headers(writer), json_body=body
            )
            return answer.status == contract.V1_PERMISSION_REFUSED_STATUS

        results = await asyncio.gather(*(refused(*probe) for probe in probes.values()))
        missing = [name for name, was_refused in zip(probes, results, strict=True) if was_refused]
        if len(missing) == len(probes):
            raise CredentialRefused(
                "Greenhouse refused this Harvest API key: it is not a valid key, "
                "or it has none of the needed endpoint permissions",
                status=401,
            )
        return Missing(names=tuple(name for name in self.needed if name in missing))

    async def sees_users(self, *, as_user: int | None) -> Visibility:
        # A v1 key reads whatever its permissions allow, whoever it acts for.
        return "visible"

    async def users(self, *, as_user: int | None = None) -> list[HarvestUser]:
        url = self._url("/v1/users").with_query(per_page=_PAGE_SIZE)
        return [HarvestUser.from_v1(u) for u in await self._list(url, contract.LIST_USERS)]

    async def user_by_email(self, email: str, *, as_user: int | None = None) -> HarvestUser | None:
        url = self._url("/v1/users").with_query(email=email)
        found = await self._list(url, contract.LIST_USERS)
        users = [HarvestUser.from_v1(u) for u in found]
        wanted = email.casefold()
        # The filter matches secondary addresses too; prefer an exact primary match.
        users.sort(key=lambda u: not u.emails or u.emails[0].casefold() != wanted)
        return users[0] if users else None

    async def create_user(
        self, *, first_name: str, last_name: str, email: str, acting_user_id: int
    ) -> HarvestUser:
        answer = await self._call(
            "POST",
            self._url("/v1/users"),
            permission=contract.ADD_USER,
            acting_user_id=acting_user_id,
            json_body={
                "first_name": first_name,
                "last_name": last_name,
                "email": email,
                # The integration user never logs in; it only stands behind our writes.
                "send_email_invite": False,
            },
        )
        if answer.status not in contract.CREATED_STATUSES or not isinstance(answer.body, Mapping):
            raise rejected(answer, "creating the integration user")
        return HarvestUser.from_v1(answer.body)

    async def application_fields(self, *, as_user: int | None = None) -> list[HarvestField]:
        url = self._url("/v1/custom_fields/application").with_query(per_page=100)
        found = await self._list(url, contract.GET_CUSTOM_FIELDS)
        return [f for f in map(HarvestField.from_json, found) if f.active]

    async def create_number_field(
        self, name: str, *, description: str, acting_user_id: int
    ) -> HarvestField:
        answer = await self._call(
            "POST",
            self._url("/v1/custom_fields"),
            permission=contract.CREATE_CUSTOM_FIELD,
            acting_user_id=acting_user_id,
            json_body=number_field(name, description),
        )
        body = answer.body
        # The docs' example answer is a one-element array (reference §3.9): take either.
        if isinstance(body, list) and len(body) == 1:
            body = body[0]
        if answer.status not in contract.CREATED_STATUSES or not isinstance(body, Mapping):
            raise rejected(answer, f"creating the custom field {name!r}")
        return HarvestField.from_json(body)

    async def update_application(
        self, application_id: int, values: Sequence[FieldValue], *, acting_user_id: int
    ) -> None:
        answer = await self._call(
            "PATCH",
            self._url(f"/v1/applications/{application_id}"),
            permission=contract.UPDATE_APPLICATION,
            acting_user_id=acting_user_id,
            # Only the fields we write: v1 leaves the others as they are (reference
            # §3.11), and we never send delete_value.
            json_body={"custom_fields": [{"id": v.field_id, "value": v.value} for v in values]},
        )
        if answer.status != 200:
            raise rejected(answer, f"updating application {application_id}")
