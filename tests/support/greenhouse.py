"""Request bodies exactly as Greenhouse's documentation shows them."""

from __future__ import annotations

import itertools
from typing import Any

_ids = itertools.count(1)


def send_test_body(
    partner_test_id: str,
    *,
    take_home_test_id: int | None = None,
    candidate_id: int = 17681532,
    application_id: int = 26234709,
    first_name: str = "Harry",
    last_name: str = "Potter",
    email: str = "hpotter@hogwarts.edu",
    phone_number: str | None = "123-456-7890",
) -> dict[str, Any]:
    test_instance = take_home_test_id if take_home_test_id is not None else next(_ids)
    return {
        "partner_test_id": partner_test_id,
        "candidate": {
            "first_name": first_name,
            "last_name": last_name,
            "preferred_name": "The Chosen One",
            "resume_url": "https://hogwarts.com/resume",
            "phone_number": phone_number,
            "email": email,
            "greenhouse_profile_url": (
                f"https://app.greenhouse.io/people/{candidate_id}?application_id={application_id}"
            ),
        },
        "sent_by": "test_sender@example.org",
        "url": (
            "https://app.greenhouse.io/integrations/testing_partners/take_home_tests/"
            f"{test_instance}"
        ),
    }
