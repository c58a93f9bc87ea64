-- Schema v6 (issue 14): photos and other attachments kept on the phone, and
-- which records refer to which blob. Filled from the docs by the rebuild
-- that follows (attachment_refs is a read model).

-- The phone's blobs, content-addressed by the SHA-256 of `bytes` (64
-- lowercase hex digits). `bytes` is NULL when the original is not on this
-- phone: dropped down to its thumbnail by the storage budget once the
-- server confirmed the hash, or another device's photo not downloaded.
-- upload_state: 'pending' (the server does not have it yet), 'uploaded'
-- (the server verified the hash: safe to drop), 'remote' (another device's
-- photo; only its thumbnail or nothing is here).
CREATE TABLE attachments_v6 (
    sha256       TEXT PRIMARY KEY,
    mime         TEXT NOT NULL,
    size         INTEGER NOT NULL,
    bytes        BLOB,
    thumbnail    BLOB,
    upload_state TEXT NOT NULL DEFAULT 'pending',
    created_at   INTEGER NOT NULL,
    uploaded_at  INTEGER
);
INSERT INTO attachments_v6 (sha256, mime, size, bytes, upload_state, created_at)
    SELECT sha256, mime, length(bytes), bytes, upload_state, created_at FROM attachments;
DROP TABLE attachments;
ALTER TABLE attachments_v6 RENAME TO attachments;
CREATE INDEX attachments_state ON attachments(upload_state, created_at);

-- Every blob a record refers to: a hazard's or a visit's photos (item ''),
-- a transition's (item = transition id: a rectification's "after" photos),
-- a form's photo answers (item = field id); `position` keeps the order the
-- record lists them in. The server answers
-- for a blob only to a device or staff member whose scope holds one of the
-- docs here (joined to docs.scope).
CREATE TABLE attachment_refs (
    blob      TEXT NOT NULL,
    doc_key   INTEGER NOT NULL,
    record    TEXT NOT NULL,
    record_id TEXT NOT NULL,
    item      TEXT NOT NULL,
    position  INTEGER NOT NULL,
    PRIMARY KEY (blob, doc_key, record_id, item)
) WITHOUT ROWID;
CREATE INDEX attachment_refs_doc ON attachment_refs(doc_key);
CREATE INDEX attachment_refs_record ON attachment_refs(record_id);
