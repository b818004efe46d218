"""Organizations' contact centres tag customers for their own campaigns (issue 16 item 2),
through the HTTP API and real Kafka: the platform's tag and two organizations' tags of the same
name on one account are three tags, each seen by its owner alone; the events on Kafka name the
organization; an unverified organization tags nothing; everything else about the account stays
the platform's."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial
from typing import Any
from uuid import UUID

import pytest

from contracts import Envelope
from contracts.events.cases_accounts import CASES_ACCOUNTS
from runtime.organizations import VerifiedOrganization
from runtime.organizations import verified_organization as known_organization
from runtime.settings import ServiceSettings
from tests.conftest import auth, eventually
from tests.integration.cases.support import new_account
from tests.integration.conftest import RunningService
from tests.integration.kafka_tools import read_topic
from tests.integration.organizations import verified_organization

pytestmark = pytest.mark.integration


async def known(service: RunningService, organization_id: UUID) -> VerifiedOrganization | None:
    async with service.runtime.pool.acquire() as conn:
        return await known_organization(conn, organization_id)


async def test_each_centre_tags_a_customer_for_itself_and_sees_only_its_own_tags(
    stack: dict[str, RunningService], token: Callable[..., str], settings: ServiceSettings
) -> None:
    cases = stack["cases"].client
    org_a = await verified_organization(stack, "甲示例科技有限公司")
    org_b = await verified_organization(stack, "乙示例科技有限公司")
    for organization in (org_a, org_b):
        await eventually(partial(known, stack["cases"], organization))
    centres: dict[str, tuple[UUID | None, dict[str, str], dict[str, str]]] = {
        # owner, an agent who tags, a supervisor who reads a tag's audience
        "platform": (None, auth(token("agent")), auth(token("supervisor"))),
        "a": (org_a, auth(token("agent", org=org_a)), auth(token("supervisor", org=org_a))),
        "b": (org_b, auth(token("agent", org=org_b)), auth(token("admin", org=org_b))),
    }
    account, tag = new_account(), f"vip-{uuid.uuid4().hex[:6]}"

    for name, (_, agent, _) in centres.items():
        tagged = await cases.post(
            f"/accounts/{account}/tags",
            json={"tag": tag, "campaign_id": f"camp-{name}"},
            headers=agent,
        )
        assert tagged.status_code == 201, tagged.text
        assert tagged.json()["tags"] == [tag]  # its own: the others' vip is not shown
    for _, agent, _ in centres.values():  # tagging twice is refused per owner
        twice = await cases.post(f"/accounts/{account}/tags", json={"tag": tag}, headers=agent)
        assert twice.status_code == 409, twice.text
    a_only = await cases.post(
        f"/accounts/{account}/tags", json={"tag": f"a-{tag}"}, headers=centres["a"][1]
    )
    assert a_only.json()["tags"] == sorted([tag, f"a-{tag}"])
    # an organization's tag names no case of the platform
    with_case = await cases.post(
        f"/accounts/{account}/tags",
        json={"tag": f"c-{tag}", "case_id": str(uuid.uuid4())},
        headers=centres["a"][1],
    )
    assert with_case.status_code == 422, with_case.text
    assert with_case.json()["errors"][0]["field"] == "case_id"

    async def tags_seen(headers: dict[str, str]) -> list[tuple[str, str | None, str | None]]:
        response = await cases.get(f"/accounts/{account}/tags", headers=headers)
        assert response.status_code == 200, response.text
        return [(t["tag"], t["organization_id"], t["campaign_id"]) for t in response.json()]

    async def audience(headers: dict[str, str], of: str = tag) -> list[str]:
        response = await cases.get(f"/tags/{of}/accounts", headers=headers)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    expected = {
        "platform": [(tag, None, "camp-platform")],
        "a": [(f"a-{tag}", str(org_a), None), (tag, str(org_a), "camp-a")],
        "b": [(tag, str(org_b), "camp-b")],
    }
    for name, (_, agent, reader) in centres.items():

        async def own(headers: dict[str, str] = agent, name: str = name) -> bool:
            return await tags_seen(headers) == expected[name]

        await eventually(own)
        assert await audience(reader) == [account]
    # A's own tag is in nobody else's audience
    assert await audience(centres["a"][2], f"a-{tag}") == [account]
    assert await audience(centres["platform"][2], f"a-{tag}") == []
    assert await audience(centres["b"][2], f"a-{tag}") == []

    # A takes its vip off: the platform's and B's stay
    removed = await cases.delete(f"/accounts/{account}/tags/{tag}", headers=centres["a"][1])
    assert removed.status_code == 200, removed.text
    assert removed.json()["tags"] == [f"a-{tag}"]

    async def a_untagged() -> bool:
        return await audience(centres["a"][2]) == []

    await eventually(a_untagged)
    assert await tags_seen(centres["a"][1]) == [(f"a-{tag}", str(org_a), None)]
    assert await tags_seen(centres["platform"][1]) == expected["platform"]
    assert await tags_seen(centres["b"][1]) == expected["b"]
    assert await audience(centres["platform"][2]) == [account]
    assert await audience(centres["b"][2]) == [account]
    again = await cases.delete(f"/accounts/{account}/tags/{tag}", headers=centres["a"][1])
    assert again.status_code == 404, again.text

    # the platform's account timeline shows its own tag, never an organization's
    timeline = await cases.get(f"/accounts/{account}/timeline", headers=auth(token("supervisor")))
    assert timeline.status_code == 200, timeline.text
    tag_entries = [
        (e["kind"], e["details"]["tag"])
        for e in timeline.json()["entries"]
        if e["kind"] in ("customer_tagged", "customer_untagged")
    ]
    assert tag_entries == [("customer_tagged", tag)]

    # the person's copy of their data holds every centre's tags, each with its owner
    exported = await cases.get(
        f"/privacy/subjects/account:{account}/data", headers=auth(token("service"))
    )
    assert exported.status_code == 200, exported.text
    held = [
        (t["tag"], t["organization_id"], t["organization"]) for t in exported.json()["data"]["tags"]
    ]
    assert sorted(held, key=str) == sorted(
        [
            (tag, None, None),
            (f"a-{tag}", str(org_a), "甲示例科技有限公司"),
            (tag, str(org_b), "乙示例科技有限公司"),
        ],
        key=str,
    )

    # on Kafka, every tag event names its owner
    async def published() -> list[tuple[str, str, str | None]] | None:
        records = await read_topic(
            settings.kafka.bootstrap_servers, settings.kafka.topic(CASES_ACCOUNTS.name)
        )
        envelopes = [Envelope.from_bytes(r.value) for r in records if r.value]
        events = [
            (e.event_type, e.payload["tag"], e.payload.get("organization_id"))
            for e in sorted(envelopes, key=lambda e: e.stream_version)
            if e.stream_id == f"account-{account}"
        ]
        return events if len(events) == 5 else None

    assert await eventually(published) == [
        ("cases.customer_tagged", tag, None),
        ("cases.customer_tagged", tag, str(org_a)),
        ("cases.customer_tagged", tag, str(org_b)),
        ("cases.customer_tagged", f"a-{tag}", str(org_a)),
        ("cases.customer_untagged", tag, str(org_a)),
    ]


async def test_an_unverified_organization_tags_nothing(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    cases = stack["cases"].client
    unverified = uuid.uuid4()
    admin = auth(token("admin", org=unverified))
    account = new_account()
    refused = await cases.post(f"/accounts/{account}/tags", json={"tag": "vip"}, headers=admin)
    assert refused.status_code == 409, refused.text
    assert refused.json()["rule"] == "organization_not_verified"
    untag = await cases.delete(f"/accounts/{account}/tags/vip", headers=admin)
    assert untag.status_code == 409, untag.text
    assert untag.json()["rule"] == "organization_not_verified"
    stored = await stack["cases"].runtime.pool.fetchval(
        "SELECT count(*) FROM events WHERE stream_id = $1", f"account-{account}"
    )
    assert stored == 0


async def test_the_rest_of_the_account_stays_closed_to_an_organizations_staff(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    cases = stack["cases"].client
    organization = await verified_organization(stack, "丙示例科技有限公司")
    await eventually(partial(known, stack["cases"], organization))
    admin = auth(token("admin", org=organization))
    account = new_account()
    closed: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"/cases/{uuid.uuid4()}", None),
        ("GET", f"/accounts/{account}/timeline", None),
        ("GET", "/cases", None),
    ]
    for method, path, body in closed:
        response = await cases.request(method, path, json=body, headers=admin)
        assert response.status_code == 403, (path, response.text)
