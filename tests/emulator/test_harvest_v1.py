"""The Harvest emulator's v1 API: auth, permissions, On-Behalf-Of, validation, pagination
and the merge-safe application PATCH, over real HTTPS."""

from __future__ import annotations

import base64

import pytest
from emulator.conftest import HarvestClient

from greenhouse_emulator.harvest import (
    ADD_USER,
    ALL_PERMISSIONS,
    CREATE_CUSTOM_FIELD,
    GET_CUSTOM_FIELDS,
    LIST_USERS,
    RETRIEVE_USER,
    UPDATE_APPLICATION,
)

INVALID = {"message": "Invalid Basic Auth credentials"}
NO_PERMISSION = {
    "message": "This API Key does not have permission for this endpoint. "
    "Please contact your Greenhouse administrator."
}
BAD_OBO = {
    "message": "Validation error",
    "errors": [
        {
            "message": "On-Behalf-Of must be the id of an active Greenhouse user",
            "field": "On-Behalf-Of",
        }
    ],
}
NO_ACCESS = {"message": "You don't have access to that record."}
NOT_FOUND = {"message": "Resource not found"}
SCORE = {"name": "Alooba Score", "field_type": "application", "value_type": "number"}


# --- authentication and permissions -------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic " + base64.b64encode(b"not-a-key:").decode(),
        "Basic !!!",
        "Bearer sometoken",
    ],
)
async def test_bad_or_missing_credentials_are_401(
    harvest: HarvestClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    reply = await harvest.v1("GET", "/users", key=None, headers=headers)
    assert (reply.status, reply.body) == (401, INVALID)
    assert "X-RateLimit-Limit" not in reply.headers


async def test_a_password_is_refused_the_docs_say_blank(harvest: HarvestClient) -> None:
    auth = "Basic " + base64.b64encode(f"{harvest.key}:secret".encode()).decode()
    reply = await harvest.v1("GET", "/users", key=None, headers={"Authorization": auth})
    assert (reply.status, reply.body) == (401, INVALID)


ENDPOINT_CALLS = [
    (LIST_USERS, "GET", "/users", None),
    (RETRIEVE_USER, "GET", "/users/{admin}", None),
    (ADD_USER, "POST", "/users", {"first_name": "B", "last_name": "S", "email": "b@e.org"}),
    (GET_CUSTOM_FIELDS, "GET", "/custom_fields/application", None),
    (CREATE_CUSTOM_FIELD, "POST", "/custom_fields", SCORE),
    (UPDATE_APPLICATION, "PATCH", "/applications/{application}", {"custom_fields": []}),
]


@pytest.mark.parametrize(("permission", "method", "path", "body"), ENDPOINT_CALLS)
async def test_each_endpoint_needs_its_permission(
    harvest: HarvestClient, permission: str, method: str, path: str, body: object
) -> None:
    application = harvest.emulator.add_application()
    path = path.format(admin=harvest.admin, application=application)
    lacking = harvest.emulator.issue_v1_key(p for p in ALL_PERMISSIONS if p != permission)
    refused = await harvest.v1(method, path, key=lacking, json=body)
    assert (refused.status, refused.body) == (401, NO_PERMISSION)
    # Authenticated, so counted against the rate limit and told so.
    assert refused.headers["X-RateLimit-Remaining"] == "49"
    only = harvest.emulator.issue_v1_key([permission])
    allowed = await harvest.v1(method, path, key=only, json=body)
    assert allowed.status in (200, 201), allowed.body


def test_unknown_permission_labels_are_a_mistake_in_the_test(harvest: HarvestClient) -> None:
    with pytest.raises(ValueError, match="unknown Harvest permission"):
        harvest.emulator.issue_v1_key(["GET: List Users", "GET: Everything"])


async def test_records_name_the_key_never_its_token(harvest: HarvestClient) -> None:
    await harvest.v1("GET", "/users")
    (record,) = harvest.emulator.requests
    assert record.credential == harvest.emulator.key_id(harvest.key) != harvest.key
    assert (record.method, record.path, record.status, record.version) == (
        "GET",
        "/v1/users",
        200,
        "v1",
    )


# --- On-Behalf-Of -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "abc", "12.5", "-3", "999999"])
async def test_writes_need_on_behalf_of_an_existing_user(
    harvest: HarvestClient, value: str | None
) -> None:
    reply = await harvest.v1("POST", "/custom_fields", json=SCORE, on_behalf_of=value)
    assert (reply.status, reply.body) == (422, BAD_OBO)
    assert harvest.emulator.custom_fields() == []


async def test_a_disabled_user_cannot_act(harvest: HarvestClient) -> None:
    gone = harvest.emulator.add_user("Old", "Admin", "old@example.com", site_admin=True)
    harvest.emulator.set_disabled(gone)
    reply = await harvest.v1("POST", "/custom_fields", json=SCORE, on_behalf_of=gone)
    assert (reply.status, reply.body) == (422, BAD_OBO)


async def test_writes_need_a_site_admin(harvest: HarvestClient) -> None:
    basic = harvest.emulator.add_user("Bo", "Basic", "bo@example.com")
    application = harvest.emulator.add_application()
    for method, path, body in [
        ("POST", "/custom_fields", SCORE),
        ("POST", "/users", {"first_name": "C", "last_name": "D", "email": "c@example.com"}),
        ("PATCH", f"/applications/{application}", {"custom_fields": []}),
    ]:
        reply = await harvest.v1(method, path, json=body, on_behalf_of=basic)
        assert (reply.status, reply.body) == (403, NO_ACCESS), path
    harvest.emulator.set_site_admin(basic)
    reply = await harvest.v1("POST", "/custom_fields", json=SCORE, on_behalf_of=basic)
    assert reply.status == 201
    assert [r.on_behalf_of for r in harvest.emulator.requests][-1] == basic


async def test_reads_do_not_need_on_behalf_of(harvest: HarvestClient) -> None:
    assert (await harvest.v1("GET", f"/users/{harvest.admin}")).status == 200


async def test_order_auth_then_permission_then_acting_user_then_validation(
    harvest: HarvestClient,
) -> None:
    lacking = harvest.emulator.issue_v1_key([LIST_USERS])
    reply = await harvest.v1("POST", "/custom_fields", key=lacking, json={}, on_behalf_of=None)
    assert (reply.status, reply.body) == (401, NO_PERMISSION)
    reply = await harvest.v1("POST", "/custom_fields", json={}, on_behalf_of=None)
    assert (reply.status, reply.body) == (422, BAD_OBO)
    basic = harvest.emulator.add_user("Bo", "Basic", "bo@example.com")
    reply = await harvest.v1("PATCH", "/applications/1", json=[], on_behalf_of=basic)
    assert (reply.status, reply.body) == (403, NO_ACCESS)
    reply = await harvest.v1("PATCH", "/applications/1", json=[])
    assert (reply.status, reply.body) == (404, NOT_FOUND)


async def test_a_get_with_a_body_is_403(harvest: HarvestClient) -> None:
    reply = await harvest.v1("GET", "/users", json={"page": 2})
    assert (reply.status, reply.body) == (403, NO_ACCESS)


# --- users ---------------------------------------------------------------------------------------


async def test_list_users_pages_with_next_prev_and_last_links(harvest: HarvestClient) -> None:
    for n in range(4):
        harvest.emulator.add_user("U", str(n), f"u{n}@example.com")
    base = harvest.emulator.base_url + "/v1/users"
    first = await harvest.v1("GET", "/users", params={"per_page": "2"})
    assert [u["id"] for u in first.body] == [1000, 1001]
    assert first.headers["Link"] == (
        f'<{base}?page=2&per_page=2>; rel="next", <{base}?page=3&per_page=2>; rel="last"'
    )
    second = await harvest.v1("GET", "/users", params={"per_page": "2", "page": "2"})
    assert second.headers["Link"] == (
        f'<{base}?page=3&per_page=2>; rel="next", <{base}?page=1&per_page=2>; rel="prev", '
        f'<{base}?page=3&per_page=2>; rel="last"'
    )
    third = await harvest.v1("GET", second.headers["Link"].split(">")[0][1:])
    assert [u["id"] for u in third.body] == [1004]
    assert 'rel="next"' not in third.headers["Link"]
    skipped = await harvest.v1("GET", "/users", params={"per_page": "2", "skip_count": "true"})
    assert skipped.headers["Link"] == f'<{base}?page=2&per_page=2&skip_count=true>; rel="next"'
    beyond = await harvest.v1("GET", "/users", params={"per_page": "2", "page": "9"})
    assert beyond.body == []


async def test_one_page_has_no_link_header(harvest: HarvestClient) -> None:
    reply = await harvest.v1("GET", "/users")
    assert reply.status == 200
    assert [u["id"] for u in reply.body] == [harvest.admin]
    assert "Link" not in reply.headers


@pytest.mark.parametrize(
    ("name", "value"), [("per_page", "0"), ("per_page", "501"), ("per_page", "x"), ("page", "0")]
)
async def test_bad_paging_parameters_are_422(harvest: HarvestClient, name: str, value: str) -> None:
    reply = await harvest.v1("GET", "/users", params={name: value})
    assert reply.status == 422
    assert reply.body["message"] == "Validation error"
    assert reply.body["errors"][0]["field"] == name


async def test_email_filter_matches_primary_or_secondary(harvest: HarvestClient) -> None:
    other = harvest.emulator.add_user(
        "Jo", "Two", "jo@example.com", secondary_emails=["jo.private@example.org"]
    )
    for email in ("jo@example.com", "JO.PRIVATE@example.org"):
        reply = await harvest.v1("GET", "/users", params={"email": email})
        assert [u["id"] for u in reply.body] == [other]
    assert (await harvest.v1("GET", "/users", params={"email": "no@example.com"})).body == []
    assert [u["id"] for u in harvest.emulator.users_by_email("jo.private@example.org")] == [other]


async def test_retrieve_user(harvest: HarvestClient) -> None:
    reply = await harvest.v1("GET", f"/users/{harvest.admin}")
    assert reply.status == 200
    assert reply.body["id"] == harvest.admin
    assert reply.body["site_admin"] is True
    assert reply.body["primary_email_address"] == "ada@example.com"
    for missing in ("424242", "abc"):
        reply = await harvest.v1("GET", f"/users/{missing}")
        assert (reply.status, reply.body) == (404, NOT_FOUND)


async def test_add_user_creates_a_basic_user(harvest: HarvestClient) -> None:
    body = {"first_name": "Bob", "last_name": "Smith", "email": "bob@email.org"}
    reply = await harvest.v1("POST", "/users", json=body | {"send_email_invite": True})
    assert reply.status == 201
    assert reply.body["name"] == "Bob Smith"
    assert reply.body["site_admin"] is False
    assert reply.body["emails"] == ["bob@email.org"]
    assert harvest.emulator.user(reply.body["id"])["primary_email_address"] == "bob@email.org"
    again = await harvest.v1("POST", "/users", json=body | {"email": "BOB@email.org"})
    assert (again.status, again.body) == (
        422,
        {
            "message": "Validation error",
            "errors": [{"message": "Email has already been taken", "field": "email"}],
        },
    )


async def test_add_user_validates(harvest: HarvestClient) -> None:
    reply = await harvest.v1("POST", "/users", json={"email": "not-an-email"})
    assert reply.status == 422
    assert {e["field"] for e in reply.body["errors"]} == {"first_name", "last_name", "email"}
    reply = await harvest.v1(
        "POST",
        "/users",
        json={"first_name": "A", "last_name": "B", "email": "a@b.co", "send_email_invite": "y"},
    )
    assert reply.body["errors"] == [
        {"message": "send_email_invite must be a boolean", "field": "send_email_invite"}
    ]


# --- custom fields --------------------------------------------------------------------------------


async def test_create_custom_field_returns_201_and_an_object(harvest: HarvestClient) -> None:
    reply = await harvest.v1("POST", "/custom_fields", json=SCORE)
    assert reply.status == 201
    assert set(reply.body) == {
        "id", "name", "active", "field_type", "priority", "value_type", "private", "required",
        "require_approval", "trigger_new_version", "name_key", "description",
        "expose_in_job_board_api", "api_only", "offices", "departments",
        "template_token_string", "custom_field_options",
    }  # fmt: skip
    assert reply.body["name_key"] == "alooba_score"
    assert reply.body["active"] is True
    assert harvest.emulator.custom_fields() == [reply.body]


@pytest.mark.parametrize(
    ("name", "name_key"),
    [
        ("Alooba Score", "alooba_score"),
        ("  Alooba -- Score (%)  ", "alooba_score"),
        ("Report URL #2", "report_url_2"),
        ("Ünïcode", "n_code"),
        ("!!!", "custom_field"),
    ],
)
async def test_name_key_is_derived_from_the_name(
    harvest: HarvestClient, name: str, name_key: str
) -> None:
    reply = await harvest.v1("POST", "/custom_fields", json=SCORE | {"name": name})
    assert reply.body["name_key"] == name_key


async def test_name_key_gets_a_suffix_when_taken(harvest: HarvestClient) -> None:
    first = harvest.emulator.add_custom_field("Alooba Score")
    harvest.emulator.deactivate_custom_field(first["id"])
    second = await harvest.v1("POST", "/custom_fields", json=SCORE)
    assert second.status == 201
    third = await harvest.v1("POST", "/custom_fields", json=SCORE | {"name": "ALOOBA SCORE"})
    assert second.body["name_key"] == "alooba_score_2"
    assert third.status == 422  # the second's name, compared case-insensitively
    fourth = await harvest.v1("POST", "/custom_fields", json=SCORE | {"name": "Alooba  Score!"})
    assert fourth.body["name_key"] == "alooba_score_3"
    # Another field type has its own keys and names.
    candidate = await harvest.v1("POST", "/custom_fields", json=SCORE | {"field_type": "candidate"})
    assert candidate.body["name_key"] == "alooba_score"


async def test_an_active_name_of_the_type_is_taken(harvest: HarvestClient) -> None:
    harvest.emulator.add_custom_field("Alooba Score")
    reply = await harvest.v1("POST", "/custom_fields", json=SCORE)
    assert (reply.status, reply.body) == (
        422,
        {
            "message": "Validation error",
            "errors": [{"message": "Name has already been taken", "field": "name"}],
        },
    )


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": " "}, "name", "Name can't be blank"),
        (
            {"field_type": "widget"},
            "field_type",
            "Must be one of: job, candidate, application, offer, opening, rejection_question, "
            "referral_question, user_attribute",
        ),
        (
            {"value_type": "integer"},
            "value_type",
            "Must be one of: short_text, long_text, yes_no, single_select, multi_select, "
            "currency, currency_range, number, number_range, date, url, user",
        ),
        (
            {"field_type": "user_attribute"},
            "value_type",
            "Must be one of: single_select, multi_select, yes_no, user",
        ),
        (
            {"value_type": "single_select"},
            "custom_field_options",
            "custom_field_options are required for single_select and multi_select",
        ),
        ({"private": "no"}, "private", "private must be a boolean"),
    ],
)
async def test_create_custom_field_validates(
    harvest: HarvestClient, change: dict[str, str], field: str, message: str
) -> None:
    reply = await harvest.v1("POST", "/custom_fields", json=SCORE | change)
    assert (reply.status, reply.body) == (
        422,
        {"message": "Validation error", "errors": [{"message": message, "field": field}]},
    )


