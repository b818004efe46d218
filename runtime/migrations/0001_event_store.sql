-- The event store, outbox, idempotency keys and consumer inbox that every service has.

CREATE TABLE IF NOT EXISTS events (
    position        bigserial PRIMARY KEY,
    event_id        uuid        NOT NULL UNIQUE,
    stream_type     text        NOT NULL,
    stream_id       text        NOT NULL,
    stream_version  integer     NOT NULL CHECK (stream_version >= 1),
    event_type      text        NOT NULL,
    schema_version  integer     NOT NULL,
    occurred_at     timestamptz NOT NULL,
    envelope        jsonb       NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    -- optimistic concurrency: of two writers of the same version, one fails
    CONSTRAINT events_stream_version_unique UNIQUE (stream_id, stream_version)
);

-- Pending publications. Rows are written in the same transaction as their events and deleted
-- once Kafka acknowledged them. The relay reads what is still here, never "what comes after
-- the last position I saw", so a transaction that commits late is never skipped.
CREATE TABLE IF NOT EXISTS outbox (
    position        bigint      PRIMARY KEY REFERENCES events (position),
    topic           text        NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    last_error      text
);

CREATE TABLE IF NOT EXISTS idempotency_keys (
    scope           text        NOT NULL,
    key             text        NOT NULL,
    fingerprint     text        NOT NULL,
    status_code     integer     NOT NULL,
    response        jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);

-- What each consumer group has applied, written in the same transaction as the effect.
CREATE TABLE IF NOT EXISTS consumer_inbox (
    consumer_group  text        NOT NULL,
    event_id        uuid        NOT NULL,
    topic           text        NOT NULL,
    kafka_partition integer     NOT NULL,
    kafka_offset    bigint      NOT NULL,
    outcome         text        NOT NULL DEFAULT 'applied',
    processed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, event_id)
);

-- Messages a consumer group dead-lettered (also published to its dead-letter topic).
CREATE TABLE IF NOT EXISTS dead_letters (
    id              bigserial   PRIMARY KEY,
    consumer_group  text        NOT NULL,
    topic           text        NOT NULL,
    kafka_partition integer     NOT NULL,
    kafka_offset    bigint      NOT NULL,
    event_id        uuid,
    error           text        NOT NULL,
    attempts        integer     NOT NULL,
    dead_lettered_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (consumer_group, topic, kafka_partition, kafka_offset)
);
