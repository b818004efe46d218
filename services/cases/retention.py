"""How long cases keeps a person's words: retention policies of the cases service.

A closed case keeps its facts (type, status, decision and its rule, service levels) for the
statistics and for any later dispute, but the person's own words in it — the summary, what they
said at each contact, the notes staff wrote about them — are cleared once the case has been
closed for ``FRONTDESK_CASES_RETENTION_CLOSED_CASE_YEARS`` (default 3) years. The audit log of
who looked at a person's data is kept ``FRONTDESK_CASES_RETENTION_AUDIT_LOG_YEARS`` (default 5).

Periods are measured by the database's clock (runtime/retention.py); the daily retention job
publishes ``retention.data_purged`` with the counts (docs/privacy.md).
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from runtime.retention import RetentionPolicy

YEAR = timedelta(days=365)
# when a case was closed: its last change (closing is the last change of a closed case)
CLOSED_AT = "coalesce(updated_at, opened_at)"


class CasesRetentionSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRONTDESK_CASES_RETENTION_", extra="ignore")

    closed_case_years: float = Field(default=3, gt=0, le=30)
    audit_log_years: float = Field(default=5, gt=0, le=30)


def policies(settings: CasesRetentionSettings | None = None) -> list[RetentionPolicy]:
    settings = settings or CasesRetentionSettings()
    closed = settings.closed_case_years * YEAR
    # the contacts and notes of a case closed before the cut ($1 is the period)
    of_case_closed_long_ago = (
        "case_id IN (SELECT case_id FROM case_views WHERE status = 'closed' "
        f"AND {CLOSED_AT} < now() - $1::interval)"
    )
    return [
        RetentionPolicy(
            "closed_case_summaries",
            "the customer's own words in the summary of a case closed long ago",
            "case_views",
            CLOSED_AT,
            closed,
            condition="status = 'closed'",
            columns=("summary",),
        ),
        RetentionPolicy(
            "closed_case_contact_words",
            "what the person said at each contact of a case closed long ago",
            "case_contacts",
            "at",
            closed,
            condition=of_case_closed_long_ago,
            columns=("words",),
        ),
        RetentionPolicy(
            "closed_case_notes",
            "notes staff wrote about the person on a case closed long ago",
            "case_notes",
            "added_at",
            closed,
            condition=of_case_closed_long_ago,
            columns=("text",),
        ),
        RetentionPolicy(
            "personal_data_accesses",
            "the audit log of who looked at a person's data",
            "personal_data_accesses",
            "accessed_at",
            settings.audit_log_years * YEAR,
        ),
    ]
