-- Tags belong to whoever put them: the platform's service centre (organization_id NULL) or a
-- verified organization's contact centre. One account may carry the platform's `vip` and each
-- organization's `vip`: unique per (account, tag, owner), NULL counting as one owner (the
-- platform's; NULLS NOT DISTINCT needs PostgreSQL 15).
ALTER TABLE customer_tags ADD COLUMN organization_id uuid;
ALTER TABLE customer_tags DROP CONSTRAINT customer_tags_pkey;
ALTER TABLE customer_tags ADD CONSTRAINT customer_tags_owner_tag
    UNIQUE NULLS NOT DISTINCT (account_ref, tag, organization_id);
DROP INDEX customer_tags_tag;
CREATE INDEX customer_tags_tag ON customer_tags (tag, organization_id);
