-- State of the trigger reactions (not read models; they are never replayed): how to reach
-- the holder of a ticket when later ticket events (called, position) arrive. phone is
-- personal data: deleted when its subject is erased.
CREATE TABLE ticket_reach (
    ticket_id   uuid        PRIMARY KEY,
    account_ref text        NOT NULL,
    subject_id  text        NOT NULL,
    number      text        NOT NULL,
    phone       text,
    language    text        NOT NULL,
    issued_at   timestamptz NOT NULL
);
CREATE INDEX ticket_reach_account ON ticket_reach (account_ref, issued_at);
CREATE INDEX ticket_reach_subject ON ticket_reach (subject_id);
