"""One case per problem across channels and visits (BRIEF flow 6), merge and split, and the
account timeline — over real Kafka and PostgreSQL, through checkin's and cases' APIs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import auth, eventually
from tests.integration.cases.support import (
    case_of_ticket,
    case_where,
    check_in,
    new_account,
    stream_types,
)
from tests.integration.conftest import RunningService

pytestmark = pytest.mark.integration


def contact(account: str, case_type: str = "account_suspension_appeal", **extra: Any) -> dict:
    return {
        "account_ref": account,
        "case_type": case_type,
        "channel": "phone",
        "language": {"tag": "zh-CN"},
        **extra,
    }


async def test_flow_6_every_contact_lands_on_one_case_and_repeats_escalate(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    cases = stack["cases"].client
    agent = auth(token("agent", sub="agent-flow6"))
    customer_id = f"cust-{new_account()}"
    account = new_account()

    # 1. a walk-in at the service centre opens the case
    first = await check_in(
        stack, token, account, customer=customer_id, words="my account was suspended"
    )
    case = await case_of_ticket(cases, agent, first["ticket_id"])
    assert case["status"] == "open"
    assert case["priority"] == "normal"

    # 2. weeks later a phone call about the same problem attaches instead of opening another
    called = await cases.post(
        "/cases",
        json=contact(account, words="still suspended", customer_id=customer_id),
        headers=agent,
    )
    assert called.status_code == 201, called.text
    assert called.json()["attached"] is True
    assert called.json()["case_id"] == case["case_id"]
    assert called.json()["priority"] == "high"

    # 3. a chat contact through checkin: the third contact escalates to a supervisor
    third = await check_in(stack, token, account, customer=customer_id, channel="chat_wechat")
    escalated = await case_where(
        cases, agent, case["case_id"], lambda c: c["status"] == "escalated"
    )
    assert escalated["contacts"] == 3
    assert escalated["priority"] == "urgent"
    assert escalated["waiting_on"] == "supervisor"
    assert [e["reason"] for e in escalated["escalations"]] == ["repeat_contacts"]
    assert (await case_of_ticket(cases, agent, third["ticket_id"]))["case_id"] == case["case_id"]

    # only one case exists for the account, and its stream says why
    listed = await cases.get("/cases", params={"account_ref": account}, headers=agent)
    assert [c["case_id"] for c in listed.json()] == [case["case_id"]]
    assert (await stream_types(stack["cases"], case["case_id"])).count(
        "cases.contact_attached"
    ) == 2

    # the timeline: every contact across channels, in order, with the person's words for staff
    async def timeline() -> Any:
        response = await cases.get(f"/accounts/{account}/timeline", headers=agent)
        body = response.json()
        return body if any(e["kind"] == "case_escalated" for e in body["entries"]) else None

    line = await eventually(timeline)
    assert line["contacts_last_90_days"] == 3
    assert line["open_cases"] == 1
    kinds = [e["kind"] for e in line["entries"]]
    assert kinds.index("case_opened") < kinds.index("contact_attached")
    channels = [
        e["details"]["channel"]
        for e in line["entries"]
        if e["kind"] in ("case_opened", "contact_attached")
    ]
    assert channels == ["walk_in", "phone", "chat_wechat"]
    words = [
        e["words"] for e in line["entries"] if e["kind"] in ("case_opened", "contact_attached")
    ]
    assert words[:2] == ["my account was suspended", "still suspended"]
    assert "priority_changed" in kinds
    assert "case_escalated" in kinds
    ats = [e["at"] for e in line["entries"]]
    assert ats == sorted(ats)

    # the customer follows the case, sees that it went to a supervisor, but not why or who
    mine = await cases.get(
        f"/cases/{case['case_id']}", headers=auth(token("customer", sub=customer_id))
    )
    assert mine.status_code == 200
    body = mine.json()
    assert body["status"] == "escalated"
    assert "escalations" not in body
    assert "priority" not in body
    assert "assignee_id" not in body
    history = await cases.get(
        f"/cases/{case['case_id']}/timeline", headers=auth(token("customer", sub=customer_id))
    )
    customer_kinds = {e["kind"] for e in history.json()}
    assert "case_escalated" in customer_kinds
    assert "priority_changed" not in customer_kinds
    assert all(
        "reason" not in e["details"] for e in history.json() if e["kind"] == "case_escalated"
    )
    # someone else's customer gets 404, and may not read the account timeline at all
    stranger = auth(token("customer", sub="cust-stranger"))
    assert (await cases.get(f"/cases/{case['case_id']}", headers=stranger)).status_code == 404
    assert (await cases.get(f"/accounts/{account}/timeline", headers=stranger)).status_code == 403


async def test_two_contacts_at_once_make_one_case(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    cases = stack["cases"].client
    agent = auth(token("agent"))
    account = new_account()
    answers = await asyncio.gather(
        *(cases.post("/cases", json=contact(account), headers=agent) for _ in range(4))
    )
    assert all(a.status_code == 201 for a in answers), [a.text for a in answers]
    assert len({a.json()["case_id"] for a in answers}) == 1
    assert sorted(a.json()["attached"] for a in answers) == [False, True, True, True]


async def test_another_problem_of_the_same_account_opens_its_own_case(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    cases = stack["cases"].client
    agent = auth(token("agent"))
    account = new_account()
    appeal = await cases.post("/cases", json=contact(account), headers=agent)
    wallet = await cases.post("/cases", json=contact(account, "wallet_reactivation"), headers=agent)
    assert appeal.json()["case_id"] != wallet.json()["case_id"]
    assert wallet.json()["attached"] is False


async def test_merge_two_cases_and_split_a_contact_out(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    cases = stack["cases"].client
    agent = auth(token("agent"))
    account = new_account()
    appeal = (await cases.post("/cases", json=contact(account), headers=agent)).json()
    # a contact logged under "other" that is really the same suspension
    other = (
        await cases.post(
            "/cases",
            json=contact(account, "other", customer_id="cust-merge-2"),
            headers=agent,
        )
    ).json()
    merged = await cases.post(
        f"/cases/{appeal['case_id']}/merge",
        json={"merge_case_id": other["case_id"]},
        headers=agent,
    )
    assert merged.status_code == 200, merged.text
    survivor = await case_where(cases, agent, appeal["case_id"], lambda c: c["contacts"] == 2)
    assert "cust-merge-2" in survivor["viewer_ids"]
    gone = await case_where(cases, agent, other["case_id"], lambda c: c["status"] == "merged")
    assert gone["merged_into"] == appeal["case_id"]
    again = await cases.post(
        f"/cases/{appeal['case_id']}/merge", json={"merge_case_id": other["case_id"]}, headers=agent
    )
    assert again.status_code == 409
    assert "only open cases merge" in again.json()["detail"]
    # the merged case's problem is free again: a new "other" contact opens a fresh case
    fresh = await cases.post("/cases", json=contact(account, "other"), headers=agent)
    assert fresh.json()["attached"] is False

    # split: the contact that came from the merged case is really about the wallet
    timeline = await cases.get(f"/cases/{appeal['case_id']}/timeline", headers=agent)
    [moved] = [
        e["details"]["contact_id"]
        for e in timeline.json()
        if e["kind"] == "case_opened" and e["case_id"] == other["case_id"]
    ] or [None]
    assert moved is None  # the merged case's own opening stays on its own timeline
    contacts = await stack["cases"].runtime.pool.fetch(
        "SELECT contact_id FROM case_contacts WHERE case_id = $1 ORDER BY at",
        __import__("uuid").UUID(appeal["case_id"]),
    )
    assert len(contacts) == 2
    split = await cases.post(
        f"/cases/{appeal['case_id']}/contacts/{contacts[1]['contact_id']}/split",
        json={"case_type": "wallet_reactivation"},
        headers=agent,
    )
    assert split.status_code == 201, split.text
    new_case = split.json()["case_id"]
    await case_where(cases, agent, appeal["case_id"], lambda c: c["contacts"] == 1)
    opened = await case_where(
        cases, agent, new_case, lambda c: c["split_from"] == appeal["case_id"]
    )
    assert opened["case_type"] == "wallet_reactivation"
    refused = await cases.post(
        f"/cases/{appeal['case_id']}/contacts/{contacts[0]['contact_id']}/split",
        json={"case_type": "other"},
        headers=agent,
    )
    assert refused.status_code == 409
    assert refused.json()["detail"] == "the only contact of a case cannot be split out"
