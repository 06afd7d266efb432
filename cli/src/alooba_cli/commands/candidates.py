"""`alooba-gh candidate`: look at an organization's candidates and erasure receipts in
the candidates service (read-only). Personal data is redacted unless --show-pii."""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Callable
from typing import Any

import grpc

from alooba.candidates.v1 import candidates_pb2 as pb
from alooba_cli.commands import Subcommands, add_action, add_group, positive_int
from alooba_cli.context import (
    CommandError,
    Context,
    NamedStub,
    ServiceCallError,
    UsageError,
    add_organization_options,
)
from alooba_cli.output import (
    MISSING,
    enum_label,
    one_line,
    print_fields,
    print_json,
    print_table,
    timestamp,
)
from alooba_cli.redact import (
    REDACTED,
    mask_email,
    mask_name,
    mask_person,
    mask_phone,
    redact_candidate,
)

_STATUS_PREFIX = "HIRING_STATUS_"
# What the service lists when asked for 0, and the most it lists at once.
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
# An assessment datum's value is cut to this many characters in the table (--show-pii);
# --json --show-pii has all of it.
VALUE_WIDTH = 60
REDACTED_NOTE = "Personal data is redacted: --show-pii shows it."


def register(commands: Subcommands, common: argparse.ArgumentParser) -> None:
    """Adds `candidate show|erasures`. `common` carries --candidates-addr too."""
    actions = add_group(
        commands, "candidate", "candidates (personal data redacted): show, erasures"
    )

    show = add_action(
        actions,
        "show",
        _show,
        summary="one candidate, by id or Greenhouse candidate id, with their applications",
        common=common,
    )
    show.set_defaults(uses_candidates=True)
    add_organization_options(show)
    which = show.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "candidate_id", metavar="CANDIDATE_ID", nargs="?", help="our id for the candidate"
    )
    which.add_argument(
        "--greenhouse-id",
        type=positive_int,
        metavar="N",
        help="find the candidate by Greenhouse candidate id instead",
    )
    show.add_argument(
        "--show-pii",
        action="store_true",
        help="show names, contact details, URLs and assessment data (redacted by default)",
    )

    erasures = add_action(
        actions,
        "erasures",
        _erasures,
        summary="erasure receipts (what was erased, never the values), newest first",
        common=common,
    )
    erasures.set_defaults(uses_candidates=True)
    add_organization_options(erasures)
    erasures.add_argument(
        "--limit",
        type=positive_int,
        default=0,
        metavar="N",
        help=f"at most N (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})",
    )


def _service(ctx: Context) -> NamedStub:
    assert ctx.candidates is not None, "candidate commands set uses_candidates"
    return ctx.candidates


def _organization_label(args: argparse.Namespace) -> str:
    return f"organization {args.org!r}" if args.org else f"organization {args.org_id}"


def _status(message: Any) -> str:
    return enum_label(pb.HiringStatus.Name(message.status), _STATUS_PREFIX)


def _optional(message: Any, field: str, mask: Callable[[str], str], show_pii: bool) -> str | None:
    """The value of an optional PII field, masked unless `show_pii`; None when unset."""
    value = getattr(message, field)
    if not value:
        return None
    return str(value) if show_pii else mask(value)


def _replaced(value: str) -> str:
    """A URL or answer hidden whole."""
    return REDACTED if value else MISSING


def data_summary(candidate: Any) -> str:
    """`3 (answer 2, ip_address 1)`, or `none`."""
    data = candidate.assessment_data
    if not data:
        return "none"
    kinds = Counter(datum.kind for datum in data)
    return f"{len(data)} (" + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())) + ")"


def candidate_fields(candidate: Any, show_pii: bool) -> list[tuple[str, str]]:
    """A candidate as a `key: value` block; personal data masked unless `show_pii`."""
    contact = candidate.contact
    name = f"{contact.first_name} {contact.last_name}".strip()
    fields = [
        ("id", candidate.id),
        ("organization", candidate.organization_id),
        ("greenhouse candidate id", str(candidate.greenhouse_candidate_id)),
        ("name", (name if show_pii else mask_name(name)) or MISSING),
    ]
    preferred = _optional(contact, "preferred_name", mask_name, show_pii)
    if preferred is not None:
        fields.append(("preferred name", preferred))
    fields.append(("email", _optional(contact, "email", mask_email, show_pii) or MISSING))
    phone = _optional(contact, "phone_number", mask_phone, show_pii)
    if phone is not None:
        fields.append(("phone", phone))
    fields += [
        ("status", _status(candidate)),
        ("created", timestamp(candidate, "create_time")),
        ("updated", timestamp(candidate, "update_time")),
    ]
    if candidate.HasField("erase_time"):
        fields.append(("erased", timestamp(candidate, "erase_time")))
    fields.append(("assessment data", data_summary(candidate)))
    return fields


