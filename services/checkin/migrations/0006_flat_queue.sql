-- What an issue needs of its queue, in O(1) or O(log n) of the queue's length (issue 13).

-- Command side (written by the ticket index's hook, in the ticket's transaction): how many
-- tickets wait per site, queue, channel and problem category. The estimate of a new ticket
-- reads these counts instead of every waiting ticket; "who waits in which queues" (an agent's
-- share of their time) reads them too.
CREATE TABLE queue_waiting (
    site_id          text    NOT NULL,
    queue            text    NOT NULL,
    channel          text    NOT NULL,
    problem_category text    NOT NULL,
    waiting          integer NOT NULL,
    PRIMARY KEY (site_id, queue, channel, problem_category)
);
INSERT INTO queue_waiting (site_id, queue, channel, problem_category, waiting)
SELECT site_id, queue, channel, problem_category, count(*)
FROM ticket_index WHERE status = 'waiting'
GROUP BY site_id, queue, channel, problem_category;

-- The tickets that may not be ahead of a new one are the ones that arrived within its
-- priority head start: a range of this index.
CREATE INDEX ticket_index_waiting_arrival ON ticket_index (site_id, queue, arrival_at)
    WHERE status = 'waiting';

-- The estimate-accuracy read model as calibration reads it: the most recent first calls of a
-- queue, and the tickets still waiting past their estimate (most overdue first), each a range
-- of an index instead of a pass over every waiting ticket. Adding minutes to a timestamptz
-- does not depend on the time zone, so the expression may be indexed.
CREATE FUNCTION checkin_overdue_at(issued_at timestamptz, expected_minutes integer)
    RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT issued_at + make_interval(mins => expected_minutes) $$;
CREATE INDEX queue_tickets_first_called ON queue_tickets (site_id, queue, first_called_at)
    WHERE first_estimate IS NOT NULL AND first_called_at IS NOT NULL;
CREATE INDEX queue_tickets_overdue ON queue_tickets (
    site_id, queue,
    checkin_overdue_at(issued_at, (first_estimate ->> 'expected_minutes')::integer))
    WHERE status = 'waiting' AND first_called_at IS NULL AND first_estimate IS NOT NULL;
