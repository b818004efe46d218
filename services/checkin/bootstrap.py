"""Composition root of the check-in service."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import asyncpg
from fastapi import FastAPI

from runtime.consumer import ConsumerGroup
from runtime.organizations import organizations_projection
from runtime.running import RunningService
from runtime.scheduler import Timer, TimerHandler
from runtime.service import ServiceDefinition, create_app
from services.checkin.api import routers
from services.checkin.application import appointments, assignment, tickets
from services.checkin.application.escalations import escalation_group
from services.checkin.application.waiting import waiting_group
from services.checkin.projections import gauges as floor_gauges
from services.checkin.projections import projection_group
from services.checkin.retention import policies as retention_policies
from services.checkin.subject_data import export_subject
from services.checkin.wiring import CheckinWiring, build_wiring


def consumer_groups(runtime: RunningService) -> list[ConsumerGroup]:
    return [
        projection_group(),
        waiting_group(runtime),
        escalation_group(runtime),
        assignment.assignment_group(runtime),
        organizations_projection("checkin"),
    ]


def timers(runtime: RunningService) -> dict[str, TimerHandler]:
    async def no_show_due(conn: asyncpg.Connection, timer: Timer, now: datetime) -> None:
        await tickets.no_show_due(conn, runtime.store, timer, now)

    async def appointment_missed(conn: asyncpg.Connection, timer: Timer, now: datetime) -> None:
        await appointments.missed_due(conn, runtime.store, timer, now)

    async def appointment_reminder(conn: asyncpg.Connection, timer: Timer, now: datetime) -> None:
        wiring = runtime.wiring
        assert isinstance(wiring, CheckinWiring)
        reminders = wiring.settings.appointment_reminders_minutes
        await appointments.reminder_due(conn, runtime.store, timer, now, reminders)

    return {
        tickets.NO_SHOW_TIMER: no_show_due,
        appointments.MISSED_TIMER: appointment_missed,
        appointments.REMINDER_TIMER: appointment_reminder,
        **assignment.timers(runtime),
    }


DEFINITION = ServiceDefinition(
    gauges=floor_gauges.GAUGES,
    name="checkin",
    title="Frontdesk check-in",
    description="Arrivals, queues, desks, agents and routing: who waits where, for how long.",
    default_port=8001,
    migrations=Path(__file__).parent / "migrations",
    routers=routers,
    consumer_groups=consumer_groups,
    timers=timers,
    wiring=build_wiring,
    retention=retention_policies(),
    export_subject=export_subject,
)


def create() -> FastAPI:
    return create_app(DEFINITION)
