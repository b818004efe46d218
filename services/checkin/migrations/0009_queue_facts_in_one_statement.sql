-- A queue's estimate facts (application/estimates.py) as a function: VOLATILE, so each of its
-- queries reads with a snapshot of its own, taken when it runs. Issuing a ticket calls it in the
-- statement that takes the queue's number, with the number as its last argument: it runs once
-- the number's row is locked, and sees every ticket issued before, as a statement of its own
-- after the number did (one round trip fewer per ticket). PL/pgSQL keeps the query's plan for
-- the session (a SQL function would be parsed and planned on every call, ~1.3 ms here); its
-- arrays are of the composite types below (PL/pgSQL returns no record[]). Parameters: the site,
-- the queue, the service sample window's start, now, the calibration's sample size, the
-- channels of the line, the arrivals a new ticket's estimate needs (NULL: not a new ticket),
-- the number taken (NULL: none).
CREATE TYPE checkin_fact_service AS (problem_category text, minutes numeric);
CREATE TYPE checkin_fact_agent AS (agent_id text, queues text[]);
CREATE TYPE checkin_fact_serving AS (agent_id text, problem_category text, since timestamptz);
CREATE TYPE checkin_fact_outcome AS (
    expected double precision, actual numeric, still_waiting integer
);
CREATE TYPE checkin_fact_waiting AS (problem_category text, waiting integer);
CREATE TYPE checkin_fact_arrival AS (
    problem_category text, ticket_id uuid, number text, queue text, arrival_at timestamptz,
    language text, dialect text, required_skill text, accessibility boolean, escalated boolean,
    appointment_start timestamptz, appointment_end timestamptz
);

CREATE FUNCTION checkin_queue_facts(
    text, text, timestamptz, timestamptz, integer, text[], timestamptz, integer DEFAULT NULL
) RETURNS TABLE (
    services checkin_fact_service[], agents checkin_fact_agent[], busy_queues text[],
    serving checkin_fact_serving[], outcomes checkin_fact_outcome[],
    waiting checkin_fact_waiting[], arrived checkin_fact_arrival[]
) LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
BEGIN
RETURN QUERY
WITH present AS (
    SELECT agent_id, queues FROM agent_index
    WHERE site_id = $1 AND status IN ('available', 'serving') AND $2 = ANY(queues)
)
SELECT
    array(SELECT (problem_category, extract(epoch FROM ended_at - serving_started_at) / 60.0)
                 ::checkin_fact_service
          FROM ticket_index
          WHERE site_id = $1 AND queue = $2 AND status = 'completed'
            AND ended_at > $3 AND ended_at <= $4 AND serving_started_at IS NOT NULL
          ORDER BY ended_at DESC LIMIT 500),
    array(SELECT (agent_id, queues)::checkin_fact_agent FROM present ORDER BY agent_id),
    array(SELECT DISTINCT queue FROM queue_waiting
          WHERE site_id = $1 AND waiting > 0 AND EXISTS (SELECT FROM present)),
    array(SELECT (agent_id, problem_category, coalesce(serving_started_at, called_at))
                 ::checkin_fact_serving
          FROM ticket_index
          WHERE site_id = $1 AND status IN ('called', 'serving')
            AND agent_id IN (SELECT agent_id FROM present)),
    array((SELECT ((first_estimate ->> 'expected_minutes')::float,
                   extract(epoch FROM $4 - issued_at) / 60.0, 0)::checkin_fact_outcome
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
                  ::checkin_fact_outcome
           FROM queue_tickets
           WHERE site_id = $1 AND queue = $2 AND first_estimate IS NOT NULL
             AND first_called_at > $3 AND first_called_at <= $4 AND issued_at <= $4
           ORDER BY first_called_at DESC
           LIMIT $5)),
    array(SELECT (problem_category, sum(waiting)::int)::checkin_fact_waiting FROM queue_waiting
          WHERE $7 IS NOT NULL
            AND site_id = $1 AND queue = $2 AND channel = ANY($6)
          GROUP BY problem_category),
    array(SELECT (problem_category, ticket_id, number, queue, arrival_at, language, dialect,
                  required_skill, accessibility, escalated, appointment_start, appointment_end)
                 ::checkin_fact_arrival
          FROM ticket_index
          WHERE $7 IS NOT NULL
            AND site_id = $1 AND queue = $2 AND status = 'waiting'
            AND arrival_at >= $7 AND channel = ANY($6));
END
$$;
