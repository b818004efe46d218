-- A ticket contact carries its ticket's time, so that retention can time it by its own row:
-- a rebuild brings back contacts whose ticket_reach row (their timing until now) is gone.
ALTER TABLE notification_contacts ADD COLUMN IF NOT EXISTS issued_at timestamptz;
