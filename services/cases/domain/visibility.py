"""Who sees what of a case: decided here, in one place, for every endpoint.

Two audiences. **Staff** (agent, specialist, supervisor, reviewer, admin, and other services)
see everything the read models hold. A **customer** sees a case only if they opened it or
one of its contacts was theirs (the holder, or the proxy who opened it), and then only:
its status, the next step, who it waits on, the due times, what verification it needs, the
promised callbacks, the platform rule that suspended the account (with its threshold), the
disputed report as far as an organization reported it, and the decision with its
explanation in their language. Never internal notes, assignment, priority, escalation
reasons, service-level warnings, staff ids, the reporter's platform id, or a private
individual reporter's identity. Anything not listed for customers is not shown to them.
"""

# Chinese text uses Chinese (full-width) punctuation on purpose.

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol

from contracts.events.cases import ReporterCategory, SuspensionRule
from services.cases.domain.policies import explain_suspension


class Caller(Protocol):
    """Who asks (the runtime's ``Principal`` is one): staff see every case, a customer the
    cases they follow."""

    @property
    def id(self) -> str: ...

    @property
    def is_staff(self) -> bool: ...

    def has_any(self, *roles: str) -> bool: ...


class Audience(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"


def audience_for(principal: Caller, viewer_ids: list[str] | frozenset[str]) -> Audience | None:
    """The caller's audience for one case, or None when they may not see it (answer 404)."""
    if principal.is_staff:
        return Audience.STAFF
    if principal.has_any("customer") and principal.id in viewer_ids:
        return Audience.CUSTOMER
    return None


# -- the case ---------------------------------------------------------------------------------

CUSTOMER_CASE_FIELDS = frozenset(
    {
        "case_id",
        "account_ref",
        "case_type",
        "problem_category",
        "status",
        "language",
        "source_channel",
        "source_ticket_id",
        "opened_at",
        "correlation_id",
        "summary",
        "waiting_on",
        "next_step",
        "due",
        "verifications",
        "callbacks",
        "suspensions",
        "report",
        "decision",
        "appeal_until",
        "merged_into",
    }
)
# inside the report and the verifications, what a customer may read
CUSTOMER_REPORT_FIELDS = frozenset(
    {"report_id", "reporter_category", "organization_name", "rule_code", "evidence", "reported_at"}
)
CUSTOMER_VERIFICATION_FIELDS = frozenset(
    {"verification_id", "purpose", "person_role", "outcome", "requested_at", "completed_at"}
)
CUSTOMER_CALLBACK_FIELDS = frozenset({"callback_id", "window_start", "window_end", "status"})
ORGANIZATIONS = frozenset(set(ReporterCategory) - {ReporterCategory.INDIVIDUAL_USER})


def report_for(report: dict[str, Any] | None, audience: Audience) -> dict[str, Any] | None:
    if report is None or audience is Audience.STAFF:
        return report
    shown = {k: v for k, v in report.items() if k in CUSTOMER_REPORT_FIELDS}
    if ReporterCategory(report["reporter_category"]) not in ORGANIZATIONS:
        shown["organization_name"] = None  # a private individual is never named
    return shown


def suspension_for(rule: dict[str, Any], language: str) -> dict[str, Any]:
    """A linked platform suspension with its plain-language explanation (both audiences)."""
    parsed = SuspensionRule.model_validate(rule)
    return {**rule, "explanation": explain_suspension(parsed, language)}


def case_for(view: dict[str, Any], audience: Audience) -> dict[str, Any]:
    """The case as ``audience`` may see it. ``view`` is the full (staff) view."""
    if audience is Audience.STAFF:
        return view
    shown = {k: v for k, v in view.items() if k in CUSTOMER_CASE_FIELDS}
    shown["report"] = report_for(view.get("report"), audience)
    shown["verifications"] = [
        {k: v for k, v in item.items() if k in CUSTOMER_VERIFICATION_FIELDS}
        for item in view.get("verifications", [])
    ]
    shown["callbacks"] = [
        {k: v for k, v in item.items() if k in CUSTOMER_CALLBACK_FIELDS}
        for item in view.get("callbacks", [])
    ]
    return shown


# -- the timeline -----------------------------------------------------------------------------

CUSTOMER_TIMELINE_KINDS = frozenset(
    {
        "case_opened",
        "contact_attached",
        "case_merged",
        "status_changed",
        "verification_requested",
        "verification_recorded",
        "suspension_linked",
        "suspension_recorded",
        "report_recorded",
        "decision_recorded",
        "callback_requested",
        "callback_recorded",
        "case_escalated",
        "case_reopened",
        "case_closed",
    }
)
# details a customer never reads, per kind (the rest of an entry's details are shown)
_HIDDEN_DETAILS = {
    "case_escalated": {"reason"},
    "verification_requested": {"risk_level"},
    "case_opened": {"site_id"},
    "contact_attached": {"site_id"},
}


def timeline_entry_for(entry: dict[str, Any], audience: Audience) -> dict[str, Any] | None:
    """One timeline entry as ``audience`` may see it, or None when it is hidden from them."""
    if audience is Audience.STAFF:
        return entry
    if entry["kind"] not in CUSTOMER_TIMELINE_KINDS:
        return None
    hidden = _HIDDEN_DETAILS.get(entry["kind"], set())
    details = {k: v for k, v in entry["details"].items() if k not in hidden}
    return {
        "at": entry["at"],
        "kind": entry["kind"],
        "case_id": entry["case_id"],
        "details": details,
    }


def appeal_until(resolved_at: datetime | None, period: timedelta) -> datetime | None:
    return resolved_at + period if resolved_at else None
