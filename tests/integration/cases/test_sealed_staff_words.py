"""Staff's free text about a case may speak of the person (issue 12): the closing reason and
the decision's explanation (with the facts staff typed) travel sealed under the account's key,
show while the account lives, and read as null in the case and its timeline once the account
is erased; the case and its entries stay."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from runtime.privacy import TOKEN_PREFIX
from tests.conftest import auth, eventually
from tests.integration.cases.support import new_account
from tests.integration.conftest import RunningService

pytestmark = pytest.mark.integration

CLOSING = "closed: Mrs Zhou's nephew had changed the phone number"


async def test_the_closing_reason_is_sealed_and_gone_from_the_timeline_after_erasure(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    service = stack["cases"]
    cases, agent, supervisor = service.client, auth(token("agent")), auth(token("supervisor"))
    account = new_account()
    opened = await cases.post(
        "/cases",
        json={
            "account_ref": account,
            "case_type": "other",
            "channel": "phone",
            "language": {"tag": "de"},
        },
        headers=agent,
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["case_id"]
    for status in ("triage", "in_review"):
        moved = await cases.post(f"/cases/{case_id}/status", json={"status": status}, headers=agent)
        assert moved.status_code == 200, moved.text
    decided = await cases.post(
        f"/cases/{case_id}/decision",
        json={
            "outcome": "referred_elsewhere",
            "reason_code": "OUT-OF-SCOPE",
            "facts": {"referred_to": "Zahlungsdienst"},
        },
        headers=agent,
    )
    assert decided.status_code == 201, decided.text
    closed = await cases.post(f"/cases/{case_id}/close", json={"reason": CLOSING}, headers=agent)
    assert closed.status_code == 200, closed.text

    async def closing_details() -> Any:
        timeline = await cases.get(f"/accounts/{account}/timeline", headers=agent)
        assert timeline.status_code == 200, timeline.text
        kinds = {e["kind"]: e["details"] for e in timeline.json()["entries"]}
        return kinds.get("case_closed")

    assert (await eventually(closing_details))["reason"] == CLOSING
    stored = await service.runtime.pool.fetchval(
        "SELECT envelope::text FROM events WHERE event_type = 'cases.case_closed' "
        "AND stream_id = $1",
        f"case-{case_id}",
    )
    assert stored is not None
    assert "nephew" not in stored
    decision = await service.runtime.pool.fetchval(
        "SELECT envelope->'payload'->>'explanation' FROM events "
        "WHERE event_type = 'cases.decision_recorded' AND stream_id = $1",
        f"case-{case_id}",
    )
    assert decision.startswith(TOKEN_PREFIX)
    shown = await cases.get(f"/cases/{case_id}", headers=agent)
    assert shown.json()["decision"]["explanation"]

    erased = await cases.post(
        f"/privacy/subjects/account:{account}/erasure",
        json={"reason": "the person asked"},
        headers=supervisor,
    )
    assert erased.status_code == 202, erased.text

    async def redacted() -> bool:
        details = await closing_details()
        shown = await cases.get(f"/cases/{case_id}", headers=agent)
        explained = shown.json()["decision"]["explanation"]
        return details is not None and details["reason"] is None and explained is None

    await eventually(redacted)
