"""The emails a candidate receives: the invitation, a resend, and one reminder."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from email import errors, message_from_string, policy
from email.header import Header
from email.headerregistry import Address
from email.message import Message
from email.quoprimime import body_encode
from email.utils import format_datetime, formataddr


@dataclass(frozen=True, slots=True)
class Recipient:
    # The mailbox's display name (To:).
    name: str
    email: str
    # How the email opens ("Hello Harry,"): the preferred name or the first name, alone.
    # Empty: the display name.
    greeting: str = ""


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


def compose(email: InvitationEmail, recipient: Recipient, *, sender: str, domain: str) -> Message:
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
    for value in (email.test_name, email.invitation_id):
        if "\r" in value or "\n" in value:
            raise ValueError("email header values may not contain line breaks")
    body = (
        f"Hello {recipient.greeting or recipient.name},\n\n"
        f"{opening[email.purpose]}\n\n"
        f"Take it here: {email.link}\n\n"
        f"The link works until {deadline}.\n\n"
        "Good luck!\n"
    )
    # The mailboxes are Address objects (one mailbox each, no line break), rendered into
    # the headers' text; the whole message is then read back in one parse. Assigning each
    # header to an EmailMessage instead parses every value again, which made composing
    # cost more than sending. The parse is compat32's (a plain Message): the text is ours
    # and already in its final form, and `policy.default`'s parse re-parsed Content-Type
    # four times with the structured header parser, 80 % of composing; aiosmtplib then
    # flattens a compat32 message with compat32's cheaper generator too.
    headers = [
        ("From", _header(_sender(sender))),
        ("To", _header(_mailbox(recipient.name, recipient.email))),
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
    return message_from_string(text)


_MAX_LINE = 78


def _text(value: str) -> str:
    """A header's text, RFC 2047 encoded when it is not plain ASCII."""
    return value if value.isascii() else Header(value, "utf-8").encode()


def _mailbox(name: str, addr_spec: str) -> Address:
    """The recipient as an Address, which takes exactly one mailbox and no line break: an
    address hiding a second recipient ("a@b.example>,<c@d.example") never becomes one."""
    try:
        return Address(display_name=name, addr_spec=addr_spec)
    except (ValueError, IndexError, errors.HeaderParseError):
        # The exception's own text quotes the address: PII, never to reach a log.
        raise ValueError("the recipient is not exactly one email address") from None


@functools.lru_cache(maxsize=8)
def _sender(sender: str) -> Address:
    """MAIL_FROM as an Address (parsed once: it is the same for every message)."""
    header = policy.default.header_factory("From", sender)
    addresses = header.addresses
    if len(addresses) != 1 or header.defects:
        raise ValueError("MAIL_FROM must be exactly one email address")
    address: Address = addresses[0]
    return address


def _header(address: Address) -> str:
    """An Address as header text, its display name quoted or RFC 2047 encoded as needed."""
    return formataddr((address.display_name, address.addr_spec), charset="utf-8")
