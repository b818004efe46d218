"""Every log line of a flow carries its ids: a check-in sent with ``X-Correlation-Id`` is
found, by that one id, in the lines of every service that handled the flow."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from runtime.context import correlation_uuid
from tests.conftest import auth, eventually
from tests.integration.conftest import RunningService

pytestmark = pytest.mark.integration


async def test_a_check_ins_correlation_id_is_in_every_services_log_lines(
    stack: dict[str, RunningService],
    token: Callable[..., str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    chosen = f"visit-{uuid.uuid4().hex[:12]}"  # a caller's own token, not a UUID
    flow = str(correlation_uuid(chosen))
    customer = auth(token("customer", sub=f"cust-{uuid.uuid4().hex[:8]}"))
    issued = await stack["checkin"].client.post(
        "/tickets",
        json={
            "site_id": "shenzhen-01",
            "channel": "walk_in",
            "intake": {
                "problem_category": "account_recovery_lost_phone",
                "account_ref": f"acct-{uuid.uuid4().hex[:8]}",
                "contact_phone": "+8613800000002",
                "language": {"tag": "zh-CN"},
            },
        },
        headers={**customer, "X-Correlation-Id": chosen},
    )
    assert issued.status_code == 201, issued.text
    assert issued.headers["X-Correlation-Id"] == chosen  # kept as the caller chose it

    def lines() -> list[logging.LogRecord]:
        return [r for r in caplog.records if getattr(r, "correlation_id", None) == flow]

    def groups() -> set[str]:
        fields: list[dict[str, Any]] = [getattr(r, "fields", {}) for r in lines()]
        return {f["group"].split(".")[0] for f in fields if f.get("group")}

    def applied_types() -> set[str]:
        return {
            getattr(r, "fields", {}).get("event_type", "")
            for r in lines()
            if r.getMessage() == "event applied"
        }

    everyone = {"checkin", "cases", "verification", "notifications"}
    flowed = {"checkin.ticket_issued", "cases.case_opened"}
    await eventually(lambda: _ready(everyone <= groups() and flowed <= applied_types()))
    [request] = [r for r in lines() if r.name == "frontdesk.http"]
    assert request.fields["route"] == "/tickets"  # type: ignore[attr-defined]
    assert request.fields["correlation_token"] == chosen  # type: ignore[attr-defined]
    applied = [r for r in lines() if r.getMessage() == "event applied"]
    assert all(getattr(r, "trace_id", None) for r in applied)  # inside the event's span
    assert {r.fields["event_type"] for r in applied} >= {  # type: ignore[attr-defined]
        "checkin.ticket_issued",
        "cases.case_opened",
    }


async def _ready(condition: bool) -> bool:
    return condition
