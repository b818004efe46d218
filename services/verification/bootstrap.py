"""Composition root of the verification service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from runtime.service import ServiceDefinition, create_app
from services.verification.api import router
from services.verification.api_organizations import router as organizations_router
from services.verification.application import timer_handlers
from services.verification.consumers import consumer_groups, redact_subject
from services.verification.retention import policies as retention_policies
from services.verification.subject_data import export_subject

DEFINITION = ServiceDefinition(
    name="verification",
    title="Frontdesk verification",
    description="Identity and ownership checks, guardians, organization verification.",
    default_port=8003,
    migrations=Path(__file__).parent / "migrations",
    routers=[router, organizations_router],
    consumer_groups=lambda runtime: consumer_groups(runtime.store),
    redact_subject=redact_subject,
    timers=lambda runtime: timer_handlers(runtime.store),
    retention=retention_policies(),
    export_subject=export_subject,
)


def create() -> FastAPI:
    return create_app(DEFINITION)
