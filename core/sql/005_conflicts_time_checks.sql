-- Schema v5 (issue 11 §4): conflicts of every record kind, and the times
-- the server checked. Filled from the docs by the rebuild that follows.

-- Fields with several concurrent values, and workflow conflicts
-- (field = 'workflow': transitions that did not apply), of households,
-- residents, hazards and cases. `household_id` is '' when the record names
-- none; `candidates` is a JSON array of {value, by, at}.
DROP TABLE conflicts;
CREATE TABLE conflicts (
    record       TEXT NOT NULL,
    record_id    TEXT NOT NULL,
    field        TEXT NOT NULL,
    household_id TEXT NOT NULL,
    candidates   TEXT NOT NULL,
    doc_key      INTEGER NOT NULL,
    PRIMARY KEY (record, record_id, field)
) WITHOUT ROWID;
CREATE INDEX conflicts_doc ON conflicts(doc_key);

-- Written by the sync server when it first receives a record (not a read
-- model: empty on phones). `item` is '' for the record itself (a case
-- opened, a hazard reported, a form filled) or the id of a transition or
-- visit; `claimed_at` is the time the record carries (the device's clock),
-- `received_at` the server's. `status`: 'ok'; 'future' (claims a time after
-- it arrived); 'late' (arrived long after the time it claims: offline for
-- days, or backdated); 'clock_off' (the device's clock was wrong when it
-- synced). Figures use `received_at` for 'future' and 'clock_off' records
-- and count every record that is not 'ok' as unverified.
CREATE TABLE time_checks (
    doc_id      TEXT NOT NULL,
    item        TEXT NOT NULL,
    claimed_at  INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    status      TEXT NOT NULL,
    PRIMARY KEY (doc_id, item)
) WITHOUT ROWID;
