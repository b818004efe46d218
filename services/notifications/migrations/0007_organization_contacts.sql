-- State of the organization-verification reaction (not a read model; never replayed): how to
-- reach an organization's contact person when its later verification steps arrive, as
-- verification.organization_submitted gave it. phone and email are personal data of
-- organization:<id>: the row is deleted when that subject is erased.
CREATE TABLE organization_contacts (
    organization_id uuid        PRIMARY KEY,
    subject_id      text        NOT NULL,
    legal_name      text        NOT NULL,
    phone           text,
    email           text,
    submitted_at    timestamptz NOT NULL
);
CREATE INDEX organization_contacts_subject ON organization_contacts (subject_id);
