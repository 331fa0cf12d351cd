-- Each account's teaching by time. A trainer's (or account moderator's) sessions in a window —
-- their dashboard, their agenda, the conflict check of a booking — are found through this index
-- without reading their whole history. The store keeps the copied times equal to the session's
-- (booking, moving, adding people).
ALTER TABLE session_participants ADD COLUMN starts_at BIGINT;
ALTER TABLE session_participants ADD COLUMN ends_at BIGINT;
UPDATE session_participants SET
    starts_at = (SELECT s.starts_at FROM sessions s WHERE s.id = session_participants.session_id),
    ends_at = (SELECT s.ends_at FROM sessions s WHERE s.id = session_participants.session_id);
CREATE INDEX participants_teaching ON session_participants (user_id, starts_at) WHERE user_id IS NOT NULL;
