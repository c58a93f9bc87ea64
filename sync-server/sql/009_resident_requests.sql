-- Server schema v9 (issue 16): the 30-minute loop.
--
-- The wait endpoint's feed pump reads the feed entries above the last
-- number it saw; this index answers that without scanning the feed.
CREATE INDEX doc_feed_seq ON doc_feed(seq);

-- Per-grid invitation links that a gridworker shares in the grid's WeChat
-- group (`/r/{id}.{mac}`): the link carries the invite id and an HMAC of
-- (id, grid, expires_at) under the server's invite key (`server_meta`), so
-- it can be printed again from the dashboard and is checked against this
-- row on every use. `revoked_at` set = the link no longer works.
CREATE TABLE invites (
    id         TEXT PRIMARY KEY,
    grid       TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX invites_grid ON invites(grid);

-- A resident's request, filed on the H5 page: the case the server made and
-- the tracking link's hash (the link itself is shown once, to the resident).
CREATE TABLE resident_requests (
    tracking_hash TEXT PRIMARY KEY,
    case_id       TEXT NOT NULL,
    invite_id     TEXT NOT NULL,
    received_at   INTEGER NOT NULL
);
CREATE INDEX resident_requests_invite ON resident_requests(invite_id, received_at);

-- A resident's proposed change of their household's contact details: it
-- waits here for the gridworker (or staff) to confirm it by editing the
-- register, or to dismiss it; nothing touches the register by itself.
CREATE TABLE household_proposals (
    id          TEXT PRIMARY KEY,
    grid        TEXT NOT NULL,
    invite_id   TEXT NOT NULL,
    address     TEXT NOT NULL,
    name        TEXT NOT NULL,
    phone       TEXT NOT NULL,
    note        TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    decided_by  TEXT,
    decided_at  INTEGER,
    outcome     TEXT
);
CREATE INDEX household_proposals_grid ON household_proposals(grid, received_at);
