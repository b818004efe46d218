-- How far each consumer group has got in each stream, for reads that wait for a client's
-- own writes (runtime/positions.py: Frontdesk-Written → Frontdesk-After). Written by the
-- consumer runner after each batch commits; rows untouched for an hour are removed.
CREATE TABLE IF NOT EXISTS stream_positions (
    consumer_group  text        NOT NULL,
    stream_id       text        NOT NULL,
    version         bigint      NOT NULL,
    passed_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer_group, stream_id)
);
CREATE INDEX IF NOT EXISTS stream_positions_passed_at ON stream_positions (passed_at);

-- What a reaction appended because of an event (the event's stream and version → the stream
-- and version it wrote), so that a read waiting for a client's write also waits for what
-- that write caused in this service (a ticket → the case opened for it).
CREATE TABLE IF NOT EXISTS caused_positions (
    stream_id        text        NOT NULL,
    version          bigint      NOT NULL,
    topic            text        NOT NULL,
    caused_stream_id text        NOT NULL,
    caused_version   bigint      NOT NULL,
    recorded_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_id, version, caused_stream_id)
);
CREATE INDEX IF NOT EXISTS caused_positions_recorded_at ON caused_positions (recorded_at);
