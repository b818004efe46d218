"""What an organization's contact person is told of its verification. Pure, no I/O."""

from __future__ import annotations

from typing import Protocol

from contracts.base import EventPayload
from contracts.events.notifications import NotificationKind
from contracts.events.verification_organizations import (
    DepositConfirmationFailed,
    DepositsConfirmed,
    DepositsExpired,
    DepositsSent,
    OrganizationRejected,
    OrganizationReviewDecided,
    OrganizationSubmitted,
    OrganizationVerified,
)


class PublicSite(Protocol):
    public_url: str


def organization_message(
    event: EventPayload, site: PublicSite
) -> tuple[NotificationKind, dict[str, str]] | None:
    """Which step of an organization's verification its contact is told about, with what.
    Not told: a rejected document review or a last failed deposit confirmation (the
    ``organization_rejected`` that comes with them says it, with the reasons), the reviewer's
    phone confirmation (the contact was on that call), and look-alike domain flags (a warning
    to an impersonator would teach them; reviewers handle those)."""
    link = f"{site.public_url}/organizations/"
    match event:
        case OrganizationSubmitted():
            return NotificationKind.ORGANIZATION_SUBMITTED, {
                "link": f"{link}{event.organization_id}"
            }
        case DepositsSent():
            return NotificationKind.ORGANIZATION_DEPOSITS_SENT, {
                "account_last4": event.bank_account_last4,
                "expires_at": event.expires_at.isoformat(),
            }
        case DepositConfirmationFailed() if event.attempts_left > 0:
            return NotificationKind.ORGANIZATION_DEPOSIT_CONFIRMATION_FAILED, {
                "attempts_left": str(event.attempts_left)
            }
        case DepositsConfirmed():
            return NotificationKind.ORGANIZATION_DEPOSITS_CONFIRMED, {}
        case DepositsExpired():
            return NotificationKind.ORGANIZATION_DEPOSITS_EXPIRED, {}
        case OrganizationReviewDecided() if event.approved:
            return NotificationKind.ORGANIZATION_DOCUMENTS_APPROVED, {}
        case OrganizationVerified():
            variables = {"domains": ", ".join(event.verified_domains)}
            return NotificationKind.ORGANIZATION_VERIFIED, (
                variables if event.verified_domains else {}
            )
        case OrganizationRejected() if event.reason_codes:
            # the code, labelled in the contact's language (each rejection has one reason)
            return NotificationKind.ORGANIZATION_REJECTED, {"reason": event.reason_codes[0].code}
        case OrganizationRejected():  # written before the codes existed: its English reasons
            return NotificationKind.ORGANIZATION_REJECTED, {"reasons": "; ".join(event.reasons)}
    return None