def application_fields(application: Any, show_pii: bool) -> list[tuple[str, str]]:
    """An application as a `key: value` block; sent by and URLs hidden unless `show_pii`."""
    greenhouse_id = (
        str(application.greenhouse_application_id)
        if application.HasField("greenhouse_application_id")
        else MISSING
    )
    fields = [
        ("greenhouse application id", greenhouse_id),
        ("status", _status(application)),
        ("status changed", timestamp(application, "status_change_time")),
        ("created", timestamp(application, "create_time")),
    ]
    sent_by = _optional(application, "sent_by", mask_person, show_pii)
    if sent_by is not None:
        fields.append(("sent by", sent_by))
    if application.resume_url:
        fields.append(("resume url", _url(application.resume_url, show_pii)))
    fields.append(("profile url", _url(application.profile_url, show_pii)))
    return fields


def _url(value: str, show_pii: bool) -> str:
    """A URL, hidden whole unless `show_pii` (a resume's may grant access to it)."""
    return (value or MISSING) if show_pii else _replaced(value)


def _print_candidate(candidate: Any, show_pii: bool) -> None:
    print_fields(candidate_fields(candidate, show_pii))
    print()
    print("Applications:")
    if not candidate.applications:
        print("  none")
    for application in candidate.applications:
        print(f"  {application.id}")
        print_fields(application_fields(application, show_pii), indent="    ")
    if candidate.assessment_data:
        print()
        print("Assessment data:")
        print_table(
            ("CREATED", "KIND", "INVITATION", "VALUE"),
            [
                (
                    timestamp(datum, "create_time"),
                    datum.kind,
                    datum.invitation_id or MISSING,
                    (one_line(datum.value, VALUE_WIDTH) or MISSING)
                    if show_pii
                    else _replaced(datum.value),
                )
                for datum in candidate.assessment_data
            ],
            indent="  ",
        )
    if not show_pii:
        print()
        print(REDACTED_NOTE)


async def _show(args: argparse.Namespace, ctx: Context) -> None:
    if args.greenhouse_id is None and not args.candidate_id:
        raise UsageError("CANDIDATE_ID must not be empty")
    organization_id = await ctx.organization_id(args)
    service = _service(ctx)
    try:
        if args.greenhouse_id is not None:
            response = await service.FindCandidate(
                pb.FindCandidateRequest(
                    organization_id=organization_id, greenhouse_candidate_id=args.greenhouse_id
                )
            )
        else:
            response = await service.GetCandidate(
                pb.GetCandidateRequest(
                    organization_id=organization_id, candidate_id=args.candidate_id
                )
            )
    except ServiceCallError as error:
        if error.code() != grpc.StatusCode.NOT_FOUND:
            raise
        which = (
            f"with Greenhouse candidate id {args.greenhouse_id}"
            if args.greenhouse_id is not None
            else repr(args.candidate_id)
        )
        raise CommandError(
            f"NOT_FOUND: {_organization_label(args)} has no candidate {which}"
        ) from None
    if ctx.json:
        if not args.show_pii:
            redact_candidate(response.candidate)
        print_json(response)
        return
    _print_candidate(response.candidate, args.show_pii)


async def _erasures(args: argparse.Namespace, ctx: Context) -> None:
    if args.limit > MAX_LIMIT:
        raise UsageError(f"--limit is at most {MAX_LIMIT}")
    organization_id = await ctx.organization_id(args)
    response = await _service(ctx).ListErasureReceipts(
        pb.ListErasureReceiptsRequest(organization_id=organization_id, limit=args.limit)
    )
    if ctx.json:
        print_json(response)
        return
    receipts = response.receipts
    if not receipts:
        print("No erasure receipts.")
        return
    print_table(
        (
            *("ID", "CANDIDATE", "EVENT", "REASON", "ERASED"),
            *("APPLICATIONS", "DATA ITEMS", "TIME"),
        ),
        [
            (
                receipt.id,
                receipt.candidate_id,
                receipt.event_id or MISSING,
                receipt.reason,
                ",".join(receipt.erased) or MISSING,
                str(receipt.applications),
                str(receipt.assessment_data_items),
                timestamp(receipt, "erase_time"),
            )
            for receipt in receipts
        ],
    )
    limit = args.limit or DEFAULT_LIMIT
    if len(receipts) >= limit:
        more = ": --limit N shows more" if limit < MAX_LIMIT else ""
        print()
        print(f"Only the {limit} most recent are shown{more}.")
