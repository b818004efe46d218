"""Composition root of the cases service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from runtime.export import gather_router
from runtime.service import ServiceDefinition, create_app
from services.cases.api.accounts import router as accounts_router
from services.cases.api.cases import router
from services.cases.application.cases import SERVICE_LEVEL_TIMER, service_level_timer
from services.cases.projections.audit_log import audit_group
from services.cases.projections.audit_log import router as audit_router
from services.cases.application.reactions import consumer_groups, redact_subject
from services.cases.api.privacy import router as privacy_router
from services.cases.retention import policies as retention_policies
from services.cases.subject_data import export_subject

DEFINITION = ServiceDefinition(
    name="cases",
    title="Frontdesk cases",
    description="Cases, decisions, service levels and the account timeline.",
    default_port=8002,
    migrations=Path(__file__).parent / "migrations",
    # cases owns the account timeline, so it answers for a person's copy of their data
    routers=[router, accounts_router, privacy_router, audit_router, gather_router()],
    consumer_groups=lambda runtime: [*consumer_groups(runtime.store), audit_group()],
    redact_subject=redact_subject,
    timers=lambda runtime: {SERVICE_LEVEL_TIMER: service_level_timer(runtime.store)},
    retention=retention_policies(),
    export_subject=export_subject,
)


def create() -> FastAPI:
    return create_app(DEFINITION)
