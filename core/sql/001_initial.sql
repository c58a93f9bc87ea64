-- Gridwork phone store, schema v1.
-- Replicated documents live in `docs` + `doc_chunks`; every other table except
-- `device`, `sync_docs` and `sync_meta` is a read model materialised from the
-- docs and can be rebuilt from them at any time (`rebuild`, `check`).

-- The phone's owner and this device's Automerge actor id (one row).
CREATE TABLE device (
    singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
    worker_id   TEXT NOT NULL,
    worker_name TEXT NOT NULL,
    grid        TEXT NOT NULL,
    actor       BLOB NOT NULL,
    created_at  INTEGER NOT NULL
);

-- One row per Automerge document: a saved snapshot plus the heads it is at.
-- `key` is a compact local handle used by the read models.
CREATE TABLE docs (
    key         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    scope       TEXT NOT NULL,
    snapshot    BLOB NOT NULL,
    heads       BLOB NOT NULL,
    chunk_count INTEGER NOT NULL DEFAULT 0,
    chunk_bytes INTEGER NOT NULL DEFAULT 0,
    updated_at  INTEGER NOT NULL
);

-- Incremental saves (`save_after`) appended since the snapshot; compacted
-- into the snapshot past a bound.
CREATE TABLE doc_chunks (
    doc_key INTEGER NOT NULL REFERENCES docs(key) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    bytes   BLOB NOT NULL,
    PRIMARY KEY (doc_key, seq)
) WITHOUT ROWID;

