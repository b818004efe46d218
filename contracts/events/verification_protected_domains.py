"""The registry of protected brands and their domains, on
``frontdesk.verification.protected_domains``.

Operators (role ``admin``) keep a list of brands that impersonators imitate and the domains
each brand owns (``byd.com`` for BYD), whether or not the brand has verified an organization
here. An organization's domains are screened against them as against verified organizations'
domains (``verification.lookalike_domain_flagged``). The list is seeded with a documented set
when the service starts (``source: seed``); a seed an operator removed is not brought back.

One stream for the whole registry: ``protected_domains-registry``.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, Field

from contracts.base import EventPayload
from contracts.registry import REGISTRY
from contracts.topics import TopicSpec, register_topic

VERIFICATION_PROTECTED_DOMAINS = register_topic(
    TopicSpec(
        name="frontdesk.verification.protected_domains",
        producer="verification",
        stream_type="protected_domains",
        description="The operators' registry of protected brands and their domains.",
    )
)


class ProtectionSource(StrEnum):
    SEED = "seed"  # the documented list the service starts with
    OPERATOR = "operator"  # added by an operator over HTTP


@REGISTRY.event(
    "verification.protected_domain_added", version=1, topic=VERIFICATION_PROTECTED_DOMAINS
)
class ProtectedDomainAdded(EventPayload):
    """A brand's domain is protected: look-alikes of it are flagged at submission."""

    domain: str = Field(max_length=253, description="The brand's own domain, normalized.")
    brand: str = Field(max_length=100, description="The brand's name (public).")
    source: ProtectionSource
    added_by: str = Field(max_length=200, description="An operator's id, or verification.")
    added_at: AwareDatetime


@REGISTRY.event(
    "verification.protected_domain_removed", version=1, topic=VERIFICATION_PROTECTED_DOMAINS
)
class ProtectedDomainRemoved(EventPayload):
    """An operator took a domain off the registry (its look-alikes are no longer flagged for
    it, unless an organization verified it)."""

    domain: str = Field(max_length=253)
    brand: str = Field(max_length=100)
    reason: str = Field(max_length=500, description="The operator's reason (about the brand).")
    removed_by: str = Field(max_length=200)
    removed_at: AwareDatetime
