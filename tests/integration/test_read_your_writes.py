"""Reading your own writes (issue 16, item 9; runtime/positions.py): a command's answer names
what it wrote (Frontdesk-Written); a read that passes those positions on (Frontdesk-After)
waits for the read models — and for what the write caused — instead of answering 404 or an
empty list while they catch up, and names the positions it reached for the next service."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from contracts import TOPICS
from tests.conftest import auth
from tests.integration.conftest import RunningService
from tests.integration.test_http import intake

pytestmark = pytest.mark.integration


async def read_after(
    service: RunningService, path: str, after: str, headers: dict[str, str], **params: Any
) -> httpx.Response:
    """A client that honours 202 + Retry-After (the read models are catching up), within a
    deadline; it never polls on a 404 or an empty answer."""
    deadline = asyncio.get_running_loop().time() + 90
    while True:
        answer = await service.client.get(
            path, params=params, headers={**headers, "Frontdesk-After": after}
        )
        if answer.status_code != 202:
            return answer
        assert answer.headers["retry-after"] == "1"
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert asyncio.get_running_loop().time() < deadline, "never caught up"
        await asyncio.sleep(float(answer.headers["retry-after"]))


async def test_a_ticket_then_its_case_then_its_check_plan_without_polling(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    customer = auth(token("customer", sub=f"ryw-{uuid.uuid4().hex[:6]}"))
    staff = auth(token("agent"))
    issued = await stack["checkin"].client.post(
        "/tickets", json=intake(f"acct-ryw-{uuid.uuid4().hex[:6]}"), headers=customer
    )
    assert issued.status_code == 201, issued.text
    ticket_id = issued.json()["ticket_id"]
    written = issued.headers["frontdesk-written"]
    assert written == f"frontdesk.checkin.tickets/ticket-{ticket_id}@1"

    # the case is opened by cases' reaction to the ticket: the read waits for it
    cases = await read_after(stack["cases"], "/cases", written, staff, ticket_id=ticket_id)
    assert cases.status_code == 200, cases.text
    [case] = cases.json()  # at the first answer: no empty list to poll past
    reached = cases.headers["frontdesk-written"]
    assert f"frontdesk.checkin.tickets/ticket-{ticket_id}@1" in reached
    assert f"frontdesk.cases.cases/case-{case['case_id']}@" in reached

    # verification plans the case's checks from the cases topic: the case's position is enough
    plan = await read_after(
        stack["verification"], f"/verification/case-plans/{case['case_id']}", reached, staff
    )
    assert plan.status_code == 200, plan.text
    assert plan.json()["case_id"] == case["case_id"]


async def test_a_position_not_reached_is_a_202_and_a_bad_one_a_400(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    staff = auth(token("agent"))
    ahead = f"frontdesk.cases.cases/case-{uuid.uuid4()}@7"
    answer = await stack["verification"].client.get(
        f"/verification/case-plans/{uuid.uuid4()}", headers={**staff, "Frontdesk-After": ahead}
    )
    assert answer.status_code == 202
    assert answer.headers["retry-after"] == "1"
    assert answer.json()["title"] == "Catching up"

    bad = await stack["verification"].client.get(
        f"/verification/case-plans/{uuid.uuid4()}",
        headers={**staff, "Frontdesk-After": "case-1; DROP TABLE"},
    )
    assert bad.status_code == 400
    assert "Frontdesk-After" in bad.json()["detail"]

    # a topic no consumer of this service reads is not waited for
    read = {t.name for g in stack["verification"].runtime.groups for t in g.topics}
    [unread, *_] = sorted(t.name for t in TOPICS.values() if t.name not in read)
    elsewhere = f"{unread}/stream-{uuid.uuid4()}@3"
    missing = await stack["verification"].client.get(
        f"/verification/case-plans/{uuid.uuid4()}",
        headers={**staff, "Frontdesk-After": elsewhere},
    )
    assert missing.status_code == 404
