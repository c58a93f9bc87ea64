-- PostgreSQL schema v2 (issue 14): core/sql/006_photos.sql. The server keeps
-- blob bytes in its blob store (files under the data directory), never in
-- `attachments` (a phone's table, empty here), so it is recreated empty.

DROP TABLE attachments;
CREATE TABLE attachments (
    sha256       TEXT PRIMARY KEY,
    mime         TEXT NOT NULL,
    size         BIGINT NOT NULL,
    bytes        BYTEA,
    thumbnail    BYTEA,
    upload_state TEXT NOT NULL DEFAULT 'pending',
    created_at   BIGINT NOT NULL,
    uploaded_at  BIGINT
);
CREATE INDEX attachments_state ON attachments(upload_state, created_at);

CREATE TABLE attachment_refs (
    blob      TEXT NOT NULL,
    doc_key   BIGINT NOT NULL,
    record    TEXT NOT NULL,
    record_id TEXT NOT NULL,
    item      TEXT NOT NULL,
    position  BIGINT NOT NULL,
    PRIMARY KEY (blob, doc_key, record_id, item)
);
CREATE INDEX attachment_refs_doc ON attachment_refs(doc_key);
CREATE INDEX attachment_refs_record ON attachment_refs(record_id);

-- The read models are rebuilt from the docs at the next start (the core's
-- materializer revision moved), which fills attachment_refs.
