-- Read model (projection from frontdesk.audit.accesses): who read whose personal data.
CREATE TABLE personal_data_accesses (
    event_id    uuid        PRIMARY KEY,
    subject_id  text        NOT NULL,
    service     text        NOT NULL,
    resource    text        NOT NULL,
    resource_id text        NOT NULL,
    fields      text[]      NOT NULL,
    purpose     text        NOT NULL,
    actor_id    text,
    actor_role  text,
    accessed_at timestamptz NOT NULL
);
CREATE INDEX personal_data_accesses_subject ON personal_data_accesses (subject_id, accessed_at);
