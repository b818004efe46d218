-- Command-side index of the accounts whose verification cools down after a lockout, kept by
-- the session repository's after-append hook (services/verification/application/sessions.py)
-- in the same transaction as verification.locked_out (insert) and
-- verification.cooldown_ended (delete): a new session reads it instead of the event store.
CREATE TABLE account_lockouts (
    verification_id uuid        PRIMARY KEY,
    account_ref     text        NOT NULL,
    cooldown_until  timestamptz NOT NULL
);
CREATE INDEX account_lockouts_by_account ON account_lockouts (account_ref);

INSERT INTO account_lockouts (verification_id, account_ref, cooldown_until)
SELECT (e.envelope -> 'payload' ->> 'verification_id')::uuid,
       e.envelope -> 'payload' ->> 'account_ref',
       (e.envelope -> 'payload' ->> 'cooldown_until')::timestamptz
FROM events e
WHERE e.event_type = 'verification.locked_out'
  AND NOT EXISTS (SELECT 1 FROM events c WHERE c.stream_id = e.stream_id
                  AND c.event_type = 'verification.cooldown_ended')
ON CONFLICT (verification_id) DO NOTHING;
