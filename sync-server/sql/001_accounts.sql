-- Server schema v1: accounts. The grid tree, the workers on it and their
-- device tokens. Lives in the same file as the core store's tables; tracked
-- in server_schema, never in PRAGMA user_version (the core's).

-- The four-level grid: 1 = town, 2 = community, 3, 4 = a gridworker's grid.
-- `level` is computed from the parent chain when a node is added.
CREATE TABLE grids (
    code   TEXT PRIMARY KEY,
    name   TEXT NOT NULL,
    parent TEXT REFERENCES grids(code),
    level  INTEGER NOT NULL CHECK (level BETWEEN 1 AND 4),
    CHECK ((parent IS NULL) = (level = 1))
);
CREATE INDEX grids_parent ON grids(parent);

CREATE TABLE workers (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('gridworker', 'community_staff', 'town_staff', 'admin')),
    grid TEXT NOT NULL REFERENCES grids(code)
);
CREATE INDEX workers_grid ON workers(grid);

-- Device tokens: only the SHA-256 of the token is stored; the token itself
-- is shown once when issued. Revoked tokens keep their row (audit).
CREATE TABLE tokens (
    hash       BLOB PRIMARY KEY,
    worker_id  TEXT NOT NULL REFERENCES workers(id),
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX tokens_worker ON tokens(worker_id);
