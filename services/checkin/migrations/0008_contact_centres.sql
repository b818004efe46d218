-- Organizations' contact centres (issue 16 item 2): whose site and whose agent each row is
-- (null: the platform's own), so that lists show staff their own centre's only. Both set from
-- the creation event (checkin.site_configured, checkin.agent_profile_set), never changed.
-- Rebuildable like the rest of the two read models.
ALTER TABLE sites ADD COLUMN organization_id uuid;
CREATE INDEX sites_organization ON sites (organization_id, site_id);
ALTER TABLE agent_states ADD COLUMN organization_id uuid;
CREATE INDEX agent_states_organization ON agent_states (organization_id, agent_id);
