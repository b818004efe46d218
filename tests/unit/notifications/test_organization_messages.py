"""Which steps of an organization's verification its contact is told about, with what, and
the message's data subject: the organization, not an account."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest

from contracts.base import EventPayload
from contracts.events.notifications import MessageChannel, NotificationKind, NotificationRequested
from contracts.events.verification_organizations import (
    DepositConfirmationFailed,
    DepositsConfirmed,
    DepositsExpired,
    DepositsSent,
    LookalikeDomainFlagged,
    LookalikeTechnique,
    OrganizationRejected,
    OrganizationReviewDecided,
    OrganizationVerified,
    PhoneConfirmed,
    RejectionCode,
    RejectionReason,
    ReviewStep,
)
from services.notifications.config import NotificationSettings
from services.notifications.domain.messages import (
    Notification,
    RequestNotification,
    decide_request,
)
from services.notifications.domain.organizations import organization_message
from services.notifications.domain.templates import render

pytestmark = pytest.mark.unit

ORG = UUID("7f3e2d1c-0b9a-4876-9543-21fedcba9870")
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
SETTINGS = NotificationSettings(public_url="https://frontdesk.example")
K = NotificationKind


def review(approved: bool) -> OrganizationReviewDecided:
    return OrganizationReviewDecided(
        organization_id=ORG,
        step=ReviewStep.DOCUMENTS,
        reviewer_id="rev-1",
        approved=approved,
        reason="licence legible" if approved else "licence expired",
        decided_at=T0,
    )


@pytest.mark.parametrize(
    ("event", "kind", "variables"),
    [
        (
            DepositsSent(
                organization_id=ORG,
                transfer_refs=["t1", "t2"],
                bank_account_last4="0042",
                max_attempts=3,
                expires_at=T0 + timedelta(days=3),
                sent_at=T0,
            ),
            K.ORGANIZATION_DEPOSITS_SENT,
            {"account_last4": "0042", "expires_at": "2026-11-26T08:00:00+00:00"},
        ),
        (
            DepositConfirmationFailed(
                organization_id=ORG, attempts=1, attempts_left=2, failed_at=T0
            ),
            K.ORGANIZATION_DEPOSIT_CONFIRMATION_FAILED,
            {"attempts_left": "2"},
        ),
        (
            DepositsConfirmed(organization_id=ORG, attempts=1, confirmed_at=T0),
            K.ORGANIZATION_DEPOSITS_CONFIRMED,
            {},
        ),
        (DepositsExpired(organization_id=ORG, expired_at=T0), K.ORGANIZATION_DEPOSITS_EXPIRED, {}),
        (review(True), K.ORGANIZATION_DOCUMENTS_APPROVED, {}),
        (
            OrganizationVerified(
                organization_id=ORG,
                legal_name="Fake Co",
                verified_domains=["fake-co.example"],
                reasons=["all checks done"],
                verified_at=T0,
            ),
            K.ORGANIZATION_VERIFIED,
            {"domains": "fake-co.example"},
        ),
        (
            OrganizationRejected(
                organization_id=ORG,
                reasons=["documents rejected: licence expired", "phone not confirmed"],
                rejected_by="rev-1",
                rejected_at=T0,
            ),
            K.ORGANIZATION_REJECTED,
            {"reasons": "documents rejected: licence expired; phone not confirmed"},
        ),
        (
            OrganizationRejected(
                organization_id=ORG,
                reasons=["documents rejected: the seal is forged"],
                reason_codes=[RejectionReason(code=RejectionCode.DOCUMENTS_REJECTED)],
                rejected_by="rev-1",
                rejected_at=T0,
            ),
            K.ORGANIZATION_REJECTED,
            {"reason": "documents_rejected"},  # the code: the reviewer's words stay inside
        ),
    ],
)
def test_each_step_is_told_with_its_details(
    event: EventPayload, kind: NotificationKind, variables: dict[str, str]
) -> None:
    assert organization_message(event, SETTINGS) == (kind, variables)
    # and the template takes exactly these (plus the organization's name), in every language
    for language in ("zh-CN", "en", "fr", "de", "ja"):
        render(kind, language, {"organization": "Fake Co", **variables}, "Asia/Shanghai")


@pytest.mark.parametrize(
    "event",
    [
        # the organization_rejected that comes with them says it, with the reasons
        review(False),
        DepositConfirmationFailed(organization_id=ORG, attempts=3, attempts_left=0, failed_at=T0),
        # the contact was on that call
        PhoneConfirmed(
            organization_id=ORG, reviewer_id="rev-1", confirmed=True, note="ok", confirmed_at=T0
        ),
        # never warn a possible impersonator
        LookalikeDomainFlagged(
            organization_id=ORG,
            flag_id=uuid4(),
            domain="sh-byd.com",
            resembles="byd.com",
            techniques=[LookalikeTechnique.BRAND_EMBEDDED],
            source="contact_email",
            flagged_at=T0,
        ),
    ],
)
def test_some_steps_are_not_told(event: EventPayload) -> None:
    assert organization_message(event, SETTINGS) is None


def test_the_deposit_deadline_is_shown_in_the_organizations_time() -> None:
    rendered = render(
        K.ORGANIZATION_DEPOSITS_SENT,
        "zh-CN",
        {
            "organization": "示例贸易有限公司",
            "account_last4": "0042",
            "expires_at": "2026-11-26T08:00:00+00:00",
        },
        "Asia/Shanghai",
    )
    assert rendered.body == (
        "我们已向 示例贸易有限公司 尾号 0042 的账户打入两笔小额款项。"
        "请在 11月26日 16:00 前确认这两笔金额。"
    )


def test_a_message_to_an_organizations_contact_is_that_organizations_personal_data() -> None:
    subject = f"organization:{ORG}"
    [requested] = decide_request(
        Notification(),
        RequestNotification(
            kind=K.ORGANIZATION_DEPOSITS_CONFIRMED,
            channels=(MessageChannel.EMAIL, MessageChannel.SMS),
            recipient_ref=subject,
            subject_ref=subject,
            language="zh-CN",
            triggered_by=uuid4(),
            variables={"organization": "Fake Co"},
            at=T0,
            addresses={
                MessageChannel.EMAIL: "contact@fake-co.example",
                MessageChannel.SMS: "+8613800000042",
            },
        ),
    )
    assert isinstance(requested, NotificationRequested)
    assert requested.account_ref is None
    assert requested.data_subject_id == subject  # sealed with the organization's key
    assert requested.to_email == "contact@fake-co.example"


@pytest.mark.parametrize("code", list(RejectionCode))
def test_a_rejection_is_told_in_the_contacts_language_without_its_code(
    code: RejectionCode,
) -> None:
    rejected = OrganizationRejected(
        organization_id=ORG,
        reasons=["the reviewer's own words"],
        reason_codes=[RejectionReason(code=code)],
        rejected_by="rev-1",
        rejected_at=T0,
    )
    told = organization_message(rejected, SETTINGS)
    assert told is not None
    kind, variables = told
    texts = {
        language: render(kind, language, {"organization": "Fake Co", **variables}).body
        for language in ("zh-CN", "en", "fr", "de", "ja")
    }
    assert len(set(texts.values())) == 5
    for text in texts.values():
        assert code.value not in text, text
        assert "_" not in text, text
        assert "own words" not in text, text
    assert texts["zh-CN"].endswith("\u3002")  # a Chinese sentence, labelled
