"""Composition root of the notifications service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from runtime.service import ServiceDefinition, create_app
from services.notifications.api import router
from services.notifications.application import timer_handlers
from services.notifications.consumers import consumer_groups
from services.notifications.projections import redact_subject
from services.notifications.wiring import DISPATCHER, SETTINGS

DEFINITION = ServiceDefinition(
    name="notifications",
    title="Frontdesk notifications",
    description="Callbacks that are kept, and messages on every channel, exactly once.",
    default_port=8004,
    migrations=Path(__file__).parent / "migrations",
    routers=[router],
    consumer_groups=lambda store: consumer_groups(store, SETTINGS),
    redact_subject=redact_subject,
    timers=lambda store: timer_handlers(store, SETTINGS, DISPATCHER),
)


def create() -> FastAPI:
    return create_app(DEFINITION)
