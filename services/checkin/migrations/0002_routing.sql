-- Command side, written in the same transaction as the events they are derived from (never by
-- a consumer): what routing, estimates and assignment need to read without folding every
-- stream. Each row is a pure function of one aggregate's state (application.index_*), so it
-- can always be recomputed from the event store.

CREATE TABLE ticket_index (
    ticket_id          uuid        PRIMARY KEY,
    site_id            text        NOT NULL,
    queue              text        NOT NULL,
    number             text        NOT NULL,
    status             text        NOT NULL,
    channel            text        NOT NULL,
    problem_category   text        NOT NULL,
    language           text        NOT NULL,
    dialect            text,
    required_skill     text,
    accessibility      boolean     NOT NULL,
    escalated          boolean     NOT NULL,
    appointment_start  timestamptz,
    appointment_end    timestamptz,
    arrival_at         timestamptz NOT NULL,
    account_ref        text        NOT NULL,
    customer_id        text,
    person_ref         text,
    agent_id           text,
    desk_id            text,
    last_agent_id      text,
    called_at          timestamptz,
    first_called_at    timestamptz,
    serving_started_at timestamptz,
    answer_by          timestamptz,
    ended_at           timestamptz,
    estimate           jsonb,
    ahead_told         integer,
    service_day        date
);
CREATE INDEX ticket_index_site_status ON ticket_index (site_id, status, queue);
CREATE INDEX ticket_index_account ON ticket_index (account_ref)
    WHERE status IN ('waiting', 'called', 'serving', 'parked');
CREATE INDEX ticket_index_person ON ticket_index (person_ref)
    WHERE status IN ('waiting', 'called', 'serving', 'parked');
CREATE INDEX ticket_index_agent ON ticket_index (agent_id) WHERE status IN ('called', 'serving');
CREATE INDEX ticket_index_completed ON ticket_index (site_id, queue, ended_at)
    WHERE status = 'completed';

CREATE TABLE agent_index (
    agent_id     text        PRIMARY KEY,
    site_id      text,
    desk_id      text,
    remote       boolean     NOT NULL,
    status       text        NOT NULL,
    queues       text[]      NOT NULL,
    skills       text[]      NOT NULL,
    languages    jsonb       NOT NULL,
    limits       jsonb       NOT NULL,
    ticket_id    uuid,
    status_since timestamptz,
    version      integer     NOT NULL  -- stream version this row is the state after (snapshot)
);
CREATE INDEX agent_index_site ON agent_index (site_id, status);

-- Read models (projections of frontdesk.checkin.*; rebuildable).
ALTER TABLE queue_tickets
    ADD COLUMN dialect             text,
    ADD COLUMN agent_id            text,
    ADD COLUMN first_called_at     timestamptz,
    ADD COLUMN serving_started_at  timestamptz,
    ADD COLUMN service_day         date,
    ADD COLUMN accessibility       boolean NOT NULL DEFAULT false,
    ADD COLUMN escalated           boolean NOT NULL DEFAULT false,
    ADD COLUMN appointment_start   timestamptz,
    ADD COLUMN appointment_end     timestamptz,
    ADD COLUMN required_skill      text,
    ADD COLUMN recalls             integer NOT NULL DEFAULT 0,
    ADD COLUMN transfers           integer NOT NULL DEFAULT 0,
    ADD COLUMN first_estimate      jsonb,
    ADD COLUMN estimate            jsonb,
    ADD COLUMN estimates_announced integer NOT NULL DEFAULT 0,
    ADD COLUMN relaxed             text,
    ADD COLUMN outcome             text;

CREATE TABLE sites (
    site_id   text  PRIMARY KEY,
    name      text  NOT NULL,
    timezone  text  NOT NULL,
    queues    jsonb NOT NULL,
    desks     jsonb NOT NULL DEFAULT '{}'::jsonb,
    closed    jsonb NOT NULL DEFAULT '[]'::jsonb
);

CREATE TABLE agent_states (
    agent_id     text        PRIMARY KEY,
    site_id      text,
    desk_id      text,
    status       text        NOT NULL,
    queues       text[]      NOT NULL,
    languages    jsonb       NOT NULL,
    ticket_id    uuid,
    status_since timestamptz
);
