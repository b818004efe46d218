"""Typed settings from environment variables, with safe local defaults.

Service settings are prefixed ``FRONTDESK_`` (Kafka ones ``FRONTDESK_KAFKA_``); PostgreSQL is
reached with libpq's own ``PGHOST``/``PGPORT``/``PGUSER``/``PGPASSWORD``; OpenTelemetry reads the
standard ``OTEL_*`` variables. Unsafe Kafka settings are refused in every environment; default
secrets are refused in production.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from contracts.topics import TopicSpec

DEV_JWT_SECRET = "frontdesk-development-secret-change-me"  # noqa: S105 - refused outside dev
DEV_DATABASE_PASSWORD = "frontdesk"  # noqa: S105 - local development default only
# base64 of 32 bytes; refused outside development and test
DEV_KEYSTORE_MASTER_KEY = "ZnJvbnRkZXNrLWRldmVsb3BtZW50LW1hc3Rlci1rZXk="
DEAD_LETTER_STREAM = "deadletter"  # contracts.topics.dead_letter_topic's stream type


class UnsafeSettings(Exception):
    """Settings that would lose events or leak access; the service refuses to start.

    Deliberately not a ValueError: pydantic would wrap a ValueError raised in a validator into a
    ValidationError, and callers could no longer tell "unsafe" from "malformed"."""


class KafkaSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRONTDESK_KAFKA_", extra="ignore")

    bootstrap_servers: str = "127.0.0.1:19092"
    producer_acks: Literal["all", "1", "0"] = "all"
    enable_idempotence: bool = True
    # The runner never lets an exception escape (it retries, then dead-letters), so "ack" —
    # commit after processing — is the one policy that makes sense; ack_first is refused.
    consumer_ack_policy: Literal["ack", "ack_first"] = "ack"
    consumer_max_attempts: int = Field(default=5, ge=1, le=100)
    consumer_retry_backoff_ms: int = Field(default=200, ge=0)
    consumer_poll_timeout_ms: int = Field(
        default=1000,
        ge=10,
        le=60_000,
        description="How long an idle consumer group's poll waits before it polls again. "
        "A poll returns as soon as a record is there (aiokafka's fetcher long-polls the broker "
        "on its own), so this delays no record: it sets how often an idle group wakes the "
        "process (runtime.consumer.long_polls).",
    )
    max_message_bytes: int = Field(
        default=1_048_576,
        ge=65_536,
        description="The largest record the producer sends (max_request_size) and every topic "
        "accepts (max.message.bytes); the broker's message.max.bytes must be at least this "
        "(deploy/kafka/server.properties.template). Events are capped well under it "
        "(FRONTDESK_EVENT_MAX_BYTES).",
    )
    topic_prefix: str = Field(
        default="",
        pattern=r"^[a-z0-9_.-]*$",
        description="Namespace for every topic name (e.g. staging.); tests use one per run.",
    )
    # Durability of the topics this environment creates (runtime/kafka.py::ensure_topics).
    # Development keeps 1 (one local broker); production refuses fewer than 3 copies with 2 in
    # sync, so losing one broker loses no acknowledged event and stops no producer.
    replication_factor: int = Field(default=1, ge=1, le=16)
    min_insync_replicas: int = Field(default=1, ge=1, le=16)
    partitions: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="Partitions of every event topic created here (default: the registry's); "
        "dead-letter topics keep theirs. Never changes an existing topic.",
    )

    def topic(self, name: str) -> str:
        """The physical topic name of a registry topic in this environment."""
        return f"{self.topic_prefix}{name}"

    def partitions_of(self, spec: TopicSpec) -> int:
        """Partitions a topic is created with in this environment."""
        if self.partitions is None or spec.stream_type == DEAD_LETTER_STREAM:
            return spec.partitions
        return self.partitions

    def topic_config(self, spec: TopicSpec) -> dict[str, str]:
        """The Kafka configuration of a registry topic in this environment: its retention, the
        environment's min.insync.replicas, and never an out-of-sync replica as leader."""
        return {
            **spec.kafka_config(),
            "min.insync.replicas": str(self.min_insync_replicas),
            "unclean.leader.election.enable": "false",
            "max.message.bytes": str(self.max_message_bytes),
        }

    def durability_problems(self, env: str = "development") -> list[str]:
        problems = []
        if self.min_insync_replicas > self.replication_factor:
            problems.append(
                f"FRONTDESK_KAFKA_MIN_INSYNC_REPLICAS={self.min_insync_replicas} is more than "
                f"FRONTDESK_KAFKA_REPLICATION_FACTOR={self.replication_factor}: "
                "every acks=all write would fail"
            )
        if env == "production" and self.replication_factor < 3:
            problems.append(
                f"FRONTDESK_KAFKA_REPLICATION_FACTOR={self.replication_factor}: production "
                "needs at least 3 copies of every event"
            )
        if env == "production" and self.min_insync_replicas < 2:
            problems.append(
                f"FRONTDESK_KAFKA_MIN_INSYNC_REPLICAS={self.min_insync_replicas}: production "
                "needs at least 2 in-sync copies before acknowledging an event"
            )
        if self.producer_acks != "all":
            problems.append(
                f"FRONTDESK_KAFKA_PRODUCER_ACKS={self.producer_acks}: "
                "a broker failure would lose acknowledged events; use all"
            )
        if not self.enable_idempotence:
            problems.append(
                "FRONTDESK_KAFKA_ENABLE_IDEMPOTENCE=false: producer retries could duplicate "
                "or reorder events"
            )
        if self.consumer_ack_policy == "ack_first":
            problems.append(
                "FRONTDESK_KAFKA_CONSUMER_ACK_POLICY=ack_first: offsets commit before "
                "processing, so a crash loses events; use ack"
            )
        return problems


