-- A phone caller's queue callback (checkin.ticket_callback_requested → called back when their
-- contact is assigned to an agent).

-- Reaction state ticket_reach (notifications.triggers): the ticket's queue (followed through
-- transfers), its signed-in customer, and check-in's latest wait estimate, so that the caller
-- can be told the wait left and the callback lands in the right queue's due list. Rows written
-- before this migration have none of these: a callback asked for such a ticket goes to the
-- general queue's due list, without an estimate.
ALTER TABLE ticket_reach
    ADD COLUMN queue            text,
    ADD COLUMN customer_id      text,
    ADD COLUMN expected_minutes integer,
    ADD COLUMN estimated_at     timestamptz;

-- Read model callback_queue: which ticket a queue callback is for, and the agent its
-- contact was offered to (both null for the callbacks cases and agents promise).
ALTER TABLE callback_queue
    ADD COLUMN ticket_id uuid,
    ADD COLUMN agent_id  text;
CREATE INDEX callback_queue_agent ON callback_queue (agent_id, due_at)
    WHERE status = 'scheduled' AND agent_id IS NOT NULL;

-- Read model (projection of cases.case_opened / contact_attached): the case a check-in ticket
-- opened or joined, so that a queue callback names its case (a missed one escalates it).
CREATE TABLE ticket_cases (
    ticket_id uuid PRIMARY KEY,
    case_id   uuid NOT NULL
);
