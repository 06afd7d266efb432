"""The Harvest emulator's v3 API and OAuth token endpoint: client credentials, bearer
tokens (expiry, revocation), scopes, `sub` as the acting user and cursor pagination."""

from __future__ import annotations

import asyncio

import pytest
from emulator.conftest import HarvestClient

from greenhouse_emulator.harvest import (
    ALL_PERMISSIONS,
    LIST_USERS,
    UPDATE_APPLICATION,
    V3_SCOPES,
)

INVALID_TOKEN = {"error": "invalid_token"}
NO_ACCESS = {"message": "You don't have access to that record."}
SCORE = {"name": "Alooba Score", "field_type": "application", "value_type": "number"}
NEW_USER = {"first_name": "B", "last_name": "S", "email": "b@example.com"}


# --- /token ----------------------------------------------------------------------------------


async def test_client_credentials_grant(harvest: HarvestClient) -> None:
    client_id, secret = harvest.emulator.issue_v3_client()
    reply = await harvest.token(client_id, secret, sub=str(harvest.admin))
    assert reply.status == 200
    assert set(reply.body) == {"access_token", "token_type", "expires_in", "scope"}
    assert reply.body["token_type"] == "Bearer"
    assert reply.body["expires_in"] == 3600
    assert reply.body["scope"].split() == [V3_SCOPES[p] for p in ALL_PERMISSIONS]
    (record,) = harvest.emulator.token_requests
    assert (record.client_id, record.status, record.sub) == (client_id, 200, str(harvest.admin))
    assert harvest.emulator.requests == []  # /token is not a Harvest API request


async def test_scopes_follow_the_clients_permissions(harvest: HarvestClient) -> None:
    client_id, secret = harvest.emulator.issue_v3_client([LIST_USERS, UPDATE_APPLICATION])
    reply = await harvest.token(client_id, secret)
    assert reply.body["scope"] == "harvest:users:list harvest:applications:update"
    narrowed = await harvest.token(client_id, secret, scope="harvest:users:list")
    assert narrowed.body["scope"] == "harvest:users:list"
    wider = await harvest.token(client_id, secret, scope="harvest:users:create")
    assert (wider.status, wider.body) == (400, {"error": "invalid_scope"})


@pytest.mark.parametrize("secret", ["wrong", ""])
async def test_a_bad_client_is_401(harvest: HarvestClient, secret: str) -> None:
    client_id, _ = harvest.emulator.issue_v3_client()
    assert (await harvest.token(client_id, secret)).body == {"error": "invalid_client"}
    reply = await harvest.token("nobody", secret)
    assert (reply.status, reply.body) == (401, {"error": "invalid_client"})


async def test_other_grants_are_400(harvest: HarvestClient) -> None:
    client_id, secret = harvest.emulator.issue_v3_client()
    reply = await harvest.token(client_id, secret, grant_type="authorization_code")
    assert (reply.status, reply.body) == (400, {"error": "unsupported_grant_type"})
    reply = await harvest.request("POST", "/token", headers={}, data={"grant_type": "x"})
    assert reply.status == 401  # the client is checked first


@pytest.mark.parametrize("sub", ["424242", "abc", "disabled"])
async def test_an_unknown_or_disabled_sub_is_invalid_grant(
    harvest: HarvestClient, sub: str
) -> None:
    if sub == "disabled":
        gone = harvest.emulator.add_user("Old", "Admin", "old@example.com", site_admin=True)
        harvest.emulator.set_disabled(gone)
        sub = str(gone)
    client_id, secret = harvest.emulator.issue_v3_client()
    reply = await harvest.token(client_id, secret, sub=sub)
    assert (reply.status, reply.body) == (400, {"error": "invalid_grant"})


async def test_token_requests_are_never_rate_limited_or_faulted(harvest: HarvestClient) -> None:
    harvest.emulator.rate_limit = 1
    harvest.emulator.inject_faults(1.0, [503])
    client_id, secret = harvest.emulator.issue_v3_client()
    for _ in range(3):
        assert (await harvest.token(client_id, secret)).status == 200


