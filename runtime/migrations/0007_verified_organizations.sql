-- The organizations verification has verified, as every service that runs an organization's
-- contact centre needs to know them (runtime/organizations.py): an organization's staff
-- (token claim ``org``) set up sites, agents, tags and campaigns only once it is verified.
-- A read model, rebuilt from verification.organization_verified.
CREATE TABLE IF NOT EXISTS verified_organizations (
    organization_id uuid        PRIMARY KEY,
    legal_name      text        NOT NULL,
    verified_at     timestamptz NOT NULL
);
