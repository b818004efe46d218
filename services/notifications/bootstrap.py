"""Composition root of the notifications service."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from runtime.service import ServiceDefinition, create_app
from services.notifications.api.callbacks import router
from services.notifications.api.campaigns import router as campaigns_router
from services.notifications.api.unsubscribe import router as unsubscribe_router
from services.notifications.application.messages import timer_handlers
from services.notifications.application.campaigns import campaign_consumer_groups, campaign_timer_handlers
from services.notifications.application.reactions import consumer_groups, redact_subject
from services.notifications.application.retention import policies as retention_policies
from services.notifications.application.subject_data import export_subject
from services.notifications.wiring import DISPATCHER, SETTINGS

DEFINITION = ServiceDefinition(
    name="notifications",
    title="Frontdesk notifications",
    description="Callbacks that are kept, and messages on every channel, exactly once.",
    default_port=8004,
    migrations=Path(__file__).parent / "migrations",
    routers=[router, campaigns_router, unsubscribe_router],
    consumer_groups=lambda runtime: [
        *consumer_groups(runtime.store, SETTINGS),
        *campaign_consumer_groups(runtime.store),
    ],
    redact_subject=redact_subject,
    timers=lambda runtime: {
        **timer_handlers(runtime.store, SETTINGS, DISPATCHER),
        **campaign_timer_handlers(runtime.store, SETTINGS),
    },
    retention=retention_policies(),
    export_subject=export_subject,
)


def create() -> FastAPI:
    return create_app(DEFINITION)
