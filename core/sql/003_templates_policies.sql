-- Schema v3: read models of the read-only configuration docs that staff
-- publish on the server: form template versions and grid policies.

-- One row per published template version (`template/<id>/<version>` docs).
-- `body` is the template JSON (docs/forms.md). Built-in templates are not
-- stored here; the core resolves ids against both.
CREATE TABLE templates (
    id           TEXT NOT NULL,
    version      INTEGER NOT NULL,
    doc_key      INTEGER NOT NULL,
    category     TEXT NOT NULL,
    title_zh     TEXT NOT NULL,
    title_en     TEXT NOT NULL,
    grid         TEXT NOT NULL,
    body         TEXT NOT NULL,
    published_by TEXT NOT NULL,
    published_at INTEGER NOT NULL,
    PRIMARY KEY (id, version)
) WITHOUT ROWID;

CREATE INDEX templates_doc ON templates(doc_key);

-- The effective schedule policy of a grid (`policy/<grid>` docs); `body` is
-- the policy JSON.
CREATE TABLE policies (
    grid       TEXT PRIMARY KEY,
    doc_key    INTEGER NOT NULL,
    body       TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX policies_doc ON policies(doc_key);
