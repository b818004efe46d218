"""Composition root of the check-in service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from runtime.service import ServiceDefinition, create_app
from services.checkin.api import router
from services.checkin.projections import consumer_groups

DEFINITION = ServiceDefinition(
    name="checkin",
    title="Frontdesk check-in",
    description="Arrivals, queues, desks, agents and routing: who waits where, for how long.",
    default_port=8001,
    migrations=Path(__file__).parent / "migrations",
    routers=[router],
    consumer_groups=consumer_groups,
)


def create() -> FastAPI:
    return create_app(DEFINITION)
