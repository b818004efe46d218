"""The organization verification aggregate: pure decisions and folds, no I/O.

Steps: profile submitted (code and check digit valid; domains screened for look-alikes) →
micro-deposits confirmed (≤ N attempts, before they expire) and documents approved by a
reviewer → phone confirmation recorded by a reviewer → verified, once no look-alike flag is
open. A reviewer may reject at any step; failing the deposits or the phone call rejects.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from uuid import UUID

from contracts.base import EventPayload
from contracts.events.verification_organizations import (
    DepositConfirmationFailed,
    DepositsConfirmed,
    DepositsExpired,
    DepositsSent,
    LookalikeDomainCleared,
    LookalikeDomainFlagged,
    LookalikeTechnique,
    OrganizationRejected,
    OrganizationReviewDecided,
    OrganizationSubmitted,
    OrganizationVerified,
    PhoneConfirmed,
    RejectionCode,
    RejectionReason,
    ReviewStep,
)
from runtime.aggregate import AggregateType
from runtime.errors import NotFound, RuleViolation
from services.verification.domain.lookalike import (
    find_lookalike,
    is_same_or_subdomain,
    normalize,
)
from services.verification.domain.protected_domains import Protected
from services.verification.domain.uscc import uscc_problem

_FLAG_NAMESPACE = uuid.UUID("3d0c1d7e-8a51-4c4b-9a43-5b8f0e2c6a11")


class OrganizationStatus(StrEnum):
    NONE = "none"
    SUBMITTED = "submitted"
    VERIFIED = "verified"
    REJECTED = "rejected"


class DepositStatus(StrEnum):
    NOT_SENT = "not_sent"
    SENT = "sent"
    CONFIRMED = "confirmed"
    EXPIRED = "expired"
    FAILED = "failed"


@dataclass(frozen=True)
class OpenFlag:
    flag_id: UUID
    domain: str
    resembles: str
    techniques: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True)
class Organization:
    status: OrganizationStatus = OrganizationStatus.NONE
    organization_id: UUID | None = None
    legal_name: str | None = None
    official_domains: tuple[str, ...] = ()
    submitted_by: str | None = None
    bank_account_last4: str = ""
    bank_name: str | None = None
    bank_account_number: str | None = None  # personal data: decrypted by the event store
    deposits: DepositStatus = DepositStatus.NOT_SENT
    deposit_rounds: int = 0
    deposit_attempts: int = 0
    deposit_max_attempts: int = 3
    deposits_expire_at: datetime | None = None
    documents_approved: bool = False
    phone_confirmed: bool = False
    open_flags: tuple[OpenFlag, ...] = ()
    reasons: tuple[str, ...] = ()


# -- commands ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    legal_name: str
    unified_social_credit_code: str
    legal_representative_name: str
    legal_representative_id_ref: str
    bank_name: str
    bank_account_number: str
    contact_name: str
    contact_phone: str
    contact_email: str
    official_domains: tuple[str, ...]


@dataclass(frozen=True)
class SubmitOrganization:
    organization_id: UUID
    profile: Profile
    submitted_by: str
    # domains other organizations have verified (the impersonation guard compares with them)
    verified_elsewhere: tuple[str, ...]
    at: datetime
    # the operators' registry of protected brands' domains (compared with them too)
    protected: tuple[Protected, ...] = ()


@dataclass(frozen=True)
class SendDeposits:
    transfer_refs: tuple[str, ...]
    max_attempts: int
    expires_at: datetime
    at: datetime


@dataclass(frozen=True)
class ConfirmDeposits:
    matches: bool
    at: datetime


@dataclass(frozen=True)
class ExpireDeposits:
    at: datetime


@dataclass(frozen=True)
class ReviewDocuments:
    reviewer_id: str
    approved: bool
    reason: str
    document_refs: tuple[UUID, ...]
    at: datetime


@dataclass(frozen=True)
class ConfirmPhone:
    reviewer_id: str
    confirmed: bool
    note: str
    at: datetime


@dataclass(frozen=True)
class ClearFlag:
    flag_id: UUID
    reviewer_id: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class RejectOrganization:
    reviewer_id: str
    reasons: tuple[str, ...]
    at: datetime
    # what the contact is told (the reasons quote the reviewer, for staff)
    code: RejectionCode = RejectionCode.REJECTED_BY_REVIEWER


OrganizationCommand = (
    SubmitOrganization
    | SendDeposits
    | ConfirmDeposits
    | ExpireDeposits
    | ReviewDocuments
    | ConfirmPhone
    | ClearFlag
    | RejectOrganization
)


def email_domain(email: str) -> str:
    return normalize(email.rpartition("@")[2])


def screen_domains(
    organization_id: UUID,
    official: tuple[str, ...],
    contact_domain: str,
    verified_elsewhere: tuple[str, ...],
    at: datetime,
    protected: tuple[Protected, ...] = (),
) -> list[LookalikeDomainFlagged]:
    """Flags for the contact domain and the official domains (deterministic flag ids): the
    contact domain against the official ones; each official domain against the domains other
    organizations verified, else against the protected brands' domains (a protected domain or
    one of its subdomains claimed as it is, too: empty techniques)."""
    flags: list[LookalikeDomainFlagged] = []

    def flag(
        domain: str,
        resembles: str,
        techniques: list[LookalikeTechnique],
        source: str,
        brand: str | None = None,
    ) -> None:
        flags.append(
            LookalikeDomainFlagged(
                organization_id=organization_id,
                flag_id=uuid.uuid5(_FLAG_NAMESPACE, f"{organization_id}|{source}|{domain}"),
                domain=domain,
                resembles=resembles,
                techniques=techniques,
                source=source,
                flagged_at=at,
                protected_brand=brand,
            )
        )

    if not any(is_same_or_subdomain(contact_domain, domain) for domain in official):
        for domain in official:
            match = find_lookalike(contact_domain, domain)
            if match is not None:
                flag(contact_domain, domain, list(match.techniques), "contact_email")
                break
        else:
            flag(
                contact_domain,
                official[0],
                [LookalikeTechnique.UNOFFICIAL_DOMAIN],
                "contact_email",
            )
    for own in official:
        if _resembles_verified(own, verified_elsewhere, flag):
            continue
        for entry in protected:
            if is_same_or_subdomain(own, entry.domain):
                flag(own, entry.domain, [], "official_domain", entry.brand)
                break
            match = find_lookalike(own, entry.domain)
            if match is not None:
                flag(own, entry.domain, list(match.techniques), "official_domain", entry.brand)
                break
    return flags


def _resembles_verified(
    own: str, verified_elsewhere: tuple[str, ...], flag: Callable[..., None]
) -> bool:
    for theirs in verified_elsewhere:
        match = find_lookalike(own, theirs)
        if match is not None:
            flag(own, theirs, list(match.techniques), "official_domain")
            return True
    return False


def decide_organization(
    organization: Organization, command: OrganizationCommand
) -> list[EventPayload]:
    if isinstance(command, SubmitOrganization):
        return _submit(organization, command)
    if isinstance(command, ExpireDeposits):
        if (
            organization.status is OrganizationStatus.SUBMITTED
            and organization.deposits is DepositStatus.SENT
            and organization.deposits_expire_at is not None
            and command.at >= organization.deposits_expire_at
        ):
            return [DepositsExpired(organization_id=_id(organization), expired_at=command.at)]
        return []
    if organization.status is OrganizationStatus.NONE:
        raise NotFound("no such organization")
    if organization.status is not OrganizationStatus.SUBMITTED:
        raise RuleViolation(f"the organization is already {organization.status.value}")
    match command:
        case SendDeposits():
            if organization.deposits not in (DepositStatus.NOT_SENT, DepositStatus.EXPIRED):
                raise RuleViolation(f"deposits are {organization.deposits.value}")
            return [
                DepositsSent(
                    organization_id=_id(organization),
                    transfer_refs=list(command.transfer_refs),
                    bank_account_last4=organization.bank_account_last4,
                    max_attempts=command.max_attempts,
                    expires_at=command.expires_at,
                    sent_at=command.at,
                )
            ]
        case ConfirmDeposits():
            return _confirm_deposits(organization, command)
        case ReviewDocuments():
            if organization.documents_approved:
                raise RuleViolation("the documents are already approved")
            decided = OrganizationReviewDecided(
                organization_id=_id(organization),
                step=ReviewStep.DOCUMENTS,
                reviewer_id=command.reviewer_id,
                approved=command.approved,
                reason=command.reason,
                document_refs=list(command.document_refs),
                decided_at=command.at,
            )
            if not command.approved:
                return [
                    decided,
                    _rejected(
                        organization,
                        [f"documents rejected: {command.reason}"],
                        [RejectionReason(code=RejectionCode.DOCUMENTS_REJECTED)],
                        command.reviewer_id,
                        command.at,
                    ),
                ]
            return [decided, *_maybe_verified(organization, decided, command.at)]
        case ConfirmPhone():
            if not organization.documents_approved:
                raise RuleViolation("the documents must be approved before the phone confirmation")
            if organization.phone_confirmed:
                raise RuleViolation("the phone confirmation is already recorded")
            confirmed = PhoneConfirmed(
                organization_id=_id(organization),
                reviewer_id=command.reviewer_id,
                confirmed=command.confirmed,
                note=command.note,
                confirmed_at=command.at,
            )
            if not command.confirmed:
                reason = "the phone confirmation failed"  # the note travels only sealed
                return [
                    confirmed,
                    _rejected(
                        organization,
                        [reason],
                        [RejectionReason(code=RejectionCode.PHONE_CONFIRMATION_FAILED)],
                        command.reviewer_id,
                        command.at,
                    ),
                ]
            return [confirmed, *_maybe_verified(organization, confirmed, command.at)]
        case ClearFlag():
            flag = next((f for f in organization.open_flags if f.flag_id == command.flag_id), None)
            if flag is None:
                raise NotFound("no such open look-alike flag")
            cleared = LookalikeDomainCleared(
                organization_id=_id(organization),
                flag_id=flag.flag_id,
                domain=flag.domain,
                reviewer_id=command.reviewer_id,
                reason=command.reason,
                cleared_at=command.at,
            )
            return [cleared, *_maybe_verified(organization, cleared, command.at)]
        case RejectOrganization():
            code = RejectionReason(code=command.code)
            return [
                _rejected(
                    organization, list(command.reasons), [code], command.reviewer_id, command.at
                )
            ]
    raise TypeError(f"unknown command {command!r}")


def _id(organization: Organization) -> UUID:
    assert organization.organization_id is not None
    return organization.organization_id


def _submit(organization: Organization, command: SubmitOrganization) -> list[EventPayload]:
    if organization.status is not OrganizationStatus.NONE:
        raise RuleViolation("this organization was already submitted")
    profile = command.profile
    problem = uscc_problem(profile.unified_social_credit_code)
    if problem is not None:
        raise RuleViolation(f"unified social credit code: {problem}")
    official = tuple(dict.fromkeys(normalize(d) for d in profile.official_domains))
    if not official:
        raise RuleViolation("at least one official email domain is needed")
    taken = sorted(set(official) & {normalize(d) for d in command.verified_elsewhere})
    if taken:
        raise RuleViolation(f"{', '.join(taken)} is already verified for another organization")
    contact_domain = email_domain(profile.contact_email)
    submitted = OrganizationSubmitted(
        organization_id=command.organization_id,
        legal_name=profile.legal_name,
        unified_social_credit_code=profile.unified_social_credit_code,
        legal_representative_name=profile.legal_representative_name,
        legal_representative_id_ref=profile.legal_representative_id_ref,
        bank_name=profile.bank_name,
        bank_account_number=profile.bank_account_number,
        bank_account_last4=profile.bank_account_number[-4:],
        contact_name=profile.contact_name,
        contact_phone=profile.contact_phone,
        contact_email=profile.contact_email,
        contact_email_domain=contact_domain,
        official_domains=list(official),
        submitted_by=command.submitted_by,
        submitted_at=command.at,
    )
    flags = screen_domains(
        command.organization_id,
        official,
        contact_domain,
        command.verified_elsewhere,
        command.at,
        command.protected,
    )
    return [submitted, *flags]


def _confirm_deposits(organization: Organization, command: ConfirmDeposits) -> list[EventPayload]:
    if organization.deposits is DepositStatus.CONFIRMED:
        raise RuleViolation("the deposits are already confirmed")
    if organization.deposits is not DepositStatus.SENT:
        raise RuleViolation(
            "no deposits are waiting for confirmation"
            + (
                "; they expired, request new ones"
                if organization.deposits is DepositStatus.EXPIRED
                else ""
            )
        )
    assert organization.deposits_expire_at is not None
    if command.at >= organization.deposits_expire_at:
        raise RuleViolation("the deposits expired; request new ones")
    attempts = organization.deposit_attempts + 1
    if command.matches:
        confirmed = DepositsConfirmed(
            organization_id=_id(organization), attempts=attempts, confirmed_at=command.at
        )
        return [confirmed, *_maybe_verified(organization, confirmed, command.at)]
    left = organization.deposit_max_attempts - attempts
    failed = DepositConfirmationFailed(
        organization_id=_id(organization),
        attempts=attempts,
        attempts_left=left,
        failed_at=command.at,
    )
    if left > 0:
        return [failed]
    reason = f"the micro-deposit amounts were not confirmed in {attempts} attempts"
    code = RejectionReason(
        code=RejectionCode.DEPOSITS_NOT_CONFIRMED, parameters={"attempts": str(attempts)}
    )
    return [failed, _rejected(organization, [reason], [code], "verification", command.at)]


def _rejected(
    organization: Organization,
    reasons: list[str],
    codes: list[RejectionReason],
    by: str,
    at: datetime,
) -> OrganizationRejected:
    """The rejection: English ``reasons`` for staff, ``reason_codes`` for the contact."""
    return OrganizationRejected(
        organization_id=_id(organization),
        reasons=reasons,
        reason_codes=codes,
        rejected_by=by,
        rejected_at=at,
    )


def _maybe_verified(
    organization: Organization, event: EventPayload, at: datetime
) -> list[EventPayload]:
    state = evolve_organization(organization, event)
    if not (
        state.deposits is DepositStatus.CONFIRMED
        and state.documents_approved
        and state.phone_confirmed
        and not state.open_flags
    ):
        return []
    assert state.legal_name is not None
    return [
        OrganizationVerified(
            organization_id=_id(state),
            legal_name=state.legal_name,
            verified_domains=list(state.official_domains),
            reasons=[
                "micro-deposits to the registered bank account confirmed",
                "business licence and authorization letter approved by a reviewer",
                "phone confirmation recorded by a reviewer",
                "no open look-alike domain flag",
            ],
            verified_at=at,
        )
    ]


def evolve_organization(organization: Organization, event: EventPayload) -> Organization:
    match event:
        case OrganizationSubmitted():
            return Organization(
                status=OrganizationStatus.SUBMITTED,
                organization_id=event.organization_id,
                legal_name=event.legal_name,
                official_domains=tuple(event.official_domains),
                submitted_by=event.submitted_by,
                bank_account_last4=event.bank_account_last4,
                bank_name=event.bank_name,
                bank_account_number=event.bank_account_number,
            )
        case LookalikeDomainFlagged():
            flag = OpenFlag(
                event.flag_id,
                event.domain,
                event.resembles,
                tuple(t.value for t in event.techniques),
                event.source,
            )
            return replace(organization, open_flags=(*organization.open_flags, flag))
        case LookalikeDomainCleared():
            return replace(
                organization,
                open_flags=tuple(f for f in organization.open_flags if f.flag_id != event.flag_id),
            )
        case DepositsSent():
            return replace(
                organization,
                deposits=DepositStatus.SENT,
                deposit_rounds=organization.deposit_rounds + 1,
                deposit_attempts=0,
                deposit_max_attempts=event.max_attempts,
                deposits_expire_at=event.expires_at,
            )
        case DepositConfirmationFailed():
            return replace(
                organization,
                deposit_attempts=event.attempts,
                deposits=DepositStatus.SENT if event.attempts_left else DepositStatus.FAILED,
            )
        case DepositsConfirmed():
            return replace(organization, deposits=DepositStatus.CONFIRMED)
        case DepositsExpired():
            return replace(organization, deposits=DepositStatus.EXPIRED)
        case OrganizationReviewDecided():
            return replace(organization, documents_approved=event.approved)
        case PhoneConfirmed():
            return replace(organization, phone_confirmed=event.confirmed)
        case OrganizationVerified():
            return replace(
                organization, status=OrganizationStatus.VERIFIED, reasons=tuple(event.reasons)
            )
        case OrganizationRejected():
            return replace(
                organization, status=OrganizationStatus.REJECTED, reasons=tuple(event.reasons)
            )
    return organization


ORGANIZATION = AggregateType[Organization]("organization", Organization, evolve_organization)
