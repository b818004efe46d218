"""A person's marketing consent to one organization's campaigns (notifications).

On ``frontdesk.notifications.recipients`` (``recipient-<account>``), beside the person's
preferences. Consent is per sender: the marketing consent in
``notifications.recipient_preferences_set`` is to the platform's own campaigns; a verified
organization's campaigns reach only the people who consented to that organization, each
withdrawn on its own (an organization's unsubscribe link leaves the platform's and the other
organizations' consent as it was). The channels and hours used are the person's own
preferences. Account references are opaque platform ids; no address here.
"""

from __future__ import annotations

from uuid import UUID

from pydantic import AwareDatetime, Field

from contracts.base import EventPayload
from contracts.events.notifications import NOTIFICATIONS_RECIPIENTS, MessageChannel
from contracts.fields import Identifier
from contracts.registry import REGISTRY


@REGISTRY.event("notifications.organization_consent_set", version=1, topic=NOTIFICATIONS_RECIPIENTS)
class OrganizationConsentSet(EventPayload):
    """The channels a person agreed to receive one organization's marketing on, as a whole
    (each change restates them: the history is an audit trail of that consent)."""

    data_subject = ("account", "account_ref")

    account_ref: Identifier
    organization_id: UUID = Field(description="The verified organization consented to.")
    marketing_consent: list[MessageChannel] = Field(
        default_factory=list, description="Channels agreed to; empty: withdrawn."
    )
    set_by: str = Field(
        description="Who recorded it: the organization's staff on the person's word, "
        "unsubscribe:<channel> (the link of that organization's campaign), or "
        "inbound:<channel> (an opt-out reply, which withdraws every consent on its channel)."
    )
    set_at: AwareDatetime
