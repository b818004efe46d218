"""The topic registry: one topic per producing service and aggregate type, keyed by aggregate id."""

from __future__ import annotations

from dataclasses import dataclass, field

RETAIN_FOREVER = -1
SHARED = "*"  # a topic every service publishes to (audit, retention)


@dataclass(frozen=True)
class TopicSpec:
    name: str
    producer: str
    stream_type: str
    description: str
    partitions: int = 6
    # Services rebuild their read models from these topics, so Kafka's 7-day default must not
    # apply: events are kept forever (deletion of personal data is done by crypto-shredding).
    retention_ms: int = RETAIN_FOREVER
    config: dict[str, str] = field(default_factory=dict)

    def kafka_config(self) -> dict[str, str]:
        return {
            "retention.ms": str(self.retention_ms),
            "retention.bytes": "-1",
            "cleanup.policy": "delete",
            "min.insync.replicas": "1",
            **self.config,
        }


AUDIT_ACCESSES = TopicSpec(
    name="frontdesk.audit.accesses",
    producer=SHARED,
    stream_type="access",
    description="Every read of a person's personal data by staff, from every service.",
)
RETENTION_PURGES = TopicSpec(
    name="frontdesk.retention.purges",
    producer=SHARED,
    stream_type="purge",
    description="What each service's retention jobs deleted, and why.",
)
CHECKIN_TICKETS = TopicSpec(
    name="frontdesk.checkin.tickets",
    producer="checkin",
    stream_type="ticket",
    description="Every change of a queue ticket (walk-in or remote contact).",
)
CASES_CASES = TopicSpec(
    name="frontdesk.cases.cases",
    producer="cases",
    stream_type="case",
    description="Every change of a case.",
)
CASES_DATA_SUBJECTS = TopicSpec(
    name="frontdesk.cases.data_subjects",
    producer="cases",
    stream_type="data_subject",
    description="Legal holds and erasures of a person's data (crypto-shredding).",
)
VERIFICATION_SESSIONS = TopicSpec(
    name="frontdesk.verification.sessions",
    producer="verification",
    stream_type="verification",
    description="Every change of a verification session.",
)
NOTIFICATIONS_MESSAGES = TopicSpec(
    name="frontdesk.notifications.messages",
    producer="notifications",
    stream_type="notification",
    description="Every change of a notification (message to a person).",
)

NOTIFICATIONS_CALLBACKS = TopicSpec(
    name="frontdesk.notifications.callbacks",
    producer="notifications",
    stream_type="callback",
    description="Every change of a promised callback.",
)

TOPICS: dict[str, TopicSpec] = {}


def register_topic(spec: TopicSpec) -> TopicSpec:
    """Add a topic to the registry (each service's contracts module registers its own)."""
    existing = TOPICS.get(spec.name)
    if existing is not None and existing != spec:
        raise ValueError(f"topic {spec.name} registered twice, differently")
    TOPICS[spec.name] = spec
    return spec


for _spec in (
    AUDIT_ACCESSES,
    RETENTION_PURGES,
    CHECKIN_TICKETS,
    CASES_CASES,
    CASES_DATA_SUBJECTS,
    VERIFICATION_SESSIONS,
    NOTIFICATIONS_MESSAGES,
    NOTIFICATIONS_CALLBACKS,
):
    register_topic(_spec)


def topic_for(producer: str, stream_type: str) -> TopicSpec:
    for spec in TOPICS.values():
        if spec.producer == producer and spec.stream_type == stream_type:
            return spec
    raise KeyError(f"no topic registered for {producer}/{stream_type}")


def dead_letter_topic(consumer_group: str) -> TopicSpec:
    """The dead-letter topic of one consumer group: messages it could not decode or process.

    Each record keeps the original bytes as its value and says why in its headers.
    """
    return TopicSpec(
        name=f"frontdesk.deadletter.{consumer_group}",
        producer=consumer_group.split(".")[0],
        stream_type="deadletter",
        description=f"Messages the consumer group {consumer_group} could not process.",
        partitions=1,
    )