async def test_a_select_field_gets_its_options(harvest: HarvestClient) -> None:
    options = [{"name": "Pass", "priority": 1}, {"name": "Fail", "priority": 2, "external_id": "f"}]
    body = SCORE | {"value_type": "single_select", "custom_field_options": options}
    reply = await harvest.v1("POST", "/custom_fields", json=body)
    assert reply.status == 201
    assert [(o["name"], o["external_id"]) for o in reply.body["custom_field_options"]] == [
        ("Pass", None),
        ("Fail", "f"),
    ]


async def test_list_custom_fields_has_only_next_links(harvest: HarvestClient) -> None:
    ids = [harvest.emulator.add_custom_field(f"Field {n}")["id"] for n in range(3)]
    harvest.emulator.add_custom_field("A candidate field", field_type="candidate")
    harvest.emulator.deactivate_custom_field(ids[2])
    base = harvest.emulator.base_url + "/v1/custom_fields/application"
    first = await harvest.v1(
        "GET", "/custom_fields/application", params={"per_page": "2", "include_inactive": "true"}
    )
    assert [f["id"] for f in first.body] == ids[:2]
    assert first.headers["Link"] == f'<{base}?page=2&per_page=2&include_inactive=true>; rel="next"'
    second = await harvest.v1("GET", first.headers["Link"][1:].split(">")[0])
    assert [f["id"] for f in second.body] == ids[2:]
    assert second.body[0]["active"] is False
    assert "Link" not in second.headers
    active = await harvest.v1("GET", "/custom_fields/application")
    assert [f["id"] for f in active.body] == ids[:2]
    assert "Link" not in active.headers