# --- bearer tokens -----------------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Basic abc"])
async def test_missing_or_unknown_tokens_are_401(
    harvest: HarvestClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    reply = await harvest.v3("GET", "/users", token=None, headers=headers)
    assert (reply.status, reply.body) == (401, INVALID_TOKEN)
    assert reply.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'


async def test_a_v1_key_is_not_a_v3_credential(harvest: HarvestClient) -> None:
    reply = await harvest.v3("GET", "/users", token=harvest.key)
    assert reply.status == 401


async def test_tokens_expire(harvest: HarvestClient) -> None:
    harvest.emulator.token_lifetime_seconds = 0.3
    client_id, secret = harvest.emulator.issue_v3_client()
    reply = await harvest.token(client_id, secret)
    assert reply.body["expires_in"] == 1  # whole seconds, rounded up
    token = reply.body["access_token"]
    assert (await harvest.v3("GET", "/users", token=token)).status == 200
    await asyncio.sleep(0.35)
    expired = await harvest.v3("GET", "/users", token=token)
    assert (expired.status, expired.body) == (401, INVALID_TOKEN)


async def test_revoked_tokens_are_401_and_new_ones_work(harvest: HarvestClient) -> None:
    token = await harvest.bearer()
    harvest.emulator.revoke_tokens()
    reply = await harvest.v3("GET", "/users", token=token)
    assert (reply.status, reply.body) == (401, INVALID_TOKEN)
    assert (await harvest.v3("GET", "/users", token=await harvest.bearer())).status == 200


async def test_a_token_whose_user_was_disabled_is_401(harvest: HarvestClient) -> None:
    token = await harvest.bearer()
    harvest.emulator.set_disabled(harvest.admin)
    assert (await harvest.v3("GET", "/users", token=token)).status == 401


@pytest.mark.parametrize(
    ("permission", "method", "path", "body"),
    [
        (p, m, path, body)
        for p, (m, path, body) in {
            "GET: List Users": ("GET", "/users", None),
            "GET: Retrieve User": ("GET", "/users/{admin}", None),
            "POST: Add User": ("POST", "/users", NEW_USER),
            "GET: Get custom fields": ("GET", "/custom_fields", None),
            "POST: Create Custom Field": ("POST", "/custom_fields", SCORE),
            "PATCH: Update Application": ("PATCH", "/applications/{application}", {}),
        }.items()
    ],
)  # fmt: skip
async def test_each_route_needs_its_scope(
    harvest: HarvestClient, permission: str, method: str, path: str, body: object
) -> None:
    application = harvest.emulator.add_application()
    path = path.format(admin=harvest.admin, application=application)
    lacking = await harvest.bearer([p for p in ALL_PERMISSIONS if p != permission])
    reply = await harvest.v3(method, path, token=lacking, json=body)
    scope = V3_SCOPES[permission]
    assert (reply.status, reply.body) == (403, {"error": "insufficient_scope", "scope": scope})
    assert f'scope="{scope}"' in reply.headers["WWW-Authenticate"]
    allowed = await harvest.v3(method, path, token=await harvest.bearer([permission]), json=body)
    assert allowed.status in (200, 201), allowed.body


# --- the acting user is the token's sub ------------------------------------------------------


async def test_a_service_account_reads_but_cannot_write(harvest: HarvestClient) -> None:
    token = await harvest.bearer(sub=None)
    assert (await harvest.v3("GET", "/users", token=token)).status == 200
    reply = await harvest.v3(
        "POST",
        "/custom_fields",
        token=token,
        json=SCORE,
        headers={"On-Behalf-Of": str(harvest.admin)},  # ignored in v3
    )
    assert (reply.status, reply.body) == (403, NO_ACCESS)
    assert harvest.emulator.custom_fields() == []


async def test_a_basic_sub_cannot_write_and_a_site_admin_can(harvest: HarvestClient) -> None:
    basic = harvest.emulator.add_user("Bo", "Basic", "bo@example.com")
    reply = await harvest.v3(
        "POST", "/custom_fields", token=await harvest.bearer(sub=basic), json=SCORE
    )
    assert (reply.status, reply.body) == (403, NO_ACCESS)
    reply = await harvest.v3(
        "POST",
        "/custom_fields",
        token=await harvest.bearer(),
        json=SCORE,
        headers={"On-Behalf-Of": "not even a number"},
    )
    assert reply.status == 201
    assert reply.body["name_key"] == "alooba_score"
    assert harvest.emulator.requests[-1].on_behalf_of == harvest.admin


async def test_v3_patch_is_v1s(harvest: HarvestClient) -> None:
    harvest.emulator.add_custom_field("Alooba Score")
    harvest.emulator.add_custom_field("Notes", value_type="long_text")
    application = harvest.emulator.add_application()
    harvest.emulator.set_application_custom_field(application, "notes", "keep me")
    token = await harvest.bearer()
    reply = await harvest.v3(
        "PATCH",
        f"/applications/{application}",
        token=token,
        json={"custom_fields": [{"name_key": "alooba_score", "value": 91}]},
    )
    assert reply.status == 200
    assert reply.body["custom_fields"] == {"alooba_score": 91, "notes": "keep me"}
    harvest.emulator.delete_application(application)
    reply = await harvest.v3("PATCH", f"/applications/{application}", token=token, json={})
    assert (reply.status, reply.body) == (
        404,
        {"message": f"Application {application} has been deleted."},
    )
    reply = await harvest.v3("GET", "/users/777777", token=token)
    assert (reply.status, reply.body) == (404, {"message": "Resource not found"})


async def test_v3_validation_bodies_are_v1s(harvest: HarvestClient) -> None:
    token = await harvest.bearer()
    harvest.emulator.add_custom_field("Alooba Score")
    reply = await harvest.v3("POST", "/custom_fields", token=token, json=SCORE)
    assert (reply.status, reply.body) == (
        422,
        {
            "message": "Validation error",
            "errors": [{"message": "Name has already been taken", "field": "name"}],
        },
    )


# --- cursor pagination ----------------------------------------------------------------------------


async def test_cursor_pagination_follows_next_links(harvest: HarvestClient) -> None:
    for n in range(4):
        harvest.emulator.add_user("U", str(n), f"u{n}@example.com")
    token = await harvest.bearer()
    seen: list[int] = []
    reply = await harvest.v3("GET", "/users", token=token, params={"per_page": "2"})
    links = []
    while True:
        assert reply.status == 200
        seen += [user["id"] for user in reply.body]
        link = reply.headers.get("Link")
        if link is None:
            break
        links.append(link)
        url = link.removeprefix("<").split(">")[0]
        assert url.startswith(harvest.emulator.base_url + "/v3/users?cursor=")
        assert link.endswith('; rel="next"')
        reply = await harvest.v3("GET", url, token=token)
    assert seen == [harvest.admin, *range(1001, 1005)]
    assert len(links) == 2
    # A cursor may be followed again (a retry after a timeout).
    again = await harvest.v3("GET", links[0][1:].split(">")[0], token=token)
    assert [user["id"] for user in again.body] == seen[2:4]


async def test_a_cursor_keeps_the_filters(harvest: HarvestClient) -> None:
    for n in range(3):
        harvest.emulator.add_custom_field(f"Field {n}")
    harvest.emulator.add_custom_field("Other", field_type="candidate")
    token = await harvest.bearer()
    first = await harvest.v3(
        "GET", "/custom_fields", token=token, params={"field_type": "application", "per_page": "2"}
    )
    second = await harvest.v3("GET", first.headers["Link"][1:].split(">")[0], token=token)
    assert [f["field_type"] for f in first.body + second.body] == ["application"] * 3
    assert "Link" not in second.headers
    everything = await harvest.v3("GET", "/custom_fields", token=token)
    assert len(everything.body) == 4
    bad = await harvest.v3("GET", "/custom_fields", token=token, params={"field_type": "x"})
    assert bad.status == 422


async def test_cursor_must_be_the_only_query_parameter(harvest: HarvestClient) -> None:
    for n in range(3):
        harvest.emulator.add_user("U", str(n), f"u{n}@example.com")
    token = await harvest.bearer()
    first = await harvest.v3("GET", "/users", token=token, params={"per_page": "2"})
    url = first.headers["Link"][1:].split(">")[0]
    for extra in ("&per_page=2", "&email=u1@example.com"):
        reply = await harvest.v3("GET", url + extra, token=token)
        assert (reply.status, reply.body) == (
            422,
            {"message": "cursor must be the only query parameter"},
        )
    unknown = await harvest.v3("GET", "/users", token=token, params={"cursor": "made-up"})
    assert unknown.status == 422
    elsewhere = await harvest.v3("GET", "/custom_fields", token=token, params={"cursor": url[-24:]})
    assert elsewhere.status == 422


async def test_v3_email_filter_and_per_page_bounds(harvest: HarvestClient) -> None:
    token = await harvest.bearer()
    reply = await harvest.v3("GET", "/users", token=token, params={"email": "ADA@example.com"})
    assert [user["id"] for user in reply.body] == [harvest.admin]
    assert "Link" not in reply.headers
    reply = await harvest.v3("GET", "/users", token=token, params={"per_page": "501"})
    assert reply.status == 422
