"""How a case reads: the staff view and the customer's (what a customer may see is decided in
``domain/visibility.py``), derived from a ``case_views`` row; for the API and for a person's
copy of their data."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, Field

from contracts.events.cases import (
    CasePriority,
    CaseStatus,
    CaseType,
    DecisionOutcome,
    WaitingOn,
)
from services.cases.domain.customer_texts import next_step, outcome_label
from services.cases.domain.visibility import (
    Audience,
    appeal_until,
    case_for,
    suspension_for,
)


class DueTimes(BaseModel):
    first_response_due: AwareDatetime | None = None
    next_response_due: AwareDatetime | None = None
    resolution_due: AwareDatetime | None = None
    paused: bool = Field(default=False, description="True while the case awaits the customer.")


class CustomerCaseView(BaseModel):
    """What a customer (or the proxy who opened it) reads about their case."""

    case_id: UUID
    account_ref: str
    case_type: CaseType
    problem_category: str
    status: CaseStatus
    language: str
    source_channel: str | None
    source_ticket_id: UUID | None
    opened_at: AwareDatetime
    correlation_id: UUID
    summary: str | None = Field(
        default=None, description="The customer's latest own words (None once erased)."
    )
    waiting_on: WaitingOn
    next_step: str = Field(description="What happens next, in the case's language.")
    due: DueTimes
    verifications: list[dict[str, Any]]
    callbacks: list[dict[str, Any]]
    suspensions: list[dict[str, Any]] = Field(
        description="Platform rules that suspended the account: code, version, threshold, "
        "facts and explanation."
    )
    report: dict[str, Any] | None = Field(
        description="The disputed report: category, an organization's name, the evidence."
    )
    decision: dict[str, Any] | None = Field(
        description="Outcome (its code, and outcome_label: as the customer reads it), reason "
        "code and version, threshold, facts, explanation."
    )
    appeal_until: AwareDatetime | None
    merged_into: UUID | None


class CaseView(CustomerCaseView):
    """The whole case, for staff."""

    customer_id: str | None
    viewer_ids: list[str]
    priority: CasePriority
    site_id: str | None
    requester_role: str | None
    proxy_relationship: str | None
    queue: str | None
    assignee_id: str | None
    escalation_level: int
    escalations: list[dict[str, Any]]
    contacts: int
    service_levels: dict[str, Any]
    split_from: UUID | None
    updated_at: AwareDatetime | None


def full_view(row: dict[str, Any], appeal_period: timedelta) -> dict[str, Any]:
    """The staff view of a case_views row: every field, plus the derived ones."""
    view = dict(row)
    levels = view["service_levels"]
    targets = {t["kind"]: t["due_at"] for t in levels.get("targets", [])}
    view["due"] = DueTimes(
        first_response_due=targets.get("first_response"),
        next_response_due=targets.get("next_response"),
        resolution_due=targets.get("resolution"),
        paused=levels.get("paused", False),
    )
    status, waiting = CaseStatus(view["status"]), WaitingOn(view["waiting_on"])
    decided_at = (
        datetime.fromisoformat(view["decision"]["decided_at"]) if view["decision"] else None
    )
    decided_until = view["decision"].get("appeal_until") if view["decision"] else None
    until = (
        datetime.fromisoformat(decided_until)
        if decided_until  # what the decision promised; before it said, the configured period
        else appeal_until(decided_at, appeal_period)
    )
    view["appeal_until"] = until if status in (CaseStatus.RESOLVED, CaseStatus.CLOSED) else None
    pending = [v["purpose"] for v in view["verifications"] if v.get("outcome") is None]
    view["next_step"] = next_step(status, waiting, pending, view["appeal_until"], view["language"])
    view["suspensions"] = [suspension_for(s, view["language"]) for s in view["suspensions"]]
    if view["decision"] and not view["decision"].get("outcome_label"):  # decided before labels
        decision = view["decision"]
        label = outcome_label(
            DecisionOutcome(decision["outcome"]), decision["explanation_language"]
        )
        view["decision"] = {**decision, "outcome_label": label}
    return view


def shaped(
    row: dict[str, Any], audience: Audience, appeal_period: timedelta
) -> CaseView | CustomerCaseView:
    view = case_for(full_view(row, appeal_period), audience)
    model = CaseView if audience is Audience.STAFF else CustomerCaseView
    return model.model_validate(view)
