-- Write side (not a projection, never truncated by a rebuild): the one unresolved case of each
-- problem (account, case type). Kept in the same transaction as the case's events; it makes
-- attach-or-open safe when two contacts of one account arrive at once.
CREATE TABLE open_problems (
    account_ref text NOT NULL,
    case_type   text NOT NULL,
    case_id     uuid NOT NULL,
    PRIMARY KEY (account_ref, case_type)
);
CREATE INDEX open_problems_case ON open_problems (case_id);

-- Read models (projection cases.projections, rebuilt from frontdesk.cases.cases,
-- frontdesk.cases.accounts and frontdesk.cases.staff).
ALTER TABLE case_views
    ADD COLUMN priority           text        NOT NULL DEFAULT 'normal',
    ADD COLUMN waiting_on         text        NOT NULL DEFAULT 'agent',
    ADD COLUMN site_id            text,
    ADD COLUMN requester_role     text,
    ADD COLUMN proxy_relationship text,
    ADD COLUMN viewer_ids         text[]      NOT NULL DEFAULT '{}',
    ADD COLUMN queue              text,
    ADD COLUMN assignee_id        text,
    ADD COLUMN escalation_level   integer     NOT NULL DEFAULT 0,
    ADD COLUMN escalations        jsonb       NOT NULL DEFAULT '[]',
    ADD COLUMN contacts           integer     NOT NULL DEFAULT 1,
    ADD COLUMN service_levels     jsonb       NOT NULL DEFAULT '{"targets": [], "paused": false}',
    ADD COLUMN verifications      jsonb       NOT NULL DEFAULT '[]',
    ADD COLUMN callbacks          jsonb       NOT NULL DEFAULT '[]',
    ADD COLUMN suspensions        jsonb       NOT NULL DEFAULT '[]',
    ADD COLUMN report             jsonb,
    ADD COLUMN decision           jsonb,
    ADD COLUMN merged_into        uuid,
    ADD COLUMN split_from         uuid,
    ADD COLUMN updated_at         timestamptz;
CREATE INDEX case_views_viewers ON case_views USING gin (viewer_ids);
CREATE INDEX case_views_assignee ON case_views (assignee_id, status);

CREATE TABLE case_contacts (
    contact_id     uuid        PRIMARY KEY,
    case_id        uuid        NOT NULL,
    account_ref    text        NOT NULL,
    channel        text,
    ticket_id      uuid,
    customer_id    text,
    requester_role text,
    subject_id     text,
    words          text,        -- personal data, redacted on erasure
    at             timestamptz NOT NULL,
    -- when a merge or split last moved it; the latest move wins whatever order the streams
    -- are replayed in (a move may arrive before the contact's own creating event)
    moved_at       timestamptz
);
CREATE INDEX case_contacts_case ON case_contacts (case_id);
CREATE INDEX case_contacts_ticket ON case_contacts (ticket_id);
CREATE INDEX case_contacts_subject ON case_contacts (subject_id);

CREATE TABLE case_notes (
    note_id     uuid        PRIMARY KEY,
    case_id     uuid        NOT NULL,
    account_ref text        NOT NULL,
    subject_id  text,
    author_id   text,
    text        text,           -- personal data, redacted on erasure
    added_at    timestamptz NOT NULL
);
CREATE INDEX case_notes_case ON case_notes (case_id);
CREATE INDEX case_notes_subject ON case_notes (subject_id);

-- The account timeline: one row per meaningful event, across channels, visits and cases.
-- No personal data in details (contact words and note texts are joined from their tables).
CREATE TABLE account_timeline (
    event_id    uuid        PRIMARY KEY,
    account_ref text        NOT NULL,
    case_id     uuid,
    at          timestamptz NOT NULL,
    stream_id   text        NOT NULL,
    stream_version integer  NOT NULL,
    kind        text        NOT NULL,
    actor_role  text,
    details     jsonb       NOT NULL
);
CREATE INDEX account_timeline_account ON account_timeline (account_ref, at);
CREATE INDEX account_timeline_case ON account_timeline (case_id, at);

CREATE TABLE account_suspensions (
    suspension_id uuid        PRIMARY KEY,
    account_ref   text        NOT NULL,
    scope         text        NOT NULL,
    rule          jsonb       NOT NULL,
    suspended_at  timestamptz NOT NULL
);
CREATE INDEX account_suspensions_account ON account_suspensions (account_ref);

CREATE TABLE customer_tags (
    account_ref text        NOT NULL,
    tag         text        NOT NULL,
    campaign_id text,
    case_id     uuid,
    tagged_at   timestamptz NOT NULL,
    PRIMARY KEY (account_ref, tag)
);
CREATE INDEX customer_tags_tag ON customer_tags (tag);

CREATE TABLE staff_skills (
    staff_id   text        PRIMARY KEY,
    queues     text[]      NOT NULL,
    active     boolean     NOT NULL,
    updated_at timestamptz NOT NULL
);
