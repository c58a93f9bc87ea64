-- Server schema v8 (issue 15): the directory of people and departments a
-- case can be dispatched to (派遣), kept by `admin handler …`. A handler
-- serves the cases of its node's subtree: a community's handlers its
-- grids, the town's every grid (dispatching to a town handler is how a
-- community escalates a case to the town). `active` = 0 keeps the name
-- for cases dispatched before the handler was removed.
CREATE TABLE handlers (
    id     TEXT PRIMARY KEY,
    name   TEXT NOT NULL,
    kind   TEXT NOT NULL,
    grid   TEXT NOT NULL,
    phone  TEXT NOT NULL DEFAULT '',
    active INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX handlers_grid ON handlers(grid);

-- A grid's boundary for the dashboard's map, imported from GeoJSON with
-- `admin grid boundary`: its rings as a JSON array of [lon, lat] pairs.
CREATE TABLE grid_boundaries (
    grid  TEXT PRIMARY KEY,
    rings TEXT NOT NULL
);
