"""Every way an organization is rejected carries its reasons as codes besides the English
sentences (which quote the reviewer), so the contact can be told why in their language."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from contracts.base import EventPayload
from contracts.events.verification_organizations import (
    OrganizationRejected,
    RejectionCode,
    RejectionReason,
)
from services.verification.domain.organizations import (
    ORGANIZATION,
    ConfirmDeposits,
    ConfirmPhone,
    Organization,
    OrganizationCommand,
    Profile,
    RejectOrganization,
    ReviewDocuments,
    SendDeposits,
    SubmitOrganization,
    decide_organization,
)

pytestmark = pytest.mark.unit

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PROFILE = Profile(
    legal_name="Example Trading Co., Ltd.",
    unified_social_credit_code="91350100M000100Y43",
    legal_representative_name="Fake Representative",
    legal_representative_id_ref="doc-1",
    bank_name="Sandbox Bank",
    bank_account_number="6222020000001234",
    contact_name="Fake Contact",
    contact_phone="+8613800000002",
    contact_email="service@example-trading.cn",
    official_domains=("example-trading.cn",),
)


def rejection(commands: Sequence[OrganizationCommand]) -> OrganizationRejected:
    state = Organization()
    submit = SubmitOrganization(uuid.uuid4(), PROFILE, "admin-1", (), AT)
    events: list[EventPayload] = []
    for command in (submit, *commands):
        events = decide_organization(state, command)
        for event in events:
            state = ORGANIZATION.evolve(state, event)
    [rejected] = [e for e in events if isinstance(e, OrganizationRejected)]
    return rejected


def test_each_rejection_names_its_reason_as_a_code_never_the_reviewers_words() -> None:
    documents = rejection([ReviewDocuments("rev-1", False, "the seal is forged", (), AT)])
    assert documents.reason_codes == [RejectionReason(code=RejectionCode.DOCUMENTS_REJECTED)]
    assert "forged" not in str(documents.reason_codes)
    approved = ReviewDocuments("rev-1", True, "licence and letter genuine", (), AT)
    phone = rejection([approved, ConfirmPhone("rev-2", False, "nobody knew the company", AT)])
    assert phone.reason_codes == [RejectionReason(code=RejectionCode.PHONE_CONFIRMATION_FAILED)]
    reviewer = rejection([RejectOrganization("rev-1", ("impersonates byd.com",), AT)])
    assert reviewer.reason_codes == [RejectionReason(code=RejectionCode.REJECTED_BY_REVIEWER)]
    assert reviewer.reasons == ["impersonates byd.com"]  # staff keep the words
    expired = RejectOrganization(
        "rev-1", ("licence expired",), AT, RejectionCode.DOCUMENTS_REJECTED
    )
    assert rejection([expired]).reason_codes == [
        RejectionReason(code=RejectionCode.DOCUMENTS_REJECTED)
    ]  # the reviewer says which code the contact is told


def test_unconfirmed_deposits_name_the_attempts() -> None:
    sent = SendDeposits(("t-1", "t-2"), 3, AT + timedelta(days=3), AT)
    wrong = [ConfirmDeposits(False, AT + timedelta(minutes=n)) for n in range(3)]
    rejected = rejection([sent, *wrong])
    assert rejected.reason_codes == [
        RejectionReason(code=RejectionCode.DEPOSITS_NOT_CONFIRMED, parameters={"attempts": "3"})
    ]
    assert rejected.rejected_by == "verification"
