"""Settings load with safe defaults and refuse what would lose events or leak access."""

from __future__ import annotations

import os
from urllib.parse import unquote, urlsplit

import pytest

from runtime.settings import (
    DEV_JWT_SECRET,
    KafkaSettings,
    ServiceSettings,
    UnsafeSettings,
)

pytestmark = pytest.mark.unit

PRODUCTION_MASTER_KEY = "cHJvZHVjdGlvbi1tYXN0ZXIta2V5LTMyLWJ5dGVzISE="  # 32 bytes, base64
STRONG_SECRET = "0123456789abcdefghijklmnopqrstuvwxyzABCD"  # 40 characters


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test sets: nothing from the developer's shell or CI."""
    for name in list(os.environ):
        if name.startswith(("FRONTDESK_", "PG")):
            monkeypatch.delenv(name)


def test_defaults_are_safe_and_load() -> None:
    settings = ServiceSettings()
    assert settings.env == "development"
    assert settings.kafka.producer_acks == "all"
    assert settings.kafka.enable_idempotence is True
    assert settings.kafka.consumer_ack_policy == "ack"
    assert settings.kafka.durability_problems() == []
    assert settings.jwt_secret.get_secret_value() == DEV_JWT_SECRET
    assert settings.dsn("checkin") == "postgresql://frontdesk:frontdesk@127.0.0.1:55432/checkin"


UNSAFE_KAFKA = [
    pytest.param("FRONTDESK_KAFKA_PRODUCER_ACKS", "1", "PRODUCER_ACKS=1", id="acks-1"),
    pytest.param("FRONTDESK_KAFKA_PRODUCER_ACKS", "0", "PRODUCER_ACKS=0", id="acks-0"),
    pytest.param(
        "FRONTDESK_KAFKA_ENABLE_IDEMPOTENCE", "false", "ENABLE_IDEMPOTENCE", id="no-idempotence"
    ),
    pytest.param("FRONTDESK_KAFKA_CONSUMER_ACK_POLICY", "ack_first", "ack_first", id="ack-first"),
]


