-- Attendance (issue 11): corrections entered by trainers and managers, kept beside the measured
-- figures (never over them), and the signatures of each half-day, chained and sealed with a key
-- derived from the server's secret (domain::evidence) so that a later change to a row shows.

CREATE TABLE attendance_corrections (
    id               TEXT PRIMARY KEY,
    session_id       TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    participant_id   TEXT NOT NULL,
    day              TEXT NOT NULL,
    half             TEXT NOT NULL CHECK (half IN ('morning', 'afternoon')),
    minutes          INTEGER NOT NULL CHECK (minutes >= 0),
    reason           TEXT NOT NULL,
    created_by       TEXT,
    created_by_label TEXT NOT NULL,
    created_at       INTEGER NOT NULL
);
CREATE INDEX attendance_corrections_session ON attendance_corrections (session_id, created_at);

CREATE TABLE attendance_signatures (
    id             TEXT PRIMARY KEY,
    session_id     TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq            INTEGER NOT NULL,
    signer_kind    TEXT NOT NULL CHECK (signer_kind IN ('participant', 'account')),
    signer_id      TEXT NOT NULL,
    display_name   TEXT NOT NULL,
    day            TEXT NOT NULL,
    half           TEXT NOT NULL CHECK (half IN ('morning', 'afternoon')),
    signed_at      INTEGER NOT NULL,
    signed_at_ns   INTEGER NOT NULL,
    client_address TEXT NOT NULL,
    user_agent     TEXT NOT NULL,
    content_kind   TEXT NOT NULL CHECK (content_kind IN ('typed', 'png')),
    content        TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    link           TEXT NOT NULL,
    UNIQUE (session_id, seq),
    UNIQUE (session_id, signer_kind, signer_id, day, half)
);

-- The latest seal of each session's chain, apart from the records: removing the last records
-- leaves a valid shorter chain, which this row then contradicts.
CREATE TABLE attendance_seals (
    session_id TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    records    INTEGER NOT NULL,
    head       TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
