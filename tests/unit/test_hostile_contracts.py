"""The input policy in the contracts (issue 12): one identifier pattern, finite bounded
numbers and dates, no control characters; history read as written; and every free-text field
either sealed personal data or allowed here with a written reason."""

from __future__ import annotations

import typing
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import BaseModel, ValidationError

from contracts import REGISTRY
from contracts.base import _is_personal, _model_types
from contracts.events.checkin import TicketLeft
from contracts.events.checkin_sites import QueueSettings
from contracts.events.privacy import SUBJECT_ID, LegalHoldPlaced
from contracts.fields import IDENTIFIER, policy_problems
from contracts.vocabulary import LanguagePreference, ServiceQueue

pytestmark = pytest.mark.unit

# Why each remaining free-text string field may travel in plain text. The reasons:
VOCABULARY = "a word from a fixed vocabulary or a machine value set by the service"
STAFF_NOTE = "staff's operational note about the handling, not about a person"
ORGANIZATION = "data of an organisation (a legal person), public by nature"
GENERATED = "text the service generates from its rules; holds no personal words"
ALLOWED: dict[str, str] = {
    "AccountSuspended.facts": GENERATED,
    "AccountSuspended.threshold_unit": VOCABULARY,
    "AgentProfileSet.specialist_skills": VOCABULARY,
    "AgentStatusChanged.reason": STAFF_NOTE,
    "AppointmentReminderDue.site_name": ORGANIZATION,
    "AppointmentReminderDue.timezone": VOCABULARY,
    "CallbackAccepted.timezone": VOCABULARY,
    "CallbackRequested.timezone": VOCABULARY,
    "CallbackScheduled.timezone": VOCABULARY,
    "CampaignCancelled.reason": STAFF_NOTE,
    "CampaignContent.body": ORGANIZATION,
    "CampaignContent.title": ORGANIZATION,
    "CampaignProgressed.requested": GENERATED,
    "CampaignProgressed.skipped_consent": GENERATED,
    "CampaignProgressed.skipped_excluded": GENERATED,
    "CampaignProgressed.skipped_hours": GENERATED,
    "CampaignProgressed.skipped_untagged": GENERATED,
    "CampaignStarted.name": STAFF_NOTE,
    "CaseClosedV1.reason": "v1, read only: new closures are written as v2 (sealed reason)",
    "CaseEscalated.reason": GENERATED,
    "CaseMerged.customer_ids": VOCABULARY,
    "CheckAttemptFailed.reason": GENERATED,
    "CheckFailedV1.reason": "v1, read only: new failures are written as v2 (sealed reason)",
    "CheckPassed.reasons": GENERATED,
    "CheckStarted.detail": GENERATED,
    "CheckStarted.provider": VOCABULARY,
    "CodeDelivery.claim_path": VOCABULARY,
    "CodeDeliveryFailed.reason": GENERATED,
    "CodeDeliveryRequested.claim_path": VOCABULARY,
    "CodeDeliveryRequested.language": VOCABULARY,
    "DataPurged.description": GENERATED,
    "DataPurged.policy": VOCABULARY,
    "DataPurged.service": VOCABULARY,
    "DataSubjectErased.reason": STAFF_NOTE,
    "DecisionRecorded.explanation_language": VOCABULARY,
    "DecisionRecorded.outcome_label": GENERATED,
    "DecisionRecordedV1.explanation": "v1, read only: new decisions are written as v3 (sealed)",
    "DecisionRecordedV1.explanation_language": VOCABULARY,
    "DecisionRecordedV1.facts": "v1, read only: new decisions are written as v3 (sealed facts)",
    "DecisionRecordedV1.outcome_label": GENERATED,
    "DecisionRecordedV2.explanation_language": VOCABULARY,
    "DecisionRecordedV2.facts": "v2, read only: new decisions are written as v3 (sealed facts)",
    "DecisionRecordedV2.outcome_label": GENERATED,
    "DepositsSent.bank_account_last4": ORGANIZATION,
    "DeskAdded.location": STAFF_NOTE,
    "Evidence.kind": VOCABULARY,
    "Evidence.reference": VOCABULARY,
    "Evidence.summary": "plain only in report_recorded and case_reopened v1, read only: "
    "from v2 the whole evidence list is sealed",
    "IntakeV1.language": VOCABULARY,
    "LanguagePreference.dialect": VOCABULARY,
    "LegalHoldPlacedV1.reason": "v1, read only: new holds are written as v2 (sealed reason)",
    "LockedOut.reason": GENERATED,
    "LookalikeDomainCleared.domain": ORGANIZATION,
    "LookalikeDomainCleared.reason": STAFF_NOTE,
    "LookalikeDomainFlagged.domain": ORGANIZATION,
    "LookalikeDomainFlagged.resembles": ORGANIZATION,
    "LookalikeDomainFlagged.source": VOCABULARY,
    "LookalikeDomainFlagged.protected_brand": ORGANIZATION,
    "MediaPurged.reason": GENERATED,
    "MediaStored.sha256": VOCABULARY,
    "NotificationAttemptFailed.reason": GENERATED,
    "NotificationFailed.reason": GENERATED,
    "NotificationRequested.language": VOCABULARY,
    "NotificationRequested.timezone": VOCABULARY,
    "NotificationRequestedV1.language": VOCABULARY,
    "NotificationRequestedV1.variables": "v1, read only: new messages are written as v5 (sealed)",
    "NotificationRequestedV2.language": VOCABULARY,
    "NotificationRequestedV2.timezone": VOCABULARY,
    "NotificationRequestedV2.variables": "v2, read only: new messages are written as v5 (sealed)",
    "NotificationRequestedV3.language": VOCABULARY,
    "NotificationRequestedV3.timezone": VOCABULARY,
    "NotificationRequestedV3.variables": "v3, read only: new messages are written as v5 (sealed)",
    "NotificationRequestedV4.language": VOCABULARY,
    "NotificationRequestedV4.timezone": VOCABULARY,
    "NotificationRequestedV4.variables": "v4, read only: new messages are written as v5 (sealed)",
    "NotificationSent.provider": VOCABULARY,
    "OrganizationRejected.reasons": GENERATED,
    "OrganizationReviewDecided.reason": ORGANIZATION,
    "OrganizationSubmitted.bank_account_last4": ORGANIZATION,
    "OrganizationSubmitted.bank_name": ORGANIZATION,
    "OrganizationSubmitted.contact_email_domain": ORGANIZATION,
    "OrganizationSubmitted.legal_name": ORGANIZATION,
    "OrganizationSubmitted.official_domains": ORGANIZATION,
    "OrganizationVerified.legal_name": ORGANIZATION,
    "OrganizationVerified.reasons": GENERATED,
    "OrganizationVerified.verified_domains": ORGANIZATION,
    "OutcomeReason.parameters": VOCABULARY,
    "OwnershipItem.explanation": GENERATED,
    "OwnershipItem.kind": VOCABULARY,
    "PersonalDataAccessed.fields": VOCABULARY,
    "PersonalDataAccessed.purpose": VOCABULARY,
    "PersonalDataAccessed.resource": VOCABULARY,
    "PersonalDataAccessed.service": VOCABULARY,
    "PhoneConfirmedV1.note": "v1, read only: new confirmations are written as v2 (sealed note)",
    "PriorityChanged.reason": STAFF_NOTE,
    "ProtectedDomainAdded.brand": ORGANIZATION,
    "ProtectedDomainAdded.domain": ORGANIZATION,
    "ProtectedDomainRemoved.brand": ORGANIZATION,
    "ProtectedDomainRemoved.domain": ORGANIZATION,
    "ProtectedDomainRemoved.reason": STAFF_NOTE,
    "QueueCallbackRequested.ticket_number": VOCABULARY,
    "QueueClosed.reason": STAFF_NOTE,
    "RecipientPreferencesSet.language": VOCABULARY,
    "RecipientPreferencesSet.reason": STAFF_NOTE,
    "RecipientPreferencesSet.timezone": VOCABULARY,
    "RejectionReason.parameters": VOCABULARY,
    "ReportRecorded.organization_name": ORGANIZATION,
    "ReportRecordedV1.organization_name": ORGANIZATION,
    "ReviewDecidedV1.reason": "v1, read only: new decisions are written as v2 (sealed reason)",
    "ReviewRequestedV1.reason": "v1, read only: new requests are written as v2 (sealed reason)",
    "RoutingMatch.explanation": GENERATED,
    "RoutingMatch.priority_reasons": GENERATED,
    "SiteConfigured.ivr_menu": STAFF_NOTE,
    "SiteConfigured.name": ORGANIZATION,
    "SiteConfigured.timezone": VOCABULARY,
    "StatusChanged.reason": STAFF_NOTE,
    "SuspensionRule.facts": GENERATED,
    "SuspensionRule.threshold_unit": VOCABULARY,
    "TicketIssued.number": VOCABULARY,
    "TicketIssuedV1.number": VOCABULARY,
    "TicketParked.reason": STAFF_NOTE,
    "TicketPriorityRaised.reason": STAFF_NOTE,
    "TicketTransferred.reason": STAFF_NOTE,
    "TicketTransferred.required_skill": VOCABULARY,
    "VerificationCompleted.reasons": GENERATED,
    "VerificationRecorded.outcome": VOCABULARY,
    "VerificationRecorded.reasons": GENERATED,
    "WaitEstimate.basis": GENERATED,
    "WaitEstimate.range_basis": GENERATED,
}
# ids, codes, hashes and references by name: never free text
NOT_TEXT_SUFFIXES = (
    *("_id", "_ref", "_refs", "_by", "_code", "_codes", "_type", "_key", "_hash"),
    *("_url", "_version"),
)


