"""Sites (service centers), their desks and remote positions, and their queues' settings.

Published by the check-in service on ``frontdesk.checkin.sites``, keyed ``site-<site_id>``.
"""

from __future__ import annotations

from datetime import date, time
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contracts.base import EventPayload
from contracts.fields import Count, FractionalMinutes, MaxItems, Minutes, Seconds
from contracts.registry import REGISTRY
from contracts.topics import TopicSpec, register_topic
from contracts.vocabulary import ServiceQueue

CHECKIN_SITES = register_topic(
    TopicSpec(
        name="frontdesk.checkin.sites",
        producer="checkin",
        stream_type="site",
        description="Every change of a site: configuration, desks, queues opened and closed.",
    )
)


class OpeningHours(BaseModel):
    """One opening period of one weekday, in the site's local time."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    weekday: int = Field(ge=0, le=6, description="0 = Monday ... 6 = Sunday.")
    opens: time = Field(description="Local opening time.")
    closes: time = Field(description="Local closing time (after opens).")


class AssignmentRule(StrEnum):
    """Ordered per queue for remote contacts; the first rule that finds an agent assigns."""

    LAST_AGENT = "last_agent"
    OWNER_AGENT = "owner_agent"
    FEWEST_ACTIVE = "fewest_active"
    MOST_FREE_CAPACITY = "most_free_capacity"
    ROUND_ROBIN = "round_robin"


class AnswerWindows(BaseModel):
    """Per kind of remote contact, how long the agent it is offered to has to answer it
    (seconds); a kind left out uses the queue's ``answer_within_seconds``. A call is answered
    in seconds, a chat in a minute or two, an email within hours."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    phone: int | None = Field(default=None, ge=5, le=3600, description="Phone calls.")
    chat: int | None = Field(default=None, ge=5, le=86400, description="QQ, WeChat and web chats.")
    email: int | None = Field(default=None, ge=5, le=7 * 86400, description="Emails.")


class QueueSettings(BaseModel):
    """How one queue of a site waits, routes and estimates."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    queue: ServiceQueue
    default_service_minutes: FractionalMinutes = Field(
        default=12.0, gt=0, description="Used for estimates until enough services are measured."
    )
    service_level_minutes: Minutes = Field(
        default=30, ge=1, description="Target: share of tickets called within this wait."
    )
    max_recalls: Count = Field(default=2, ge=0, description="Recalls before a no-show.")
    no_show_after_minutes: Minutes = Field(
        default=5, ge=1, description="A called ticket not at the desk by then is a no-show."
    )
    relax_after_minutes: Minutes = Field(
        default=20,
        ge=1,
        description="After this wait with nobody of the required language or specialist skill "
        "signed in, the requirement relaxes to the next best match.",
    )
    assignment_rules: Annotated[list[AssignmentRule], MaxItems(len(AssignmentRule))] = Field(
        json_schema_extra={"maxItems": len(AssignmentRule)},
        default_factory=lambda: [
            AssignmentRule.LAST_AGENT,
            AssignmentRule.OWNER_AGENT,
            AssignmentRule.FEWEST_ACTIVE,
            AssignmentRule.ROUND_ROBIN,
        ],
        description="Remote contact assignment, in order.",
    )
    answer_within_seconds: Seconds = Field(
        default=60,
        ge=5,
        description="An assigned contact not answered by then is reassigned (every kind not "
        "overridden in answer_windows).",
    )
    answer_windows: AnswerWindows | None = Field(
        default=None,
        description="Per-kind answer windows (phone, chat, email) overriding "
        "answer_within_seconds; absent: one window for every kind.",
    )
    appointment_slot_minutes: int | None = Field(
        default=None,
        ge=5,
        le=240,
        description="Length of a bookable appointment slot; slots follow each other from the "
        "start of each opening period (local time). Absent: the queue takes no appointments.",
    )
    appointment_capacity: int = Field(
        default=1, ge=1, le=100, description="Visitors that can book one slot."
    )
    appointment_early_minutes: Minutes = Field(
        default=30, ge=0, le=240, description="A booked visitor may check in this early."
    )
    appointment_grace_minutes: Minutes = Field(
        default=10,
        ge=0,
        le=120,
        description="A booked visitor may still check in this long after the slot ends; "
        "then the appointment is missed and its place released.",
    )
    appointment_horizon_days: int = Field(
        default=14, ge=0, le=90, description="Slots can be booked up to this many local days ahead."
    )


@REGISTRY.event("checkin.site_configured", version=1, topic=CHECKIN_SITES)
class SiteConfigured(EventPayload):
    """A site was set up or its configuration replaced: time zone (the daily ticket numbers
    restart at its local midnight), opening hours and the queues it serves."""

    site_id: str
    name: str = Field(max_length=120, description="Public name of the service center.")
    timezone: str = Field(description="IANA time zone, e.g. Asia/Shanghai.")
    opening_hours: list[OpeningHours] = Field(description="Empty: open around the clock.")
    queues: list[QueueSettings] = Field(min_length=1)
    estimate_margin_minutes: Minutes = Field(
        default=5,
        ge=1,
        description="A new estimate is announced when it moves by more than this (or 25%).",
    )
    screening_required: bool = Field(
        default=False,
        description="Walk-in tickets are issued only by staff who confirm the visitor passed "
        "the security screening (recorded on checkin.ticket_issued).",
    )
    ivr_menu: dict[str, ServiceQueue] | None = Field(
        default=None,
        description="The phone menu of this site's contact center: the key a caller presses "
        "(0-9, * or #) -> the queue. Absent: the standard menu (1 account & security, "
        "2 wallet & payments, 3 minors & family, 4 commerce disputes, 0 general).",
    )
    configured_at: AwareDatetime
    organization_id: UUID | None = Field(
        default=None,
        description="The verified organization whose contact centre this site is (set when "
        "the site is first configured, by that organization's administrator or supervisor, "
        "and never changed); None: the platform's own service centre.",
    )


class DeskKind(StrEnum):
    COUNTER = "counter"
    REMOTE_POSITION = "remote_position"


@REGISTRY.event("checkin.desk_added", version=1, topic=CHECKIN_SITES)
class DeskAdded(EventPayload):
    """A counter at the site, or a remote position (an agent working from another city or
    country who serves this site's queues)."""

    site_id: str
    desk_id: str
    kind: DeskKind
    location: str | None = Field(
        default=None, max_length=120, description="City and country of a remote position."
    )
    added_at: AwareDatetime


@REGISTRY.event("checkin.queue_closed", version=1, topic=CHECKIN_SITES)
class QueueClosed(EventPayload):
    """A supervisor closed a queue for the rest of a local day: no more tickets are issued in
    it that day (the ones waiting are still served)."""

    site_id: str
    queue: ServiceQueue
    service_day: date = Field(description="Local day the closure applies to.")
    reason: str | None = Field(default=None, max_length=200)
    closed_at: AwareDatetime


@REGISTRY.event("checkin.queue_opened", version=1, topic=CHECKIN_SITES)
class QueueOpened(EventPayload):
    """A closed queue was opened again for that local day."""

    site_id: str
    queue: ServiceQueue
    service_day: date
    opened_at: AwareDatetime
