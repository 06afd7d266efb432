"""How alooba-gh masks and redacts candidates' personal data."""

from __future__ import annotations

import pytest

from alooba.candidates.v1 import candidates_pb2 as pb
from alooba_cli.redact import (
    REDACTED,
    mask_email,
    mask_name,
    mask_person,
    mask_phone,
    redact_candidate,
)


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("Hermione Granger", "H******* G******"),
        ("  Jean-Luc   Picard ", "J******* P*****"),
        ("J", "J"),
        ("Zoë", "Z**"),
        ("", ""),
    ],
)
def test_mask_name_keeps_each_words_initial(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("hermione@hogwarts.edu", "h*******@h*******.edu"),
        ("h.granger@mail.hogwarts.ac.uk", "h********@m***.h*******.a*.uk"),
        ("me@localhost", "m*@localhost"),
        ("not an email", "n** a* e****"),
    ],
)
def test_mask_email_keeps_initials_and_the_top_level_domain(email: str, masked: str) -> None:
    assert mask_email(email) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("+44 20 7946 0958", "+** ** **** *958"),
        ("(555) 010-4477", "(***) ***-*477"),
        ("12345", "*****"),
        ("ext. 123456", "ext. ******"),
    ],
)
def test_mask_phone_keeps_only_the_last_three_digits_of_a_long_number(
    phone: str, masked: str
) -> None:
    assert mask_phone(phone) == masked


def test_mask_person_masks_an_email_as_an_email_and_a_name_as_a_name() -> None:
    assert mask_person("minerva@hogwarts.edu") == "m******@h*******.edu"
    assert mask_person("Minerva McGonagall") == "M****** M*********"


def test_redact_candidate_replaces_every_personal_value_and_keeps_the_rest() -> None:
    candidate = pb.Candidate(
        id="c1",
        organization_id="o1",
        greenhouse_candidate_id=42,
        contact=pb.ContactDetails(
            first_name="Hermione", last_name="Granger", email="h@hogwarts.edu"
        ),
        applications=[
            pb.Application(
                id="a1",
                greenhouse_application_id=7,
                resume_url="https://files.example.org/cv.pdf",
                profile_url="https://app.greenhouse.io/people/42",
                sent_by="minerva@hogwarts.edu",
            ),
            pb.Application(id="a2", profile_url=""),
        ],
        assessment_data=[pb.AssessmentDatum(id="d1", kind="answer", value="Leviosa")],
    )

    redact_candidate(candidate)

    contact = candidate.contact
    assert (contact.first_name, contact.last_name, contact.email) == (REDACTED,) * 3
    # Unset stays unset and empty stays empty: nothing to hide there.
    assert not contact.HasField("preferred_name")
    assert not contact.HasField("phone_number")
    first, second = candidate.applications
    assert (first.resume_url, first.profile_url, first.sent_by) == (REDACTED,) * 3
    assert (first.id, first.greenhouse_application_id) == ("a1", 7)
    assert second.profile_url == ""
    assert not second.HasField("resume_url")
    assert not second.HasField("sent_by")
    [datum] = candidate.assessment_data
    assert (datum.id, datum.kind, datum.value) == ("d1", "answer", REDACTED)
    assert (candidate.id, candidate.organization_id, candidate.greenhouse_candidate_id) == (
        "c1",
        "o1",
        42,
    )
