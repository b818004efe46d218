"""Composition root of the cases service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from runtime.export import gather_router
from runtime.organizations import organizations_projection
from runtime.service import ServiceDefinition, create_app
from services.cases.api import routers
from services.cases.application.appeal_timers import APPEAL_PERIOD_TIMER
from services.cases.application.cases import appeal_period_timer, service_level_timer
from services.cases.application.reactions import reaction_groups
from services.cases.application.service_level_timers import SERVICE_LEVEL_TIMER
from services.cases.config import build_wiring
from services.cases.projections import gauges as floor_gauges
from services.cases.projections import projection_groups, redact_subject
from services.cases.retention import policies as retention_policies
from services.cases.subject_data import export_subject

DEFINITION = ServiceDefinition(
    gauges=floor_gauges.GAUGES,
    name="cases",
    title="Frontdesk cases",
    description="Cases, decisions, service levels and the account timeline.",
    default_port=8002,
    migrations=Path(__file__).parent / "migrations",
    # cases owns the account timeline, so it answers for a person's copy of their data
    routers=[*routers, gather_router()],
    consumer_groups=lambda runtime: [
        *reaction_groups(runtime),
        *projection_groups(),
        organizations_projection("cases"),
    ],
    redact_subject=redact_subject,
    timers=lambda runtime: {
        SERVICE_LEVEL_TIMER: service_level_timer(runtime),
        APPEAL_PERIOD_TIMER: appeal_period_timer(runtime),
    },
    wiring=build_wiring,
    retention=retention_policies(),
    export_subject=export_subject,
)


def create() -> FastAPI:
    return create_app(DEFINITION)
