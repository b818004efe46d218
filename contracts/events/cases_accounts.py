"""Events the cases service keeps about accounts and staff, beside its cases.

- ``frontdesk.cases.accounts`` (``account-<account_ref>``): what cases knows about one platform
  account as a whole: the platform suspensions it recorded (from platform.account_suspended)
  and the tags put on the customer for campaigns.
- ``frontdesk.cases.staff`` (``staff_member-<staff_id>``): which specialist queues a member of
  staff works (their skills), used for workload-aware assignment.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import AwareDatetime, Field

from contracts.base import EventPayload
from contracts.events.cases import SuspensionRule
from contracts.events.platform import SuspensionScope
from contracts.fields import Identifier
from contracts.registry import REGISTRY
from contracts.topics import TopicSpec, register_topic
from contracts.vocabulary import ServiceQueue

CASES_ACCOUNTS = register_topic(
    TopicSpec(
        name="frontdesk.cases.accounts",
        producer="cases",
        stream_type="account",
        description="Suspensions recorded for an account and tags on the customer.",
    )
)
CASES_STAFF = register_topic(
    TopicSpec(
        name="frontdesk.cases.staff",
        producer="cases",
        stream_type="staff_member",
        description="The specialist queues each member of staff works.",
    )
)

TAG = r"^[a-z0-9][a-z0-9_.-]{1,63}$"


@REGISTRY.event("cases.suspension_recorded", version=1, topic=CASES_ACCOUNTS)
class SuspensionRecorded(EventPayload):
    """Cases recorded a platform suspension of the account; every open case of the account,
    and every case opened later while it stands, links it."""

    account_ref: Identifier
    scope: SuspensionScope = Field(
        description="What the platform suspended: account (the whole account), wallet (only "
        "its wallet), storefront (only its shop)."
    )
    suspension: SuspensionRule
    platform_event_id: UUID = Field(
        description="Event id of platform.account_suspended; for a suspension the platform "
        "reported over HTTP, an id derived from its suspension id."
    )
    recorded_at: AwareDatetime


@REGISTRY.event("cases.customer_tagged", version=1, topic=CASES_ACCOUNTS)
class CustomerTagged(EventPayload):
    """A tag was put on the customer of an account (for campaigns; whether a campaign may
    reach them is their marketing consent, kept by notifications)."""

    account_ref: Identifier
    tag: str = Field(pattern=TAG, examples=["wallet-reactivated", "minor-refund-2026"])
    campaign_id: str | None = Field(default=None, max_length=100)
    case_id: UUID | None = Field(default=None, description="The case that led to it, if any.")
    tagged_at: AwareDatetime
    organization_id: UUID | None = Field(
        default=None,
        description="The verified organization whose contact centre put the tag (its campaigns "
        "alone may use it); None: the platform's own service centre.",
    )


@REGISTRY.event("cases.customer_untagged", version=1, topic=CASES_ACCOUNTS)
class CustomerUntagged(EventPayload):
    """A tag was taken off the customer of an account."""

    account_ref: Identifier
    tag: str = Field(pattern=TAG)
    untagged_at: AwareDatetime
    organization_id: UUID | None = Field(
        default=None,
        description="Whose tag it was (the organization's contact centre; None: the platform's).",
    )


@REGISTRY.event("cases.staff_skills_set", version=1, topic=CASES_STAFF)
class StaffSkillsSet(EventPayload):
    """The specialist queues a member of staff works, and whether they take cases now."""

    staff_id: str = Field(min_length=1, max_length=100)
    queues: list[ServiceQueue]
    active: bool
    set_at: AwareDatetime
