"""Composition root of the verification service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from runtime.service import ServiceDefinition, create_app
from services.verification.api import ROUTERS
from services.verification.application.protected_domains import seed_protected_domains
from services.verification.application.reactions import case_requests, code_delivery_outcomes
from services.verification.application.retention import policies as retention_policies
from services.verification.application.timers import timer_handlers
from services.verification.projections import (
    case_plans_group,
    organizations_group,
    sessions_group,
)
from services.verification.projections import gauges as floor_gauges
from services.verification.subject_data import export_subject, redact_subject
from services.verification.wiring import build_wiring

DEFINITION = ServiceDefinition(
    gauges=floor_gauges.GAUGES,
    name="verification",
    title="Frontdesk verification",
    description="Identity and ownership checks, guardians, organization verification.",
    default_port=8003,
    migrations=Path(__file__).parent / "migrations",
    routers=ROUTERS,
    consumer_groups=lambda runtime: [
        case_plans_group(),
        case_requests(runtime),
        code_delivery_outcomes(runtime),
        sessions_group(),
        organizations_group(),
    ],
    redact_subject=redact_subject,
    timers=timer_handlers,
    wiring=build_wiring,
    retention=retention_policies(),
    export_subject=export_subject,
    on_start=seed_protected_domains,
)


def create() -> FastAPI:
    return create_app(DEFINITION)
