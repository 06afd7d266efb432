from __future__ import annotations

import uuid

from support.greenhouse import send_test_body
from support.inprocess import System, basic_auth


async def test_list_send_status_through_the_gateway(system: System) -> None:
    org, key = await system.organization_with_key(f"Acme {uuid.uuid4().hex}")
    test = await system.create_test(org.id)
    async with system.http.get(
        f"{system.gateway_url}/v1/greenhouse/list_tests", headers=basic_auth(key)
    ) as r:
        assert r.status == 200
        assert await r.json() == [{"partner_test_id": test.id, "partner_test_name": "Data Analyst"}]
    async with system.http.post(
        f"{system.gateway_url}/v1/greenhouse/send_test",
        json=send_test_body(test.id),
        headers=basic_auth(key),
    ) as r:
        assert r.status == 200
        interview_id = (await r.json())["partner_interview_id"]
    async with system.http.get(
        f"{system.gateway_url}/v1/greenhouse/test_status",
        params={"partner_interview_id": interview_id},
        headers=basic_auth(key),
    ) as r:
        assert r.status == 200
        assert await r.json() == {
            "partner_status": "sent",
            "partner_profile_url": None,
            "partner_score": None,
            "metadata": None,
        }
