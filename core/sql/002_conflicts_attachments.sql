-- Schema v2: concurrent-edit conflicts as a read model, photo attachments,
-- and indexes for the case and hazard queues.

-- Fields of households and residents with several concurrent values.
-- `resident_id` is '' for household fields; `candidates` is a JSON array of
-- {value, by, at}.
CREATE TABLE conflicts (
    household_id TEXT NOT NULL,
    resident_id  TEXT NOT NULL,
    field        TEXT NOT NULL,
    candidates   TEXT NOT NULL,
    doc_key      INTEGER NOT NULL,
    PRIMARY KEY (household_id, resident_id, field)
) WITHOUT ROWID;

-- Photos and other blobs, content-addressed; documents refer to them by hash.
CREATE TABLE attachments (
    sha256       TEXT PRIMARY KEY,
    mime         TEXT NOT NULL,
    bytes        BLOB NOT NULL,
    upload_state TEXT NOT NULL DEFAULT 'pending',
    created_at   INTEGER NOT NULL
);

CREATE INDEX cases_status ON cases(status, opened_at);
CREATE INDEX hazards_status ON hazards(status, reported_at);
