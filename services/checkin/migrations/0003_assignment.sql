-- Remote contact assignment (services/checkin/assignment.py). Command side, written in the
-- same transaction as the events they are derived from, like 0002's indexes.

-- The customer's owning agent, from checkin.ticket_issued.owner_agent_id (owner_agent rule).
ALTER TABLE ticket_index ADD COLUMN owner_agent_id text;

-- "The agent who last served this customer" (last_agent rule): latest served ticket per account.
CREATE INDEX ticket_index_served ON ticket_index (account_ref, serving_started_at DESC)
    WHERE serving_started_at IS NOT NULL AND agent_id IS NOT NULL;

-- Round robin: the agent of the last checkin.contact_assigned of each queue of a site.
CREATE TABLE assignment_cursors (
    site_id     text        NOT NULL,
    queue       text        NOT NULL,
    agent_id    text        NOT NULL,
    assigned_at timestamptz NOT NULL,
    PRIMARY KEY (site_id, queue)
);
