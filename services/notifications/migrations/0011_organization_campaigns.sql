-- Organizations' contact centres (docs/services/notifications.md): a verified organization's
-- campaigns reach only the customers it tagged, who consented to its marketing. NULL
-- organization_id: the platform's own service centre (every row and event from before).

-- Read model campaign_tag_members: whose tag it is. The same tag name put by two
-- organizations (or by one and the platform) is two tags.
ALTER TABLE campaign_tag_members ADD COLUMN organization_id uuid;
ALTER TABLE campaign_tag_members DROP CONSTRAINT campaign_tag_members_pkey;
CREATE UNIQUE INDEX campaign_tag_members_owner_tag ON campaign_tag_members
    (tag, account_ref, coalesce(organization_id, '00000000-0000-0000-0000-000000000000'::uuid));

-- Read model campaigns: whose contact centre runs each campaign (lists are filtered by it).
ALTER TABLE campaigns ADD COLUMN organization_id uuid;
CREATE INDEX campaigns_owner_started ON campaigns (organization_id, started_at DESC);

-- Read model (projection of the recipients topic): a person's marketing consent to each
-- verified organization's campaigns (consent is per sender). No address here; the rows are
-- deleted with the person's other data when they are erased.
CREATE TABLE organization_consent (
    recipient_ref     text        NOT NULL,
    organization_id   uuid        NOT NULL,
    subject_id        text        NOT NULL,
    marketing_consent text[]      NOT NULL DEFAULT '{}',
    updated_at        timestamptz NOT NULL,
    PRIMARY KEY (recipient_ref, organization_id)
);
CREATE INDEX organization_consent_subject ON organization_consent (subject_id);