@pytest.mark.parametrize("field_type", ["opening", "widget"])
async def test_unknown_custom_field_types_are_404(harvest: HarvestClient, field_type: str) -> None:
    reply = await harvest.v1("GET", f"/custom_fields/{field_type}")
    assert (reply.status, reply.body) == (404, NOT_FOUND)


# --- applications ---------------------------------------------------------------------------------


async def test_patch_is_merge_safe(harvest: HarvestClient) -> None:
    emulator = harvest.emulator
    score = emulator.add_custom_field("Alooba Score")
    emulator.add_custom_field("Recruiter Notes", value_type="short_text")
    emulator.add_custom_field("Report URL", value_type="url")
    application = emulator.add_application()
    emulator.set_application_custom_field(application, "recruiter_notes", "strong candidate")
    emulator.set_application_custom_field(application, "report_url", "https://old")

    reply = await harvest.v1(
        "PATCH",
        f"/applications/{application}",
        json={"custom_fields": [{"id": score["id"], "value": "87.5"}]},
    )
    assert reply.status == 200
    assert reply.body["id"] == application
    assert reply.body["custom_fields"] == {
        "alooba_score": 87.5,
        "recruiter_notes": "strong candidate",
        "report_url": "https://old",
    }
    assert reply.body["keyed_custom_fields"]["alooba_score"] == {
        "name": "Alooba Score",
        "type": "number",
        "value": 87.5,
    }
    assert reply.body == emulator.application(application)

    reply = await harvest.v1(
        "PATCH",
        f"/applications/{application}",
        json={"custom_fields": [{"name_key": "report_url", "delete_value": "true"}]},
    )
    assert reply.body["custom_fields"] == {
        "alooba_score": 87.5,
        "recruiter_notes": "strong candidate",
        "report_url": None,
    }
    assert "report_url" not in reply.body["keyed_custom_fields"]


