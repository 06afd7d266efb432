"""The Harvest emulator's v3 API and OAuth token endpoint, row by row of
harvest-v3-facts.md (named in each test): client credentials, bearer tokens, scopes, the
Site Admin rule for reads and writes, query parameters, users, custom fields,
applications, cursors, and each unconfirmed behaviour in both of its readings."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime

import pytest
from emulator.conftest import HarvestClient

from greenhouse_emulator.harvest import (
    ALL_SCOPES,
    APPLICATIONS_LIST,
    APPLICATIONS_UPDATE,
    CUSTOM_FIELDS_CREATE,
    CUSTOM_FIELDS_LIST,
    USERS_CREATE,
    USERS_LIST,
    V3Behaviour,
)

UNAUTHORIZED = {"message": "Unauthorized", "errors": ["Token could not be decoded"]}
FORBIDDEN = {"message": "Forbidden"}
NO_ACCESS = {"message": "You don't have access to that record."}
NOT_FOUND = {"message": "Resource not found"}
SCORE = {"name": "Alooba Score", "field_type": "application", "value_type": "number"}
NEW_USER = {"first_name": "B", "last_name": "S", "primary_email": "b@example.com"}


def behave(harvest: HarvestClient, **settings: object) -> None:
    harvest.emulator.v3_behaviour = dataclasses.replace(harvest.emulator.v3_behaviour, **settings)


# --- /token (rows 10-12, 36-37, E4, E11, E12) --------------------------------------------------


async def test_client_credentials_grant_answers_a_bearer_token_for_an_hour(
    harvest: HarvestClient,
) -> None:
    client_id, secret = harvest.emulator.issue_v3_client()
    reply = await harvest.token(client_id, secret, sub=str(harvest.admin))
    assert reply.status == 200
    # Row 36, worst case: no `scope` in the answer.
    assert set(reply.body) == {"access_token", "token_type", "expires_in"}
    assert (reply.body["token_type"], reply.body["expires_in"]) == ("Bearer", 3600)
    (record,) = harvest.emulator.token_requests
    assert (record.client_id, record.status, record.sub) == (client_id, 200, str(harvest.admin))
    assert record.token_number == 1
    assert harvest.emulator.requests == []  # /token is not a Harvest API request


async def test_the_token_names_its_scopes_only_when_set_to(harvest: HarvestClient) -> None:
    behave(harvest, token_scope=True)
    client_id, secret = harvest.emulator.issue_v3_client([USERS_LIST, APPLICATIONS_UPDATE])
    reply = await harvest.token(client_id, secret)
    assert reply.body["scope"] == "harvest:users:list harvest:applications:update"


@pytest.mark.parametrize(
    ("field", "keys"),
    [
        ("expires_in", {"expires_in"}),
        ("expires_at", {"expires_at"}),
        ("both", {"expires_in", "expires_at"}),
    ],
)
async def test_the_expiry_is_given_as_the_setting_says(
    harvest: HarvestClient, field: str, keys: set[str]
) -> None:
    behave(harvest, expiry_field=field)
    client_id, secret = harvest.emulator.issue_v3_client()
    body = (await harvest.token(client_id, secret)).body
    assert keys <= set(body)
    assert not {"expires_in", "expires_at"} - keys & set(body)
    if "expires_at" in body:
        expires = datetime.datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
        left = expires - datetime.datetime.now(datetime.UTC)
        assert datetime.timedelta(minutes=59) < left <= datetime.timedelta(hours=1)


async def test_client_ids_carry_a_number_suffix_and_a_malformed_one_is_400(
    harvest: HarvestClient,
) -> None:
    client_id, secret = harvest.emulator.issue_v3_client()
    assert client_id.rsplit("-", 1)[1].isdigit()
    malformed = await harvest.token("nosuffix", secret)
    assert malformed.status == 400
    assert set(malformed.body) == {"message", "errorId"}
    unknown = await harvest.token("someone-7", secret)
    assert (unknown.status, unknown.body) == (401, {"error": "invalid_client"})
    wrong = await harvest.token(client_id, "wrong")
    assert (wrong.status, wrong.body) == (401, {"error": "invalid_client"})


async def test_grant_type_is_accepted_in_the_query_too(harvest: HarvestClient) -> None:
    client_id, secret = harvest.emulator.issue_v3_client()
    reply = await harvest.request(
        "POST",
        "/token?grant_type=client_credentials",
        headers=harvest.token_headers(client_id, secret),
        data={"sub": str(harvest.admin)},
    )
    assert reply.status == 200


async def test_other_grants_and_unknown_or_deactivated_subs_are_400(harvest: HarvestClient) -> None:
    client_id, secret = harvest.emulator.issue_v3_client()
    other = await harvest.token(client_id, secret, grant_type="authorization_code")
    assert other.status == 400
    gone = harvest.emulator.add_user("Old", "Admin", "old@example.com", site_admin=True)
    harvest.emulator.set_disabled(gone)
    for sub in ("424242", "abc", str(gone)):
        reply = await harvest.token(client_id, secret, sub=sub)
        assert reply.status == 400
        assert set(reply.body) == {"message", "errorId"}


async def test_token_requests_are_never_rate_limited_or_faulted(harvest: HarvestClient) -> None:
    harvest.emulator.rate_limit = 1
    harvest.emulator.inject_faults(1.0, [503])
    client_id, secret = harvest.emulator.issue_v3_client()
    for _ in range(3):
        assert (await harvest.token(client_id, secret)).status == 200


async def test_a_new_token_revokes_the_last_one_of_the_same_client_and_sub(
    harvest: HarvestClient,
) -> None:
    # E12, worst case: single-active-token semantics per client and sub.
    client_id, secret = harvest.emulator.issue_v3_client()
    first = (await harvest.token(client_id, secret, sub=str(harvest.admin))).body["access_token"]
    service = (await harvest.token(client_id, secret)).body["access_token"]
    second = (await harvest.token(client_id, secret, sub=str(harvest.admin))).body["access_token"]
    assert (await harvest.v3("GET", "/users", token=first)).status == 401
    assert (await harvest.v3("GET", "/users", token=second)).status == 200
    assert (await harvest.v3("GET", "/users", token=service)).status == 200  # another sub


async def test_without_revocation_every_token_lives_until_it_expires(
    harvest: HarvestClient,
) -> None:
    behave(harvest, revocation="none")
    client_id, secret = harvest.emulator.issue_v3_client()
    tokens = [
        (await harvest.token(client_id, secret, sub=str(harvest.admin))).body["access_token"]
        for _ in range(2)
    ]
    for token in tokens:
        assert (await harvest.v3("GET", "/users", token=token)).status == 200


# --- bearer tokens (row 12, E4) --------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Basic abc"])
async def test_missing_or_unknown_tokens_are_401(
    harvest: HarvestClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    reply = await harvest.v3("GET", "/users", token=None, headers=headers)
    assert (reply.status, reply.body) == (401, UNAUTHORIZED)


async def test_a_v1_key_is_not_a_v3_credential(harvest: HarvestClient) -> None:
    reply = await harvest.v3("GET", "/users", token=harvest.key)
    assert reply.status == 401


async def test_tokens_expire(harvest: HarvestClient) -> None:
    harvest.emulator.token_lifetime_seconds = 0.3
    client_id, secret = harvest.emulator.issue_v3_client()
    reply = await harvest.token(client_id, secret, sub=str(harvest.admin))
    assert reply.body["expires_in"] == 1  # whole seconds, rounded up
    token = reply.body["access_token"]
    assert (await harvest.v3("GET", "/users", token=token)).status == 200
    await asyncio.sleep(0.35)
    expired = await harvest.v3("GET", "/users", token=token)
    assert (expired.status, expired.body) == (401, UNAUTHORIZED)


async def test_revoked_tokens_are_401_and_new_ones_work(harvest: HarvestClient) -> None:
    token = await harvest.bearer()
    harvest.emulator.revoke_tokens()
    assert (await harvest.v3("GET", "/users", token=token)).status == 401
    assert (await harvest.v3("GET", "/users", token=await harvest.bearer())).status == 200


async def test_a_token_whose_user_was_deactivated_is_401(harvest: HarvestClient) -> None:
    token = await harvest.bearer()
    harvest.emulator.set_disabled(harvest.admin)
    assert (await harvest.v3("GET", "/users", token=token)).status == 401


# --- routes (E2, E13, E15) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v3/users/{admin}"),  # E2: no single-record reads
        ("GET", "/v3/applications/{application}"),
        ("GET", "/v3/nothing_here"),
        ("POST", "/v3/users/bulk"),  # E17: not emulated
    ],
)
async def test_unknown_v3_routes_are_404_before_authentication(
    harvest: HarvestClient, method: str, path: str
) -> None:
    application = harvest.emulator.add_application()
    url = path.format(admin=harvest.admin, application=application)
    reply = await harvest.request(method, url, headers={})
    assert (reply.status, reply.body) == (404, NOT_FOUND)


# --- scopes (rows 29-35, E16) ------------------------------------------------------------------


ROUTES = {
    USERS_LIST: ("GET", "/users", None),
    USERS_CREATE: ("POST", "/users", NEW_USER),
    APPLICATIONS_LIST: ("GET", "/applications", None),
    APPLICATIONS_UPDATE: ("PATCH", "/applications/{application}", {}),
    CUSTOM_FIELDS_LIST: ("GET", "/custom_fields", None),
    CUSTOM_FIELDS_CREATE: ("POST", "/custom_fields", SCORE),
}


@pytest.mark.parametrize("scope", ALL_SCOPES)
async def test_each_route_needs_its_scope_and_a_refusal_says_nothing_more(
    harvest: HarvestClient, scope: str
) -> None:
    method, path, body = ROUTES[scope]
    path = path.format(application=harvest.emulator.add_application())
    lacking = await harvest.bearer([s for s in ALL_SCOPES if s != scope])
    reply = await harvest.v3(method, path, token=lacking, json=body)
    # Row 35, worst case: the same body as for an acting user who is not a Site Admin.
    assert (reply.status, reply.body) == (403, FORBIDDEN)
    allowed = await harvest.v3(method, path, token=await harvest.bearer([scope]), json=body)
    assert allowed.status in (200, 201), allowed.body


async def test_a_missing_scope_can_be_named_as_rfc_6750_says(harvest: HarvestClient) -> None:
    behave(harvest, forbidden_body="insufficient_scope")
    reply = await harvest.v3("GET", "/users", token=await harvest.bearer([CUSTOM_FIELDS_LIST]))
    assert (reply.status, reply.body) == (
        403,
        {"error": "insufficient_scope", "scope": USERS_LIST},
    )
    assert f'scope="{USERS_LIST}"' in reply.headers["WWW-Authenticate"]


async def test_a_removed_scope_stops_at_once_and_an_added_one_needs_a_new_token(
    harvest: HarvestClient,
) -> None:
    client_id, secret = harvest.emulator.issue_v3_client([USERS_LIST, CUSTOM_FIELDS_LIST])
    token = (await harvest.token(client_id, secret, sub=str(harvest.admin))).body["access_token"]
    harvest.emulator.set_v3_scopes(client_id, [CUSTOM_FIELDS_LIST, APPLICATIONS_LIST])
    assert (await harvest.v3("GET", "/users", token=token)).status == 403
    assert (await harvest.v3("GET", "/applications", token=token)).status == 403
    fresh = (await harvest.token(client_id, secret, sub=str(harvest.admin))).body["access_token"]
    assert (await harvest.v3("GET", "/applications", token=fresh)).status == 200


# --- the Site Admin rule (E6, row 11) --------------------------------------------------------


async def test_reads_of_a_user_who_is_not_a_site_admin_come_back_empty(
    harvest: HarvestClient,
) -> None:
    harvest.emulator.add_custom_field("Notes", value_type="short_text")
    basic = harvest.emulator.add_user("Bo", "Basic", "bo@example.com")
    token = await harvest.bearer(sub=basic)
    for path in ("/users", "/custom_fields", "/applications"):
        reply = await harvest.v3("GET", path, token=token)
        assert (reply.status, reply.body) == (200, [])
    admin = await harvest.v3("GET", "/users", token=await harvest.bearer())
    assert len(admin.body) == 2


async def test_reads_of_a_user_who_is_not_a_site_admin_can_be_refused_instead(
    harvest: HarvestClient,
) -> None:
    behave(harvest, non_admin_reads="forbidden")
    basic = harvest.emulator.add_user("Bo", "Basic", "bo@example.com")
    reply = await harvest.v3("GET", "/users", token=await harvest.bearer(sub=basic))
    assert (reply.status, reply.body) == (403, FORBIDDEN)


async def test_the_service_account_reads_nothing_unless_it_counts_as_a_site_admin(
    harvest: HarvestClient,
) -> None:
    token = await harvest.bearer(sub=None)
    assert (await harvest.v3("GET", "/users", token=token)).body == []
    behave(harvest, service_account_reads=True)
    assert [u["id"] for u in (await harvest.v3("GET", "/users", token=token)).body] == [
        harvest.admin
    ]


async def test_writes_act_as_a_site_admin_sub_only(harvest: HarvestClient) -> None:
    basic = harvest.emulator.add_user("Bo", "Basic", "bo@example.com")
    for sub in (None, basic):
        token = await harvest.bearer(sub=sub)
        reply = await harvest.v3("POST", "/custom_fields", token=token, json=SCORE)
        assert (reply.status, reply.body) == (403, FORBIDDEN)
    behave(harvest, forbidden_body="insufficient_scope")
    reply = await harvest.v3(
        "POST", "/custom_fields", token=await harvest.bearer(sub=basic), json=SCORE
    )
    assert (reply.status, reply.body) == (403, NO_ACCESS)
    assert harvest.emulator.custom_fields() == []
    reply = await harvest.v3(
        "POST",
        "/custom_fields",
        token=await harvest.bearer(),
        json=SCORE,
        headers={"On-Behalf-Of": "not even a number"},  # v1's header means nothing in v3
    )
    assert reply.status == 201
    assert harvest.emulator.requests[-1].on_behalf_of == harvest.admin


# --- query parameters (E3) ----------------------------------------------------------------------


async def test_an_unknown_query_parameter_is_422(harvest: HarvestClient) -> None:
    token = await harvest.bearer()
    reply = await harvest.v3("GET", "/users", token=token, params={"email": "ada@example.com"})
    assert reply.status == 422
    assert reply.body == {
        "message": "Unprocessable Content",
        "errors": [{"email": "is not a supported parameter"}],
    }


async def test_unknown_query_parameters_can_be_ignored_instead(harvest: HarvestClient) -> None:
    behave(harvest, unknown_query_parameters="ignore")
    harvest.emulator.add_user("Bo", "Basic", "bo@example.com")
    token = await harvest.bearer()
    reply = await harvest.v3("GET", "/users", token=token, params={"email": "ada@example.com"})
    # Ignored: the whole list, not the user with that address.
    assert len(reply.body) == 2


# --- users (rows 15-19, E7) ---------------------------------------------------------------------


async def test_a_v3_user_has_primary_email_and_deactivated(harvest: HarvestClient) -> None:
    harvest.emulator.set_disabled(
        harvest.emulator.add_user("Old", "Timer", "old@example.com", site_admin=True)
    )
    reply = await harvest.v3("GET", "/users", token=await harvest.bearer())
    by_email = {user["primary_email"]: user for user in reply.body}
    old = by_email["old@example.com"]
    assert (old["deactivated"], old["site_admin"]) == (True, True)
    assert "disabled" not in old
    assert "primary_email_address" not in old
    assert by_email["ada@example.com"]["deactivated"] is False


async def test_users_filter_by_primary_email_ids_and_deactivated(harvest: HarvestClient) -> None:
    emulator = harvest.emulator
    second = emulator.add_user("Sam", "Second", "sam@example.com", secondary_emails=["s@x.io"])
    gone = emulator.add_user("Gone", "User", "gone@example.com")
    emulator.set_disabled(gone)
    token = await harvest.bearer()

    async def ids(**params: str) -> list[int]:
        reply = await harvest.v3("GET", "/users", token=token, params=params)
        assert reply.status == 200, reply.body
        return sorted(user["id"] for user in reply.body)

    assert await ids(primary_email="SAM@example.com") == [second]
    assert await ids(primary_email="s@x.io") == []  # a secondary address is not primary
    assert await ids(ids=f"{harvest.admin},{gone}") == sorted([harvest.admin, gone])
    assert await ids(deactivated="true") == [gone]
    assert await ids(deactivated="false") == sorted([harvest.admin, second])
    assert await ids() == sorted([harvest.admin, second, gone])


async def test_a_user_is_created_with_primary_email_and_the_answer_has_only_its_id(
    harvest: HarvestClient,
) -> None:
    token = await harvest.bearer()
    reply = await harvest.v3("POST", "/users", token=token, json=NEW_USER)
    assert reply.status == 201
    assert set(reply.body) == {"id"}  # row 24, worst case
    assert harvest.emulator.user(reply.body["id"])["site_admin"] is False
    behave(harvest, created_body="full")
    body = {**NEW_USER, "primary_email": "c@example.com"}
    full = await harvest.v3("POST", "/users", token=token, json=body)
    assert (full.body["primary_email"], full.body["deactivated"]) == ("c@example.com", False)


async def test_creating_a_user_with_v1s_email_is_422(harvest: HarvestClient) -> None:
    body = {"first_name": "B", "last_name": "S", "email": "b@example.com"}
    reply = await harvest.v3("POST", "/users", token=await harvest.bearer(), json=body)
    assert reply.status == 422
    assert reply.body["message"] == "Unprocessable Content"
    assert {"primary_email": "Email can't be blank"} in reply.body["errors"]


# --- custom fields (rows 20-25, E9) ---------------------------------------------------------


async def test_custom_fields_include_archived_ones_unless_active_is_given(
    harvest: HarvestClient,
) -> None:
    kept = harvest.emulator.add_custom_field("Kept")
    archived = harvest.emulator.add_custom_field("Archived")
    harvest.emulator.deactivate_custom_field(archived["id"])
    token = await harvest.bearer()

    async def ids(**params: str) -> list[int]:
        reply = await harvest.v3("GET", "/custom_fields", token=token, params=params)
        assert reply.status == 200, reply.body
        return sorted(f["id"] for f in reply.body)

    assert await ids() == sorted([kept["id"], archived["id"]])
    assert await ids(active="true") == [kept["id"]]
    assert await ids(name="KEPT") == [kept["id"]]
    assert await ids(name_key="archived") == [archived["id"]]
    assert await ids(ids=str(kept["id"]), field_type="application") == [kept["id"]]
    assert await ids(field_type="candidate") == []
    bad = await harvest.v3("GET", "/custom_fields", token=token, params={"field_type": "x"})
    assert bad.status == 422


async def test_a_created_field_answers_201_with_only_its_id(harvest: HarvestClient) -> None:
    token = await harvest.bearer()
    reply = await harvest.v3("POST", "/custom_fields", token=token, json=SCORE)
    assert (reply.status, set(reply.body)) == (201, {"id"})
    (created,) = harvest.emulator.custom_fields()
    assert (created["id"], created["name_key"]) == (reply.body["id"], "alooba_score")
    again = await harvest.v3("POST", "/custom_fields", token=token, json=SCORE)
    assert again.status == 422
    assert again.body["errors"] == [{"name": "Name has already been taken"}]


# --- applications (rows 14, 26-28, E2, E8) ------------------------------------------------------


async def test_an_application_is_read_with_ids_and_its_fields_are_keyed_by_name_key(
    harvest: HarvestClient,
) -> None:
    harvest.emulator.add_custom_field("Alooba Score")
    harvest.emulator.add_custom_field("Notes", value_type="long_text")
    application = harvest.emulator.add_application()
    other = harvest.emulator.add_application()
    harvest.emulator.set_application_custom_field(application, "notes", "keep me")
    token = await harvest.bearer()
    reply = await harvest.v3("GET", "/applications", token=token, params={"ids": f"{application}"})
    assert [a["id"] for a in reply.body] == [application]
    assert reply.body[0]["custom_fields"] == {
        "alooba_score": {"name": "Alooba Score", "type": "number", "value": None},
        "notes": {"name": "Notes", "type": "long_text", "value": "keep me"},
    }
    both = await harvest.v3(
        "GET", "/applications", token=token, params={"ids": f"{application},{other}"}
    )
    assert sorted(a["id"] for a in both.body) == sorted([application, other])
    many = ",".join(str(n) for n in range(1, 52))
    assert (
        await harvest.v3("GET", "/applications", token=token, params={"ids": many})
    ).status == 422


async def test_patch_names_fields_by_custom_field_id_or_name_key_and_refuses_id(
    harvest: HarvestClient,
) -> None:
    score = harvest.emulator.add_custom_field("Alooba Score")
    harvest.emulator.add_custom_field("Alooba SQL Score")
    application = harvest.emulator.add_application()
    token = await harvest.bearer()
    elements = [
        {"custom_field_id": score["id"], "value": 81},
        {"name_key": "alooba_sql_score", "value": 90},
    ]
    reply = await harvest.v3(
        "PATCH", f"/applications/{application}", token=token, json={"custom_fields": elements}
    )
    assert reply.status == 200
    assert harvest.emulator.application(application)["custom_fields"] == {
        "alooba_score": 81,
        "alooba_sql_score": 90,
    }
    v1_shape = {"custom_fields": [{"id": score["id"], "value": 1}]}
    refused = await harvest.v3("PATCH", f"/applications/{application}", token=token, json=v1_shape)
    assert refused.status == 422
    assert harvest.emulator.application(application)["custom_fields"]["alooba_score"] == 81


@pytest.mark.parametrize(("mode", "notes_after"), [("replace", None), ("merge", "keep me")])
async def test_patch_replaces_or_merges_the_custom_fields_as_set(
    harvest: HarvestClient, mode: str, notes_after: str | None
) -> None:
    behave(harvest, patch_custom_fields=mode)
    harvest.emulator.add_custom_field("Alooba Score")
    harvest.emulator.add_custom_field("Notes", value_type="long_text")
    application = harvest.emulator.add_application()
    harvest.emulator.set_application_custom_field(application, "notes", "keep me")
    body = {"custom_fields": [{"name_key": "alooba_score", "value": 91}]}
    reply = await harvest.v3(
        "PATCH", f"/applications/{application}", token=await harvest.bearer(), json=body
    )
    assert reply.status == 200
    assert harvest.emulator.application(application)["custom_fields"] == {
        "alooba_score": 91,
        "notes": notes_after,
    }


async def test_values_written_back_as_a_read_shows_them_change_nothing(
    harvest: HarvestClient,
) -> None:
    emulator = harvest.emulator
    values = {
        "notes": ("short_text", "ok", ()),
        "level": ("single_select", "Senior", ("Junior", "Senior")),
        "tags": ("multi_select", ["A", "C"], ("A", "B", "C")),
        "salary": ("currency", {"value": 120000, "unit": "USD"}, ()),
        "band": ("number_range", {"min_value": 1, "max_value": 5}, ()),
        "remote": ("yes_no", True, ()),
        "start": ("date", "2026-12-01", ()),
        "owner": ("user", harvest.admin, ()),
    }
    application = emulator.add_application()
    for name_key, (value_type, value, options) in values.items():
        emulator.add_custom_field(name_key.title(), value_type=value_type, options=options)
        emulator.set_application_custom_field(application, name_key, value)
    before = emulator.application(application)["custom_fields"]
    token = await harvest.bearer()
    read = await harvest.v3("GET", "/applications", token=token, params={"ids": str(application)})
    elements = [
        {"name_key": key, "value": field["value"]}
        for key, field in read.body[0]["custom_fields"].items()
        if field["value"] is not None
    ]
    reply = await harvest.v3(
        "PATCH", f"/applications/{application}", token=token, json={"custom_fields": elements}
    )
    assert reply.status == 200, reply.body
    assert emulator.application(application)["custom_fields"] == before


# --- cursors (row 13, E18) --------------------------------------------------------------------


async def test_cursor_pagination_follows_next_links_in_descending_id_order(
    harvest: HarvestClient,
) -> None:
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
    assert seen == [1004, 1003, 1002, 1001, harvest.admin]
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


async def test_a_cursor_must_be_the_only_query_parameter(harvest: HarvestClient) -> None:
    for n in range(3):
        harvest.emulator.add_user("U", str(n), f"u{n}@example.com")
    token = await harvest.bearer()
    first = await harvest.v3("GET", "/users", token=token, params={"per_page": "2"})
    url = first.headers["Link"][1:].split(">")[0]
    for extra in ("&per_page=2", "&primary_email=u1@example.com"):
        reply = await harvest.v3("GET", url + extra, token=token)
        assert (reply.status, reply.body) == (
            422,
            {"errors": ["When passing a cursor, do not include other query params."]},
        )
    unknown = await harvest.v3("GET", "/users", token=token, params={"cursor": "made-up"})
    assert unknown.status == 422
    elsewhere = await harvest.v3("GET", "/custom_fields", token=token, params={"cursor": url[-24:]})
    assert elsewhere.status == 422


async def test_per_page_is_1_to_500(harvest: HarvestClient) -> None:
    token = await harvest.bearer()
    for bad in ("0", "501", "x"):
        reply = await harvest.v3("GET", "/users", token=token, params={"per_page": bad})
        assert reply.status == 422
        assert reply.body["errors"] == [
            {"per_page": "per_page must be an integer between 1 and 500"}
        ]


# --- idempotency keys (E5) ----------------------------------------------------------------------


async def test_a_repeated_create_creates_again_whatever_its_idempotency_key(
    harvest: HarvestClient,
) -> None:
    token = await harvest.bearer()
    key = {"Idempotency-Key": "abc"}
    first = await harvest.v3("POST", "/custom_fields", token=token, json=SCORE, headers=key)
    renamed = {**SCORE, "name": "Alooba Score 2"}
    second = await harvest.v3("POST", "/custom_fields", token=token, json=renamed, headers=key)
    assert (first.status, second.status) == (201, 201)
    assert len(harvest.emulator.custom_fields()) == 2


async def test_an_idempotency_key_can_be_honoured_instead(harvest: HarvestClient) -> None:
    behave(harvest, idempotency_keys=True)
    token = await harvest.bearer()
    key = {"Idempotency-Key": "abc"}
    first = await harvest.v3("POST", "/users", token=token, json=NEW_USER, headers=key)
    again = await harvest.v3("POST", "/users", token=token, json=NEW_USER, headers=key)
    assert (first.status, again.status) == (201, 201)
    assert first.body == again.body
    assert len(harvest.emulator.users_by_email(NEW_USER["primary_email"])) == 1


def test_the_other_reading_differs_from_the_worst_case_in_every_setting() -> None:
    worst, other = V3Behaviour.worst_case(), V3Behaviour.other()
    for field in dataclasses.fields(V3Behaviour):
        assert getattr(worst, field.name) != getattr(other, field.name), field.name
