"""What the v1 and v3 clients share: the calls themselves, and reading their answers.

A subclass says how a request is authenticated and made on someone's behalf (`_headers`),
where each endpoint lives, how to follow pagination, and how it is told that a permission
is missing (`_refused`).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from typing import Any

from yarl import URL

from harvest_sync.harvest import unconfirmed
from harvest_sync.harvest.api import FieldValue, HarvestField, HarvestUser
from harvest_sync.harvest.errors import HarvestError
from harvest_sync.harvest.transport import Answer, Transport, rejected

_PAGE_SIZE = 100
# A runaway pagination (a link loop) must not run forever.
_MAX_PAGES = 1000


class HarvestClient(abc.ABC):
    mode: str

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    # --- what a version decides -----------------------------------------------------

    @abc.abstractmethod
    async def _headers(self, acting_user_id: int | None) -> dict[str, str]:
        """Authorization (and On-Behalf-Of) for a request made on behalf of that user."""

    @abc.abstractmethod
    async def _refused(
        self,
        answer: Answer,
        permission: str,
        acting_user_id: int | None,
        *,
        sent_headers: Mapping[str, str],
        retried: bool,
    ) -> bool:
        """Called on a 401 or 403. Raises when the answer says the credential or permission
        was refused; returns True when the request should be sent once more (v3, after
        renewing the token); False leaves the answer to the caller."""

    @abc.abstractmethod
    def _users_url(self) -> URL: ...

    @abc.abstractmethod
    def _fields_url(self) -> URL: ...

    @abc.abstractmethod
    def _create_field_url(self) -> URL: ...

    @abc.abstractmethod
    def _application_url(self, application_id: int) -> URL: ...

    @abc.abstractmethod
    def _next_page(self, answer: Answer) -> URL | None:
        """The next page's URL, or None on the last page."""

    @abc.abstractmethod
    async def missing_permissions(self, acting_user_id: int | None) -> list[str]:
        """See HarvestApi.missing_permissions."""

    # --- calls ----------------------------------------------------------------------

    async def _call(
        self,
        method: str,
        url: URL,
        *,
        permission: str,
        acting_user_id: int | None = None,
        json_body: Any = None,
    ) -> Answer:
        retried = False
        while True:
            headers = await self._headers(acting_user_id)
            answer = await self._transport.send(method, url, headers=headers, json_body=json_body)
            if answer.status in (401, 403) and await self._refused(
                answer, permission, acting_user_id, sent_headers=headers, retried=retried
            ):
                retried = True
                continue
            return answer

    async def _list(self, url: URL, permission: str) -> list[Mapping[str, Any]]:
        items: list[Mapping[str, Any]] = []
        next_url: URL | None = url
        for _ in range(_MAX_PAGES):
            if next_url is None:
                return items
            answer = await self._call("GET", next_url, permission=permission)
            if answer.status != 200 or not isinstance(answer.body, list):
                raise rejected(answer, f"listing {url.path}")
            items.extend(item for item in answer.body if isinstance(item, Mapping))
            next_url = self._next_page(answer)
            if next_url is not None and not self._transport.same_origin(next_url):
                raise HarvestError(f"a pagination link left Greenhouse: {next_url.origin()}")
        raise HarvestError(f"more than {_MAX_PAGES} pages from {url.path}")

    async def users(self) -> list[HarvestUser]:
        url = self._users_url().with_query(per_page=_PAGE_SIZE)
        return [HarvestUser.from_json(u) for u in await self._list(url, unconfirmed.LIST_USERS)]

    async def user_by_email(self, email: str) -> HarvestUser | None:
        url = self._users_url().with_query(email=email)
        found = await self._list(url, unconfirmed.LIST_USERS)
        users = [HarvestUser.from_json(u) for u in found]
        wanted = email.casefold()
        # The filter matches secondary addresses too; prefer an exact primary match.
        users.sort(key=lambda u: not u.emails or u.emails[0].casefold() != wanted)
        return users[0] if users else None

    async def create_user(
        self, *, first_name: str, last_name: str, email: str, acting_user_id: int
    ) -> HarvestUser:
        answer = await self._call(
            "POST",
            self._users_url(),
            permission=unconfirmed.ADD_USER,
            acting_user_id=acting_user_id,
            json_body={
                "first_name": first_name,
                "last_name": last_name,
                "email": email,
                # The integration user never logs in; it only stands behind our writes.
                "send_email_invite": False,
            },
        )
        if answer.status not in unconfirmed.CREATED_STATUSES or not isinstance(
            answer.body, Mapping
        ):
            raise rejected(answer, "creating the integration user")
        return HarvestUser.from_json(answer.body)

    async def application_fields(self) -> list[HarvestField]:
        found = await self._list(self._fields_url(), unconfirmed.GET_CUSTOM_FIELDS)
        return [f for f in map(HarvestField.from_json, found) if f.active]

    async def create_number_field(
        self, name: str, *, description: str, acting_user_id: int
    ) -> HarvestField:
        answer = await self._call(
            "POST",
            self._create_field_url(),
            permission=unconfirmed.CREATE_CUSTOM_FIELD,
            acting_user_id=acting_user_id,
            json_body={
                "name": name,
                "description": description,
                "field_type": "application",
                "value_type": "number",
                "private": False,
            },
        )
        body = answer.body
        # The docs' example answer is a one-element array (reference §3.9): take either.
        if isinstance(body, list) and len(body) == 1:
            body = body[0]
        if answer.status not in unconfirmed.CREATED_STATUSES or not isinstance(body, Mapping):
            raise rejected(answer, f"creating the custom field {name!r}")
        return HarvestField.from_json(body)

    async def update_application(
        self, application_id: int, values: Sequence[FieldValue], *, acting_user_id: int
    ) -> None:
        answer = await self._call(
            "PATCH",
            self._application_url(application_id),
            permission=unconfirmed.UPDATE_APPLICATION,
            acting_user_id=acting_user_id,
            # Only the fields we write: Harvest leaves the others as they are, and we never
            # send delete_value.
            json_body={"custom_fields": [{"id": v.field_id, "value": v.value} for v in values]},
        )
        if answer.status != 200:
            raise rejected(answer, f"updating application {application_id}")
