-- Read model: a person's channels, language, hours and marketing consent (projection of the
-- recipients topic). The addresses are personal data: the row is deleted when its subject is
-- erased.
CREATE TABLE recipient_preferences (
    recipient_ref     text        PRIMARY KEY,
    subject_id        text        NOT NULL,
    channels          text[]      NOT NULL,
    language          text,
    timezone          text,
    preferred_start   text,
    preferred_end     text,
    quiet_start       text,
    quiet_end         text,
    phone             text,
    email             text,
    wechat            text,
    qq                text,
    marketing_consent text[]      NOT NULL DEFAULT '{}',
    updated_at        timestamptz NOT NULL
);
CREATE INDEX recipient_preferences_subject ON recipient_preferences (subject_id);
