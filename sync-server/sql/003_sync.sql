-- Sync state of the server: its identity, the content-addressed change log,
-- and what each device is known to have.

CREATE TABLE server_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Every change ever received, by hash: inserting one twice is a no-op.
CREATE TABLE change_log (
    hash   BLOB PRIMARY KEY,
    doc_id TEXT NOT NULL,
    bytes  BLOB NOT NULL
) WITHOUT ROWID;

-- A device (worker/actor) and the last response round it was sent.
CREATE TABLE devices (
    device     TEXT PRIMARY KEY,
    worker_id  TEXT NOT NULL,
    last_round INTEGER NOT NULL
);

-- Heads a device is known to have of a doc (confirmed).
CREATE TABLE device_heads (
    device TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    heads  BLOB NOT NULL,
    PRIMARY KEY (device, doc_id)
) WITHOUT ROWID;

-- Heads a device will have once it applies a response round.
CREATE TABLE device_pending (
    device TEXT NOT NULL,
    round  INTEGER NOT NULL,
    doc_id TEXT NOT NULL,
    heads  BLOB NOT NULL,
    PRIMARY KEY (device, round, doc_id)
) WITHOUT ROWID;

-- Slow path: Automerge sync state per device and doc (encoded: shared heads only).
CREATE TABLE device_sync_states (
    device TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    state  BLOB NOT NULL,
    PRIMARY KEY (device, doc_id)
) WITHOUT ROWID;
