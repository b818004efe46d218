"""Helpers of the check-in integration tests: a site, desks, agents, tickets over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx

from tests.conftest import auth

ALL_QUEUES = [
    "account_security",
    "wallet_payments",
    "minors_family",
    "commerce_disputes",
    "general",
]


class Desk:
    """One test's site with its supervisor; ids are random so tests never collide."""

    def __init__(self, client: httpx.AsyncClient, token: Callable[..., str]) -> None:
        self.client = client
        self.token = token
        self.site_id = f"site-{uuid.uuid4().hex[:10]}"
        self.supervisor = auth(token("supervisor", sub=f"sup-{uuid.uuid4().hex[:6]}"))

    async def configure(
        self,
        *,
        timezone: str = "Asia/Shanghai",
        opening_hours: list[dict[str, Any]] | None = None,
        queues: list[dict[str, Any]] | None = None,
        margin: int = 5,
        desks: int = 3,
        ivr_menu: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": "Test service center",
            "timezone": timezone,
            "opening_hours": opening_hours or [],
            "queues": queues or [{"queue": q} for q in ALL_QUEUES],
            "estimate_margin_minutes": margin,
        }
        if ivr_menu is not None:
            body["ivr_menu"] = ivr_menu
        response = await self.client.put(
            f"/sites/{self.site_id}", json=body, headers=self.supervisor
        )
        assert response.status_code == 200, response.text
        for n in range(1, desks + 1):
            added = await self.client.post(
                f"/sites/{self.site_id}/desks",
                json={"desk_id": f"desk-{n}"},
                headers=self.supervisor,
            )
            assert added.status_code == 201, added.text
        return response.json()  # type: ignore[no-any-return]

    async def agent(
        self,
        desk: str | None,
        *,
        queues: list[str] | None = None,
        languages: list[dict[str, Any]] | None = None,
        skills: list[str] | None = None,
    ) -> tuple[str, dict[str, str]]:
        agent_id = f"agent-{uuid.uuid4().hex[:8]}"
        profile = {
            "queues": queues or ["account_security", "general"],
            "languages": languages or [{"tag": "zh-CN", "dialect": "cmn"}],
            "specialist_skills": skills or [],
        }
        response = await self.client.put(
            f"/agents/{agent_id}/profile", json=profile, headers=self.supervisor
        )
        assert response.status_code == 200, response.text
        headers = auth(self.token("agent", sub=agent_id))
        if desk is not None:
            signed = await self.client.post(
                f"/agents/{agent_id}/sign-in",
                json={"site_id": self.site_id, "desk_id": desk},
                headers=headers,
            )
            assert signed.status_code == 200, signed.text
        return agent_id, headers

    async def issue(
        self,
        *,
        category: str = "account_suspended",
        language: dict[str, Any] | None = None,
        channel: str = "walk_in",
        customer: str | None = None,
        account: str | None = None,
        accessibility: list[str] | None = None,
        expect: int = 201,
        phone: str | None = None,
    ) -> dict[str, Any]:
        body = {
            "site_id": self.site_id,
            "channel": channel,
            "intake": {
                "problem_category": category,
                "account_ref": account or f"acct-{uuid.uuid4().hex[:8]}",
                "language": language or {"tag": "zh-CN"},
                "accessibility_needs": accessibility or [],
            },
        }
        verified = None
        if channel == "virtual_queue" and customer:
            # the virtual queue is tied to the phone the customer's sign-in verified
            verified = phone or fake_phone()
        elif phone or channel == "virtual_queue":
            body["intake"]["contact_phone"] = phone or fake_phone()  # type: ignore[index]
        headers = (
            auth(self.token("customer", sub=customer, phone=verified))
            if customer
            else self.supervisor
        )
        response = await self.client.post("/tickets", json=body, headers=headers)
        assert response.status_code == expect, response.text
        return response.json()  # type: ignore[no-any-return]


def fake_phone() -> str:
    """A random, obviously fake E.164 number (never a real person's)."""
    return f"+8613{uuid.uuid4().int % 10**9:09d}"


async def stream_events(pool: Any, stream_id: str) -> list[str]:
    rows = await pool.fetch(
        "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY stream_version", stream_id
    )
    return [row["event_type"] for row in rows]
