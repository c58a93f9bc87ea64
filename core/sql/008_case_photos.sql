-- Schema v8 (issue 16): a case's own photos (e.g. the one a resident sent
-- with a request through the H5 page), as a JSON list of blob ids like
-- hazards.photos; attachment_refs also lists them (item ''). Filled from
-- the docs by the rebuild that follows.
ALTER TABLE cases ADD COLUMN photos TEXT NOT NULL DEFAULT '[]';
