-- Server schema v2: the feed. Every doc change on the server bumps one
-- global counter and stamps the doc with it, so a client can ask for
-- "docs of my scope changed since seq N" with one index range scan.

CREATE TABLE doc_feed (
    doc_id TEXT PRIMARY KEY,
    scope  TEXT NOT NULL,
    seq    INTEGER NOT NULL
);
CREATE INDEX doc_feed_scope_seq ON doc_feed(scope, seq);

CREATE TABLE feed_counter (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    seq       INTEGER NOT NULL
);
INSERT INTO feed_counter (singleton, seq) VALUES (1, 0);
