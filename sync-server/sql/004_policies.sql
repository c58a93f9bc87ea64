-- Server schema v4: the policy settings staff made on each grid node. Only
-- the keys a node changes are stored (a PolicyOverride as JSON); the
-- effective policy of every grid is folded from the town down and published
-- as a `policy/<grid>` doc that phones read.

CREATE TABLE grid_policies (
    grid       TEXT PRIMARY KEY REFERENCES grids(code),
    body       TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
