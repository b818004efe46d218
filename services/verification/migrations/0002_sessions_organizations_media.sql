-- Write-side tables (not projections; the event store is the record of decisions). They hold
-- what must NOT travel in events: the digests of secrets and the encrypted media.

-- Knowledge-challenge questions. The right option of a multiple-choice question is kept only as
-- a keyed digest (HMAC); a past password is checked by the account platform against its hash.
CREATE TABLE knowledge_questions (
    question_id     uuid        PRIMARY KEY,
    verification_id uuid        NOT NULL,
    challenge_no    integer     NOT NULL,
    position        integer     NOT NULL,
    kind            text        NOT NULL,
    prompt          text        NOT NULL,
    options         jsonb       NOT NULL,
    answer_digest   bytea,
    answered_at     timestamptz,
    correct         boolean
);
CREATE INDEX knowledge_questions_by_session ON knowledge_questions (verification_id, challenge_no);

-- One-time code deliveries. The code exists only between its generation at the claim by the
-- notifications service and the response to that claim; here only its keyed digest.
CREATE TABLE code_deliveries (
    delivery_id     uuid        PRIMARY KEY,
    verification_id uuid        NOT NULL,
    account_ref     text        NOT NULL,
    channel         text        NOT NULL,
    language        text        NOT NULL,
    requested_at    timestamptz NOT NULL,
    claim_before    timestamptz NOT NULL,
    claimed_by      text,
    claimed_at      timestamptz,
    code_digest     bytea,
    expires_at      timestamptz
);
CREATE INDEX code_deliveries_by_session ON code_deliveries (verification_id, requested_at);

-- Identity-provider webhook deliveries already processed (replay and retry protection).
CREATE TABLE provider_deliveries (
    delivery_id     text        PRIMARY KEY,
    provider        text        NOT NULL,
    received_at     timestamptz NOT NULL,
    outcome         text        NOT NULL
);

-- Micro-deposit amounts, as a keyed digest of the pair, per round of deposits.
CREATE TABLE deposit_secrets (
    organization_id uuid        NOT NULL,
    round           integer     NOT NULL,
    amounts_digest  bytea       NOT NULL,
    PRIMARY KEY (organization_id, round)
);

-- Held media, encrypted (AES-256-GCM, media id as associated data); bytes deleted at purge.
CREATE TABLE media_objects (
    media_id        uuid        PRIMARY KEY,
    owner_type      text        NOT NULL,
    owner_id        uuid        NOT NULL,
    kind            text        NOT NULL,
    content_type    text        NOT NULL,
    sealed          bytea,
    sha256          text        NOT NULL,
    size_bytes      integer     NOT NULL,
    retain_until    timestamptz NOT NULL,
    stored_at       timestamptz NOT NULL,
    purged_at       timestamptz
);

-- Lockouts by account: the cool-down check reads the event store (the source of truth).
CREATE INDEX events_lockouts_by_account ON events ((envelope -> 'payload' ->> 'account_ref'))
    WHERE event_type = 'verification.locked_out';

-- Read models (projections of frontdesk.verification.sessions / .organizations), rebuildable.
CREATE TABLE session_views (
    verification_id uuid        PRIMARY KEY,
    case_id         uuid,
    account_ref     text        NOT NULL,
    purpose         text        NOT NULL,
    risk_level      text        NOT NULL,
    person_role     text        NOT NULL,
    person_ref      text,
    checks          text[]      NOT NULL,
    passed_checks   text[]      NOT NULL DEFAULT '{}',
    status          text        NOT NULL,
    outcome_reasons text[]      NOT NULL DEFAULT '{}',
    ticket_id       uuid,
    started_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    completed_at    timestamptz,
    cooldown_until  timestamptz,
    version         integer     NOT NULL
);
CREATE INDEX session_views_by_account ON session_views (account_ref);
CREATE INDEX session_views_by_case ON session_views (case_id);

CREATE TABLE review_queue (
    verification_id    uuid        NOT NULL,
    check_name         text        NOT NULL,
    account_ref        text        NOT NULL,
    purpose            text        NOT NULL,
    reason             text        NOT NULL,
    required_approvals integer     NOT NULL,
    approvals          text[]      NOT NULL DEFAULT '{}',
    evidence_refs      uuid[]      NOT NULL DEFAULT '{}',
    status             text        NOT NULL,   -- open | approved | rejected
    requested_at       timestamptz NOT NULL,
    decided_at         timestamptz,
    PRIMARY KEY (verification_id, check_name)
);
CREATE INDEX review_queue_open ON review_queue (requested_at) WHERE status = 'open';

CREATE TABLE organization_views (
    organization_id      uuid        PRIMARY KEY,
    legal_name           text        NOT NULL,
    unified_social_credit_code text  NOT NULL,
    official_domains     text[]      NOT NULL,
    contact_email_domain text        NOT NULL,
    bank_account_last4   text        NOT NULL,
    submitted_by         text        NOT NULL,
    status               text        NOT NULL,
    deposits             text        NOT NULL,
    documents_approved   boolean     NOT NULL DEFAULT false,
    phone_confirmed      boolean     NOT NULL DEFAULT false,
    reasons              text[]      NOT NULL DEFAULT '{}',
    submitted_at         timestamptz NOT NULL,
    decided_at           timestamptz,
    version              integer     NOT NULL
);

CREATE TABLE lookalike_flags (
    flag_id         uuid        PRIMARY KEY,
    organization_id uuid        NOT NULL,
    domain          text        NOT NULL,
    resembles       text        NOT NULL,
    techniques      text[]      NOT NULL,
    source          text        NOT NULL,
    status          text        NOT NULL,   -- open | cleared | rejected
    flagged_at      timestamptz NOT NULL,
    decided_at      timestamptz
);
CREATE INDEX lookalike_flags_open ON lookalike_flags (flagged_at) WHERE status = 'open';

CREATE TABLE verified_domains (
    domain          text        PRIMARY KEY,
    organization_id uuid        NOT NULL,
    verified_at     timestamptz NOT NULL
);

-- What the case-request reaction remembers of each opened case (its type tells whether the
-- registered phone is dead). Written by the reaction group, in the inbox's transaction.
CREATE TABLE case_facts (
    case_id         uuid        PRIMARY KEY,
    account_ref     text        NOT NULL,
    case_type       text        NOT NULL
);
