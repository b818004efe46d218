"""Composition root of the check-in service."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from uuid import UUID

import asyncpg
from fastapi import FastAPI

from runtime.consumer import ConsumerGroup
from runtime.eventstore import EventStore
from runtime.scheduler import Timer, TimerHandler
from runtime.service import ServiceDefinition, create_app
from services.checkin import application, appointments, assignment
from services.checkin.api import router
from services.checkin.api_appointments import router as appointments_router
from services.checkin.api_contacts import router as contacts_router
from services.checkin.consumers import escalation_group, waiting_group
from services.checkin.live import router as live_router
from services.checkin.projections import projection_group
from services.checkin.retention import policies as retention_policies
from services.checkin.subject_data import export_subject


def consumer_groups(store: EventStore) -> list[ConsumerGroup]:
    return [
        projection_group(),
        waiting_group(store),
        escalation_group(store),
        assignment.assignment_group(),
    ]


def timers(store: EventStore) -> dict[str, TimerHandler]:
    async def no_show_due(conn: asyncpg.Connection, timer: Timer, now: datetime) -> None:
        await application.expire_call(
            conn,
            store,
            UUID(timer.payload["ticket_id"]),
            datetime.fromisoformat(timer.payload["called_at"]),
            now,
        )

    async def appointment_missed(conn: asyncpg.Connection, timer: Timer, now: datetime) -> None:
        await appointments.expire(conn, store, UUID(timer.payload["appointment_id"]), now)

    return {
        application.NO_SHOW_TIMER: no_show_due,
        appointments.MISSED_TIMER: appointment_missed,
        **assignment.timers(store),
    }


DEFINITION = ServiceDefinition(
    name="checkin",
    title="Frontdesk check-in",
    description="Arrivals, queues, desks, agents and routing: who waits where, for how long.",
    default_port=8001,
    migrations=Path(__file__).parent / "migrations",
    routers=[router, appointments_router, contacts_router, live_router],
    consumer_groups=lambda runtime: consumer_groups(runtime.store),
    timers=lambda runtime: timers(runtime.store),
    retention=retention_policies(),
    export_subject=export_subject,
)


def create() -> FastAPI:
    return create_app(DEFINITION)