async def test_patch_returns_the_whole_application(harvest: HarvestClient) -> None:
    application = harvest.emulator.add_application(candidate_id=77, status="rejected")
    reply = await harvest.v1("PATCH", f"/applications/{application}", json={"source_id": 1})
    assert reply.status == 200
    for key in ("candidate_id", "prospect", "applied_at", "rejected_at", "last_activity_at"):
        assert key in reply.body
    assert (reply.body["candidate_id"], reply.body["status"]) == (77, "rejected")
    assert reply.body["rejected_at"] is not None


async def test_patch_unknown_and_deleted_applications_are_404(harvest: HarvestClient) -> None:
    reply = await harvest.v1("PATCH", "/applications/5555", json={"custom_fields": []})
    assert (reply.status, reply.body) == (404, NOT_FOUND)
    application = harvest.emulator.add_application()
    harvest.emulator.delete_application(application)
    reply = await harvest.v1("PATCH", f"/applications/{application}", json={"custom_fields": []})
    assert (reply.status, reply.body) == (
        404,
        {"message": f"Application {application} has been deleted."},
    )


async def test_only_active_rejected_or_hired_applications_update(harvest: HarvestClient) -> None:
    application = harvest.emulator.add_application(status="converted")
    reply = await harvest.v1("PATCH", f"/applications/{application}", json={"custom_fields": []})
    assert reply.status == 422
    assert reply.body["errors"][0]["field"] == "status"
    hired = harvest.emulator.add_application(status="hired")
    assert (await harvest.v1("PATCH", f"/applications/{hired}", json={})).status == 200


