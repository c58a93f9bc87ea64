-- Server schema v6: the access log of residents' personal data (issue 6).
-- One row each time a staff member opens a household's detail page or
-- downloads an export holding personal data: who, when, which household
-- (or which export). Rows are only ever added; nothing here is personal
-- data itself (ids only).
CREATE TABLE access_log (
    id           INTEGER PRIMARY KEY,
    at           INTEGER NOT NULL,
    worker_id    TEXT NOT NULL,
    -- 'household' (a detail page) or 'export:<kind>'.
    action       TEXT NOT NULL,
    -- The household id, or '' for an export.
    household_id TEXT NOT NULL,
    -- The grids the export covered, comma-separated ('' for a household).
    scope        TEXT NOT NULL
);
CREATE INDEX access_log_household ON access_log(household_id, at);
CREATE INDEX access_log_worker ON access_log(worker_id, at);
