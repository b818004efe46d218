"""An organization's contact centre in check-in (issue 16 item 2, flow 7), through HTTP and
real Kafka: a verified organization's administrator sets up its site (queues, IVR menu,
remote positions) and its agents; its customers' calls (through the IVR choice) and chats
reach its queues and are offered automatically to its own agents only; its supervisor sees
the waiting counts. Another organization and the platform's staff do not see any of it (404,
filtered lists), another organization's agent cannot sign in at its desks, an unverified
organization can open nothing (409, nothing written), and routes that do not serve contact
centres stay closed to an organization's staff (403)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial
from typing import Any
from uuid import UUID

import httpx
import pytest

from runtime.organizations import VerifiedOrganization
from runtime.organizations import verified_organization as known_organization
from tests.conftest import auth, eventually
from tests.integration.conftest import RunningService
from tests.integration.organizations import verified_organization

pytestmark = pytest.mark.integration

MANDARIN = {"tag": "zh-CN", "dialect": "cmn"}
PROFILE = {"queues": ["wallet_payments", "general"], "languages": [MANDARIN]}


def site_body(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "timezone": "Asia/Shanghai",
        "queues": [
            {"queue": "wallet_payments", "assignment_rules": ["fewest_active", "round_robin"]},
            {"queue": "general"},
        ],
        "ivr_menu": {"1": "wallet_payments", "0": "general"},
    }


def contact_body(site_id: str, channel: str, **extra: Any) -> dict[str, Any]:
    return {
        "site_id": site_id,
        "channel": channel,
        "intake": {
            "problem_category": "account_suspended",
            "account_ref": f"acct-{uuid.uuid4().hex[:8]}",
            "language": {"tag": "zh-CN"},
        },
        **extra,
    }


async def known(service: RunningService, organization_id: UUID) -> VerifiedOrganization | None:
    async with service.runtime.pool.acquire() as conn:
        return await known_organization(conn, organization_id)


async def stream_version(checkin: RunningService, stream_id: str) -> int:
    return await checkin.runtime.pool.fetchval(  # type: ignore[no-any-return]
        "SELECT count(*) FROM events WHERE stream_id = $1", stream_id
    )


async def set_up_site(
    client: httpx.AsyncClient, site_id: str, headers: dict[str, str], name: str
) -> dict[str, Any]:
    configured = await client.put(f"/sites/{site_id}", json=site_body(name), headers=headers)
    assert configured.status_code == 200, configured.text
    desk = {"desk_id": "remote-1", "kind": "remote_position", "location": "Shenzhen, CN"}
    added = await client.post(f"/sites/{site_id}/desks", json=desk, headers=headers)
    assert added.status_code == 201, added.text
    return configured.json()  # type: ignore[no-any-return]


async def set_up_agent(
    client: httpx.AsyncClient, token: Callable[..., str], admin: dict[str, str], org: UUID | None
) -> tuple[str, dict[str, str]]:
    agent_id = f"agent-{uuid.uuid4().hex[:8]}"
    profile = await client.put(f"/agents/{agent_id}/profile", json=PROFILE, headers=admin)
    assert profile.status_code == 200, profile.text
    assert profile.json()["organization_id"] == (str(org) if org else None)
    return agent_id, auth(token("agent", sub=agent_id, org=org))


async def sign_in(
    client: httpx.AsyncClient, agent_id: str, site_id: str, headers: dict[str, str]
) -> httpx.Response:
    return await client.post(
        f"/agents/{agent_id}/sign-in",
        json={"site_id": site_id, "desk_id": "remote-1"},
        headers=headers,
    )


async def test_an_organizations_contact_centre_is_its_own(
    stack: dict[str, RunningService], token: Callable[..., str]
) -> None:
    checkin = stack["checkin"]
    client = checkin.client
    org_a = await verified_organization(stack, "甲示例科技有限公司")
    org_b = await verified_organization(stack, "乙示例贸易有限公司")
    for organization in (org_a, org_b):
        await eventually(partial(known, checkin, organization))
    a_admin = auth(token("admin", org=org_a))
    a_supervisor = auth(token("supervisor", org=org_a))
    b_admin = auth(token("admin", org=org_b))
    platform_admin = auth(token("admin"))
    suffix = uuid.uuid4().hex[:8]
    a_site, b_site, platform_site = f"a-cc-{suffix}", f"b-cc-{suffix}", f"pf-cc-{suffix}"

    # an organization verification has not verified opens nothing, and nothing is written
    unverified = auth(token("admin", org=uuid.uuid4()))
    refused = await client.put(
        f"/sites/u-cc-{suffix}", json=site_body("未验证"), headers=unverified
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["rule"] == "organization_not_verified"
    assert await stream_version(checkin, f"site-u-cc-{suffix}") == 0
    refused = await client.put(
        f"/agents/u-agent-{suffix}/profile", json=PROFILE, headers=unverified
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["rule"] == "organization_not_verified"
    assert await stream_version(checkin, f"agent-u-agent-{suffix}") == 0

    # A's administrator sets up its site (queues, IVR menu, a remote position) and an agent;
    # B and the platform set up theirs alike
    site = await set_up_site(client, a_site, a_admin, "甲公司客服中心")
    assert site["organization_id"] == str(org_a)
    assert site["ivr_menu"] == {"0": "general", "1": "wallet_payments"}
    await set_up_site(client, b_site, b_admin, "乙公司客服中心")
    await set_up_site(client, platform_site, platform_admin, "Platform centre")
    a_agent, a_agent_headers = await set_up_agent(client, token, a_admin, org_a)
    b_agent, b_agent_headers = await set_up_agent(client, token, b_admin, org_b)
    platform_agent, platform_agent_headers = await set_up_agent(client, token, platform_admin, None)

    # agents sign in only at their own organization's sites
    assert (await sign_in(client, b_agent, a_site, b_agent_headers)).status_code == 404
    assert (
        await sign_in(client, platform_agent, a_site, platform_agent_headers)
    ).status_code == 404
    assert (await sign_in(client, a_agent, platform_site, a_agent_headers)).status_code == 404
    for agent_id, site_id, headers in (
        (a_agent, a_site, a_agent_headers),
        (b_agent, b_site, b_agent_headers),
        (platform_agent, platform_site, platform_agent_headers),
    ):
        signed = await sign_in(client, agent_id, site_id, headers)
        assert signed.status_code == 200, signed.text
        assert signed.json()["status"] == "available"

    # another organization's staff and the platform's do not see A's site nor its agent, and
    # change nothing there
    versions = await stream_version(checkin, f"site-{a_site}")
    for outsider in (b_admin, platform_admin):
        for path in (
            f"/sites/{a_site}",
            f"/sites/{a_site}/queues",
            f"/sites/{a_site}/board",
            f"/sites/{a_site}/dashboard",
            f"/agents/{a_agent}",
        ):
            response = await client.get(path, headers=outsider)
            assert response.status_code == 404, (path, response.text)
        # the reception's day of appointments: the platform's staff see only the platform's
        # sites' (404), an organization's staff none (403, appointments are the platform's)
        day = await client.get(f"/sites/{a_site}/appointments", headers=outsider)
        assert day.status_code == (404 if outsider is platform_admin else 403), day.text
        reconfigured = await client.put(
            f"/sites/{a_site}", json=site_body("taken over"), headers=outsider
        )
        assert reconfigured.status_code == 404, reconfigured.text
        desk = {"desk_id": "desk-9"}
        added = await client.post(f"/sites/{a_site}/desks", json=desk, headers=outsider)
        assert added.status_code == 404, added.text
        closed = await client.post(
            f"/sites/{a_site}/queues/general/close", json={}, headers=outsider
        )
        assert closed.status_code == 404, closed.text
        profile = await client.put(f"/agents/{a_agent}/profile", json=PROFILE, headers=outsider)
        assert profile.status_code == 404, profile.text
    assert await stream_version(checkin, f"site-{a_site}") == versions

    # A's customers: a call through the IVR (key 1) and a web chat reach A's queue and are
    # offered at once to A's agent, the only one at A's site (B's and the platform's agents,
    # as free and as skilled, are never offered them)
    ivr = auth(token("service", sub="ivr-gateway"))
    call = await client.post(
        "/contacts", json=contact_body(a_site, "phone", ivr_selection="1"), headers=ivr
    )
    assert call.status_code == 201, call.text
    assert (call.json()["queue"], call.json()["agent_id"]) == ("wallet_payments", a_agent)
    customer = auth(token("customer", sub=f"cust-{suffix}"))
    chat = await client.post(
        "/contacts",
        json=contact_body(a_site, "chat_web", queue="wallet_payments"),
        headers=customer,
    )
    assert chat.status_code == 201, chat.text
    assert chat.json()["agent_id"] == a_agent
    # A's agent has room for one call: the next waits in A's pool, although other centres'
    # agents are free
    second_call = await client.post(
        "/contacts", json=contact_body(a_site, "phone", ivr_selection="1"), headers=ivr
    )
    assert second_call.status_code == 201, second_call.text
    assert second_call.json()["in_pool"] is True
    offers = await checkin.runtime.pool.fetch(
        """SELECT envelope -> 'payload' ->> 'agent_id' AS agent_id FROM events
           WHERE event_type = 'checkin.contact_assigned' AND stream_id = ANY($1::text[])""",
        [f"ticket-{c.json()['ticket_id']}" for c in (call, chat, second_call)],
    )
    assert [offer["agent_id"] for offer in offers] == [a_agent, a_agent]
    mine = await client.get("/agents/me/contacts", headers=a_agent_headers)
    assert {c["ticket_id"] for c in mine.json()["contacts"]} == {
        call.json()["ticket_id"],
        chat.json()["ticket_id"],
    }
    for outsider_headers in (b_agent_headers, platform_agent_headers):
        theirs = await client.get("/agents/me/contacts", headers=outsider_headers)
        assert theirs.status_code == 200, theirs.text
        assert theirs.json()["contacts"] == []

    # A's agent answers and finishes the call on its ticket; B's agent cannot touch it
    ticket_id = call.json()["ticket_id"]
    touched = await client.post(f"/tickets/{ticket_id}/start", headers=b_agent_headers)
    assert touched.status_code == 404, touched.text
    answered = await client.post(f"/tickets/{ticket_id}/start", headers=a_agent_headers)
    assert answered.status_code == 200, answered.text
    seen = await client.get(f"/tickets/{ticket_id}", headers=platform_admin)
    assert seen.status_code == 404, seen.text

    # A's supervisor sees the waiting count and the volumes of A's site
    async def waiting_call() -> list[dict[str, Any]] | None:
        queues = await client.get(f"/sites/{a_site}/queues", headers=a_supervisor)
        assert queues.status_code == 200, queues.text
        counts = {row["queue"]: row["waiting"] for row in queues.json()}
        return queues.json() if counts.get("wallet_payments") == 1 else None

    await eventually(waiting_call, within=60)

    async def phone_line() -> dict[str, Any] | None:
        board = await client.get(f"/sites/{a_site}/dashboard", headers=a_supervisor)
        assert board.status_code == 200, board.text
        lines = [
            line
            for line in board.json()["queues"]
            if (line["queue"], line["channel"]) == ("wallet_payments", "phone")
            and line["offered_today"] == 1
        ]
        return lines[0] if lines else None

    line = await eventually(phone_line, within=60)
    assert line["in_pool"] == line["waiting"] == 1
    b_board = await client.get(f"/sites/{b_site}/dashboard", headers=b_admin)
    assert b_board.status_code == 200, b_board.text
    assert all(line["waiting"] == 0 for line in b_board.json()["queues"])

    # lists show each centre its own sites and agents only
    async def listed(path: str, headers: dict[str, str], key: str, wanted: str) -> set[str]:
        async def probe() -> set[str] | None:
            response = await client.get(path, headers=headers)
            assert response.status_code == 200, response.text
            ids = {row[key] for row in response.json()}
            return ids if wanted in ids else None

        return await eventually(probe, within=60)

    a_sites = await listed("/sites", a_supervisor, "site_id", a_site)
    assert a_sites == {a_site}
    assert a_site not in await listed("/sites", b_admin, "site_id", b_site)
    platform_sites = await listed("/sites", platform_admin, "site_id", platform_site)
    assert {a_site, b_site} & platform_sites == set()
    a_agents = await listed("/agents", a_supervisor, "agent_id", a_agent)
    assert a_agents == {a_agent}
    assert a_agent not in await listed("/agents", b_admin, "agent_id", b_agent)
    platform_agents = await listed("/agents", platform_admin, "agent_id", platform_agent)
    assert {a_agent, b_agent} & platform_agents == set()

    # routes that do not serve contact centres stay closed to an organization's staff
    walk_in = contact_body(a_site, "walk_in")
    issued = await client.post("/tickets", json=walk_in, headers=a_admin)
    assert issued.status_code == 403, issued.text
