-- Welcome messages to new staff accounts: a new outbox kind about no session (session_id becomes
-- nullable; participant_id then holds the account's id). SQLite cannot change a column or a CHECK
-- constraint, so the table is rebuilt with every row, column and index (as in 0010). The
-- set-password link travels sealed in the snapshot and is wiped once the row is finished.
CREATE TABLE outbox_new (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('invitation', 'update', 'cancellation', 'reminder', 'sign_reminder', 'welcome')),
    session_id      TEXT REFERENCES sessions (id) ON DELETE CASCADE,
    participant_id  TEXT NOT NULL,
    recipient_email TEXT NOT NULL,
    recipient_norm  TEXT NOT NULL,
    recipient_name  TEXT NOT NULL,
    locale          TEXT,
    time_zone       TEXT NOT NULL,
    snapshot        TEXT NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'superseded')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    give_up_at      INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    subject         TEXT,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    -- 0009: an invitation describing a whole series.
    series_id       TEXT
);
INSERT INTO outbox_new (seq, id, kind, session_id, participant_id, recipient_email, recipient_norm, recipient_name,
    locale, time_zone, snapshot, status, attempts, next_attempt_at, give_up_at, lease_owner, lease_until, subject,
    last_error, created_at, updated_at, sent_at, series_id)
SELECT seq, id, kind, session_id, participant_id, recipient_email, recipient_norm, recipient_name,
    locale, time_zone, snapshot, status, attempts, next_attempt_at, give_up_at, lease_owner, lease_until, subject,
    last_error, created_at, updated_at, sent_at, series_id FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_thread ON outbox (session_id, recipient_norm, seq);
CREATE INDEX outbox_participant ON outbox (session_id, participant_id);
CREATE INDEX outbox_series ON outbox (series_id, recipient_norm) WHERE series_id IS NOT NULL;
