"""Organization verification (official business accounts): submission, micro-deposits,
documents, reviews."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Path
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from contracts.events.verification_media import MediaKind, MediaOwner
from contracts.events.verification_organizations import RejectionCode
from contracts.vocabulary import E164_PATTERN
from runtime.auth import STAFF_ROLES, Principal, require_roles
from runtime.commands import IdempotencyKey, command, fingerprint, idempotent
from runtime.errors import NotFound, RuleViolation
from runtime.limits import RateLimited
from runtime.service import Runtime
from services.verification.api.access import (
    Reviewer,
    audit_organization_read,
    context_of,
    organization_for,
    visible_organization,
)
from services.verification.api.media import store_upload
from services.verification.api.views import MediaUpload, MediaView
from services.verification.application import organizations as use_cases
from services.verification.application.media import media_owned_by
from services.verification.application.protected_domains import protected_domains
from services.verification.domain.organizations import (
    ClearFlag,
    ConfirmPhone,
    Organization,
    OrganizationCommand,
    OrganizationStatus,
    Profile,
    RejectOrganization,
    ReviewDocuments,
    SubmitOrganization,
)
from services.verification.domain.uscc import uscc_problem
from services.verification.wiring import WiringDep

router = APIRouter(tags=["organizations"])

OrganizationId = Annotated[UUID, Path(description="Organization id")]
Submitters = require_roles("customer", "agent", "admin")
DOMAIN = r"^([a-z0-9\u00a1-\uffff-]{1,63}\.)+[a-z\u00a1-\uffff-]{2,63}$"


class OrganizationProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    legal_name: str = Field(min_length=2, max_length=200)
    unified_social_credit_code: str = Field(
        min_length=18, max_length=18, examples=["91350100M000100Y43"]
    )
    legal_representative_name: str = Field(min_length=1, max_length=100)
    legal_representative_id_ref: str = Field(
        min_length=1, max_length=100, description="Reference of the ID document (not the document)."
    )
    bank_name: str = Field(min_length=2, max_length=100)
    bank_account_number: str = Field(pattern=r"^[0-9]{8,30}$")
    contact_name: str = Field(min_length=1, max_length=100)
    contact_phone: str = Field(pattern=E164_PATTERN)
    contact_email: str = Field(
        pattern=r"^[^@\s]{1,64}@[^@\s.]{1,63}(\.[^@\s.]{1,63})+$",
        max_length=254,
        description="Checked against the official domains (look-alikes are flagged).",
    )
    official_domains: list[Annotated[str, Field(pattern=DOMAIN, max_length=253)]] = Field(
        min_length=1, max_length=10
    )

    @field_validator("unified_social_credit_code")
    @classmethod
    def _valid_code(cls, value: str) -> str:
        problem = uscc_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value


class FlagView(BaseModel):
    flag_id: UUID
    domain: str
    resembles: str
    techniques: list[str]
    source: str


class OrganizationView(BaseModel):
    organization_id: UUID
    legal_name: str
    status: OrganizationStatus
    official_domains: list[str]
    bank_account_last4: str
    deposits: str
    deposit_attempts: int
    deposit_max_attempts: int
    deposits_expire_at: AwareDatetime | None
    documents_approved: bool
    phone_confirmed: bool
    open_flags: list[FlagView] | None = Field(
        default=None,
        description="Look-alike flags that block verification: shown to staff and services "
        "only, absent for the claimant (a flag is never told to the one it flags).",
    )
    reasons: list[str]


class DepositConfirmation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amounts_cents: list[Annotated[int, Field(ge=1, le=99)]] = Field(min_length=2, max_length=2)


class DocumentReview(BaseModel):
    model_config = ConfigDict(extra="forbid")
    approved: bool
    reason: str = Field(min_length=3, max_length=500)
    document_refs: list[UUID] = Field(default_factory=list, max_length=10)


class PhoneConfirmation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    confirmed: bool
    note: str = Field(min_length=3, max_length=500)


class FlagClearance(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=3, max_length=500)


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reasons: list[Annotated[str, Field(min_length=3, max_length=500)]] = Field(
        min_length=1, max_length=10
    )
    reason_code: RejectionCode = Field(
        default=RejectionCode.REJECTED_BY_REVIEWER,
        description="What the organization's contact is told, in their language (the reasons "
        "are for staff): documents_rejected, phone_confirmation_failed, "
        "deposits_not_confirmed or rejected_by_reviewer (the default; say nothing more to a "
        "possible impersonator).",
    )


def organization_view(organization: Organization, principal: Principal) -> OrganizationView:
    """The organization as ``principal`` may see it: its look-alike flags for staff only (the
    field is left unset, hence absent from the answer, for the claimant)."""
    if organization.status is OrganizationStatus.NONE:
        raise NotFound("no such organization")
    view = OrganizationView(
        organization_id=organization.organization_id,  # type: ignore[arg-type]
        legal_name=organization.legal_name,  # type: ignore[arg-type]
        status=organization.status,
        official_domains=list(organization.official_domains),
        bank_account_last4=organization.bank_account_last4,
        deposits=organization.deposits.value,
        deposit_attempts=organization.deposit_attempts,
        deposit_max_attempts=organization.deposit_max_attempts,
        deposits_expire_at=organization.deposits_expire_at,
        documents_approved=organization.documents_approved,
        phone_confirmed=organization.phone_confirmed,
        reasons=list(organization.reasons),
    )
    if principal.is_staff:
        view.open_flags = [
            FlagView(
                flag_id=f.flag_id,
                domain=f.domain,
                resembles=f.resembles,
                techniques=list(f.techniques),
                source=f.source,
            )
            for f in organization.open_flags
        ]
    return view


@router.post(
    "/verification/organizations",
    status_code=201,
    response_model=OrganizationView,
    response_model_exclude_unset=True,
    summary="Submit an organization's profile (domains are screened for look-alikes)",
)
async def submit_organization(
    body: OrganizationProfile,
    runtime: Runtime,
    principal: Annotated[Principal, Submitters],
    idempotency_key: IdempotencyKey = None,
) -> object:
    context = context_of(principal)

    async def act(conn: asyncpg.Connection) -> tuple[int, Any]:
        organization_id = uuid.uuid4()
        command = SubmitOrganization(
            organization_id=organization_id,
            profile=Profile(
                legal_name=body.legal_name,
                unified_social_credit_code=body.unified_social_credit_code,
                legal_representative_name=body.legal_representative_name,
                legal_representative_id_ref=body.legal_representative_id_ref,
                bank_name=body.bank_name,
                bank_account_number=body.bank_account_number,
                contact_name=body.contact_name,
                contact_phone=body.contact_phone,
                contact_email=body.contact_email,
                official_domains=tuple(body.official_domains),
            ),
            submitted_by=principal.id,
            verified_elsewhere=await use_cases.verified_domains_elsewhere(conn, organization_id),
            at=runtime.clock.now(),
            protected=(await protected_domains(conn, runtime.store)).protected,
        )
        executed = await use_cases.change_organization(
            conn, runtime.store, organization_id, command, context
        )
        shown = organization_view(executed.state, principal)
        return 201, shown.model_dump(mode="json", exclude_unset=True)

    return await idempotent(
        runtime.pool, f"submit-organization:{principal.id}", idempotency_key, fingerprint(body), act
    )


@router.get(
    "/verification/organizations/{organization_id}",
    response_model=OrganizationView,
    response_model_exclude_unset=True,
)
async def get_organization(
    organization_id: OrganizationId,
    runtime: Runtime,
    principal: Annotated[Principal, require_roles("customer", *STAFF_ROLES, "service")],
) -> OrganizationView:
    async with runtime.pool.acquire() as conn:
        shown = organization_view(
            await visible_organization(conn, runtime, principal, organization_id), principal
        )
        await audit_organization_read(conn, runtime, principal, organization_id)
    return shown


@router.post(
    "/verification/organizations/{organization_id}/deposits",
    status_code=202,
    response_model=OrganizationView,
    response_model_exclude_unset=True,
    summary="Send two random small amounts to the registered bank account",
)
async def send_deposits(
    organization_id: OrganizationId,
    runtime: Runtime,
    wiring: WiringDep,
    principal: Annotated[Principal, Submitters],
) -> OrganizationView:
    organization = await organization_for(runtime, principal, organization_id)
    sent = await use_cases.send_deposits(
        runtime.pool, runtime.store, wiring, organization, runtime.clock.now(),
        context_of(principal),
    )  # fmt: skip
    return organization_view(sent, principal)


@router.post(
    "/verification/organizations/{organization_id}/deposits/confirmation",
    response_model=OrganizationView,
    response_model_exclude_unset=True,
    summary="Confirm both amounts as read on the bank statement (at most 3 attempts)",
)
async def confirm_deposits(
    organization_id: OrganizationId,
    body: DepositConfirmation,
    runtime: Runtime,
    wiring: WiringDep,
    principal: Annotated[Principal, Submitters],
) -> OrganizationView:
    await organization_for(runtime, principal, organization_id)
    amounts = (body.amounts_cents[0], body.amounts_cents[1])
    context = context_of(principal)
    confirmed = await command(
        runtime.pool,
        lambda conn: use_cases.confirm_deposits(
            conn, runtime.store, wiring, organization_id, amounts, runtime.clock.now(), context
        ),
    )
    return organization_view(confirmed, principal)


@router.post(
    "/verification/organizations/{organization_id}/documents",
    status_code=201,
    response_model=MediaView,
    summary="Upload the business licence or the sealed authorization letter (held encrypted)",
    dependencies=[RateLimited("customer")],
)
async def upload_document(
    organization_id: OrganizationId,
    body: MediaUpload,
    runtime: Runtime,
    wiring: WiringDep,
    principal: Annotated[Principal, Submitters],
) -> MediaView:
    if body.kind not in (MediaKind.BUSINESS_LICENCE, MediaKind.AUTHORIZATION_LETTER):
        raise RuleViolation("an organization uploads its business licence or authorization letter")
    return await store_upload(
        runtime,
        wiring,
        principal,
        body,
        owner=(MediaOwner.ORGANIZATION, organization_id),
        check_visible=lambda conn: visible_organization(conn, runtime, principal, organization_id),
    )


async def _review(
    runtime: Runtime, principal: Principal, organization_id: UUID, review: OrganizationCommand
) -> OrganizationView:
    context = context_of(principal)

    async def act(conn: asyncpg.Connection) -> Organization:
        executed = await use_cases.change_organization(
            conn, runtime.store, organization_id, review, context
        )
        await audit_organization_read(conn, runtime, principal, organization_id)
        return executed.state

    return organization_view(await command(runtime.pool, act), principal)


@router.post(
    "/verification/organizations/{organization_id}/document-review",
    response_model=OrganizationView,
    response_model_exclude_unset=True,
    summary="A reviewer approves or rejects the documents, with a reason",
)
async def review_documents(
    organization_id: OrganizationId,
    body: DocumentReview,
    runtime: Runtime,
    principal: Annotated[Principal, Reviewer],
) -> OrganizationView:
    if body.document_refs:
        async with runtime.pool.acquire() as conn:
            await media_owned_by(conn, body.document_refs, organization_id)
    command = ReviewDocuments(
        principal.id, body.approved, body.reason, tuple(body.document_refs), runtime.clock.now()
    )
    return await _review(runtime, principal, organization_id, command)


@router.post(
    "/verification/organizations/{organization_id}/phone-confirmation",
    response_model=OrganizationView,
    response_model_exclude_unset=True,
    summary="A reviewer records the outcome of the confirmation call",
)
async def confirm_phone(
    organization_id: OrganizationId,
    body: PhoneConfirmation,
    runtime: Runtime,
    principal: Annotated[Principal, Reviewer],
) -> OrganizationView:
    command = ConfirmPhone(principal.id, body.confirmed, body.note, runtime.clock.now())
    return await _review(runtime, principal, organization_id, command)


@router.post(
    "/verification/organizations/{organization_id}/flags/{flag_id}/clearance",
    response_model=OrganizationView,
    response_model_exclude_unset=True,
    summary="A reviewer clears a look-alike domain flag, with a reason",
)
async def clear_flag(
    organization_id: OrganizationId,
    flag_id: Annotated[UUID, Path()],
    body: FlagClearance,
    runtime: Runtime,
    principal: Annotated[Principal, Reviewer],
) -> OrganizationView:
    command = ClearFlag(flag_id, principal.id, body.reason, runtime.clock.now())
    return await _review(runtime, principal, organization_id, command)


@router.post(
    "/verification/organizations/{organization_id}/rejection",
    response_model=OrganizationView,
    response_model_exclude_unset=True,
    summary="A reviewer rejects the organization, with reasons",
)
async def reject(
    organization_id: OrganizationId,
    body: Rejection,
    runtime: Runtime,
    principal: Annotated[Principal, Reviewer],
) -> OrganizationView:
    command = RejectOrganization(
        principal.id, tuple(body.reasons), runtime.clock.now(), body.reason_code
    )
    return await _review(runtime, principal, organization_id, command)
