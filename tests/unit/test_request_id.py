"""Request ids from callers are echoed only when they are safe to echo."""

from __future__ import annotations

import re

import pytest

from alooba_common.request_context import accept_request_id

_GENERATED = re.compile(r"^[0-9a-f]{32}$")


@pytest.mark.parametrize(
    "request_id",
    ["abc123", "0f8fad5b-d9cb-469f-a165-70867728950e", "trace:1.2_3-4", "x" * 128],
)
def test_safe_request_ids_are_kept(request_id: str) -> None:
    assert accept_request_id(request_id) == request_id


@pytest.mark.parametrize(
    "request_id",
    [
        "has space",
        "line\nbreak",
        "trailing-newline\n",
        "x" * 200,
        "x" * 129,
        "semi;colon",
        "<script>",
        "ünï",
        "tab\t",
    ],
)
def test_unsafe_request_ids_are_replaced(request_id: str) -> None:
    replaced = accept_request_id(request_id)
    assert replaced != request_id
    assert _GENERATED.match(replaced)


@pytest.mark.parametrize("request_id", [None, ""])
def test_missing_request_id_gets_a_fresh_one(request_id: str | None) -> None:
    assert _GENERATED.match(accept_request_id(request_id))


def test_fresh_request_ids_differ() -> None:
    assert accept_request_id(None) != accept_request_id(None)
