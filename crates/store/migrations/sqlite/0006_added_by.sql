-- Who added each participant (an account; NULL from the command line or before this
-- migration): bounds what one account may cause per hour (rows, invitations).
ALTER TABLE session_participants ADD COLUMN added_by TEXT;
CREATE INDEX session_participants_added_by ON session_participants (added_by, created_at);