@pytest.mark.parametrize(("variable", "value", "message"), UNSAFE_KAFKA)
@pytest.mark.parametrize("env", ["development", "production"])
def test_unsafe_kafka_settings_are_refused_in_every_environment(
    monkeypatch: pytest.MonkeyPatch, env: str, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv("FRONTDESK_ENV", env)
    monkeypatch.setenv("FRONTDESK_JWT_SECRET", STRONG_SECRET)
    monkeypatch.setenv("PGPASSWORD", "a-production-database-password")
    monkeypatch.setenv("FRONTDESK_KEYSTORE_MASTER_KEY", PRODUCTION_MASTER_KEY)
    monkeypatch.setenv(variable, value)
    with pytest.raises(UnsafeSettings, match=message):
        ServiceSettings()


def test_unsafe_settings_raise_unsafe_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_KAFKA_PRODUCER_ACKS", "1")
    with pytest.raises(UnsafeSettings):
        ServiceSettings()


def test_every_durability_problem_is_reported_at_once() -> None:
    kafka = KafkaSettings(
        producer_acks="1", enable_idempotence=False, consumer_ack_policy="ack_first"
    )
    problems = kafka.durability_problems()
    assert len(problems) == 3
    assert any("PRODUCER_ACKS" in p for p in problems)
    assert any("ENABLE_IDEMPOTENCE" in p for p in problems)
    assert any("ack_first" in p for p in problems)


@pytest.mark.parametrize(
    ("secret", "message"),
    [
        pytest.param(None, "must be set", id="default-secret"),
        pytest.param("too-short-secret", "at least 32", id="short-secret"),
    ],
)
def test_production_refuses_a_weak_jwt_secret(
    monkeypatch: pytest.MonkeyPatch, secret: str | None, message: str
) -> None:
    monkeypatch.setenv("FRONTDESK_ENV", "production")
    if secret is not None:
        monkeypatch.setenv("FRONTDESK_JWT_SECRET", secret)
    with pytest.raises(UnsafeSettings, match=message):
        ServiceSettings()


def test_production_accepts_strong_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_ENV", "production")
    monkeypatch.setenv("FRONTDESK_JWT_SECRET", STRONG_SECRET)
    monkeypatch.setenv("PGPASSWORD", "a-production-database-password")
    monkeypatch.setenv("FRONTDESK_KEYSTORE_MASTER_KEY", PRODUCTION_MASTER_KEY)
    # production also needs replicated topics (tests/unit/test_topics_durability.py)
    monkeypatch.setenv("FRONTDESK_KAFKA_REPLICATION_FACTOR", "3")
    monkeypatch.setenv("FRONTDESK_KAFKA_MIN_INSYNC_REPLICAS", "2")
    settings = ServiceSettings()
    assert settings.env == "production"
    assert settings.jwt_secret.get_secret_value() == STRONG_SECRET


def test_test_environment_accepts_the_development_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_ENV", "test")
    assert ServiceSettings().jwt_secret.get_secret_value() == DEV_JWT_SECRET


def test_dsn_honours_libpq_variables_and_the_database_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PGHOST", "db.internal.example")
    monkeypatch.setenv("PGPORT", "6543")
    monkeypatch.setenv("PGUSER", "frontdesk_app")
    monkeypatch.setenv("PGPASSWORD", "pw-from-env")
    monkeypatch.setenv("FRONTDESK_DATABASE_PREFIX", "run42_")
    assert ServiceSettings().dsn("checkin") == (
        "postgresql://frontdesk_app:pw-from-env@db.internal.example:6543/run42_checkin"
    )


def test_production_refuses_the_development_database_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FRONTDESK_ENV", "production")
    monkeypatch.setenv("FRONTDESK_JWT_SECRET", STRONG_SECRET)
    with pytest.raises(UnsafeSettings, match="PGPASSWORD"):
        ServiceSettings()


def test_each_setting_has_one_variable_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_PG_HOST", "not-read.example")
    assert ServiceSettings().pg_host == "127.0.0.1"


def test_a_bad_database_prefix_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_DATABASE_PREFIX", "run-42; drop")
    with pytest.raises(ValueError, match="database_prefix"):
        ServiceSettings()


def test_dsn_survives_a_password_with_url_characters(monkeypatch: pytest.MonkeyPatch) -> None:
    password = "p@ss:w/rd#1?"
    monkeypatch.setenv("PGHOST", "db.internal.example")
    monkeypatch.setenv("PGPORT", "6543")
    monkeypatch.setenv("PGPASSWORD", password)
    parts = urlsplit(ServiceSettings().dsn("checkin"))
    assert (parts.hostname, parts.port, parts.path) == ("db.internal.example", 6543, "/checkin")
    assert unquote(parts.password or "") == password


def test_secrets_never_appear_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_JWT_SECRET", STRONG_SECRET)
    monkeypatch.setenv("PGPASSWORD", "pg-password-do-not-log")
    settings = ServiceSettings()
    assert settings.jwt_secret.get_secret_value() == STRONG_SECRET  # it was loaded
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert STRONG_SECRET not in text
        assert "pg-password-do-not-log" not in text


def test_production_refuses_the_development_master_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDESK_ENV", "production")
    monkeypatch.setenv("FRONTDESK_JWT_SECRET", STRONG_SECRET)
    monkeypatch.setenv("PGPASSWORD", "a-production-database-password")
    with pytest.raises(UnsafeSettings, match="FRONTDESK_KEYSTORE_MASTER_KEY"):
        ServiceSettings()


@pytest.mark.parametrize("value", ["not base64!", "c2hvcnQ="])
def test_a_master_key_that_is_not_32_bytes_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("FRONTDESK_KEYSTORE_MASTER_KEY", value)
    with pytest.raises(UnsafeSettings, match="32 random bytes"):
        ServiceSettings()
