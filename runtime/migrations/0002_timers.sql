-- Durable timers: "at due_at, do kind with payload". A timer fires in the same transaction as
-- its effect and its own deletion, so it fires once even with several replicas (SKIP LOCKED)
-- and across crashes. timer_id is chosen by the caller, so scheduling is idempotent and a
-- timer can be moved or cancelled by id.
CREATE TABLE IF NOT EXISTS timers (
    timer_id    text        PRIMARY KEY,
    kind        text        NOT NULL,
    due_at      timestamptz NOT NULL,
    payload     jsonb       NOT NULL DEFAULT '{}'::jsonb,
    attempts    integer     NOT NULL DEFAULT 0,
    last_error  text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS timers_due ON timers (due_at);
