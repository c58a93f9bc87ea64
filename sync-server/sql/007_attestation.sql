-- Server schema v7 (issue 11 §4): who made each change and when it
-- arrived, as the server attests it, instead of what devices claim.

-- Each device's Automerge actors, bound to the token's worker and the
-- device (`worker/device`) at the device's first push. A change by an actor
-- bound to another worker or device is refused.
CREATE TABLE actors (
    actor     BLOB PRIMARY KEY,
    worker_id TEXT NOT NULL,
    device    TEXT NOT NULL,
    bound_at  INTEGER NOT NULL
) WITHOUT ROWID;

-- Per change (by hash): who pushed it, from which device, when the server
-- received it, and the time the change itself carries (the device's clock).
-- Inserted once: a replayed push keeps the first receipt.
CREATE TABLE change_receipts (
    hash        BLOB PRIMARY KEY,
    doc_id      TEXT NOT NULL,
    worker_id   TEXT NOT NULL,
    device      TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    claimed_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX change_receipts_doc ON change_receipts(doc_id);

-- The raw bytes of every change were kept beside the snapshots and read by
-- nothing; the receipts above are what the server needs per change.
DROP TABLE change_log;

-- The highest response round each device has confirmed applying. A request
-- confirming an older round comes from a device restored from an older copy
-- of itself (or is a replay): what the server believed it held is forgotten
-- and its scope is sent again, so nothing it lost stays lost.
ALTER TABLE devices ADD COLUMN max_acked INTEGER NOT NULL DEFAULT 0;
