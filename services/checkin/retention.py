"""How long check-in keeps who a ticket was for.

Check-in's read models never copy a visitor's intake free text or phone: those exist in
check-in only inside its events, encrypted under the person's key (erasable by
crypto-shredding, docs/privacy.md); the readable copies live where they are used — the case's
words in cases (cleared after the case has been closed for years) and the ticket's phone in
notifications (cleared after ``FRONTDESK_NOTIFICATIONS_RETENTION_TICKET_CONTACT_DAYS``).

What check-in keeps in clear is the command-side ticket index: the account, customer and person
each ticket was for (to refuse a second active ticket, to list a customer's tickets). An ended
ticket's row goes after ``FRONTDESK_CHECKIN_RETENTION_ENDED_TICKET_DAYS`` (default 90); queue
statistics (``queue_tickets``) hold no one's identity and are kept.

Periods are measured by the database's clock (runtime/retention.py); the daily retention job
publishes ``retention.data_purged`` with the counts.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime.retention import RetentionPolicy


class CheckinRetentionSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRONTDESK_CHECKIN_RETENTION_", extra="ignore")

    ended_ticket_days: float = Field(default=90, ge=1, le=3650)


def policies(settings: CheckinRetentionSettings | None = None) -> list[RetentionPolicy]:
    settings = settings or CheckinRetentionSettings()
    return [
        RetentionPolicy(
            "ended_tickets",
            "who an ended ticket was for (account, customer, person) in the ticket index",
            "ticket_index",
            "ended_at",
            timedelta(days=settings.ended_ticket_days),
            condition="status IN ('completed', 'no_show', 'left')",
        ),
    ]
