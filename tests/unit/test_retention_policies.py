"""The services' retention policies: declared, documented, configurable, and SQL that only
touches what is past its period."""

from __future__ import annotations

from datetime import timedelta

import pytest

from runtime.retention import RetentionPolicy
from services.cases.retention import CasesRetentionSettings
from services.cases.retention import policies as cases_policies
from services.checkin.retention import policies as checkin_policies
from services.notifications.retention import NotificationsRetentionSettings
from services.notifications.retention import policies as notifications_policies
from services.verification.application.retention import policies as verification_policies

pytestmark = pytest.mark.unit


def test_every_service_declares_named_documented_policies_in_its_definition() -> None:
    from runtime.cli import definition_of

    for service, declared in (
        ("cases", cases_policies()),
        ("checkin", checkin_policies()),
        ("notifications", notifications_policies()),
        ("verification", verification_policies()),
    ):
        definition = definition_of(service)
        assert [p.name for p in definition.retention] == [p.name for p in declared], service
        assert definition.export_subject.__module__ == f"services.{service}.subject_data"
        for policy in declared:
            assert policy.description, policy.name
            assert policy.keep > timedelta(0), policy.name
        assert len({p.name for p in declared}) == len(declared), service


def test_a_redaction_clears_only_the_named_columns_of_rows_past_the_period() -> None:
    policy = RetentionPolicy(
        "closed_case_summaries",
        "words",
        "case_views",
        "coalesce(updated_at, opened_at)",
        timedelta(days=1095),
        condition="status = 'closed'",
        columns=("summary",),
    )
    sql = policy.delete_sql()
    assert sql.startswith("WITH gone AS (UPDATE case_views SET summary = NULL WHERE ")
    assert "coalesce(updated_at, opened_at) < now() - $1::interval" in sql
    assert "AND (status = 'closed') AND (summary IS NOT NULL)" in sql
    assert "DELETE" not in sql
    # without columns a policy deletes the rows
    plain = RetentionPolicy("x", "x", "t", "at", timedelta(days=1)).delete_sql()
    assert plain.startswith("WITH gone AS (DELETE FROM t WHERE at < now() - $1::interval")


def test_periods_are_configurable_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_CASES_RETENTION_CLOSED_CASE_YEARS", "7")
    monkeypatch.setenv("FRONTDESK_NOTIFICATIONS_RETENTION_DELIVERY_DAYS", "30")
    closed = {p.name: p.keep for p in cases_policies(CasesRetentionSettings())}
    assert closed["closed_case_summaries"] == timedelta(days=7 * 365)
    delivery = {p.name: p.keep for p in notifications_policies(NotificationsRetentionSettings())}
    assert delivery["delivery_records"] == timedelta(days=30)
    monkeypatch.setenv("FRONTDESK_NOTIFICATIONS_RETENTION_DELIVERY_DAYS", "0.5")
    with pytest.raises(ValueError, match="delivery_days"):
        NotificationsRetentionSettings()


def test_dependent_rows_go_before_the_rows_they_are_timed_by() -> None:
    names = [p.name for p in notifications_policies()]
    assert names.index("provider_message_ids") < names.index("delivery_records")
    assert names.index("ticket_contacts") < names.index("ticket_reach")
