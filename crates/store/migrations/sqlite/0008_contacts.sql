-- The address book as staff manage it: a first name beside the name, notes, archiving, and
-- the entry a duplicate was merged into (its participations and enrolments point there).
ALTER TABLE contacts ADD COLUMN first_name TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN notes TEXT NOT NULL DEFAULT '';
ALTER TABLE contacts ADD COLUMN archived BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN merged_into TEXT REFERENCES contacts (id);
CREATE INDEX contacts_name ON contacts (name, first_name);
