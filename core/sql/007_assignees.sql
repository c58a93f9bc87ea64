-- Schema v7 (issue 15): who a case or hazard was handed to by a workflow
-- step (a dispatch names a person or department of the server's directory
-- of handlers); '' for other steps and for steps written before. Filled
-- from the docs by the rebuild that follows.
ALTER TABLE hazard_transitions ADD COLUMN assignee TEXT NOT NULL DEFAULT '';
ALTER TABLE case_transitions ADD COLUMN assignee TEXT NOT NULL DEFAULT '';
