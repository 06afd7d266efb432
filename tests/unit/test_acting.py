"""Who may act for a person in a gRPC call (alooba_common.acting): only the console, and
the console always; a call acting in one organization reaches nothing of another."""

from __future__ import annotations

import pytest

from alooba_common.acting import (
    ACTING_GRADER_KEY,
    ACTING_ORGANIZATION_KEY,
    ACTING_ROLE_KEY,
    ACTING_USER_KEY,
    CONSOLE_IDENTITY,
    ActingUser,
    PermissionDenied,
    acting_metadata,
    actor_from_metadata,
    require_grader,
    require_role,
    scope,
)
from alooba_common.errors import NotFound

ALICE = ActingUser(user_id="u1", organization_id="a" * 32, role="admin")


def test_the_console_acting_for_a_person_is_scoped_to_their_organization() -> None:
    actor = actor_from_metadata(dict(acting_metadata(ALICE)), CONSOLE_IDENTITY)
    assert actor == ALICE
    assert scope(actor, "a" * 32) == "a" * 32
    with pytest.raises(NotFound):
        scope(actor, "b" * 32)


def test_the_console_must_say_whom_it_acts_for() -> None:
    with pytest.raises(PermissionDenied):
        actor_from_metadata({}, CONSOLE_IDENTITY)


def test_no_other_identity_may_act_for_a_person() -> None:
    with pytest.raises(PermissionDenied):
        actor_from_metadata(dict(acting_metadata(ALICE)), "spiffe://alooba/gateway")


def test_another_identity_without_the_metadata_acts_for_nobody() -> None:
    assert actor_from_metadata({"x-request-id": "r1"}, "spiffe://alooba/operator") is None
    assert scope(None, "b" * 32) == "b" * 32


def test_a_caller_without_an_identity_may_not_act_for_a_person() -> None:
    with pytest.raises(PermissionDenied):
        actor_from_metadata(dict(acting_metadata(ALICE)), None)


@pytest.mark.parametrize(
    "metadata",
    [
        {ACTING_USER_KEY: "u1", ACTING_ORGANIZATION_KEY: "a" * 32},
        {ACTING_USER_KEY: "u1", ACTING_ORGANIZATION_KEY: "a" * 32, ACTING_ROLE_KEY: "root"},
        {ACTING_USER_KEY: "u 1", ACTING_ORGANIZATION_KEY: "a" * 32, ACTING_ROLE_KEY: "owner"},
        {ACTING_USER_KEY: "u1", ACTING_ORGANIZATION_KEY: "", ACTING_ROLE_KEY: "owner"},
    ],
)
def test_malformed_acting_metadata_is_refused(metadata: dict[str, str]) -> None:
    with pytest.raises(PermissionDenied):
        actor_from_metadata(metadata, CONSOLE_IDENTITY)


def test_a_role_outside_the_allowed_ones_is_refused() -> None:
    member = ActingUser(user_id="u2", organization_id="a" * 32, role="member")
    with pytest.raises(PermissionDenied):
        require_role(member, ("owner", "admin"))
    require_role(ALICE, ("owner", "admin"))
    require_role(None, ("owner",))


def test_a_grader_is_said_only_for_graders_and_may_grade_as_a_member() -> None:
    grader = ActingUser(user_id="u2", organization_id="a" * 32, role="member", grader=True)
    member = ActingUser(user_id="u3", organization_id="a" * 32, role="member")
    assert ACTING_GRADER_KEY not in dict(acting_metadata(member))
    assert actor_from_metadata(dict(acting_metadata(grader)), CONSOLE_IDENTITY) == grader
    require_grader(actor_from_metadata(dict(acting_metadata(grader)), CONSOLE_IDENTITY))
    require_grader(ALICE)  # Admins always may
    with pytest.raises(PermissionDenied):
        require_grader(actor_from_metadata(dict(acting_metadata(member)), CONSOLE_IDENTITY))
    forged = {**dict(acting_metadata(member)), ACTING_GRADER_KEY: "true"}
    with pytest.raises(PermissionDenied):
        actor_from_metadata(forged, CONSOLE_IDENTITY)
    with pytest.raises(PermissionDenied):
        actor_from_metadata({ACTING_GRADER_KEY: "1"}, "spiffe://alooba/platform")