class ServiceSettings(BaseSettings):
    """Settings of one service process (the service name comes from the service itself)."""

    model_config = SettingsConfigDict(env_prefix="FRONTDESK_", extra="ignore")

    env: Literal["development", "test", "production"] = "development"
    http_host: str = "127.0.0.1"
    http_port: int | None = None
    database_prefix: str = Field(
        default="", pattern=r"^[a-z0-9_]*$", description="Prefix of each service's database name."
    )
    # libpq's own variable names, shared with deploy/infra.sh and docker-compose.yml
    pg_host: str = Field(default="127.0.0.1", validation_alias="PGHOST")
    pg_port: int = Field(default=55432, validation_alias="PGPORT")
    pg_user: str = Field(default="frontdesk", validation_alias="PGUSER")
    pg_password: SecretStr = Field(
        default=SecretStr(DEV_DATABASE_PASSWORD), validation_alias="PGPASSWORD"
    )
    db_pool_min: int = 1
    db_pool_max: int = 10
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_issuer: str = "frontdesk"
    jwt_audience: str = "frontdesk"
    keystore_master_key: SecretStr = Field(
        default=SecretStr(DEV_KEYSTORE_MASTER_KEY),
        description="Base64 of the 32-byte key that wraps subject keys (a KMS in production).",
    )
    keystore_cache_seconds: float = Field(default=30.0, ge=0)
    peers: str = Field(
        default="checkin=http://127.0.0.1:8001,cases=http://127.0.0.1:8002,"
        "verification=http://127.0.0.1:8003,notifications=http://127.0.0.1:8004",
        description="name=url of every service, for calls between services (data export).",
    )
    relay_poll_interval_ms: int = Field(default=500, ge=10)
    relay_batch_size: int = Field(
        default=1000, ge=1, description="Outbox rows per relay batch (one Kafka transaction)."
    )
    # -- hostile input (docs/operations.md "Limits") --
    http_max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body; larger ones get 413."
    )
    http_upload_body_bytes: int = Field(
        default=8_000_000, ge=1024, description="Largest body of an upload route (base64 media)."
    )
    http_upload_paths: str = Field(
        default=r"/(media|documents)$",
        description="Regular expression of the upload routes' paths (base64 files in JSON).",
    )
    http_max_string_chars: int = Field(
        default=10_000, ge=100, description="Longest string anywhere in a JSON body (not uploads)."
    )
    event_max_bytes: int = Field(
        default=262_144,
        ge=4096,
        description="Largest stored event envelope; a command whose event is larger fails (413).",
    )
    read_after_wait_seconds: float = Field(
        default=3.0,
        ge=0,
        le=30,
        description="Longest a read with Frontdesk-After waits for the read models to pass "
        "the positions it names before answering 202 with Retry-After.",
    )
    jwt_max_lifetime_seconds: int = Field(
        default=24 * 3600, ge=60, description="Longest token lifetime admitted (exp - iat)."
    )
    rate_limits: str = Field(
        default="customer=60/60,codes=10/300,answers=10/300,intake=20/60",
        description="name=requests/seconds per principal and per client address, per replica.",
    )
    log_level: str = "INFO"
    trace_sql: bool = Field(
        default=False,
        description="A span per SQL statement (asyncpg instrumentation); off: commands, "
        "consumers, the relay and HTTP requests keep their spans.",
    )
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)

    @model_validator(mode="after")
    def _refuse_unsafe_defaults(self) -> ServiceSettings:
        if self.env == "production":
            if self.jwt_secret.get_secret_value() == DEV_JWT_SECRET:
                raise UnsafeSettings("FRONTDESK_JWT_SECRET must be set outside development")
            if len(self.jwt_secret.get_secret_value()) < 32:
                raise UnsafeSettings("FRONTDESK_JWT_SECRET must be at least 32 characters")
            if self.pg_password.get_secret_value() == DEV_DATABASE_PASSWORD:
                raise UnsafeSettings("PGPASSWORD must be set outside development")
            if self.keystore_master_key.get_secret_value() == DEV_KEYSTORE_MASTER_KEY:
                raise UnsafeSettings("FRONTDESK_KEYSTORE_MASTER_KEY must be set in production")
        try:
            if len(self.master_key_bytes()) != 32:
                raise ValueError
        except ValueError:
            raise UnsafeSettings(
                "FRONTDESK_KEYSTORE_MASTER_KEY must be the base64 of 32 random bytes"
            ) from None
        if self.event_max_bytes > self.kafka.max_message_bytes // 2:
            raise UnsafeSettings(
                "FRONTDESK_EVENT_MAX_BYTES must be at most half of "
                "FRONTDESK_KAFKA_MAX_MESSAGE_BYTES (headers, batching overhead)"
            )
        problems = self.kafka.durability_problems(self.env)
        if problems:
            raise UnsafeSettings("; ".join(problems))
        return self

    def peer_urls(self) -> dict[str, str]:
        pairs = (item.split("=", 1) for item in self.peers.split(",") if "=" in item)
        return {name.strip(): url.strip() for name, url in pairs}

    def master_key_bytes(self) -> bytes:
        return base64.b64decode(self.keystore_master_key.get_secret_value(), validate=True)

    def dsn(self, database: str) -> str:
        password = self.pg_password.get_secret_value()
        name = f"{self.database_prefix}{database}"
        user, password = quote(self.pg_user, safe=""), quote(password, safe="")
        return f"postgresql://{user}:{password}@{self.pg_host}:{self.pg_port}/{name}"
