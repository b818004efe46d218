"""Campaigns of the notifications service: one template sent to every customer with a tag.

Topic ``frontdesk.notifications.campaigns`` (``campaign-<id>``): a campaign from its start to
completed or cancelled. Only customers who consented to marketing on the campaign's channel
are messaged, never one with an open complaint or appeal; the messages themselves are ordinary
notifications (purpose ``marketing``, ``campaign_id`` set) on ``frontdesk.notifications.messages``,
where their sending, delivery and failure are recorded.

The audience is the tag's members when the campaign starts (ordered by account); each batch
re-checks consent and exclusions, and names the accounts it messaged or skipped. Account
references are opaque platform ids; no event here carries an address or a message's text
beyond the operator's campaign content.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.base import EventPayload
from contracts.events.notifications import MessageChannel
from contracts.registry import REGISTRY
from contracts.topics import TopicSpec, register_topic

NOTIFICATIONS_CAMPAIGNS = register_topic(
    TopicSpec(
        name="frontdesk.notifications.campaigns",
        producer="notifications",
        stream_type="campaign",
        description="Every change of an outbound campaign to tagged customers.",
    )
)

_TAG = r"^[a-z0-9][a-z0-9_.-]{1,63}$"
_LANGUAGE = r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"


class CampaignContent(BaseModel):
    """The operator's text in one language (the ``campaign`` template adds the opt-out line)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    language: str = Field(pattern=_LANGUAGE, description="BCP 47 tag.")
    title: str = Field(min_length=1, max_length=120)
    body: str = Field(min_length=1, max_length=1000)


@REGISTRY.event("notifications.campaign_started", version=1, topic=NOTIFICATIONS_CAMPAIGNS)
class CampaignStarted(EventPayload):
    """An operator started a campaign: the tag's members were counted and split into the
    targets (consented on ``channel``, no open complaint or appeal) and those skipped. The
    targets are messaged in batches at ``rate_per_minute``."""

    campaign_id: UUID
    name: str = Field(min_length=1, max_length=120)
    tag: str = Field(pattern=_TAG)
    channel: MessageChannel
    contents: list[CampaignContent] = Field(min_length=1, description="One per language.")
    default_language: str = Field(
        pattern=_LANGUAGE, description="Content used when the person's language has none."
    )
    rate_per_minute: int = Field(ge=1, le=6000)
    members: int = Field(ge=0, description="Customers with the tag at the start.")
    targeted: int = Field(ge=0, description="Members to message (consented, not excluded).")
    skipped_consent: int = Field(
        ge=0, description="Members without marketing consent on the channel."
    )
    skipped_excluded: int = Field(ge=0, description="Members with an open complaint or appeal.")
    started_by: str
    started_at: AwareDatetime
    organization_id: UUID | None = Field(
        default=None,
        description="The verified organization whose contact centre runs the campaign: its "
        "audience is the customers that organization tagged, consenting to its marketing, and "
        "its messages name it as the sender; None: the platform's own service centre.",
    )


@REGISTRY.event("notifications.campaign_progressed", version=1, topic=NOTIFICATIONS_CAMPAIGNS)
class CampaignProgressed(EventPayload):
    """One throttled batch: the targets messaged (their notifications were requested in the
    same transaction, each due at the person's next allowed hour) and those skipped because,
    since the start, they lost the tag, withdrew consent or opened a complaint or appeal, or
    because their hours leave no moment for marketing. ``processed`` counts the targets
    handled so far."""

    campaign_id: UUID
    requested: list[str] = Field(description="Account refs whose message was requested.")
    skipped_consent: list[str] = Field(default_factory=list)
    skipped_excluded: list[str] = Field(default_factory=list)
    skipped_untagged: list[str] = Field(
        default_factory=list, description="No longer carrying the tag when their batch ran."
    )
    skipped_hours: list[str] = Field(
        default_factory=list,
        description="No hour in the next week that marketing may be sent in (their quiet "
        "hours cover the whole marketing window).",
    )
    processed: int = Field(ge=0)
    progressed_at: AwareDatetime


@REGISTRY.event("notifications.campaign_completed", version=1, topic=NOTIFICATIONS_CAMPAIGNS)
class CampaignCompleted(EventPayload):
    """Every target was handled: messaged or skipped. Messages may still be waiting for the
    person's hours, and deliveries may still arrive; a cancel still withdraws the waiting
    ones."""

    campaign_id: UUID
    requested: int = Field(ge=0)
    skipped_consent: int = Field(ge=0, description="At the start and in the batches.")
    skipped_excluded: int = Field(ge=0, description="At the start and in the batches.")
    skipped_untagged: int = Field(default=0, ge=0, description="Untagged before their batch.")
    skipped_hours: int = Field(default=0, ge=0, description="No allowed hour for marketing.")
    completed_at: AwareDatetime


@REGISTRY.event("notifications.campaign_cancelled", version=1, topic=NOTIFICATIONS_CAMPAIGNS)
class CampaignCancelled(EventPayload):
    """The campaign was stopped: no further batch, and its messages not yet sent (waiting for
    the person's hours, or retrying) were withdrawn in the same transaction
    (``notifications.notification_withdrawn``). Nothing more goes out; a message a provider
    had already accepted stays sent. ``not_reached`` targets get nothing. A completed
    campaign may still be cancelled while some of its messages wait."""

    campaign_id: UUID
    requested: int = Field(ge=0, description="Messages requested before the cancel.")
    not_reached: int = Field(ge=0, description="Targets left without a message.")
    withdrawn: int = Field(
        default=0, ge=0, description="Requested messages withdrawn by the cancel, unsent."
    )
    reason: str | None = Field(default=None, max_length=200, description="The operator's note.")
    cancelled_by: str
    cancelled_at: AwareDatetime