-- Sync bookkeeping per doc: heads shared with the server and the dirty flag.
CREATE TABLE sync_docs (
    doc_key      INTEGER PRIMARY KEY REFERENCES docs(key) ON DELETE CASCADE,
    shared_heads BLOB NOT NULL DEFAULT x'',
    dirty        INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX sync_docs_dirty ON sync_docs(dirty) WHERE dirty = 1;

-- Sync key/value state (feed cursor, server url).
CREATE TABLE sync_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Read models -------------------------------------------------------------

CREATE TABLE households (
    id             TEXT PRIMARY KEY,
    doc_key        INTEGER NOT NULL,
    grid           TEXT NOT NULL,
    community      TEXT NOT NULL,
    building       TEXT NOT NULL,
    unit           TEXT NOT NULL,
    room           TEXT NOT NULL,
    address        TEXT NOT NULL,
    representative TEXT NOT NULL,
    phone          TEXT NOT NULL,
    risk           TEXT NOT NULL,
    status         TEXT NOT NULL,
    note           TEXT NOT NULL,
    created_at     INTEGER NOT NULL
);
CREATE INDEX households_doc ON households(doc_key);

CREATE TABLE household_tags (
    household_id TEXT NOT NULL,
    tag          TEXT NOT NULL,
    doc_key      INTEGER NOT NULL,
    PRIMARY KEY (household_id, tag)
) WITHOUT ROWID;

CREATE TABLE residents (
    id           TEXT PRIMARY KEY,
    household_id TEXT NOT NULL,
    doc_key      INTEGER NOT NULL,
    name         TEXT NOT NULL,
    gender       TEXT NOT NULL,
    birth_date   TEXT NOT NULL,
    id_number    TEXT NOT NULL,
    phone        TEXT NOT NULL,
    relation     TEXT NOT NULL,
    moved_out    INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX residents_household ON residents(household_id);
CREATE INDEX residents_doc ON residents(doc_key);

CREATE TABLE resident_tags (
    resident_id  TEXT NOT NULL,
    tag          TEXT NOT NULL,
    household_id TEXT NOT NULL,
    doc_key      INTEGER NOT NULL,
    PRIMARY KEY (resident_id, tag)
) WITHOUT ROWID;

-- One row per visit. `outcomes` holds one character per checklist item in
-- template order (o = ok, p = problem, n = not applicable, - = unanswered).
CREATE TABLE visits (
    id               TEXT PRIMARY KEY,
    household_id     TEXT NOT NULL,
    doc_key          INTEGER NOT NULL,
    worker_id        TEXT NOT NULL,
    started_at       INTEGER NOT NULL,
    ended_at         INTEGER NOT NULL,
    lat              REAL,
    lon              REAL,
    accuracy         REAL,
    template_id      TEXT NOT NULL,
    template_version INTEGER NOT NULL,
    outcomes         TEXT NOT NULL,
    note             TEXT NOT NULL,
    follow_ups       TEXT NOT NULL
);
CREATE INDEX visits_household ON visits(household_id, started_at);
CREATE INDEX visits_doc ON visits(doc_key);

-- Checklist answers that are findings: not `ok`, or carrying a note. Plain
-- `ok` answers are only in `visits.outcomes`. Keyed by doc first: refreshing
-- a doc deletes its rows by key prefix, with no second index.
CREATE TABLE visit_answers (
    doc_key  INTEGER NOT NULL,
    visit_id TEXT NOT NULL,
    item     TEXT NOT NULL,
    outcome  TEXT NOT NULL,
    note     TEXT NOT NULL,
    PRIMARY KEY (doc_key, visit_id, item)
) WITHOUT ROWID;

CREATE TABLE form_records (
    id               TEXT PRIMARY KEY,
    doc_key          INTEGER NOT NULL,
    template_id      TEXT NOT NULL,
    template_version INTEGER NOT NULL,
    household_id     TEXT,
    subject          TEXT NOT NULL,
    answers          TEXT NOT NULL,
    worker_id        TEXT NOT NULL,
    filled_at        INTEGER NOT NULL
);
CREATE INDEX form_records_doc ON form_records(doc_key);

CREATE TABLE hazards (
    id           TEXT PRIMARY KEY,
    doc_key      INTEGER NOT NULL,
    grid         TEXT NOT NULL,
    category     TEXT NOT NULL,
    severity     TEXT NOT NULL,
    lat          REAL,
    lon          REAL,
    accuracy     REAL,
    place        TEXT NOT NULL,
    description  TEXT NOT NULL,
    household_id TEXT,
    deadline     INTEGER,
    photos       TEXT NOT NULL,
    reported_by  TEXT NOT NULL,
    reported_at  INTEGER NOT NULL,
    status       TEXT NOT NULL
);
CREATE INDEX hazards_doc ON hazards(doc_key);

-- Transitions of a hazard, clustered by its doc (one hazard per doc).
CREATE TABLE hazard_transitions (
    doc_key    INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    id         TEXT NOT NULL,
    hazard_id  TEXT NOT NULL,
    by_worker  TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    note       TEXT NOT NULL,
    PRIMARY KEY (doc_key, at, id)
) WITHOUT ROWID;

CREATE TABLE cases (
    id                TEXT PRIMARY KEY,
    doc_key           INTEGER NOT NULL,
    grid              TEXT NOT NULL,
    channel           TEXT NOT NULL,
    category          TEXT NOT NULL,
    description       TEXT NOT NULL,
    urgency           TEXT NOT NULL,
    household_id      TEXT,
    resident_id       TEXT,
    opened_by         TEXT NOT NULL,
    opened_at         INTEGER NOT NULL,
    status            TEXT NOT NULL,
    first_response_at INTEGER,
    escalated         INTEGER NOT NULL
);
CREATE INDEX cases_doc ON cases(doc_key);

-- Transitions of a case, clustered by its doc (one case per doc).
CREATE TABLE case_transitions (
    doc_key    INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    id         TEXT NOT NULL,
    case_id    TEXT NOT NULL,
    by_worker  TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    note       TEXT NOT NULL,
    PRIMARY KEY (doc_key, at, id)
) WITHOUT ROWID;

CREATE TABLE work_log_days (
    worker_id  TEXT NOT NULL,
    date       TEXT NOT NULL,
    doc_key    INTEGER NOT NULL,
    priorities TEXT NOT NULL,
    notes      TEXT NOT NULL,
    PRIMARY KEY (worker_id, date)
) WITHOUT ROWID;
