-- Read model (projection from frontdesk.cases.cases): what the cases API serves.
CREATE TABLE case_views (
    case_id          uuid        PRIMARY KEY,
    account_ref      text        NOT NULL,
    case_type        text        NOT NULL,
    problem_category text        NOT NULL,
    status           text        NOT NULL,
    customer_id      text,
    language         text        NOT NULL,
    source_channel   text,
    source_ticket_id uuid,
    opened_at        timestamptz NOT NULL,
    correlation_id   uuid        NOT NULL,
    version          integer     NOT NULL
);
CREATE INDEX case_views_account ON case_views (account_ref, opened_at);
CREATE INDEX case_views_ticket ON case_views (source_ticket_id);
