-- Mail: the outbox (each message a row, delivered by a worker holding a lease), the reminders
-- scheduled per participant, and the version of each account's calendar-feed key.
CREATE TABLE outbox (
    -- Internal order of delivery (never shown, never in a link); `id` is what pages use.
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    kind            TEXT NOT NULL CHECK (kind IN ('invitation', 'update', 'cancellation', 'reminder')),
    session_id      TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    -- No foreign key: the cancellation of a removed participant outlives their row.
    participant_id  TEXT NOT NULL,
    recipient_email TEXT NOT NULL,
    recipient_norm  TEXT NOT NULL,
    recipient_name  TEXT NOT NULL,
    -- NULL: the configured default language.
    locale          TEXT,
    time_zone       TEXT NOT NULL,
    -- JSON: what cannot be read again at delivery (old times, a removed participant).
    snapshot        TEXT NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'superseded')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    give_up_at      BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    subject         TEXT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_thread ON outbox (session_id, recipient_norm, seq);
CREATE INDEX outbox_participant ON outbox (session_id, participant_id);

CREATE TABLE reminders (
    session_id     TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    participant_id TEXT NOT NULL REFERENCES session_participants (id) ON DELETE CASCADE,
    offset_minutes BIGINT NOT NULL,
    due_at         BIGINT NOT NULL,
    -- Set once, when the reminder became an outbox message (or was skipped): never again.
    enqueued_at    BIGINT,
    PRIMARY KEY (session_id, participant_id, offset_minutes)
);
CREATE INDEX reminders_due ON reminders (due_at) WHERE enqueued_at IS NULL;

CREATE TABLE calendar_feeds (
    user_id    TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    version    BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
