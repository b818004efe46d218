-- Whose data each event is about (the payload's declared data subject), for the person's copy
-- of their data. Filled on append; older rows are backfilled from the personal-data reference.
ALTER TABLE events ADD COLUMN IF NOT EXISTS subject_id text;
UPDATE events SET subject_id = envelope -> 'personal_data' ->> 'subject_id'
 WHERE subject_id IS NULL AND envelope -> 'personal_data' IS NOT NULL
   AND envelope -> 'personal_data' <> 'null'::jsonb;
CREATE INDEX IF NOT EXISTS events_subject ON events (subject_id) WHERE subject_id IS NOT NULL;
