-- Check-in follow-ups: the virtual queue's one-active-ticket rule held by the database, and
-- what the supervisor's dashboard shows of remote contacts.

-- Command side (ticket_index, written in the ticket's transaction): one active virtual-queue
-- ticket per person (the keyed hash of the verified phone), per account and per customer id.
-- application.issue_ticket checks it first (to answer with the ticket already held); these
-- indexes make two concurrent joins that both passed the check impossible: the second insert
-- waits for the first to commit, then fails, and its whole transaction rolls back (409).
CREATE UNIQUE INDEX ticket_index_one_virtual_per_person ON ticket_index (person_ref)
    WHERE channel = 'virtual_queue' AND status IN ('waiting', 'called', 'serving', 'parked');
CREATE UNIQUE INDEX ticket_index_one_virtual_per_account ON ticket_index (account_ref)
    WHERE channel = 'virtual_queue' AND status IN ('waiting', 'called', 'serving', 'parked');
CREATE UNIQUE INDEX ticket_index_one_virtual_per_customer ON ticket_index (customer_id)
    WHERE channel = 'virtual_queue' AND status IN ('waiting', 'called', 'serving', 'parked');

-- Read model (projection, rebuildable): how often each remote contact was offered and how
-- often it came back to the pool unanswered (its window ran out) or released (the agent went
-- on a break or signed out first). The dashboard's "offered, not answered" and "reassigned
-- today" per queue and channel come from these.
ALTER TABLE queue_tickets
    ADD COLUMN offers           integer NOT NULL DEFAULT 0,
    ADD COLUMN first_offered_at timestamptz,
    ADD COLUMN unanswered       integer NOT NULL DEFAULT 0,
    ADD COLUMN released         integer NOT NULL DEFAULT 0;
