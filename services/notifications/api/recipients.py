"""HTTP API of recipients: a person's channels, language, hours and marketing consent, and
their marketing consent to each verified organization (recorded by that organization's own
staff: consent is per sender)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Path
from pydantic import AwareDatetime, BaseModel, Field, field_validator

from contracts.events.notifications import HoursWindow, MessageChannel, RecipientPreferencesSet
from contracts.fields import IDENTIFIER
from contracts.vocabulary import E164_PATTERN
from runtime.auth import STAFF_ROLES, Forbidden, Principal, require_roles
from runtime.commands import command
from runtime.context import CommandContext
from runtime.errors import NotFound, RuleViolation
from runtime.service import Runtime
from services.notifications.api.access import Forbid, audit_read
from services.notifications.api.callbacks import Hours, Language
from services.notifications.application.recipients import (
    preferences_of,
    recipient_of,
    set_organization_consent,
)
from services.notifications.application.recipients import set_preferences as set_preferences_of
from services.notifications.domain.hours import zone
from services.notifications.domain.recipients import SetOrganizationConsent, SetPreferences

router = APIRouter(tags=["notifications"])


class PreferencesBody(Forbid):
    channels: list[MessageChannel] = Field(min_length=1, max_length=4)
    language: Language | None = None
    timezone: str | None = Field(default=None, min_length=1, max_length=64)
    preferred_hours: Hours | None = None
    quiet_hours: Hours | None = None
    marketing_consent: list[MessageChannel] = Field(default_factory=list, max_length=4)
    phone: str | None = Field(default=None, pattern=E164_PATTERN)
    email: str | None = Field(
        default=None, max_length=254, pattern=r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$"
    )
    wechat: str | None = Field(default=None, min_length=1, max_length=128)
    qq: str | None = Field(default=None, min_length=1, max_length=128)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            zone(value)
        except RuleViolation:
            raise ValueError("not an IANA timezone") from None
        return value


class PreferencesView(BaseModel):
    account_ref: str
    channels: list[MessageChannel]
    language: str | None
    timezone: str | None
    preferred_hours: HoursWindow | None
    quiet_hours: HoursWindow | None
    marketing_consent: list[MessageChannel]
    addresses: dict[str, str | None] = Field(description="Personal data; null once erased.")
    set_at: AwareDatetime


def preferences_view(prefs: RecipientPreferencesSet | None) -> PreferencesView:
    assert prefs is not None
    return PreferencesView(
        account_ref=prefs.account_ref,
        channels=prefs.channels,
        language=prefs.language,
        timezone=prefs.timezone,
        preferred_hours=prefs.preferred_hours,
        quiet_hours=prefs.quiet_hours,
        marketing_consent=prefs.marketing_consent,
        addresses={
            "sms": prefs.phone,
            "email": prefs.email,
            "wechat": prefs.wechat,
            "qq": prefs.qq,
        },
        set_at=prefs.set_at,
    )


@router.put(
    "/recipients/{account_ref}/preferences",
    response_model=PreferencesView,
    summary="Set a person's channels, language, hours and marketing consent",
)
async def set_preferences(
    account_ref: Annotated[str, Path(pattern=IDENTIFIER)],
    body: PreferencesBody,
    runtime: Runtime,
    principal: Annotated[Principal, require_roles(*STAFF_ROLES, "service")],
) -> PreferencesView:
    addresses = {
        channel: value
        for channel, value in (
            (MessageChannel.SMS, body.phone),
            (MessageChannel.EMAIL, body.email),
            (MessageChannel.WECHAT, body.wechat),
            (MessageChannel.QQ, body.qq),
        )
        if value
    }
    preferences = SetPreferences(
        account_ref=account_ref,
        channels=tuple(body.channels),
        language=body.language.tag if body.language else None,
        timezone=body.timezone,
        preferred_hours=body.preferred_hours.contract() if body.preferred_hours else None,
        quiet_hours=body.quiet_hours.contract() if body.quiet_hours else None,
        marketing_consent=tuple(dict.fromkeys(body.marketing_consent)),
        addresses=addresses,
        set_by=principal.id,
        at=runtime.clock.now(),
    )
    context = CommandContext.new(principal.actor())
    prefs = await command(
        runtime.pool,
        lambda conn: set_preferences_of(conn, runtime.store, preferences, context),
    )
    return preferences_view(prefs)


@router.get(
    "/recipients/{account_ref}/preferences",
    response_model=PreferencesView,
    summary="A person's message preferences",
)
async def get_preferences(
    account_ref: Annotated[str, Path(pattern=IDENTIFIER)],
    runtime: Runtime,
    principal: Annotated[Principal, require_roles(*STAFF_ROLES, "service")],
) -> PreferencesView:
    async with runtime.pool.acquire() as conn:
        prefs = await preferences_of(conn, runtime.store, f"account:{account_ref}")
    if prefs is None:
        raise NotFound(f"no preferences for {account_ref}")
    await audit_read(
        runtime,
        principal,
        f"account:{account_ref}",
        "recipient_preferences",
        account_ref,
        ["addresses", "marketing_consent", "language", "timezone"],
        f"account:{account_ref}",
    )
    return preferences_view(prefs)


# -- consent to an organization's campaigns -----------------------------------------------------

OrganizationStaff = require_roles("agent", "supervisor", "admin", organizations=True)
CONSENT_PATH = "/recipients/{account_ref}/organization-consent"


class OrganizationConsentBody(Forbid):
    marketing_consent: list[MessageChannel] = Field(max_length=4, examples=[["sms"]])


class OrganizationConsentView(BaseModel):
    account_ref: str
    organization_id: UUID
    marketing_consent: list[MessageChannel] = Field(
        description="Channels the person agreed to receive this organization's marketing on "
        "(reached only where their preferences give an address)."
    )


def organization_of(principal: Principal) -> UUID:
    """The caller's organization: consent to it is what its staff record and read."""
    if principal.organization is None:
        raise Forbidden(
            "only an organization's staff record consent to its campaigns; the platform's "
            "own is the marketing consent of the preferences"
        )
    return principal.organization


