"""The emails a candidate receives: the invitation, a resend, and one reminder."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email import message_from_string, policy
from email.header import Header
from email.message import EmailMessage
from email.quoprimime import body_encode
from email.utils import format_datetime, formataddr, parseaddr


@dataclass(frozen=True, slots=True)
class Recipient:
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class InvitationEmail:
    purpose: str  # "invitation", "resend" or "reminder"
    invitation_id: str
    sequence: int
    test_name: str
    link: str
    deadline: dt.datetime


def message_id(email: InvitationEmail, domain: str) -> str:
    """Stable per invitation and purpose: a retried delivery is recognisably the same
    email; a resend or reminder is a different one."""
    return f"<{email.purpose}-{email.sequence}-{email.invitation_id}@{domain}>"


def compose(
    email: InvitationEmail, recipient: Recipient, *, sender: str, domain: str
) -> EmailMessage:
    deadline = email.deadline.astimezone(dt.UTC).strftime("%A %d %B %Y, %H:%M UTC")
    subjects = {
        "invitation": f"Your {email.test_name} assessment",
        "resend": f"Your {email.test_name} assessment (sent again)",
        "reminder": f"Reminder: your {email.test_name} assessment closes soon",
    }
    opening = {
        "invitation": f"You have been invited to take the {email.test_name} assessment.",
        "resend": f"Here is your link to the {email.test_name} assessment again.",
        "reminder": f"Your {email.test_name} assessment is still waiting for you.",
    }
    for value in (sender, recipient.name, recipient.email, email.test_name, email.invitation_id):
        if "\r" in value or "\n" in value:
            raise ValueError("email header values may not contain line breaks")
    body = (
        f"Hello {recipient.name},\n\n"
        f"{opening[email.purpose]}\n\n"
        f"Take it here: {email.link}\n\n"
        f"The link works until {deadline}.\n\n"
        "Good luck!\n"
    )
    # Written out and read back rather than built header by header: the email
    # package's header objects parse every value they are given, which made composing
    # cost more than sending. Headers are read again only when something asks for them.
    headers = [
        ("From", _address(*parseaddr(sender))),
        ("To", _address(recipient.name, recipient.email)),
        ("Subject", _text(subjects[email.purpose])),
        ("Message-ID", message_id(email, domain)),
        ("Date", format_datetime(dt.datetime.now(dt.UTC))),
        ("X-Alooba-Invitation", email.invitation_id),
        ("Content-Type", 'text/plain; charset="utf-8"'),
    ]
    if body.isascii() and all(len(line) <= _MAX_LINE for line in body.splitlines()):
        headers.append(("Content-Transfer-Encoding", "7bit"))
    else:
        headers.append(("Content-Transfer-Encoding", "quoted-printable"))
        body = body_encode(body.encode("utf-8").decode("latin-1"))
    headers.append(("MIME-Version", "1.0"))
    text = "".join(f"{name}: {value}\n" for name, value in headers) + "\n" + body
    message = message_from_string(text, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


_MAX_LINE = 78


def _text(value: str) -> str:
    """A header's text, RFC 2047 encoded when it is not plain ASCII."""
    return value if value.isascii() else Header(value, "utf-8").encode()


def _address(name: str, address: str) -> str:
    """A mailbox, its display name quoted or RFC 2047 encoded as it needs."""
    return formataddr((name, address), charset="utf-8")
