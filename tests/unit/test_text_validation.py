"""alooba_common.validation: the rules every service applies to text from outside."""

from __future__ import annotations

import pytest

from alooba_common.errors import InvalidArgument
from alooba_common.validation import (
    check_our_id,
    checked_text,
    email_problem,
    has_control_characters,
    normalized_email,
)


@pytest.mark.parametrize(
    "value", ["a\x00b", "a\tb", "a\nb", "a\rb", "\x1b[31m", "\x7f", "\x85", "\x9b"]
)
def test_every_control_character_is_one_in_a_single_line_field(value: str) -> None:
    assert has_control_characters(value)


@pytest.mark.parametrize("value", ["line one\nline two", "a\tb", "a\r\nb"])
def test_free_text_keeps_tabs_and_line_breaks(value: str) -> None:
    assert not has_control_characters(value, free_text=True)


@pytest.mark.parametrize("value", ["\x1b[2J", "a\x00b", "\x9b"])
def test_free_text_refuses_the_other_control_characters(value: str) -> None:
    assert has_control_characters(value, free_text=True)


def test_names_in_any_script_are_not_control_characters() -> None:
    assert not has_control_characters("Zoë Ångström 王小明 محمد\u200dعلی")


@pytest.mark.parametrize(
    "address",
    ["ginny@hogwarts.edu>,<attacker@evil.example", "Ginny <g@hogwarts.edu>", "a b@c.edu", "no-at"],
)
def test_anything_but_one_address_is_not_an_email_and_the_reason_never_quotes_it(
    address: str,
) -> None:
    problem = email_problem(address)

    assert problem is not None
    assert address not in problem
    with pytest.raises(InvalidArgument, match=r"^candidate.email is not an email address$"):
        normalized_email(address, "candidate.email")


def test_an_address_is_normalized() -> None:
    assert normalized_email(" hpotter@Hogwarts.EDU ", "email") == "hpotter@hogwarts.edu"


def test_checked_text_names_the_field_for_each_problem() -> None:
    with pytest.raises(InvalidArgument, match=r"^first_name must not be empty$"):
        checked_text("  ", "first_name", max_length=5)
    with pytest.raises(InvalidArgument, match=r"^first_name must be at most 5 characters$"):
        checked_text("Harriet", "first_name", max_length=5)
    with pytest.raises(InvalidArgument, match=r"^first_name must not contain control characters$"):
        checked_text("Ha\x1b", "first_name", max_length=5)


@pytest.mark.parametrize("value", ["", "0" * 31, "0" * 33, "A" * 32, "0" * 31 + "\n"])
def test_our_ids_are_32_lower_case_hex_digits(value: str) -> None:
    with pytest.raises(InvalidArgument, match=r"^candidate_id "):
        check_our_id(value, "candidate_id")