def _has_str(annotation: object) -> bool:
    if annotation is str:
        return True
    return any(_has_str(arg) for arg in typing.get_args(annotation) or ())


def free_text_fields() -> set[str]:
    seen: set[type[BaseModel]] = set()
    found: set[str] = set()

    def walk(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.add(model)
        for name, info in model.model_fields.items():
            for nested in _model_types(info.annotation):
                walk(nested)
            if _is_personal(info) or not _has_str(info.annotation):
                continue
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            if "pattern" in extra or any(getattr(m, "pattern", None) for m in info.metadata):
                continue
            if name == "id" or name.endswith(NOT_TEXT_SUFFIXES):
                continue
            found.add(f"{model.__name__}.{name}")

    for definition in REGISTRY.definitions():
        for model in definition.versions.values():
            walk(model)
    return found


def test_every_free_text_field_is_sealed_or_allowed_with_a_reason() -> None:
    found = free_text_fields()
    unexplained = sorted(found - set(ALLOWED))
    assert unexplained == [], "mark these PersonalData, or allow them here with a reason"
    stale = sorted(set(ALLOWED) - found)
    assert stale == [], "these allowed fields no longer exist or are sealed now"
    assert all(len(reason) > 20 for reason in ALLOWED.values())


@pytest.mark.parametrize(
    ("event_type", "field"),
    [
        ("checkin.ticket_left", "reason"),
        ("checkin.ticket_completed", "resolution"),
        ("checkin.appointment_cancelled", "reason"),
        ("notifications.callback_cancelled", "reason"),
        ("verification.review_requested", "reason"),
        ("verification.review_decided", "reason"),
        ("verification.check_failed", "reason"),
        ("verification.phone_confirmed", "note"),
        ("cases.legal_hold_placed", "reason"),
        ("cases.case_closed", "reason"),
        ("cases.decision_recorded", "explanation"),
        ("cases.decision_recorded", "facts"),
        ("cases.report_recorded", "evidence"),
        ("cases.case_reopened", "evidence"),
        ("notifications.notification_requested", "variables"),
    ],
)
def test_the_free_text_reasons_are_sealed_personal_data(event_type: str, field: str) -> None:
    model = REGISTRY.definition(event_type).current
    assert _is_personal(model.model_fields[field])
    assert model.data_subject is not None


def test_the_subject_of_a_sealed_reason_is_the_account_when_named() -> None:
    left = TicketLeft(ticket_id=uuid.uuid4(), reason="bored", left_at=datetime.now(UTC))
    assert left.data_subject_id == f"ticket:{left.ticket_id}"  # until checkin passes it
    named = left.model_copy(update={"account_ref": "acct-42"})
    assert named.data_subject_id == "account:acct-42"
    hold = LegalHoldPlaced(
        subject_id="account:acct-42", hold_id=uuid.uuid4(), reason="court", placed_at=left.left_at
    )
    assert hold.data_subject_id == "account:acct-42"


@pytest.mark.parametrize("ref", ["acct 42", "", "a\u0000b", "x" * 129, "tab\there"])
def test_one_identifier_pattern_refuses_spaces_and_controls(ref: str) -> None:
    with pytest.raises(ValidationError):
        TicketLeft(ticket_id=uuid.uuid4(), left_at=datetime.now(UTC), account_ref=ref)


def test_the_privacy_subject_id_is_kind_and_the_same_identifier() -> None:
    assert SUBJECT_ID.endswith(IDENTIFIER.removeprefix("^"))


@pytest.mark.parametrize(
    "settings",
    [
        {"no_show_after_minutes": 10**18},
        {"relax_after_minutes": 10**30},
        {"service_level_minutes": 10**20},
        {"default_service_minutes": float("inf")},
        {"default_service_minutes": float("nan")},
    ],
)
def test_queue_minutes_are_finite_and_bounded(settings: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        QueueSettings(queue=ServiceQueue.GENERAL, **settings)  # type: ignore[arg-type]


def test_a_language_tag_is_bounded() -> None:
    with pytest.raises(ValidationError):
        LanguagePreference(tag="zh" + "-abcd" * 20_000)


@pytest.mark.parametrize(
    "value",
    ["a\u0000b", "esc\u001b", float("inf"), 10**30, datetime(9999, 1, 1, tzinfo=UTC)],
)
def test_the_policy_walks_every_value(value: object) -> None:
    assert policy_problems({"deep": [{"value": value}]}) != []
    assert policy_problems({"deep": [{"value": "line one\nline two"}]}) == []


def test_a_payload_breaking_the_policy_cannot_be_written_but_history_reads_as_written() -> None:
    with pytest.raises(ValidationError, match="control"):
        TicketLeft(ticket_id=uuid.uuid4(), reason="a\u0000", left_at=datetime.now(UTC))
    stored = {
        "ticket_id": str(uuid.uuid4()),
        "reason": "x" * 5000,  # written before the bound: still readable
        "left_at": "2026-01-01T00:00:00Z",
        "account_ref": "acct with space",
    }
    decoded = REGISTRY.decode("checkin.ticket_left", 1, stored)
    assert isinstance(decoded, TicketLeft)
    assert decoded.account_ref == "acct with space"
