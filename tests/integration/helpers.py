"""Helpers for the integration tests: tenants, gateway calls and invitation counts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from multidict import CIMultiDictProxy
from support.inprocess import System, basic_auth

from alooba.assessments.v1 import assessments_pb2 as apb

PARTNER = "/v1/greenhouse"


def unique(prefix: str) -> str:
    """A name no other test uses: the databases are shared by the whole session."""
    return f"{prefix} {uuid.uuid4().hex}"


@dataclass(frozen=True)
class Tenant:
    organization: apb.Organization
    key: str
    test: apb.Test


async def new_tenant(system: System, *, test_name: str = "Data Analyst") -> Tenant:
    """An organization with an active partner key and one active test."""
    organization, key = await system.organization_with_key(unique("Org"))
    test = await system.create_test(organization.id, test_name)
    return Tenant(organization, key, test)


@dataclass(frozen=True)
class Reply:
    status: int
    body: Any
    headers: CIMultiDictProxy[str]
    content_type: str


async def call(
    system: System,
    method: str,
    path: str,
    *,
    key: str | None = None,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> Reply:
    """One request to the gateway; the body must be JSON whatever the status."""
    sent = {**(basic_auth(key) if key is not None else {}), **(headers or {})}
    async with system.http.request(
        method, f"{system.gateway_url}{path}", headers=sent, **kwargs
    ) as response:
        body = await response.json(content_type=None)
        return Reply(response.status, body, response.headers, response.content_type)


async def send_test(system: System, key: str, body: dict[str, Any]) -> Reply:
    return await call(system, "POST", f"{PARTNER}/send_test", key=key, json=body)


async def status_of(system: System, key: str, partner_interview_id: str) -> Reply:
    return await call(
        system,
        "GET",
        f"{PARTNER}/test_status",
        key=key,
        params={"partner_interview_id": partner_interview_id},
    )


async def list_tests(system: System, key: str) -> Reply:
    return await call(system, "GET", f"{PARTNER}/list_tests", key=key)


async def all_invitations(system: System, organization_id: str) -> list[apb.Invitation]:
    """Every invitation of the organization, following the pages."""
    found: list[apb.Invitation] = []
    token = ""
    while True:
        page = await system.admin.ListInvitations(
            apb.ListInvitationsRequest(organization_id=organization_id, page_token=token)
        )
        found.extend(page.invitations)
        token = page.next_page_token
        if not token:
            return found
