"""Each service's part of a person's copy of their data."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import auth, eventually
from tests.integration.conftest import RunningService
from tests.integration.test_http import intake

pytestmark = pytest.mark.integration


async def test_each_service_exports_what_it_recorded_about_a_person_decrypted(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    account = f"acct-{uuid.uuid4().hex[:8]}"
    subject = f"account:{account}"
    body = intake(account)
    body["intake"]["description"] = "FAKE: locked out since Tuesday"
    created = await stack["checkin"].client.post(
        "/tickets", json=body, headers=auth(token("customer", sub=f"cust-{account}"))
    )
    assert created.status_code == 201

    async def exported(service: str) -> list[dict[str, Any]]:
        response = await stack[service].client.get(
            f"/privacy/subjects/{subject}/data", headers=auth(token("service"))
        )
        assert response.status_code == 200, response.text
        return response.json()["data"]["events"]  # type: ignore[no-any-return]

    [ticket] = await exported("checkin")
    assert ticket["event_type"] == "checkin.ticket_issued"
    assert ticket["payload"]["intake"]["contact_phone"] == body["intake"]["contact_phone"]
    assert ticket["payload"]["intake"]["description"] == "FAKE: locked out since Tuesday"

    async def case_exported() -> list[dict[str, Any]]:
        return await exported("cases")

    [case] = await eventually(case_exported)
    assert case["payload"]["summary"] == "FAKE: locked out since Tuesday"

    for role in ("agent", "supervisor", "customer"):
        denied = await stack["cases"].client.get(
            f"/privacy/subjects/{subject}/data", headers=auth(token(role))
        )
        assert denied.status_code == 403, role
