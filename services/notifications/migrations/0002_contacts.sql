-- Read model: where to reach a recipient. Personal data: deleted when its subject is erased.
CREATE TABLE notification_contacts (
    recipient_ref text PRIMARY KEY,
    subject_id    text NOT NULL,
    phone         text,
    language      text NOT NULL
);
CREATE INDEX notification_contacts_subject ON notification_contacts (subject_id);
