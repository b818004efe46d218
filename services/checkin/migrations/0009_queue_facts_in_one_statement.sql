-- A queue's estimate facts (application/estimates.py) as a function: VOLATILE, so it reads with
-- a snapshot of its own, taken when it runs (PostgreSQL does not inline a volatile SQL
-- function). Issuing a ticket calls it in the statement that takes the queue's number, with the
-- number as its last argument: it runs once the number's row is locked, and sees every ticket
-- issued before, as a statement of its own after the number did (one round trip fewer per
-- ticket). Its parameters: the site, the queue, the service sample window's start, now, the
-- calibration's sample size, the channels of the line, the arrivals a new ticket's estimate
-- needs (NULL: not a new ticket), the number taken (NULL: none).
CREATE FUNCTION checkin_queue_facts(
    text, text, timestamptz, timestamptz, integer, text[], timestamptz, integer DEFAULT NULL
) RETURNS TABLE (
    services record[], agents record[], busy_queues text[], serving record[],
    outcomes record[], waiting record[], arrived record[]
) LANGUAGE sql VOLATILE AS $$
WITH present AS (
    SELECT agent_id, queues FROM agent_index
    WHERE site_id = $1 AND status IN ('available', 'serving') AND $2 = ANY(queues)
)
SELECT
    array(SELECT (problem_category, extract(epoch FROM ended_at - serving_started_at) / 60.0)
          FROM ticket_index
          WHERE site_id = $1 AND queue = $2 AND status = 'completed'
            AND ended_at > $3 AND ended_at <= $4 AND serving_started_at IS NOT NULL
          ORDER BY ended_at DESC LIMIT 500) AS services,
    array(SELECT (agent_id, queues) FROM present ORDER BY agent_id) AS agents,
    array(SELECT DISTINCT queue FROM queue_waiting
          WHERE site_id = $1 AND waiting > 0 AND EXISTS (SELECT FROM present)) AS busy_queues,
    array(SELECT (agent_id, problem_category, coalesce(serving_started_at, called_at))
          FROM ticket_index
          WHERE site_id = $1 AND status IN ('called', 'serving')
            AND agent_id IN (SELECT agent_id FROM present)) AS serving,
    array((SELECT ((first_estimate ->> 'expected_minutes')::float,
                   extract(epoch FROM $4 - issued_at) / 60.0, 0)
           FROM queue_tickets
           WHERE site_id = $1 AND queue = $2 AND status = 'waiting'
             AND first_called_at IS NULL AND first_estimate IS NOT NULL
             AND checkin_overdue_at(issued_at, (first_estimate ->> 'expected_minutes')::int)
                 < $4
             AND issued_at <= $4
           ORDER BY checkin_overdue_at(issued_at,
                                       (first_estimate ->> 'expected_minutes')::int)
           LIMIT $5)
          UNION ALL
          (SELECT ((first_estimate ->> 'expected_minutes')::float,
                   extract(epoch FROM first_called_at - issued_at) / 60.0, 1)
           FROM queue_tickets
           WHERE site_id = $1 AND queue = $2 AND first_estimate IS NOT NULL
             AND first_called_at > $3 AND first_called_at <= $4 AND issued_at <= $4
           ORDER BY first_called_at DESC
           LIMIT $5)) AS outcomes,
    array(SELECT (problem_category, sum(waiting)::int) FROM queue_waiting
          WHERE $7::timestamptz IS NOT NULL
            AND site_id = $1 AND queue = $2 AND channel = ANY($6::text[])
          GROUP BY problem_category) AS waiting,
    array(SELECT (problem_category, ticket_id, number, queue, arrival_at, language, dialect,
                  required_skill, accessibility, escalated, appointment_start, appointment_end)
          FROM ticket_index
          WHERE $7::timestamptz IS NOT NULL
            AND site_id = $1 AND queue = $2 AND status = 'waiting'
            AND arrival_at >= $7 AND channel = ANY($6::text[])) AS arrived
$$;
