-- Read model notification_log: each channel a message gave up on, in order (channel, attempts,
-- reason, when, and the channel tried next: null when none was left), so a message's fallback
-- history is visible, not only its last channel. Rebuilt from the messages topic like the rest.
ALTER TABLE notification_log ADD COLUMN fallbacks jsonb NOT NULL DEFAULT '[]'::jsonb;
