-- PostgreSQL schema v5 (issue 16): core/sql/008_case_photos.sql.

ALTER TABLE cases ADD COLUMN photos TEXT NOT NULL DEFAULT '[]';

-- The read models are rebuilt from the docs at the next start, which
-- fills the photos and their attachment_refs.
