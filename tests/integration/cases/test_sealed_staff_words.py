"""Staff's free text about a case may speak of the person (issue 12): the closing reason, the
decision's explanation and the facts staff typed, the evidence of a report and of a reopening
(their summaries) travel sealed under the account's key, show while the account lives, and
read as null in the case, its timeline and the person's copy of their data once the account
is erased; the case and its entries stay."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from runtime.privacy import TOKEN_PREFIX
from tests.conftest import auth, eventually
from tests.integration.cases.support import new_account, open_case
from tests.integration.conftest import RunningService

pytestmark = pytest.mark.integration

CLOSING = "closed: Mrs Zhou's nephew had changed the phone number"


async def test_the_closing_reason_is_sealed_and_gone_from_the_timeline_after_erasure(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    service = stack["cases"]
    cases, agent, supervisor = service.client, auth(token("agent")), auth(token("supervisor"))
    account = new_account()
    opened = await open_case(cases, agent, account, "other", language="de", channel="phone")
    case_id = opened["case_id"]
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
    assert shown.json()["decision"]["facts"] == {"referred_to": "Zahlungsdienst"}

    erased = await cases.post(
        f"/privacy/subjects/account:{account}/erasure",
        json={"reason": "the person asked"},
        headers=supervisor,
    )
    assert erased.status_code == 202, erased.text

    async def redacted() -> bool:
        details = await closing_details()
        shown = await cases.get(f"/cases/{case_id}", headers=agent)
        decision = shown.json()["decision"]
        return (
            details is not None
            and details["reason"] is None
            and decision["explanation"] is None
            and decision["facts"] is None
        )

    await eventually(redacted)


INVOICE = "invoice Mr Wang signed for his mother"
FORGED = "Mr Wang admitted his cousin forged it"


async def test_evidence_and_decision_facts_are_sealed_and_null_after_erasure(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    service = stack["cases"]
    cases = service.client
    agent, specialist = auth(token("agent")), auth(token("specialist"))
    supervisor, exporter = auth(token("supervisor")), auth(token("service", sub="export"))
    account = new_account()
    opened = await open_case(
        cases, agent, account, "third_party_report_dispute", language="en", channel="phone"
    )
    case_id = opened["case_id"]
    report = await cases.post(
        f"/cases/{case_id}/report",
        json={
            "report_id": "ipr-sealed-1",
            "reporter_category": "brand_rights_holder",
            "organization_name": "Fake Brand Co.",
            "evidence": [{"kind": "photo", "reference": "doc-1", "summary": INVOICE}],
            "reported_at": "2026-11-01T08:00:00Z",
        },
        headers=specialist,
    )
    assert report.status_code == 200, report.text
    for status in ("triage", "in_review"):
        moved = await cases.post(f"/cases/{case_id}/status", json={"status": status}, headers=agent)
        assert moved.status_code == 200, moved.text
    decided = await cases.post(
        f"/cases/{case_id}/decision",
        json={
            "outcome": "denied",
            "reason_code": "REPORT-SUBSTANTIATED",
            "facts": {"evidence": FORGED},
        },
        headers=specialist,
    )
    assert decided.status_code == 201, decided.text
    assert decided.json()["decision"]["facts"] == {"evidence": FORGED}
    reopened = await cases.post(
        f"/cases/{case_id}/reopen",
        json={"evidence": [{"kind": "invoice", "reference": "doc-2", "summary": INVOICE}]},
        headers=agent,
    )
    assert reopened.status_code == 200, reopened.text

    async def details(kind: str) -> Any:
        timeline = await cases.get(f"/accounts/{account}/timeline", headers=agent)
        assert timeline.status_code == 200, timeline.text
        return {e["kind"]: e["details"] for e in timeline.json()["entries"]}.get(kind)

    async def exported() -> dict[str, dict[str, Any]]:
        answer = await cases.get(f"/privacy/subjects/account:{account}/data", headers=exporter)
        assert answer.status_code == 200, answer.text
        return {e["event_type"]: e["payload"] for e in answer.json()["data"]["events"]}

    # readable while the account lives: the case, the timeline, the person's copy
    reopening = await eventually(lambda: details("case_reopened"))
    assert [e["summary"] for e in reopening["evidence"]] == [INVOICE]
    assert (await details("decision_recorded"))["facts"] == {"evidence": FORGED}
    assert (await details("report_recorded"))["evidence"] == 1  # how many
    shown = (await cases.get(f"/cases/{case_id}", headers=agent)).json()
    assert [e["summary"] for e in shown["report"]["evidence"]] == [INVOICE]
    copy = await exported()
    assert copy["cases.report_recorded"]["evidence"][0]["summary"] == INVOICE
    assert copy["cases.case_reopened"]["evidence"][0]["summary"] == INVOICE
    assert copy["cases.decision_recorded"]["facts"] == {"evidence": FORGED}
    # and sealed where it is stored (and published)
    stored = await service.runtime.pool.fetch(
        "SELECT event_type, envelope FROM events WHERE stream_id = $1 AND event_type = ANY($2)",
        f"case-{case_id}",
        ["cases.report_recorded", "cases.case_reopened", "cases.decision_recorded"],
    )
    assert len(stored) == 3
    for row in stored:
        assert "Wang" not in str(row["envelope"]), row["event_type"]

    erased = await cases.post(
        f"/privacy/subjects/account:{account}/erasure",
        json={"reason": "the person asked"},
        headers=supervisor,
    )
    assert erased.status_code == 202, erased.text

    async def forgotten() -> bool:
        shown = (await cases.get(f"/cases/{case_id}", headers=agent)).json()
        copy = await exported()
        return (
            shown["report"]["evidence"] is None
            and (await details("case_reopened"))["evidence"] is None
            and (await details("decision_recorded"))["facts"] is None
            and (await details("report_recorded"))["evidence"] is None
            and copy["cases.report_recorded"]["evidence"] is None
            and copy["cases.case_reopened"]["evidence"] is None
            and copy["cases.decision_recorded"]["facts"] is None
        )

    await eventually(forgotten)
    # the case and its entries stay: the report, the rule and its outcome
    shown = (await cases.get(f"/cases/{case_id}", headers=agent)).json()
    assert shown["report"]["organization_name"] == "Fake Brand Co."
    decision = await details("decision_recorded")
    assert (decision["reason_code"], decision["outcome"]) == ("REPORT-SUBSTANTIATED", "denied")
