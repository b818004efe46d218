-- The customer's own words (personal data, redacted on erasure) and whose data it is.
ALTER TABLE case_views ADD COLUMN subject_id text, ADD COLUMN summary text;
CREATE INDEX case_views_subject ON case_views (subject_id);
