"""Verification's read models, one module each, assembled into their consumer groups."""

from __future__ import annotations

from contracts.events.verification_organizations import VERIFICATION_ORGANIZATIONS
from contracts.topics import CASES_CASES, VERIFICATION_SESSIONS
from runtime.consumer import ConsumerGroup
from services.verification.projections import case_plans, organizations, sessions


def case_plans_group() -> ConsumerGroup:
    return ConsumerGroup(
        name="verification.case_plans",
        topics=[CASES_CASES],
        handlers=case_plans.handlers,
        read_models=case_plans.TABLES,
        description="Plans the checks each opened case needs (verify while you wait).",
        reads_personal_data=False,  # a plan needs the case's type, not its summary
    )


def sessions_group() -> ConsumerGroup:
    return ConsumerGroup(
        name="verification.sessions",
        topics=[VERIFICATION_SESSIONS],
        handlers=sessions.handlers,
        read_models=sessions.TABLES,
        description="Session views and the reviewer queue.",
    )


def organizations_group() -> ConsumerGroup:
    return ConsumerGroup(
        name="verification.organizations",
        topics=[VERIFICATION_ORGANIZATIONS],
        handlers=organizations.handlers,
        read_models=organizations.TABLES,
        description="Organization views, look-alike flags and verified domains.",
    )


def projection_groups() -> list[ConsumerGroup]:
    return [case_plans_group(), sessions_group(), organizations_group()]
