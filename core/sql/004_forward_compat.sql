-- Schema v4 (issue 11 §2): documents from newer versions are kept, never
-- fatal. Filled from the stored docs by the rebuild that follows this
-- migration (see `migrations::REBUILD_AFTER`).

-- The format version of each doc (its root `format` key; 1 when absent). A
-- doc whose format is newer than this build is shown read-only, never
-- edited here, and synced as it is.
ALTER TABLE docs ADD COLUMN format INTEGER NOT NULL DEFAULT 1;

-- Docs that could not be materialised (a kind this build does not know,
-- content it cannot read): kept and synced as Automerge bytes, listed with
-- the reason, without read-model rows. Derived from the docs like a read
-- model: `rebuild` recomputes it and `check` compares it. `revision` is the
-- materialiser revision that failed; a newer build retries on open.
CREATE TABLE quarantine (
    doc_key  INTEGER PRIMARY KEY REFERENCES docs(key) ON DELETE CASCADE,
    reason   TEXT NOT NULL,
    revision INTEGER NOT NULL
);
