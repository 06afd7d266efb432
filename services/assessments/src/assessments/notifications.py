"""The emails a candidate receives: the invitation, a resend, and one reminder."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr


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
    message = EmailMessage()
    message["From"] = sender
    message["To"] = formataddr((recipient.name, recipient.email))
    message["Subject"] = subjects[email.purpose]
    message["Message-ID"] = message_id(email, domain)
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    message["X-Alooba-Invitation"] = email.invitation_id
    message.set_content(
        f"Hello {recipient.name},\n\n"
        f"{opening[email.purpose]}\n\n"
        f"Take it here: {email.link}\n\n"
        f"The link works until {deadline}.\n\n"
        "Good luck!\n"
    )
    return message
