"""Staff free text that may speak of the person (issue 12): sealed under the subject's key
(the account the event names), unreadable once that subject is erased — the event still
reads, the text as null — and the events written in plain text before read as written.
Free text inside a list or a map (the evidence's summaries, the decision's facts) is sealed
with its whole list or map, as one value."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts import REGISTRY, Envelope, personal_fields
from contracts.base import EventPayload
from contracts.events.cases import (
    CaseClosed,
    CaseReopened,
    DecisionOutcome,
    DecisionRecorded,
    Evidence,
    ReporterCategory,
    ReportRecorded,
)
from contracts.events.checkin import TicketCompleted
from contracts.events.checkin_appointments import AppointmentCancelled
from contracts.events.verification_organizations import PhoneConfirmed
from contracts.vocabulary import ServiceQueue
from runtime.privacy import TOKEN_PREFIX, Privacy
from tests.unit.test_privacy import KeysInMemory

pytestmark = pytest.mark.unit

AT = datetime(2026, 1, 1, tzinfo=UTC)
WORDS = "Mr Li had lost his phone; his wife confirmed the old number"


def ticket_completed() -> EventPayload:
    return TicketCompleted(
        ticket_id=uuid.uuid4(),
        agent_id="agent-1",
        resolution=WORDS,
        service_seconds=60,
        completed_at=AT,
        account_ref="acct-7",
    )


def case_closed() -> EventPayload:
    return CaseClosed(case_id=uuid.uuid4(), reason=WORDS, closed_at=AT, account_ref="acct-7")


def decision_recorded() -> EventPayload:
    return DecisionRecorded(
        case_id=uuid.uuid4(),
        decision_id=uuid.uuid4(),
        account_ref="acct-7",
        outcome=DecisionOutcome.REFERRED_ELSEWHERE,
        reason_code="OUT-OF-SCOPE",
        policy_version=1,
        explanation=WORDS,
        explanation_language="en",
        decided_at=AT,
    )


def appointment_cancelled() -> EventPayload:
    return AppointmentCancelled(
        appointment_id=uuid.uuid4(),
        site_id="sz-futian-01",
        queue=ServiceQueue.GENERAL,
        slot_start=AT,
        reason=WORDS,
        cancelled_at=AT,
        customer_id="cust-7",
    )


ORGANIZATION = uuid.uuid4()


def phone_confirmed() -> EventPayload:
    return PhoneConfirmed(
        organization_id=ORGANIZATION,
        reviewer_id="reviewer-1",
        confirmed=False,
        note=WORDS,
        confirmed_at=AT,
    )


# (the event with the words, the sealed field, its subject)
SEALED = [
    pytest.param(ticket_completed, "resolution", "account:acct-7", id="ticket_completed"),
    pytest.param(case_closed, "reason", "account:acct-7", id="case_closed"),
    pytest.param(decision_recorded, "explanation", "account:acct-7", id="decision_recorded"),
    pytest.param(appointment_cancelled, "reason", "customer:cust-7", id="appointment_cancelled"),
    pytest.param(phone_confirmed, "note", f"organization:{ORGANIZATION}", id="phone_confirmed"),
]


def envelope(
    event_id: uuid.UUID, event: EventPayload, payload: dict[str, Any], ref: Any
) -> Envelope:
    return Envelope.model_validate(
        {
            "event_id": event_id,
            "event_type": event.event_type,
            "schema_version": REGISTRY.definition(event.event_type).current_version,
            "occurred_at": AT,
            "stream_type": "test",
            "stream_id": "test-1",
            "stream_version": 1,
            "correlation_id": uuid.uuid4(),
            "producer": "test",
            "personal_data": ref,
            "payload": payload,
        }
    )


@pytest.mark.parametrize(("make", "field", "subject"), SEALED)
async def test_the_text_is_sealed_under_the_subjects_key_and_null_after_erasure(
    make: Any, field: str, subject: str
) -> None:
    keys, event, event_id = KeysInMemory(), make(), uuid.uuid4()
    privacy = Privacy(keys)
    sealed, ref = await privacy.seal(event_id, event)
    assert ref is not None
    assert ref.subject_id == subject
    assert str(sealed[field]).startswith(TOKEN_PREFIX)
    assert "wife" not in str(sealed)
    assert (await privacy.reveal(envelope(event_id, event, sealed, ref)))[field] == WORDS
    assert await keys.erase(subject)
    revealed = await privacy.reveal(envelope(event_id, event, sealed, ref))
    assert revealed[field] is None
    assert type(event).model_validate(revealed).model_dump()[field] is None


def test_a_ticket_completed_in_plain_text_before_still_reads_as_written() -> None:
    ticket_id = str(uuid.uuid4())
    stored = {
        "ticket_id": ticket_id,
        "agent_id": "agent-1",
        "resolution": "restored",
        "service_seconds": 60,
        "completed_at": "2025-06-01T00:00:00Z",
    }
    decoded = REGISTRY.decode("checkin.ticket_completed", 1, stored)
    assert isinstance(decoded, TicketCompleted)
    assert decoded.resolution == "restored"
    assert decoded.data_subject_id == f"ticket:{ticket_id}"


def test_a_case_closed_in_plain_text_before_still_reads_as_written() -> None:
    case_id = str(uuid.uuid4())
    stored = {"case_id": case_id, "reason": "resolved", "closed_at": "2025-06-01T00:00:00Z"}
    decoded = REGISTRY.decode("cases.case_closed", 1, stored)
    assert isinstance(decoded, CaseClosed)
    assert decoded.reason == "resolved"
    assert decoded.data_subject_id == f"case:{case_id}"


# -- free text inside a list or a map: sealed with it, as one value ---------------------------

EVIDENCE = [Evidence(kind="invoice", reference="doc-1", summary="Mr Li's invoice, his wife paid")]
FACTS = {"finding": "Mr Li's wife posted the number", "group_chats": "14"}


def report_recorded() -> EventPayload:
    return ReportRecorded(
        case_id=uuid.uuid4(),
        report_id="ipr-1",
        reporter_category=ReporterCategory.BRAND_RIGHTS_HOLDER,
        organization_name="Brand Co.",
        rule_code="IP-COUNTERFEIT-REPORT",
        evidence=EVIDENCE,
        reported_at=AT,
        recorded_at=AT,
        account_ref="acct-7",
    )


def case_reopened() -> EventPayload:
    return CaseReopened(
        case_id=uuid.uuid4(), account_ref="acct-7", appeal=True, evidence=EVIDENCE, reopened_at=AT
    )


def decision_with_facts() -> EventPayload:
    return DecisionRecorded(
        case_id=uuid.uuid4(),
        decision_id=uuid.uuid4(),
        account_ref="acct-7",
        outcome=DecisionOutcome.DENIED,
        reason_code="SUSPENSION-UPHELD",
        policy_version=1,
        threshold=10,
        facts=FACTS,
        explanation="upheld",
        explanation_language="en",
        decided_at=AT,
    )


EVIDENCE_JSON = [e.model_dump(mode="json") for e in EVIDENCE]
SEALED_WHOLE = [
    pytest.param(report_recorded, "evidence", EVIDENCE_JSON, id="report_recorded"),
    pytest.param(case_reopened, "evidence", EVIDENCE_JSON, id="case_reopened"),
    pytest.param(decision_with_facts, "facts", FACTS, id="decision_recorded"),
]


@pytest.mark.parametrize(("make", "field", "plain"), SEALED_WHOLE)
async def test_a_list_or_map_of_free_text_is_sealed_whole_and_null_after_erasure(
    make: Any, field: str, plain: Any
) -> None:
    keys, event, event_id = KeysInMemory(), make(), uuid.uuid4()
    privacy = Privacy(keys)
    sealed, ref = await privacy.seal(event_id, event)
    assert ref is not None
    assert ref.subject_id == "account:acct-7"
    assert field in ref.fields
    assert str(sealed[field]).startswith(TOKEN_PREFIX)
    assert "wife" not in str(sealed)
    revealed = await privacy.reveal(envelope(event_id, event, sealed, ref))
    assert revealed[field] == plain
    assert type(event).model_validate(revealed) == event
    assert await keys.erase("account:acct-7")
    erased = await privacy.reveal(envelope(event_id, event, sealed, ref))
    assert erased[field] is None
    assert type(event).model_validate(erased).model_dump()[field] is None


def test_the_decision_keeps_its_rule_and_threshold_plain() -> None:
    sealed_fields = {"facts", "explanation"}
    assert set(personal_fields(DecisionRecorded)) == sealed_fields
    for plain in ("reason_code", "policy_version", "threshold", "outcome", "suspension"):
        assert plain in DecisionRecorded.model_fields


STORED_EVIDENCE = [{"kind": "photo", "reference": "doc-7", "summary": "listing photo"}]


def test_a_report_recorded_in_plain_text_before_still_reads_as_written() -> None:
    case_id = str(uuid.uuid4())
    stored = {
        "case_id": case_id,
        "report_id": "ipr-1",
        "reporter_category": "brand_rights_holder",
        "organization_name": "Brand Co.",
        "evidence": STORED_EVIDENCE,
        "reported_at": "2025-06-01T00:00:00Z",
        "recorded_at": "2025-06-01T00:00:00Z",
    }
    decoded = REGISTRY.decode("cases.report_recorded", 1, stored)
    assert isinstance(decoded, ReportRecorded)
    assert [e.model_dump() for e in decoded.evidence or []] == STORED_EVIDENCE
    assert decoded.account_ref is None
    assert decoded.data_subject_id == f"case:{case_id}"


def test_a_case_reopened_in_plain_text_before_still_reads_as_written() -> None:
    stored = {
        "case_id": str(uuid.uuid4()),
        "account_ref": "acct-7",
        "appeal": False,
        "evidence": STORED_EVIDENCE,
        "reopened_at": "2025-06-01T00:00:00Z",
    }
    decoded = REGISTRY.decode("cases.case_reopened", 1, stored)
    assert isinstance(decoded, CaseReopened)
    assert [e.model_dump() for e in decoded.evidence or []] == STORED_EVIDENCE
    assert decoded.data_subject_id == "account:acct-7"


@pytest.mark.parametrize("version", [1, 2])
def test_a_decision_recorded_with_plain_facts_before_still_reads_as_written(
    version: int,
) -> None:
    stored = {
        "case_id": str(uuid.uuid4()),
        "decision_id": str(uuid.uuid4()),
        "account_ref": "acct-7",
        "outcome": "restored",
        "reason_code": "OWNERSHIP-PROVEN",
        "policy_version": 1,
        "facts": {"checks": "document"},
        "explanation": "You proved that the account is yours (document), so we restored it.",
        "explanation_language": "en",
        "decided_at": "2025-06-01T00:00:00Z",
    }
    decoded = REGISTRY.decode("cases.decision_recorded", version, stored)
    assert isinstance(decoded, DecisionRecorded)
    assert decoded.facts == {"checks": "document"}
    assert decoded.explanation == stored["explanation"]
