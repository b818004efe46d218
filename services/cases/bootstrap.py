"""Composition root of the cases service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from runtime.service import ServiceDefinition, create_app
from services.cases.api import router
from services.cases.consumers import consumer_groups, redact_subject
from services.cases.privacy_api import router as privacy_router

DEFINITION = ServiceDefinition(
    name="cases",
    title="Frontdesk cases",
    description="Cases, decisions, service levels and the account timeline.",
    default_port=8002,
    migrations=Path(__file__).parent / "migrations",
    routers=[router, privacy_router],
    consumer_groups=consumer_groups,
    redact_subject=redact_subject,
)


def create() -> FastAPI:
    return create_app(DEFINITION)
