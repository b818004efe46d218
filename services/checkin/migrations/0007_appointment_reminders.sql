-- Appointment reminders (issue 16): the reception's day view shows when each booking was last
-- reminded (projected from checkin.appointment_reminder_due; null: not reminded, yet or ever).
ALTER TABLE appointments ADD COLUMN reminded_at timestamptz;
