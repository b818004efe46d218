"""Events of the account platform (an external system, not one of Frontdesk's services), on
``frontdesk.platform.accounts``, keyed by ``account-<account_ref>``.

Frontdesk only consumes them: the platform's own adapter publishes them in this envelope, or
reports the same payload to cases over HTTP (``POST /platform/suspensions``, service role). They
carry the rule that fired, its version and threshold, and the facts that triggered it, so that
a case can say exactly why an account was suspended. No personal data.
"""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from pydantic import AwareDatetime, Field

from contracts.base import EventPayload
from contracts.fields import Identifier
from contracts.registry import REGISTRY
from contracts.topics import TopicSpec, register_topic

PLATFORM_ACCOUNTS = register_topic(
    TopicSpec(
        name="frontdesk.platform.accounts",
        producer="platform",
        stream_type="account",
        description="Account enforcement by the platform (suspensions), consumed by cases.",
    )
)


class SuspensionScope(StrEnum):
    """What the platform suspended: ``account`` — the whole account (sign-in, messaging,
    everything); ``wallet`` — only the account's wallet (payments and balance; the account
    itself still works); ``storefront`` — only the account's shop (its listings and sales;
    the account itself still works)."""

    ACCOUNT = "account"
    WALLET = "wallet"
    STOREFRONT = "storefront"


@REGISTRY.event("platform.account_suspended", version=1, topic=PLATFORM_ACCOUNTS)
class AccountSuspended(EventPayload):
    """The platform suspended an account (or its wallet or storefront) because a rule fired.
    Cases links it to the account's cases: customer and agent see the rule and its threshold."""

    suspension_id: UUID = Field(description="The platform's id of this suspension.")
    account_ref: Identifier = Field(description="Opaque platform account id.")
    scope: SuspensionScope = Field(
        description="What was suspended: account (the whole account), wallet (only its "
        "wallet: payments and balance), storefront (only its shop: listings and sales)."
    )
    rule_code: str = Field(
        max_length=64, description="Stable code of the rule, e.g. SPAM-GROUP-CONTACT."
    )
    rule_version: int = Field(ge=1, description="Version of the rule that fired.")
    threshold: int | None = Field(
        default=None, description="The rule's N (e.g. more than 10 group chats)."
    )
    threshold_unit: str | None = Field(
        default=None, max_length=60, description="What N counts, e.g. group_chats."
    )
    window_hours: int | None = Field(
        default=None, ge=1, description="The rule's time window, e.g. 24 (hours)."
    )
    facts: dict[str, str] = Field(
        default_factory=dict,
        description="The concrete facts that triggered it, e.g. {'group_chats': '14'}; "
        "no personal data.",
    )
    suspended_at: AwareDatetime
