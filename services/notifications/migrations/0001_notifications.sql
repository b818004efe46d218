-- Read model (projection from frontdesk.notifications.messages): messages per recipient.
CREATE TABLE notification_log (
    notification_id uuid        PRIMARY KEY,
    kind            text        NOT NULL,
    channel         text        NOT NULL,
    recipient_ref   text        NOT NULL,
    language        text        NOT NULL,
    status          text        NOT NULL,
    triggered_by    uuid        NOT NULL,
    requested_at    timestamptz NOT NULL,
    correlation_id  uuid        NOT NULL
);
CREATE INDEX notification_log_recipient ON notification_log (recipient_ref, requested_at);
