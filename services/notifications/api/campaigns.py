"""HTTP API of campaigns: start one to a tag's customers, follow its counts, cancel it.

The routes serve organizations' contact centres too: a verified organization's administrator
or supervisor (token claim ``org``) runs that organization's campaigns — to the customers its
own staff tagged, who consented to its marketing — and sees and cancels only those; the
platform's staff see only the platform's. Another contact centre's campaign is 404."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from uuid import UUID

import asyncpg
from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, Field, model_validator

from contracts.events.notifications import MessageChannel, NotificationKind
from contracts.events.notifications_campaigns import CampaignContent
from contracts.fields import PlainText35
from runtime.auth import Principal, require_roles
from runtime.commands import IdempotencyKey, command, fingerprint, idempotent
from runtime.context import CommandContext
from runtime.service import Runtime
from services.notifications.api.access import Forbid
from services.notifications.application.campaigns import (
    audience_of,
    cancel_campaign,
    existing_campaign,
    start_campaign,
)
from services.notifications.domain.campaigns import (
    CAMPAIGN_CHANNELS,
    MAX_RATE_PER_MINUTE,
    Campaign,
    CampaignStatus,
    CancelCampaign,
    StartCampaign,
)
from services.notifications.domain.templates import TemplateError, render
from services.notifications.projections.campaigns import campaigns_list
from services.notifications.projections.messages import campaign_message_counts

router = APIRouter(tags=["campaigns"])

Operators = require_roles("supervisor", "admin", organizations=True)
TAG = r"^[a-z0-9][a-z0-9_.-]{1,63}$"
LANGUAGE = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"


class ContentBody(Forbid):
    language: PlainText35 = Field(pattern=LANGUAGE, examples=["zh-CN"])
    title: str = Field(min_length=1, max_length=120)
    body: str = Field(min_length=1, max_length=1000)


class CampaignBody(Forbid):
    name: str = Field(min_length=1, max_length=120, examples=["Wallet back: November"])
    tag: str = Field(pattern=TAG, examples=["wallet-reactivated"])
    channel: MessageChannel
    contents: list[ContentBody] = Field(min_length=1, max_length=10)
    default_language: PlainText35 = Field(pattern=LANGUAGE, examples=["en"])
    rate_per_minute: int = Field(ge=1, le=MAX_RATE_PER_MINUTE, examples=[60])

    @model_validator(mode="after")
    def _renders(self) -> CampaignBody:
        if self.channel not in CAMPAIGN_CHANNELS:
            raise ValueError(f"no campaigns by {self.channel.value}: no opt-out path for it")
        languages = [c.language.lower() for c in self.contents]
        if len(set(languages)) != len(languages):
            raise ValueError("give each language's content once")
        if self.default_language.lower() not in languages:
            raise ValueError("the default language needs its own content")
        for content in self.contents:
            try:
                render(
                    NotificationKind.CAMPAIGN,
                    content.language,
                    {"title": content.title, "body": content.body},
                )
            except TemplateError as error:
                raise ValueError(f"{content.language}: {error}") from None
        return self


class CancelBody(Forbid):
    reason: str | None = Field(default=None, max_length=200)


class CampaignView(BaseModel):
    campaign_id: UUID
    organization_id: UUID | None = Field(
        description="The organization whose contact centre runs it; null: the platform's."
    )
    name: str
    tag: str
    channel: MessageChannel
    status: str = Field(description="running | completed | cancelled")
    rate_per_minute: int
    members: int = Field(description="Customers with the tag at the start.")
    targeted: int = Field(description="Consented on the channel, no open complaint or appeal.")
    skipped_consent: int = Field(description="No marketing consent (at start or since).")
    skipped_excluded: int = Field(description="Open complaint or appeal (at start or since).")
    skipped_untagged: int = Field(description="Lost the tag before their batch ran.")
    skipped_hours: int = Field(description="No hour in the coming week marketing may reach.")
    processed: int = Field(description="Targets handled by the batches so far.")
    remaining: int = Field(description="Targets not handled yet (never, once cancelled).")
    requested: int = Field(description="Messages requested.")
    waiting: int = Field(description="Requested, not sent yet (held for the person's hours).")
    withdrawn: int = Field(
        description="Withdrawn unsent: by the cancel, or consent or a complaint since."
    )
    withdrawn_by_cancel: int = Field(description="Of those, withdrawn by the cancel.")
    sent: int = Field(description="Accepted by the provider.")
    delivered: int = Field(description="Receipt: reached the person.")
    failed: int = Field(description="Finally failed.")
    started_by: str
    started_at: AwareDatetime
    finished_at: AwareDatetime | None


async def view_of(conn: asyncpg.Connection, state: Campaign) -> CampaignView:
    """The campaign's own counts (event store) and its messages' (``notification_log``)."""
    counts = await campaign_message_counts(conn, state.campaign_id)
    assert state.channel is not None
    assert state.started_at is not None
    return CampaignView(
        campaign_id=state.campaign_id,  # type: ignore[arg-type]
        organization_id=state.organization_id,
        name=state.name,
        tag=state.tag,
        channel=state.channel,
        status=state.status.value,
        rate_per_minute=state.rate_per_minute,
        members=state.members,
        targeted=state.targeted,
        skipped_consent=state.skipped_consent,
        skipped_excluded=state.skipped_excluded,
        skipped_untagged=state.skipped_untagged,
        skipped_hours=state.skipped_hours,
        processed=state.processed,
        remaining=state.remaining,
        requested=state.requested,
        waiting=counts["waiting"],
        withdrawn=max(counts["withdrawn"], state.withdrawn),
        withdrawn_by_cancel=state.withdrawn,
        sent=counts["sent"],
        delivered=counts["delivered"],
        failed=counts["failed"],
        started_by=state.started_by,
        started_at=state.started_at,
        finished_at=state.finished_at,
    )


@router.post(
    "/campaigns",
    status_code=201,
    response_model=CampaignView,
    summary="Start a campaign to the customers with a tag (consented, no open complaint); an "
    "organization's: its own tag, consent to it, the organization verified",
)
async def create_campaign(
    body: CampaignBody,
    runtime: Runtime,
    principal: Annotated[Principal, Operators],
    idempotency_key: IdempotencyKey = None,
) -> Any:
    async def act(conn: asyncpg.Connection) -> tuple[int, Any]:
        command = StartCampaign(
            campaign_id=uuid.uuid4(),
            name=body.name,
            tag=body.tag,
            channel=body.channel,
            contents=tuple(CampaignContent(**c.model_dump()) for c in body.contents),
            default_language=body.default_language,
            rate_per_minute=body.rate_per_minute,
            audience=await audience_of(conn, body.tag, body.channel, principal.organization),
            started_by=principal.id,
            at=runtime.clock.now(),
            organization_id=principal.organization,
        )
        state = await start_campaign(
            conn, runtime.store, command, CommandContext.new(principal.actor())
        )
        return 201, await view_of(conn, state)

    # an organization's staff member's keys are theirs within that organization
    owner = f"{principal.organization}:" if principal.organization else ""
    scope = f"start-campaign:{owner}{principal.id}"
    return await idempotent(runtime.pool, scope, idempotency_key, fingerprint(body), act)


@router.get("/campaigns/{campaign_id}", response_model=CampaignView, summary="One campaign")
async def get_campaign(
    campaign_id: UUID, runtime: Runtime, principal: Annotated[Principal, Operators]
) -> CampaignView:
    async with runtime.pool.acquire() as conn:
        state = await existing_campaign(conn, runtime.store, campaign_id, principal)
        return await view_of(conn, state)


@router.post(
    "/campaigns/{campaign_id}/cancel",
    response_model=CampaignView,
    summary="Stop the campaign: no further batch, its unsent messages withdrawn; nothing is "
    "sent twice, nothing after the cancel",
)
async def cancel(
    campaign_id: UUID,
    runtime: Runtime,
    principal: Annotated[Principal, Operators],
    body: CancelBody | None = None,
) -> CampaignView:
    reason = body.reason if body else None
    cancellation = CancelCampaign(by=principal.id, reason=reason, at=runtime.clock.now())
    context = CommandContext.new(principal.actor())
    state = await command(
        runtime.pool,
        lambda conn: cancel_campaign(
            conn, runtime.store, campaign_id, cancellation, context, principal
        ),
    )
    async with runtime.pool.acquire() as conn:
        return await view_of(conn, state)


class CampaignSummary(BaseModel):
    campaign_id: UUID
    organization_id: UUID | None
    name: str
    tag: str
    channel: MessageChannel
    status: str
    rate_per_minute: int
    members: int
    targeted: int
    skipped_consent: int
    skipped_excluded: int
    skipped_untagged: int
    skipped_hours: int
    processed: int
    requested: int
    waiting: int
    withdrawn: int
    sent: int
    delivered: int
    failed: int
    started_by: str
    started_at: AwareDatetime
    finished_at: AwareDatetime | None


@router.get(
    "/campaigns",
    response_model=list[CampaignSummary],
    summary="The caller's contact centre's campaigns, newest first (read model: may lag a "
    "moment behind)",
)
async def list_campaigns(
    runtime: Runtime,
    principal: Annotated[Principal, Operators],
    status: Annotated[CampaignStatus | None, Query()] = None,
    tag: Annotated[str | None, Query(pattern=TAG)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[CampaignSummary]:
    if status is CampaignStatus.NONE:
        return []
    async with runtime.pool.acquire() as conn:
        rows = await campaigns_list(
            conn, principal.organization, status.value if status else None, tag, limit
        )
    return [CampaignSummary.model_validate(dict(row)) for row in rows]
