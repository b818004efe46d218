-- Campaigns (services/notifications/campaigns.py). No personal data: account refs are opaque
-- platform ids, tags and case types are not about a person's identity.

-- Read model (projection of frontdesk.cases.accounts): the customers each tag is on.
CREATE TABLE campaign_tag_members (
    tag         text        NOT NULL,
    account_ref text        NOT NULL,
    tagged_at   timestamptz NOT NULL,
    PRIMARY KEY (tag, account_ref)
);

-- Read model (projection of frontdesk.cases.cases): each case's account, type and whether it
-- is open, appealed or escalated — who has an open complaint or appeal.
CREATE TABLE campaign_account_cases (
    case_id     uuid    PRIMARY KEY,
    account_ref text    NOT NULL,
    case_type   text    NOT NULL,
    open        boolean NOT NULL,
    appealed    boolean NOT NULL DEFAULT false,
    escalated   boolean NOT NULL DEFAULT false
);
CREATE INDEX campaign_account_cases_open ON campaign_account_cases (account_ref) WHERE open;

-- Read model (projection of frontdesk.notifications.campaigns): the campaigns and their counts.
CREATE TABLE campaigns (
    campaign_id      uuid        PRIMARY KEY,
    name             text        NOT NULL,
    tag              text        NOT NULL,
    channel          text        NOT NULL,
    status           text        NOT NULL,
    rate_per_minute  integer     NOT NULL,
    members          integer     NOT NULL,
    targeted         integer     NOT NULL,
    processed        integer     NOT NULL DEFAULT 0,
    requested        integer     NOT NULL DEFAULT 0,
    skipped_consent  integer     NOT NULL,
    skipped_excluded integer     NOT NULL,
    started_by       text        NOT NULL,
    started_at       timestamptz NOT NULL,
    finished_at      timestamptz
);
CREATE INDEX campaigns_started ON campaigns (started_at DESC);

-- Write side of the campaigns (not a read model; written in the transaction that records
-- campaign_started): the audience snapshot, the targets in the order the batches take them.
CREATE TABLE campaign_targets (
    campaign_id uuid    NOT NULL,
    position    integer NOT NULL,
    account_ref text    NOT NULL,
    PRIMARY KEY (campaign_id, position)
);
