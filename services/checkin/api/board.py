"""HTTP API of what the read models show: waiting per queue, the queue display board, the
supervisor's dashboard, estimated against actual waits. Read models are projections (they
may lag a moment behind a command). Staff see only their own centre's sites: an
organization's supervisors the volumes and waiting counts of their organization's sites."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import AwareDatetime, BaseModel

from contracts.vocabulary import ServiceQueue as Queue
from runtime.auth import Principal
from runtime.service import Runtime
from services.checkin.api.roles import (
    BoardRoles,
    SiteId,
    StaffRoles,
    SupervisorRoles,
    site_at_work,
)
from services.checkin.application import board
from services.checkin.projections import queue_tickets

router = APIRouter()


class QueueCount(BaseModel):
    queue: Queue
    waiting: int
    oldest_issued_at: AwareDatetime | None


@router.get(
    "/sites/{site_id}/queues",
    response_model=list[QueueCount],
    summary="Waiting per queue",
    tags=["board"],
)
async def queue_counts(
    site_id: Annotated[str, Path(max_length=64)],
    runtime: Runtime,
    principal: Annotated[Principal, StaffRoles],
) -> list[QueueCount]:
    async with runtime.pool.acquire() as conn:
        await site_at_work(conn, runtime.store, principal, site_id)
        rows = await queue_tickets.waiting_per_queue(conn, site_id)
    return [
        QueueCount(queue=row["queue"], waiting=row["waiting"], oldest_issued_at=row["oldest"])
        for row in rows
    ]


@router.get("/sites/{site_id}/board", tags=["board"], summary="The queue display board")
async def queue_board(
    site_id: SiteId, runtime: Runtime, principal: Annotated[Principal, BoardRoles]
) -> dict[str, Any]:
    """Now serving (number → desk), next up and waiting per queue. Numbers only."""
    async with runtime.pool.acquire() as conn:
        await site_at_work(conn, runtime.store, principal, site_id)
        return await board.board(conn, site_id, runtime.clock.now())


@router.get("/sites/{site_id}/dashboard", tags=["supervisors"], summary="At a glance")
async def supervisor_dashboard(
    site_id: SiteId, runtime: Runtime, principal: Annotated[Principal, SupervisorRoles]
) -> dict[str, Any]:
    """Per queue and channel: waiting, longest wait, average wait and service time over the
    last hour, served today, abandonment rate, agents available/serving, service level."""
    async with runtime.pool.acquire() as conn:
        await site_at_work(conn, runtime.store, principal, site_id)
        return await board.dashboard(conn, site_id, runtime.clock.now())


@router.get(
    "/sites/{site_id}/estimate-accuracy",
    tags=["supervisors"],
    summary="Estimated vs actual waits",
)
async def estimate_accuracy(
    site_id: SiteId, runtime: Runtime, principal: Annotated[Principal, SupervisorRoles]
) -> dict[str, Any]:
    async with runtime.pool.acquire() as conn:
        await site_at_work(conn, runtime.store, principal, site_id)
        return await board.estimate_accuracy(conn, site_id)
