-- One key per data subject and version, wrapped (encrypted) with the key store's master key.
-- Erasing a subject destroys its key material (wrapped_key := NULL) and keeps the row, so a
-- later key for the same person gets a new version and old ciphertext stays unreadable.
CREATE TABLE IF NOT EXISTS subject_keys (
    subject_id   text        NOT NULL,
    version      integer     NOT NULL CHECK (version >= 1),
    wrapped_key  bytea,
    created_at   timestamptz NOT NULL DEFAULT now(),
    erased_at    timestamptz,
    PRIMARY KEY (subject_id, version),
    CHECK ((wrapped_key IS NULL) = (erased_at IS NOT NULL))
);
