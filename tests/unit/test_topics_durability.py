"""Topics survive a lost broker: replication factor, min.insync.replicas and partitions per
environment, unclean leader election off, and production refusing fewer copies."""

from __future__ import annotations

import os
from typing import Any

import pytest

from contracts import TOPICS, dead_letter_topic
from contracts.topics import CHECKIN_TICKETS
from runtime import kafka as runtime_kafka
from runtime.settings import KafkaSettings, ServiceSettings, UnsafeSettings

pytestmark = pytest.mark.unit

PRODUCTION = {
    "FRONTDESK_ENV": "production",
    "FRONTDESK_JWT_SECRET": "0123456789abcdefghijklmnopqrstuvwxyzABCD",
    "PGPASSWORD": "a-production-database-password",
    "FRONTDESK_KEYSTORE_MASTER_KEY": "cHJvZHVjdGlvbi1tYXN0ZXIta2V5LTMyLWJ5dGVzISE=",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("FRONTDESK_", "PG")):
            monkeypatch.delenv(name)


def production(monkeypatch: pytest.MonkeyPatch, **kafka: str) -> None:
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    for name, value in kafka.items():
        monkeypatch.setenv(f"FRONTDESK_KAFKA_{name.upper()}", value)


def test_development_keeps_one_copy_on_the_one_local_broker() -> None:
    settings = ServiceSettings()
    assert settings.kafka.replication_factor == 1
    assert settings.kafka.min_insync_replicas == 1
    assert settings.kafka.partitions is None
    assert settings.kafka.durability_problems(settings.env) == []


@pytest.mark.parametrize(
    ("replication_factor", "min_insync_replicas", "message"),
    [
        ("1", "1", "REPLICATION_FACTOR=1"),
        ("2", "2", "REPLICATION_FACTOR=2"),
        ("3", "1", "MIN_INSYNC_REPLICAS=1"),
    ],
)
def test_production_refuses_fewer_than_three_copies_or_two_in_sync(
    monkeypatch: pytest.MonkeyPatch, replication_factor: str, min_insync_replicas: str, message: str
) -> None:
    production(
        monkeypatch,
        replication_factor=replication_factor,
        min_insync_replicas=min_insync_replicas,
    )
    with pytest.raises(UnsafeSettings, match=message):
        ServiceSettings()


def test_production_refuses_the_development_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    production(monkeypatch)
    with pytest.raises(UnsafeSettings, match="REPLICATION_FACTOR=1") as refused:
        ServiceSettings()
    assert "MIN_INSYNC_REPLICAS=1" in str(refused.value)


def test_production_accepts_three_copies_two_in_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    production(monkeypatch, replication_factor="3", min_insync_replicas="2", partitions="12")
    settings = ServiceSettings()
    assert (settings.kafka.replication_factor, settings.kafka.min_insync_replicas) == (3, 2)
    assert settings.kafka.partitions == 12


@pytest.mark.parametrize("env", ["development", "test", "production"])
def test_more_in_sync_replicas_than_copies_is_refused_everywhere(
    monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    production(monkeypatch, replication_factor="3", min_insync_replicas="4")
    monkeypatch.setenv("FRONTDESK_ENV", env)
    with pytest.raises(UnsafeSettings, match="every acks=all write would fail"):
        ServiceSettings()


def test_the_topic_configuration_never_elects_an_out_of_sync_leader() -> None:
    settings = KafkaSettings(replication_factor=3, min_insync_replicas=2)
    for spec in [*TOPICS.values(), dead_letter_topic("cases.intake")]:
        config = settings.topic_config(spec)
        assert config["unclean.leader.election.enable"] == "false"
        assert config["min.insync.replicas"] == "2"
        assert config["retention.ms"] == str(spec.retention_ms)


def test_partitions_per_environment_apply_to_event_topics_only() -> None:
    dead_letters = dead_letter_topic("cases.intake")
    assert KafkaSettings().partitions_of(CHECKIN_TICKETS) == CHECKIN_TICKETS.partitions
    grown = KafkaSettings(partitions=24)
    assert grown.partitions_of(CHECKIN_TICKETS) == 24
    assert grown.partitions_of(dead_letters) == dead_letters.partitions == 1


class FakeAdmin:
    """Records what ensure_topics asks of the cluster."""

    created: list[Any]
    altered: list[Any]

    def __init__(self, **_: object) -> None:
        FakeAdmin.created, FakeAdmin.altered = [], []

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def list_topics(self) -> list[str]:
        return ["x.frontdesk.cases.cases"]

    async def create_topics(self, topics: list[Any]) -> Any:
        FakeAdmin.created = topics

        class Response:
            topic_errors = [(topic.name, 0, None) for topic in topics]

        return Response()

    async def alter_configs(self, resources: list[Any]) -> None:
        FakeAdmin.altered = resources


async def test_ensure_topics_creates_replicated_topics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime_kafka, "AIOKafkaAdminClient", FakeAdmin)
    settings = KafkaSettings(
        topic_prefix="x.", replication_factor=3, min_insync_replicas=2, partitions=12
    )
    created = await runtime_kafka.ensure_topics(
        settings, [CHECKIN_TICKETS, TOPICS["frontdesk.cases.cases"], dead_letter_topic("g")]
    )
    assert created == ["x.frontdesk.checkin.tickets", "x.frontdesk.deadletter.g"]
    shapes = {
        topic.name: (topic.num_partitions, topic.replication_factor, topic.topic_configs)
        for topic in FakeAdmin.created
    }
    for name, partitions in (("x.frontdesk.checkin.tickets", 12), ("x.frontdesk.deadletter.g", 1)):
        count, replicas, config = shapes[name]
        assert (count, replicas) == (partitions, 3)
        assert config["min.insync.replicas"] == "2"
        assert config["unclean.leader.election.enable"] == "false"
    [existing] = FakeAdmin.altered
    assert existing.name == "x.frontdesk.cases.cases"
    assert existing.configs["unclean.leader.election.enable"] == "false"
