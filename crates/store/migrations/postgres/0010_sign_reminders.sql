-- Reminders to sign the attendance sheet: a new outbox kind, and one row per participant
-- reminded, so that the reminder goes out once whatever the number of workers and passes.
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('invitation', 'update', 'cancellation', 'reminder', 'sign_reminder'));

CREATE TABLE sign_reminders (
    session_id     TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    participant_id TEXT NOT NULL REFERENCES session_participants (id) ON DELETE CASCADE,
    enqueued_at    BIGINT NOT NULL,
    PRIMARY KEY (session_id, participant_id)
);
