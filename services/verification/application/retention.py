"""How long verification keeps what is not evidence media (media has its own purge timer,
``FRONTDESK_VERIFICATION_MEDIA_RETENTION_DAYS``).

- Ids of the identity provider's webhook deliveries are kept to refuse a replay; the provider's
  signature is only valid for minutes, so ``..._WEBHOOK_DAYS`` (default 30) is ample.
- A finished session forgets its questions (they quote account facts) and its code digests
  at once (services/verification/application/sessions.py); a backstop removes any left by a
  session that never finished after ``..._SESSION_SECRET_DAYS`` (default 7; sessions expire
  within hours).
  The same period ends the pairs (notifications message, code delivery) the code-outcome
  reaction remembers: a message's outcome comes within minutes of its request.
- A decided review keeps the requester's reason and the evidence references for
  ``..._DECIDED_REVIEW_DAYS`` (default 365, for a dispute of the decision).

Periods are measured by the database's clock (runtime/retention.py); the daily retention job
publishes ``retention.data_purged`` with the counts (docs/privacy.md).
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime.retention import RetentionPolicy


class VerificationRetentionSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="FRONTDESK_VERIFICATION_RETENTION_", extra="ignore"
    )

    webhook_days: float = Field(default=30, ge=1, le=3650)
    session_secret_days: float = Field(default=7, ge=1, le=3650)
    decided_review_days: float = Field(default=365, gt=0, le=3650)


def policies(settings: VerificationRetentionSettings | None = None) -> list[RetentionPolicy]:
    settings = settings or VerificationRetentionSettings()
    secrets = timedelta(days=settings.session_secret_days)
    return [
        RetentionPolicy(
            "provider_deliveries",
            "ids of the identity provider's webhook deliveries (to refuse replays)",
            "provider_deliveries",
            "received_at",
            timedelta(days=settings.webhook_days),
        ),
        RetentionPolicy(
            "stale_code_deliveries",
            "one-time-code deliveries (digests) a session left behind",
            "code_deliveries",
            "requested_at",
            secrets,
        ),
        RetentionPolicy(
            "code_delivery_messages",
            "which notifications message carried which code delivery (ids only)",
            "code_delivery_messages",
            "requested_at",
            secrets,
        ),
        RetentionPolicy(
            "stale_knowledge_questions",
            "knowledge questions (quoting account facts) a session left behind",
            "knowledge_questions",
            "(SELECT started_at FROM session_views s "
            "WHERE s.verification_id = knowledge_questions.verification_id)",
            secrets,
        ),
        RetentionPolicy(
            "decided_reviews",
            "decided reviews: the requester's reason and the evidence references",
            "review_queue",
            "decided_at",
            timedelta(days=settings.decided_review_days),
            condition="status <> 'open'",
        ),
    ]
