-- Appointments (issue #4): bookable slots per site and queue, with a capacity.

-- Command side, written in the same transaction as the slot events it is derived from
-- (services/checkin/appointments.py): one row per appointment, a pure function of its slot's
-- state. It finds an appointment's slot, counts the places taken per slot, and holds the one
-- active booking per person, queue and day (unique: two concurrent bookings cannot both pass).
CREATE TABLE appointment_index (
    appointment_id  uuid        PRIMARY KEY,
    stream_id       text        NOT NULL,
    site_id         text        NOT NULL,
    queue           text        NOT NULL,
    slot_start      timestamptz NOT NULL,
    slot_end        timestamptz NOT NULL,
    service_day     date        NOT NULL,
    customer_id     text        NOT NULL,
    status          text        NOT NULL,
    check_in_from   timestamptz NOT NULL,
    check_in_until  timestamptz NOT NULL,
    booked_at       timestamptz NOT NULL,
    ticket_id       uuid,
    ended_at        timestamptz
);
CREATE UNIQUE INDEX appointment_index_one_per_day
    ON appointment_index (customer_id, site_id, queue, service_day) WHERE status = 'booked';
CREATE INDEX appointment_index_slot ON appointment_index (site_id, queue, service_day, slot_start)
    WHERE status IN ('booked', 'checked_in');
CREATE INDEX appointment_index_customer ON appointment_index (customer_id, slot_start DESC);

-- The virtual queue's one-active-ticket rule also looks tickets up by customer.
CREATE INDEX ticket_index_customer_active ON ticket_index (customer_id)
    WHERE status IN ('waiting', 'called', 'serving', 'parked');

-- Read model (projection from frontdesk.checkin.appointments, rebuildable): the bookings of a
-- site's day for the reception. Ids only, no personal data.
CREATE TABLE appointments (
    appointment_id  uuid        PRIMARY KEY,
    site_id         text        NOT NULL,
    queue           text        NOT NULL,
    slot_start      timestamptz NOT NULL,
    slot_end        timestamptz NOT NULL,
    customer_id     text        NOT NULL,
    status          text        NOT NULL,
    check_in_until  timestamptz NOT NULL,
    booked_at       timestamptz NOT NULL,
    ticket_id       uuid,
    ended_at        timestamptz
);
CREATE INDEX appointments_site_day ON appointments (site_id, slot_start);
