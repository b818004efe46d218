"""Shared words of the domain used by more than one service's events."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from contracts.fields import PlainText35

# A phone number in E.164 ("+" country code and number, at most 15 digits): the one pattern
# every API, contract and token check uses.
E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"

# A specialist skill (an agent has it, a ticket may require it): a lower-case word of a fixed
# vocabulary such as ``minors_refunds``, as request models accept it.
SKILL_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
Skill = Annotated[str, Field(min_length=1, max_length=64, pattern=SKILL_PATTERN)]


class ServiceQueue(StrEnum):
    """Problem areas a site serves, each its own queue (ticket prefix in brackets)."""

    ACCOUNT_SECURITY = "account_security"  # A
    WALLET_PAYMENTS = "wallet_payments"  # W
    MINORS_FAMILY = "minors_family"  # M
    COMMERCE_DISPUTES = "commerce_disputes"  # D
    GENERAL = "general"  # G


class Channel(StrEnum):
    WALK_IN = "walk_in"
    PHONE = "phone"
    CHAT_QQ = "chat_qq"
    CHAT_WECHAT = "chat_wechat"
    CHAT_WEB = "chat_web"
    EMAIL = "email"
    VIRTUAL_QUEUE = "virtual_queue"


class ProblemCategory(StrEnum):
    ACCOUNT_SUSPENDED = "account_suspended"
    ACCOUNT_RECOVERY_LOST_PHONE = "account_recovery_lost_phone"
    WALLET_REACTIVATION = "wallet_reactivation"
    THIRD_PARTY_REPORT_DISPUTE = "third_party_report_dispute"
    MINOR_SPENDING_REFUND = "minor_spending_refund"
    OTHER = "other"


class AccessibilityNeed(StrEnum):
    ELDERLY = "elderly"
    HEARING = "hearing"
    MOBILITY = "mobility"
    VISION = "vision"


class ProxyRelationship(StrEnum):
    GUARDIAN = "guardian"
    SPOUSE = "spouse"
    OTHER_PROXY = "other_proxy"


class LanguagePreference(BaseModel):
    """A BCP 47 language tag and, where it matters for routing, a dialect (``yue`` Cantonese)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    # bounded (35, RFC 5646's practical length) when written; the pattern alone repeats freely
    tag: PlainText35 = Field(
        pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$", examples=["zh-CN", "en"]
    )
    dialect: str | None = Field(default=None, max_length=40, examples=["yue", "wuu"])


class VerificationPurpose(StrEnum):
    """Why someone must prove who they are; with the risk level it decides the checks."""

    ACCOUNT_RECOVERY = "account_recovery"
    SUSPENSION_APPEAL = "suspension_appeal"
    WALLET_REACTIVATION = "wallet_reactivation"
    GUARDIAN_OF_MINOR = "guardian_of_minor"
    PROXY_FOR_ABSENT_HOLDER = "proxy_for_absent_holder"
    THIRD_PARTY_REPORT_DISPUTE = "third_party_report_dispute"


class RiskLevel(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class PersonRole(StrEnum):
    """Whose identity a check is about: the account holder, or a proxy acting for them."""

    HOLDER = "holder"
    PROXY = "proxy"