@pytest.mark.parametrize(
    ("element", "message"),
    [
        ({"value": 1}, "Each custom_fields element needs an id or a name_key"),
        ({"name_key": "nope", "value": 1}, "Custom field nope does not exist"),
        ({"id": 999999, "value": 1}, "Custom field 999999 does not exist"),
        ({"name_key": "alooba_score", "value": "eighty"}, "alooba_score must be a number"),
        ({"name_key": "alooba_score", "value": True}, "alooba_score must be a number"),
        ({"name_key": "old_score", "value": 1}, "Custom field old_score is not active"),
        ({"name_key": "alooba_score", "delete_value": True}, "delete_value must be the string"),
        ({"name_key": "alooba_score", "value": None}, "cannot be set to null or blank"),
    ],
)  # fmt: skip
async def test_patch_validates_every_element_and_changes_nothing(
    harvest: HarvestClient, element: dict[str, object], message: str
) -> None:
    emulator = harvest.emulator
    emulator.add_custom_field("Alooba Score")
    old = emulator.add_custom_field("Old Score")
    emulator.deactivate_custom_field(old["id"])
    application = emulator.add_application()
    emulator.set_application_custom_field(application, "alooba_score", 10)
    reply = await harvest.v1(
        "PATCH",
        f"/applications/{application}",
        json={"custom_fields": [{"name_key": "alooba_score", "value": 99}, element]},
    )
    assert reply.status == 422
    assert reply.body["message"] == "Validation error"
    (error,) = reply.body["errors"]
    assert error["field"] == "custom_fields"
    assert message in error["message"]
    assert emulator.application(application)["custom_fields"]["alooba_score"] == 10


async def test_patch_refuses_a_field_of_another_type(harvest: HarvestClient) -> None:
    candidate_field = harvest.emulator.add_custom_field("Shoe size", field_type="candidate")
    application = harvest.emulator.add_application()
    reply = await harvest.v1(
        "PATCH",
        f"/applications/{application}",
        json={"custom_fields": [{"id": candidate_field["id"], "value": 44}]},
    )
    assert reply.status == 422
    assert reply.body["errors"][0]["message"] == (
        f"Custom field {candidate_field['id']} is not an application custom field"
    )


async def test_patch_rejects_a_body_that_is_not_json(harvest: HarvestClient) -> None:
    application = harvest.emulator.add_application()
    async with harvest.http.patch(
        f"{harvest.emulator.base_url}/v1/applications/{application}",
        data=b"{nope",
        headers={
            "Authorization": f"Basic {base64.b64encode(f'{harvest.key}:'.encode()).decode()}",
            "On-Behalf-Of": str(harvest.admin),
        },
    ) as response:
        assert response.status == 422
