"""How long notifications keeps delivery records and people's contact details.

Rendered message texts are never stored (a message is rendered when it is sent, from its
template and variables), so what a message leaves behind is its delivery record: the log row
(kind, channel, status, provider id), the provider's message id that maps a receipt to it, and
the send time that rate limits count (a withdrawn message leaves its log row too). Those go after
``FRONTDESK_NOTIFICATIONS_RETENTION_DELIVERY_DAYS`` (default 90). The phone a visitor left for
their ticket goes after ``..._TICKET_CONTACT_DAYS`` (default 180: a case's decision is told on
the phone of the account's latest ticket, and a case may take months); the phone and hours of a
callback that is over after ``..._CLOSED_CALLBACK_DAYS`` (default 30: a kept or missed callback
is on its case's timeline). A person's preferences and consents are kept while they are the
person's choice (until they change them or are erased).

An organization's contact person (name, phone, email, as its verification gave them) goes
``..._ORGANIZATION_CONTACT_DAYS`` (default 90) after its verification ended (verified or
rejected: no step is told after that; a new submission gives a new contact). A campaign's
audience snapshot (``campaign_targets``: which accounts it targeted, in order) goes
``..._CAMPAIGN_TARGET_DAYS`` (default 30) after the campaign completed or was cancelled (its
counts stay in its events; each message's own record follows the delivery period). The ids of
inbound replies (no address, no text) go with the delivery records.

Periods are measured by the database's clock (runtime/retention.py); the daily retention job
publishes ``retention.data_purged`` with the counts (docs/privacy.md).
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime.retention import RetentionPolicy

FINAL_MESSAGE = "status IN ('sent', 'delivered', 'failed', 'withdrawn')"


class NotificationsRetentionSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FRONTDESK_NOTIFICATIONS_RETENTION_", extra="ignore"
    )

    delivery_days: float = Field(default=90, gt=1, le=3650)  # > the rate limit's hour
    ticket_contact_days: float = Field(default=180, gt=0, le=3650)
    closed_callback_days: float = Field(default=30, gt=0, le=3650)
    organization_contact_days: float = Field(default=90, gt=0, le=3650)
    campaign_target_days: float = Field(default=30, gt=0, le=3650)


def policies(settings: NotificationsRetentionSettings | None = None) -> list[RetentionPolicy]:
    settings = settings or NotificationsRetentionSettings()
    delivery = timedelta(days=settings.delivery_days)
    contact = timedelta(days=settings.ticket_contact_days)
    return [
        # before the log rows they are timed by (a provider id outlives no log row)
        RetentionPolicy(
            "provider_message_ids",
            "provider message ids that map delivery receipts to messages",
            "provider_messages",
            "(SELECT requested_at FROM notification_log l "
            "WHERE l.notification_id = provider_messages.notification_id)",
            delivery,
        ),
        RetentionPolicy(
            "delivery_records",
            "delivery records of messages (kind, channel, status, provider id, failure)",
            "notification_log",
            "requested_at",
            delivery,
            condition=FINAL_MESSAGE,
        ),
        RetentionPolicy(
            "recipient_sends",
            "send times per recipient, counted by the rate limit",
            "recipient_sends",
            "sent_at",
            delivery,
        ),
        # before ticket_reach, whose issue time they are timed by
        RetentionPolicy(
            "ticket_contacts",
            "the phone a visitor left for their ticket's messages",
            "notification_contacts",
            # its own ticket's time (rows projected before it was kept: their ticket_reach's)
            "coalesce(notification_contacts.issued_at, (SELECT issued_at FROM ticket_reach r "
            "WHERE 'ticket:' || r.ticket_id::text = notification_contacts.recipient_ref))",
            contact,
        ),
        RetentionPolicy(
            "ticket_reach",
            "the phone and number of a visitor's ticket (to reach them while it is open)",
            "ticket_reach",
            "issued_at",
            contact,
        ),
        RetentionPolicy(
            "closed_callbacks",
            "the phone and hours of a callback that was kept, missed or cancelled",
            "callback_queue",
            "closed_at",
            timedelta(days=settings.closed_callback_days),
            condition="status <> 'scheduled'",
        ),
        RetentionPolicy(
            "ended_organization_contacts",
            "the contact person of an organization whose verification ended",
            "organization_contacts",
            "ended_at",
            timedelta(days=settings.organization_contact_days),
        ),
        RetentionPolicy(
            "ended_campaign_targets",
            "which accounts a campaign targeted, once it completed or was cancelled",
            "campaign_targets",
            "(SELECT finished_at FROM campaigns c "
            "WHERE c.campaign_id = campaign_targets.campaign_id)",
            timedelta(days=settings.campaign_target_days),
        ),
        RetentionPolicy(
            "inbound_replies",
            "ids of inbound replies taken (duplicate detection; no address, no text)",
            "inbound_replies",
            "received_at",
            delivery,
        ),
    ]
