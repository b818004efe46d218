-- Snapshots of long-lived aggregates (runtime/repository.py): a cache of the fold, never the
-- source of truth. A snapshot of another fold version is ignored and rewritten.
CREATE TABLE IF NOT EXISTS snapshots (
    stream_id       text        PRIMARY KEY,
    aggregate       text        NOT NULL,
    fold_version    integer     NOT NULL,
    stream_version  integer     NOT NULL,
    state           jsonb       NOT NULL,
    taken_at        timestamptz NOT NULL DEFAULT now()
);

-- A durable timer carries the context of the command that scheduled it (correlation id,
-- actor, trace), so what it fires stays in the same flow.
ALTER TABLE timers ADD COLUMN IF NOT EXISTS context jsonb;
