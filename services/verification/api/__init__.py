"""Verification's HTTP API, one router per resource."""

from __future__ import annotations

from services.verification.api import (
    case_plans,
    codes,
    identity,
    knowledge,
    lookalike_flags,
    media,
    organizations,
    ownership,
    protected_domains,
    reviews,
    sessions,
)

ROUTERS = [
    case_plans.router,
    sessions.router,
    knowledge.router,
    ownership.router,
    codes.router,
    identity.router,
    media.router,
    reviews.router,
    organizations.router,
    lookalike_flags.router,
    protected_domains.router,
]
