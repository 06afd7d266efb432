"""The candidate's emails: headers, subject per purpose, link, deadline, stable Message-ID."""

from __future__ import annotations

import datetime as dt
from email import message_from_bytes, policy
from email.message import EmailMessage, Message

import pytest
from aiosmtplib.email import flatten_message

from assessments.app.notifications import InvitationEmail, Recipient, compose, message_id

DEADLINE = dt.datetime(2026, 3, 9, 17, 30, tzinfo=dt.UTC)
LINK = "https://app.alooba.test/take/tok_abc-123"


def email(purpose: str = "invitation", sequence: int = 0) -> InvitationEmail:
    return InvitationEmail(
        purpose=purpose,
        invitation_id="inv123",
        sequence=sequence,
        test_name="Data Analyst",
        link=LINK,
        deadline=DEADLINE,
    )


def composed(
    purpose: str = "invitation", sequence: int = 0, name: str = "Harry Potter"
) -> EmailMessage:
    message = compose(
        email(purpose, sequence),
        Recipient(name, "hpotter@hogwarts.edu"),
        sender="Alooba Assessments <assessments@alooba.localhost>",
        domain="mail.alooba.test",
    )
    return as_received(message)


def as_received(message: Message) -> EmailMessage:
    """The message as a mail client reads it: the bytes aiosmtplib puts on the wire
    (its flattening, CRLF line ends), parsed with the modern policy; headers and body are
    checked as sent."""
    parsed = message_from_bytes(flatten_message(message), policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def text_of(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    content: str = body.get_content()
    return content


def test_message_id_names_purpose_sequence_invitation_and_domain() -> None:
    assert (
        message_id(email("resend", 2), "mail.alooba.test") == "<resend-2-inv123@mail.alooba.test>"
    )


def test_message_id_is_the_same_for_the_same_email() -> None:
    assert message_id(email(), "d.test") == message_id(email(), "d.test")


def test_invitation_resend_and_reminder_have_different_message_ids() -> None:
    ids = {
        message_id(email("invitation", 0), "d.test"),
        message_id(email("resend", 1), "d.test"),
        message_id(email("resend", 2), "d.test"),
        message_id(email("reminder", 0), "d.test"),
    }
    assert len(ids) == 4


def test_composed_message_carries_the_stable_message_id() -> None:
    assert composed()["Message-ID"] == "<invitation-0-inv123@mail.alooba.test>"


def test_message_is_addressed_to_the_recipient_by_name() -> None:
    [address] = composed()["To"].addresses
    assert (address.display_name, address.addr_spec) == ("Harry Potter", "hpotter@hogwarts.edu")


def test_a_name_with_a_comma_is_quoted_into_one_address() -> None:
    [address] = composed(name="Potter, Harry")["To"].addresses
    assert (address.display_name, address.addr_spec) == ("Potter, Harry", "hpotter@hogwarts.edu")


def test_a_non_ascii_name_survives_encoding() -> None:
    [address] = composed(name="Zoë Ångström")["To"].addresses
    assert address.display_name == "Zoë Ångström"


def test_sender_is_the_configured_from_address() -> None:
    assert composed()["From"].addresses[0].addr_spec == "assessments@alooba.localhost"


@pytest.mark.parametrize(
    ("purpose", "subject"),
    [
        ("invitation", "Your Data Analyst assessment"),
        ("resend", "Your Data Analyst assessment (sent again)"),
        ("reminder", "Reminder: your Data Analyst assessment closes soon"),
    ],
)
def test_subject_depends_on_the_purpose(purpose: str, subject: str) -> None:
    assert composed(purpose)["Subject"] == subject


@pytest.mark.parametrize("purpose", ["invitation", "resend", "reminder"])
def test_body_contains_the_link_on_its_own(purpose: str) -> None:
    assert f"Take it here: {LINK}\n" in text_of(composed(purpose))


def test_body_states_the_deadline_in_utc() -> None:
    assert "The link works until Monday 09 March 2026, 17:30 UTC." in text_of(composed())


def test_deadline_in_another_zone_is_shown_in_utc() -> None:
    plus_two = dt.timezone(dt.timedelta(hours=2))
    message = compose(
        InvitationEmail(
            "invitation", "inv1", 0, "Data Analyst", LINK, DEADLINE.astimezone(plus_two)
        ),
        Recipient("Harry Potter", "hpotter@hogwarts.edu"),
        sender="a@alooba.localhost",
        domain="d.test",
    )
    assert "Monday 09 March 2026, 17:30 UTC" in text_of(as_received(message))


def test_invitation_id_header_names_the_invitation() -> None:
    assert composed()["X-Alooba-Invitation"] == "inv123"


@pytest.mark.parametrize(
    "address",
    [
        "ginny@hogwarts.edu>,<attacker@evil.example",
        "ginny@hogwarts.edu, attacker@evil.example",
        "Ginny <ginny@hogwarts.edu>",
    ],
)
def test_an_address_that_is_not_exactly_one_mailbox_is_never_composed(address: str) -> None:
    # Finding 4c: the To header is built from an Address object, which takes one mailbox.
    with pytest.raises(ValueError, match="not exactly one email address"):
        compose(
            email(),
            Recipient("Ginny Weasley", address),
            sender="Alooba Assessments <assessments@alooba.localhost>",
            domain="mail.alooba.test",
        )


def test_the_greeting_uses_the_greeting_name_alone() -> None:
    message = compose(
        email("invitation", 0),
        Recipient("Harry Potter", "hpotter@hogwarts.edu", greeting="Harry"),
        sender="Alooba Assessments <assessments@alooba.localhost>",
        domain="mail.alooba.test",
    )
    assert text_of(as_received(message)).splitlines()[0] == "Hello Harry,"
