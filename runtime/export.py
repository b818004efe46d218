"""A person's copy of their data: every service answers for itself, cases gathers them.

Each service declares ``export_subject(conn, subject_id, wiring) -> dict`` in its ServiceDefinition
(what it holds about the person, personal values decrypted, no biometric content); the runtime
serves it as ``GET /privacy/subjects/{subject_id}/data`` to callers with the ``service`` role.
``gather_subject_data`` asks every service (``FRONTDESK_PEERS``) with a short-lived service
token and returns one JSON document.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import asyncpg
import httpx
from fastapi import APIRouter, Path, Request

from contracts import Envelope
from runtime.audit import record_access
from runtime.auth import Principal, TokenVerifier, require_roles
from runtime.errors import Unavailable
from runtime.running import RunningService

SUBJECT_ID_PATTERN = r"^[a-z_]+:[^\s]{1,200}$"


async def exports_nothing(
    conn: asyncpg.Connection, subject_id: str, wiring: object
) -> dict[str, Any]:
    """For a service that holds nothing about people beyond what others export."""
    return {}


async def events_of_subject(
    conn: asyncpg.Connection, runtime: RunningService, subject_id: str
) -> list[dict[str, Any]]:
    """Every event this service recorded about the person, personal values decrypted (None
    where they were erased)."""
    rows = await conn.fetch(
        "SELECT envelope FROM events WHERE subject_id = $1 ORDER BY position", subject_id
    )
    exported = []
    for row in rows:
        envelope = Envelope.model_validate(row["envelope"])
        exported.append(
            {
                "event_type": envelope.event_type,
                "occurred_at": envelope.occurred_at.isoformat(),
                "payload": await runtime.privacy.reveal(envelope),
            }
        )
    return exported


def _runtime(request: Request) -> RunningService:
    return request.app.state.runtime  # type: ignore[no-any-return]


def export_router() -> APIRouter:
    router = APIRouter(prefix="/privacy", tags=["privacy"])

    @router.get(
        "/subjects/{subject_id}/data",
        summary="What this service holds about a person (for the data export; services only)",
    )
    async def subject_data(
        subject_id: Annotated[str, Path(pattern=SUBJECT_ID_PATTERN)],
        request: Request,
        principal: Annotated[Principal, require_roles("service")],
    ) -> dict[str, Any]:
        runtime = _runtime(request)
        async with runtime.pool.acquire() as conn:
            events = await events_of_subject(conn, runtime, subject_id)
            extras = await runtime.export_subject(conn, subject_id, runtime.wiring)
        return {
            "service": runtime.name,
            "subject_id": subject_id,
            "data": {"events": events, **extras},
        }

    return router


async def gather_subject_data(
    peers: dict[str, str], verifier: TokenVerifier, caller: str, subject_id: str
) -> dict[str, Any]:
    """Ask every service for what it holds about ``subject_id``; fail if any cannot answer
    (an incomplete copy must not pass for a complete one)."""
    token = verifier.issue(f"service:{caller}", ["service"], ttl_seconds=60)
    async with httpx.AsyncClient(timeout=10) as client:

        async def ask(service: str, base_url: str) -> tuple[str, dict[str, Any]]:
            try:
                response = await client.get(
                    f"{base_url.rstrip('/')}/privacy/subjects/{subject_id}/data",
                    headers={"Authorization": f"Bearer {token}"},
                )
                response.raise_for_status()
            except httpx.HTTPError as error:
                raise Unavailable(
                    f"the {service} service could not give its part of the copy "
                    f"({type(error).__name__}); an incomplete copy is not given"
                ) from None
            return service, response.json()["data"]

        answers = await asyncio.gather(*(ask(name, url) for name, url in sorted(peers.items())))
    return {"subject_id": subject_id, "services": dict(answers)}


def gather_router() -> APIRouter:
    """``GET /privacy/subjects/{subject_id}/export``: the person's copy of everything the
    services hold about them, gathered from every service's API; for supervisors and admins
    acting for a person whose identity was verified; audited."""

    router = APIRouter(prefix="/privacy", tags=["privacy"])

    @router.get(
        "/subjects/{subject_id}/export",
        summary="A person's copy of their data, from every service (audited)",
    )
    async def export(
        subject_id: Annotated[str, Path(pattern=SUBJECT_ID_PATTERN)],
        request: Request,
        principal: Annotated[Principal, require_roles("supervisor", "admin")],
    ) -> dict[str, Any]:
        runtime = _runtime(request)
        document = await gather_subject_data(
            runtime.settings.peer_urls(),
            request.app.state.token_verifier,
            runtime.name,
            subject_id,
        )
        async with runtime.pool.acquire() as conn:
            await record_access(
                conn,
                runtime,
                principal,
                subject_id=subject_id,
                resource="data_export",
                resource_id=subject_id,
                fields=["everything"],
                purpose=f"export:{subject_id}",
            )
        return document

    return router
