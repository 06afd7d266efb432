"""How candidates' personal data is hidden unless an operator asks for it (--show-pii).

Text output masks values so that an operator can tell whether a field is set and check
it against what a customer reads out ("H******* G*****", "h*******@h*******.edu",
"+** **** ***789"), without the output disclosing it. Values that a mask would not make
safe (URLs, which may grant access to a resume; assessment answers) are replaced
whole. JSON output replaces every such value with REDACTED.
"""

from __future__ import annotations

from typing import Any

REDACTED = "[redacted]"
MASK = "*"
# A phone number keeps this many of its last digits.
PHONE_DIGITS_KEPT = 3


def mask_word(word: str) -> str:
    """`Hermione` → `H*******`: the first character, then one `*` for each other."""
    return word[:1] + MASK * (len(word) - 1)


def mask_name(name: str) -> str:
    """Each word of a name masked: `Hermione Granger` → `H******* G******`."""
    return " ".join(mask_word(word) for word in name.split())


def mask_email(email: str) -> str:
    """`hermione@hogwarts.edu` → `h*******@h*******.edu`: every label but the top-level
    domain masked, so a personal domain (`@hermionegranger.me`) is not disclosed."""
    local, at, domain = email.rpartition("@")
    if not at:
        return mask_name(email)
    *labels, top = domain.split(".")
    masked_domain = ".".join([*(mask_word(label) for label in labels), top])
    return f"{mask_word(local)}@{masked_domain}"


def mask_phone(phone: str) -> str:
    """Every digit but the last three masked, the layout kept: `+44 20 7946 0958` →
    `+** ** **** *958`. A number with so few digits that three would be most of it is
    masked whole."""
    digits = sum(char.isdigit() for char in phone)
    keep = PHONE_DIGITS_KEPT if digits > 2 * PHONE_DIGITS_KEPT else 0
    masked: list[str] = []
    for char in reversed(phone):
        if char.isdigit():
            masked.append(char if keep > 0 else MASK)
            keep -= 1
        else:
            masked.append(char)
    return "".join(reversed(masked))


def mask_person(value: str) -> str:
    """A person given as an email address or as a name (Greenhouse's sent_by)."""
    return mask_email(value) if "@" in value else mask_name(value)


# What GetCandidate and FindCandidate answer with that is personal data, by message.
CONTACT_FIELDS = ("first_name", "last_name", "preferred_name", "email", "phone_number")
APPLICATION_FIELDS = ("resume_url", "profile_url", "sent_by")
ASSESSMENT_DATUM_FIELDS = ("value",)


def _replace(message: Any, fields: tuple[str, ...]) -> None:
    for field in fields:
        # Empty values stay empty (an erased email is ""): "[redacted]" would claim
        # there is something to hide.
        if getattr(message, field):
            setattr(message, field, REDACTED)


def redact_candidate(candidate: Any) -> None:
    """Replaces, in place, every piece of personal data in a `Candidate` message with
    REDACTED. Ids, Greenhouse ids, statuses, times and assessment data kinds are kept."""
    _replace(candidate.contact, CONTACT_FIELDS)
    for application in candidate.applications:
        _replace(application, APPLICATION_FIELDS)
    for datum in candidate.assessment_data:
        _replace(datum, ASSESSMENT_DATUM_FIELDS)
