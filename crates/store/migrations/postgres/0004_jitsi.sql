-- Jitsi: the servers Dialogue mints tokens for, the server each session is pinned to, the
-- reservations Prosody asked for, and the room/occupant events it posted (raw material of
-- attendance). Secrets are stored sealed (AES-256-GCM under a key derived from the server's
-- secret key): a copy of the database alone reveals none of them.
CREATE TABLE jitsi_servers (
    id                   TEXT PRIMARY KEY,
    name                 TEXT NOT NULL,
    name_norm            TEXT NOT NULL UNIQUE,
    base_url             TEXT NOT NULL,
    domain               TEXT NOT NULL DEFAULT '',
    tenant               TEXT,
    token_mode           TEXT NOT NULL CHECK (token_mode IN ('hs256', 'rs256', 'jaas')),
    app_id               TEXT NOT NULL,
    key_id               TEXT,
    app_secret_enc       TEXT,
    private_key_enc      TEXT,
    public_key_pem       TEXT,
    api_secret_enc       TEXT NOT NULL,
    moderator_features   TEXT NOT NULL DEFAULT '{}',
    participant_features TEXT NOT NULL DEFAULT '{}',
    lobby                BOOLEAN NOT NULL DEFAULT FALSE,
    max_occupants        BIGINT,
    is_default           BOOLEAN NOT NULL DEFAULT FALSE,
    revision             TEXT NOT NULL,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE UNIQUE INDEX jitsi_servers_one_default ON jitsi_servers (is_default) WHERE is_default;

ALTER TABLE sessions ADD COLUMN jitsi_server_id TEXT REFERENCES jitsi_servers (id) ON DELETE SET NULL;
CREATE INDEX sessions_jitsi_server ON sessions (jitsi_server_id, ends_at);

CREATE TABLE jitsi_reservations (
    id         TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    server_id  TEXT NOT NULL REFERENCES jitsi_servers (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    mail_owner TEXT NOT NULL,
    start_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE UNIQUE INDEX jitsi_reservations_active ON jitsi_reservations (session_id) WHERE deleted_at IS NULL;

CREATE TABLE jitsi_events (
    id               TEXT PRIMARY KEY,
    idem_key         TEXT NOT NULL UNIQUE,
    server_id        TEXT REFERENCES jitsi_servers (id) ON DELETE SET NULL,
    kind             TEXT NOT NULL CHECK (kind IN ('room_created', 'room_destroyed', 'occupant_joined', 'occupant_left')),
    room             TEXT NOT NULL,
    tenant           TEXT,
    breakout_room_id TEXT NOT NULL DEFAULT '',
    session_id       TEXT REFERENCES sessions (id) ON DELETE CASCADE,
    participant_id   TEXT,
    occupant_jid     TEXT NOT NULL DEFAULT '',
    occupant_id      TEXT,
    occupant_name    TEXT,
    occupant_email   TEXT,
    joined_at        BIGINT,
    left_at          BIGINT,
    at               BIGINT NOT NULL,
    received_at      BIGINT NOT NULL,
    payload          TEXT NOT NULL
);
CREATE INDEX jitsi_events_session ON jitsi_events (session_id, at);
CREATE INDEX jitsi_events_room ON jitsi_events (room, at);
