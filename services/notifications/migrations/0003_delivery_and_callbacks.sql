-- Read model notification_log: where each message stands (projection of the messages topic).
ALTER TABLE notification_log
    ADD COLUMN purpose             text NOT NULL DEFAULT 'service',
    ADD COLUMN attempts            integer NOT NULL DEFAULT 0,
    ADD COLUMN provider_message_id text,
    ADD COLUMN sent_at             timestamptz,
    ADD COLUMN delivered_at        timestamptz,
    ADD COLUMN failed_at           timestamptz,
    ADD COLUMN failure_reason      text,
    ADD COLUMN campaign_id         uuid;
CREATE INDEX notification_log_campaign ON notification_log (campaign_id)
    WHERE campaign_id IS NOT NULL;

-- Read model: promised callbacks, the specialist queues' due lists (projection of the
-- callbacks topic). phone is personal data: cleared when its subject is erased.
CREATE TABLE callback_queue (
    callback_id     uuid        PRIMARY KEY,
    case_id         uuid,
    account_ref     text        NOT NULL,
    subject_id      text        NOT NULL,
    customer_id     text,
    queue           text        NOT NULL,
    recipient_role  text        NOT NULL,
    recipient_ref   text        NOT NULL,
    phone           text,
    timezone        text        NOT NULL,
    language        text        NOT NULL,
    status          text        NOT NULL,
    window_start    timestamptz NOT NULL,
    window_end      timestamptz NOT NULL,
    due_at          timestamptz,
    promised_start  timestamptz,
    promised_end    timestamptz,
    attempts        integer     NOT NULL DEFAULT 0,
    last_outcome    text,
    exhausted       boolean     NOT NULL DEFAULT false,
    reminded_at     timestamptz,
    closed_at       timestamptz,
    requested_at    timestamptz NOT NULL
);
CREATE INDEX callback_queue_due ON callback_queue (queue, due_at) WHERE status = 'scheduled';
CREATE INDEX callback_queue_subject ON callback_queue (subject_id);
CREATE INDEX callback_queue_customer ON callback_queue (customer_id);

-- Read model: which signed-in customer a case belongs to (projection of cases.case_opened),
-- so a customer can see, reschedule or cancel the callbacks of their own cases.
CREATE TABLE case_customers (
    case_id     uuid PRIMARY KEY,
    customer_id text NOT NULL
);

-- Write side of the dispatcher (not read models; written in the transaction that records
-- a send): provider message ids, to match delivery receipts, and sends per recipient, for
-- rate limits.
CREATE TABLE provider_messages (
    provider_message_id text PRIMARY KEY,
    notification_id     uuid NOT NULL,
    channel             text NOT NULL,
    provider            text NOT NULL
);
CREATE TABLE recipient_sends (
    notification_id uuid        PRIMARY KEY,
    recipient_ref   text        NOT NULL,
    sent_at         timestamptz NOT NULL
);
CREATE INDEX recipient_sends_recent ON recipient_sends (recipient_ref, sent_at);
