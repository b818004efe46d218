-- Command side: the next ticket number per site, queue and day (written with the ticket).
CREATE TABLE ticket_counters (
    site_id     text    NOT NULL,
    queue       text    NOT NULL,
    day         date    NOT NULL,
    last_number integer NOT NULL,
    PRIMARY KEY (site_id, queue, day)
);

-- Read model (projection from frontdesk.checkin.tickets): who waits where.
CREATE TABLE queue_tickets (
    ticket_id        uuid        PRIMARY KEY,
    site_id          text        NOT NULL,
    queue            text        NOT NULL,
    number           text        NOT NULL,
    channel          text        NOT NULL,
    status           text        NOT NULL,
    problem_category text        NOT NULL,
    language         text        NOT NULL,
    issued_at        timestamptz NOT NULL,
    desk_id          text,
    called_at        timestamptz,
    ended_at         timestamptz
);
CREATE INDEX queue_tickets_waiting ON queue_tickets (site_id, queue, issued_at)
    WHERE status = 'waiting';