@router.put(
    CONSENT_PATH,
    response_model=OrganizationConsentView,
    summary="Record, on the person's word, the channels they agree to receive the caller's "
    "organization's marketing on (an organization's staff; the organization verified)",
)
async def put_organization_consent(
    account_ref: Annotated[str, Path(pattern=IDENTIFIER)],
    body: OrganizationConsentBody,
    runtime: Runtime,
    principal: Annotated[Principal, OrganizationStaff],
) -> OrganizationConsentView:
    organization_id = organization_of(principal)
    consent = SetOrganizationConsent(
        account_ref=account_ref,
        organization_id=organization_id,
        marketing_consent=tuple(dict.fromkeys(body.marketing_consent)),
        set_by=principal.id,
        at=runtime.clock.now(),
    )
    context = CommandContext.new(principal.actor())
    recipient = await command(
        runtime.pool,
        lambda conn: set_organization_consent(conn, runtime.store, consent, context),
    )
    return OrganizationConsentView(
        account_ref=account_ref,
        organization_id=organization_id,
        marketing_consent=sorted(recipient.consent_to(organization_id)),
    )


@router.get(
    CONSENT_PATH,
    response_model=OrganizationConsentView,
    summary="The person's consent to the caller's organization's marketing (none: empty)",
)
async def get_organization_consent(
    account_ref: Annotated[str, Path(pattern=IDENTIFIER)],
    runtime: Runtime,
    principal: Annotated[Principal, OrganizationStaff],
) -> OrganizationConsentView:
    organization_id = organization_of(principal)
    async with runtime.pool.acquire() as conn:
        recipient = await recipient_of(conn, runtime.store, account_ref)
    return OrganizationConsentView(
        account_ref=account_ref,
        organization_id=organization_id,
        marketing_consent=sorted(recipient.consent_to(organization_id)),
    )
