-- What became of each one-time code's message (the notifications service's outcome).

-- Write-side table of the verification.code_delivery_outcomes reaction (not a projection):
-- which notifications message carries which code delivery, remembered from
-- notifications.notification_requested v3 (its code_delivery), so that the message's later
-- notification_sent / _delivered / _failed (which name only the message) reach the session.
-- Ids only; rows go with the retention job (FRONTDESK_VERIFICATION_RETENTION_SESSION_SECRET_DAYS).
CREATE TABLE code_delivery_messages (
    notification_id uuid        PRIMARY KEY,
    verification_id uuid        NOT NULL,
    delivery_id     uuid        NOT NULL,
    requested_at    timestamptz NOT NULL
);
CREATE INDEX code_delivery_messages_by_time ON code_delivery_messages (requested_at);

-- Read model: the session's latest code delivery and how far it got.
ALTER TABLE session_views
    ADD COLUMN code_delivery_id     uuid,
    ADD COLUMN code_delivery_status text,     -- requested | claimed | sent | delivered | failed
    ADD COLUMN code_delivery_reason text,     -- why it failed, in words (no code, no address)
    ADD COLUMN codes_undelivered    integer NOT NULL DEFAULT 0;
