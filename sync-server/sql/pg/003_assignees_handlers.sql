-- PostgreSQL schema v3 (issue 15): core/sql/007_assignees.sql and the
-- server's sql/008_handlers.sql.

ALTER TABLE hazard_transitions ADD COLUMN assignee TEXT NOT NULL DEFAULT '';
ALTER TABLE case_transitions ADD COLUMN assignee TEXT NOT NULL DEFAULT '';

CREATE TABLE handlers (
    id     TEXT PRIMARY KEY,
    name   TEXT NOT NULL,
    kind   TEXT NOT NULL,
    grid   TEXT NOT NULL,
    phone  TEXT NOT NULL DEFAULT '',
    active BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX handlers_grid ON handlers(grid);

CREATE TABLE grid_boundaries (
    grid  TEXT PRIMARY KEY,
    rings TEXT NOT NULL
);

-- The read models are rebuilt from the docs at the next start, which
-- fills the assignees.
