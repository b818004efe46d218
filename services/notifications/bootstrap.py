"""Composition root of the notifications service."""

from __future__ import annotations

from pathlib import Path

from runtime.organizations import organizations_projection
from runtime.service import ServiceDefinition
from services.notifications.api import ROUTERS
from services.notifications.application.callbacks import callback_timers
from services.notifications.application.campaigns import campaign_timers
from services.notifications.application.dispatch import send_timer
from services.notifications.application.reactions import reaction_groups
from services.notifications.projections import gauges as floor_gauges
from services.notifications.projections import projection_groups
from services.notifications.retention import policies as retention_policies
from services.notifications.subject_data import export_subject, redact_subject
from services.notifications.wiring import build_wiring

DEFINITION = ServiceDefinition(
    gauges=floor_gauges.GAUGES,
    name="notifications",
    title="Frontdesk notifications",
    description="Callbacks that are kept, and messages on every channel, exactly once.",
    default_port=8004,
    migrations=Path(__file__).parent / "migrations",
    routers=ROUTERS,
    consumer_groups=lambda runtime: [
        *reaction_groups(runtime),
        *projection_groups(),
        organizations_projection("notifications"),
    ],
    redact_subject=redact_subject,
    timers=lambda runtime: {
        **send_timer(runtime),
        **callback_timers(runtime),
        **campaign_timers(runtime),
    },
    wiring=build_wiring,
    retention=retention_policies(),
    export_subject=export_subject,
)
