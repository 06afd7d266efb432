"""Harvest v3 as `../shared/reference/harvest-v3-facts.md` describes it (rows named):
bearer tokens per acting user (tokens.py), cursor pagination, users by `primary_email`,
single records by `ids=`, custom fields written by `custom_field_id` after reading the
application's others and writing them back, and a look-up before creating again after a
create that timed out.

A 401 renews the token and sends the request once more (it may have expired early, or
been revoked by a newer one, E12). A 403 is a missing scope or an acting user who is not a
Site Admin (rows 34-35): unless Greenhouse named the scope, both are said.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

from yarl import URL

from harvest_sync.app import harvest_contract as contract
from harvest_sync.app import harvest_unconfirmed as unconfirmed
from harvest_sync.app.harvest_api import FieldValue, HarvestField, HarvestUser, Missing, Visibility
from harvest_sync.domain.harvest_errors import (
    CredentialRefused,
    HarvestUnavailable,
    PermissionMissing,
    Rejected,
    SubjectRefused,
)
from harvest_sync.domain.harvest_tokens import TokenStore
from harvest_sync.outbound.harvest.client import HarvestClient, number_field
from harvest_sync.outbound.harvest.transport import Answer, Transport, rejected

T = TypeVar("T")


class HarvestV3(HarvestClient):
    mode = "v3"
    needed = contract.V3_SCOPES

    def __init__(self, transport: Transport, tokens: TokenStore) -> None:
        super().__init__(transport)
        self._tokens = tokens

    async def _headers(self, acting_user_id: int | None) -> dict[str, str]:
        token = await self._tokens.token(acting_user_id)
        return {"Authorization": f"Bearer {token.access_token}"}

    async def _refused(
        self,
        answer: Answer,
        permission: str,
        acting_user_id: int | None,
        *,
        sent_headers: Mapping[str, str],
        retried: bool,
    ) -> bool:
        if answer.status == 401:
            if retried:
                raise CredentialRefused(
                    "Greenhouse refused a freshly issued v3 token", status=answer.status
                )
            sent = sent_headers["Authorization"].removeprefix("Bearer ")
            await self._tokens.invalidate(acting_user_id, sent)
            return True
        body = answer.body
        if isinstance(body, Mapping) and body.get("error") == unconfirmed.V3_INSUFFICIENT_SCOPE:
            named = body.get("scope")
            raise PermissionMissing(str(named or permission), status=answer.status)
        raise PermissionMissing(
            permission, status=answer.status, ambiguous=True, acting_user_id=acting_user_id
        )

    def _url(self, path: str, **query: str | int) -> URL:
        url = self._transport.url(path)
        return url.with_query(query) if query else url

    def _next_page(self, answer: Answer) -> URL | None:
        link = answer.links.get("next")
        if link is None or "cursor" not in link.query:
            return link
        # Row 13: "When you pass a cursor, it must be the only query parameter".
        return link.with_query({"cursor": link.query["cursor"]})

    async def forget_tokens(self) -> None:
        await self._tokens.forget()

    # --- what the credential may do ----------------------------------------------------

    async def missing_permissions(self, *, reader: int | None, writer: int | None) -> Missing:
        token = await self._tokens.token(reader)
        if token.scopes is not None:
            return Missing(names=tuple(s for s in self.needed if s not in token.scopes))
        # Row 36: the token does not say; each endpoint is asked with a request that
        # cannot change anything (row 8's way).
        url = self._url
        reads = {
            contract.USERS_LIST: url(contract.V3_USERS_PATH, per_page=1),
            contract.CUSTOM_FIELDS_LIST: url(contract.V3_CUSTOM_FIELDS_PATH, per_page=1),
            contract.APPLICATIONS_LIST: url(contract.V3_APPLICATIONS_PATH, per_page=1),
        }
        writes = {
            contract.USERS_CREATE: ("POST", url(contract.V3_USERS_PATH)),
            contract.CUSTOM_FIELDS_CREATE: ("POST", url(contract.V3_CUSTOM_FIELDS_PATH)),
            contract.APPLICATIONS_UPDATE: (
                "PATCH",
                url(contract.V3_APPLICATION_PATH.format(id=unconfirmed.V3_PROBE_APPLICATION_ID)),
            ),
        }
        probes = [self._probe("GET", target, scope, reader) for scope, target in reads.items()]
        if writer is not None:
            probes += [
                self._probe(method, target, scope, writer, body={})
                for scope, (method, target) in writes.items()
            ]
        refusals = [refusal for refusal in await asyncio.gather(*probes) if refusal is not None]
        missing = {refusal.permission for refusal in refusals}
        return Missing(
            names=tuple(s for s in self.needed if s in missing),
            ambiguous=any(refusal.ambiguous for refusal in refusals),
            unknown=() if writer is not None else tuple(writes),
        )

    async def _probe(
        self, method: str, url: URL, scope: str, as_user: int | None, *, body: Any = None
    ) -> PermissionMissing | None:
        try:
            await self._call(method, url, permission=scope, acting_user_id=as_user, json_body=body)
        except PermissionMissing as refused:
            return refused
        return None

    async def sees_users(self, *, as_user: int | None) -> Visibility:
        """E6: a reader who is not a Site Admin gets nothing back (or a 403)."""
        url = self._url(contract.V3_USERS_PATH, per_page=1)
        try:
            answer = await self._call(
                "GET", url, permission=contract.USERS_LIST, acting_user_id=as_user
            )
        except PermissionMissing:
            return "refused"
        except SubjectRefused:
            return "empty"  # not an active user: it sees nothing
        if answer.status != 200 or not isinstance(answer.body, list):
            raise rejected(answer, "listing users")
        return "visible" if answer.body else "empty"

    async def _create(
        self,
        path: str,
        scope: str,
        acting_user_id: int,
        body: Mapping[str, Any],
        look_up: Callable[[], Awaitable[T | None]],
    ) -> Answer | T:
        """POSTs `body`; after a create that timed out, what `look_up` finds of it instead.
        E5: v3 takes no idempotency key, and the create may have been applied all the same."""
        try:
            return await self._call(
                "POST", self._url(path), permission=scope, acting_user_id=acting_user_id,
                json_body=body,
            )  # fmt: skip
        except HarvestUnavailable:
            found = await look_up()
            if found is None:
                raise
            return found

    # --- users ----------------------------------------------------------------------------

    async def users(self, *, as_user: int | None) -> list[HarvestUser]:
        url = self._url(contract.V3_USERS_PATH, per_page=contract.V3_PAGE_SIZE)
        found = await self._list(url, contract.USERS_LIST, as_user=as_user)
        return [HarvestUser.from_v3(u) for u in found]

    async def user_by_email(self, email: str, *, as_user: int | None) -> HarvestUser | None:
        url = self._url(contract.V3_USERS_PATH, **{contract.V3_USER_EMAIL_PARAMETER: email})
        found = await self._list(url, contract.USERS_LIST, as_user=as_user)
        wanted = email.casefold()
        # Row 18: an exact filter; checked all the same, so that a Greenhouse that ignored
        # it could not hand us the first user of the list.
        users = [HarvestUser.from_v3(u) for u in found]
        return next((u for u in users if u.emails and u.emails[0].casefold() == wanted), None)

    async def create_user(
        self, *, first_name: str, last_name: str, email: str, acting_user_id: int
    ) -> HarvestUser:
        answer = await self._create(
            contract.V3_USERS_PATH,
            contract.USERS_CREATE,
            acting_user_id,
            {
                "first_name": first_name,
                "last_name": last_name,
                "primary_email": email,  # row 19
                # The integration user never logs in; it only stands behind our writes.
                "send_email_invite": False,
            },
            lambda: self.user_by_email(email, as_user=acting_user_id),
        )
        if isinstance(answer, HarvestUser):
            return answer
        body = answer.body
        if answer.status not in contract.CREATED_STATUSES or not _has_id(body):
            raise rejected(answer, "creating the integration user")
        if "primary_email" in body:
            return HarvestUser.from_v3(body)
        # Row 24: perhaps only the id. Harvest creates Basic, active users.
        return HarvestUser(id=int(body["id"]), emails=(email,), site_admin=False, deactivated=False)

    # --- custom fields --------------------------------------------------------------------

    def _fields_url(self, **query: str | int) -> URL:
        return self._url(
            contract.V3_CUSTOM_FIELDS_PATH,
            **{contract.V3_FIELD_TYPE_PARAMETER: "application", "active": "true", **query},
        )

    async def application_fields(self, *, as_user: int | None) -> list[HarvestField]:
        # Row 21: without active=true, archived fields come back too.
        url = self._fields_url(per_page=contract.V3_PAGE_SIZE)
        found = await self._list(url, contract.CUSTOM_FIELDS_LIST, as_user=as_user)
        return [f for f in map(HarvestField.from_json, found) if f.active]

    async def _field_named(self, name: str, *, as_user: int) -> HarvestField | None:
        # E9: `name` is exact and case-insensitive.
        found = await self._list(
            self._fields_url(name=name), contract.CUSTOM_FIELDS_LIST, as_user=as_user
        )
        fields = [f for f in map(HarvestField.from_json, found) if f.active]
        return next((f for f in fields if f.name.casefold() == name.casefold()), None)

    async def create_number_field(
        self, name: str, *, description: str, acting_user_id: int
    ) -> HarvestField:
        answer = await self._create(
            contract.V3_CUSTOM_FIELDS_PATH,
            contract.CUSTOM_FIELDS_CREATE,
            acting_user_id,
            number_field(name, description),
            lambda: self._field_named(name, as_user=acting_user_id),
        )
        if isinstance(answer, HarvestField):
            return answer
        body = answer.body
        if answer.status not in contract.CREATED_STATUSES or not _has_id(body):
            raise rejected(answer, f"creating the custom field {name!r}")
        field = HarvestField.from_json(body)
        if field.name_key:
            return field
        # Row 24: the answer may hold only the id; the write needs the name_key.
        url = self._fields_url(ids=field.id)
        read = await self._list(url, contract.CUSTOM_FIELDS_LIST, as_user=acting_user_id)
        if not read:
            raise Rejected(f"the custom field {name!r} (id {field.id}) could not be read back")
        return HarvestField.from_json(read[0])

    # --- applications ---------------------------------------------------------------------

    async def _custom_fields_of(
        self, application_id: int, acting_user_id: int
    ) -> Mapping[str, Any]:
        """The application's custom fields as v3 shows them, `{name_key: {name, type,
        value}}` (E8), read with `ids=` (E2)."""
        url = self._url(contract.V3_APPLICATIONS_PATH, ids=application_id)
        answer = await self._call(
            "GET", url, permission=contract.APPLICATIONS_LIST, acting_user_id=acting_user_id
        )
        if answer.status != 200 or not isinstance(answer.body, list):
            raise rejected(answer, f"reading application {application_id}")
        found = [a for a in answer.body if isinstance(a, Mapping) and a.get("id") == application_id]
        if not found:
            if await self.sees_users(as_user=acting_user_id) == "visible":
                raise Rejected(f"application {application_id} is not in Greenhouse", status=404)
            # E6: Greenhouse shows nothing to a user who is not a Site Admin.
            raise PermissionMissing(
                contract.APPLICATIONS_LIST,
                status=answer.status,
                ambiguous=True,
                acting_user_id=acting_user_id,
            )
        current = found[0].get("custom_fields")
        if not isinstance(current, Mapping):
            raise Rejected(
                f"application {application_id} came without its custom fields; not writing, "
                "as a write may replace them all"
            )
        return current

    async def update_application(
        self, application_id: int, values: Sequence[FieldValue], *, acting_user_id: int
    ) -> None:
        """Row 27 (unconfirmed): a PATCH may replace the application's whole custom_fields
        collection. So the current values are read and sent back, exactly as v3 showed
        them (as BM does), with ours (row 26: by custom_field_id)."""
        current = await self._custom_fields_of(application_id, acting_user_id)
        elements = [
            {"name_key": name_key, "value": shown["value"]}
            for name_key, shown in current.items()
            if isinstance(shown, Mapping)
            and shown.get("value") is not None
            and not _ours(name_key, shown, values)
        ]
        elements += [{"custom_field_id": v.field_id, "value": v.value} for v in values]
        answer = await self._call(
            "PATCH",
            self._url(contract.V3_APPLICATION_PATH.format(id=application_id)),
            permission=contract.APPLICATIONS_UPDATE,
            acting_user_id=acting_user_id,
            json_body={"custom_fields": elements},
        )
        # Row 28: 200 (any 2xx will do).
        if not 200 <= answer.status < 300:
            raise rejected(answer, f"updating application {application_id}")


def _has_id(body: Any) -> bool:
    return isinstance(body, Mapping) and isinstance(body.get("id"), int)


def _ours(name_key: str, shown: Mapping[str, Any], values: Sequence[FieldValue]) -> bool:
    """Whether a field the application shows is one we are writing (by its name_key, or by
    its name when we never learnt the key)."""
    for value in values:
        if value.name_key:
            if value.name_key == name_key:
                return True
        elif str(shown.get("name", "")).casefold() == value.name.casefold():
            return True
    return False
