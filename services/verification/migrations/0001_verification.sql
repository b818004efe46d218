-- Read model (projection from frontdesk.cases.cases): the checks each opened case will need.
CREATE TABLE case_check_plans (
    case_id         uuid        PRIMARY KEY,
    account_ref     text        NOT NULL,
    case_type       text        NOT NULL,
    required_checks text[]      NOT NULL,
    opened_at       timestamptz NOT NULL,
    correlation_id  uuid        NOT NULL
);
