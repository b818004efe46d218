-- Outbox records Kafka refused for good (too large, invalid): set aside by the relay so the
-- rest keeps flowing (runtime/relay.py). The event stays in the store; an operator lists,
-- retries (back into the outbox) or drops them: `frontdesk parked list|retry|drop SERVICE`.
CREATE TABLE IF NOT EXISTS parked_outbox (
    position        bigint      PRIMARY KEY REFERENCES events (position),
    topic           text        NOT NULL,
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    stream_id       text        NOT NULL,
    reason          text        NOT NULL,
    attempts        integer     NOT NULL DEFAULT 1,
    parked_at       timestamptz NOT NULL DEFAULT now()
);
