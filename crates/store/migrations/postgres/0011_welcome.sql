-- Welcome messages to new staff accounts: a new outbox kind about no session (session_id becomes
-- nullable; participant_id then holds the account's id). The
-- set-password link travels sealed in the snapshot and is wiped once the row is finished.
ALTER TABLE outbox ALTER COLUMN session_id DROP NOT NULL;
ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check
    CHECK (kind IN ('invitation', 'update', 'cancellation', 'reminder', 'sign_reminder', 'welcome'));
