"""HTTP API of the cases service, one router per resource."""

from __future__ import annotations

from fastapi import APIRouter

from services.cases.api import (
    accesses,
    assignment,
    callbacks,
    cases,
    lifecycle,
    notes,
    policies,
    privacy,
    staff,
    suspensions,
    tags,
    timelines,
)

routers: list[APIRouter] = [
    cases.router,
    lifecycle.router,
    assignment.router,
    callbacks.router,
    notes.router,
    timelines.router,
    policies.router,
    tags.router,
    suspensions.router,
    staff.router,
    privacy.router,
    accesses.router,
]
