-- Personal rooms: one permanent Jitsi room per staff account, with a guest link (only the
-- SHA-256 of its key stored; the version re-derives the key and revokes older ones), the
-- reservations Prosody asked for it, and its events attached to it (presence, recent visits).
CREATE TABLE personal_rooms (
    id           TEXT PRIMARY KEY,
    owner_id     TEXT NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    room         TEXT NOT NULL UNIQUE,
    server_id    TEXT REFERENCES jitsi_servers (id) ON DELETE SET NULL,
    guests_wait  BOOLEAN NOT NULL DEFAULT TRUE,
    link_version BIGINT NOT NULL DEFAULT 1,
    link_hash    TEXT NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE personal_room_reservations (
    id         TEXT PRIMARY KEY,
    room_id    TEXT NOT NULL REFERENCES personal_rooms (id) ON DELETE CASCADE,
    server_id  TEXT NOT NULL REFERENCES jitsi_servers (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    mail_owner TEXT NOT NULL,
    start_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    deleted_at BIGINT
);
CREATE UNIQUE INDEX personal_room_reservations_active ON personal_room_reservations (room_id) WHERE deleted_at IS NULL;

ALTER TABLE jitsi_events ADD COLUMN personal_room_id TEXT REFERENCES personal_rooms (id) ON DELETE CASCADE;
CREATE INDEX jitsi_events_personal_room ON jitsi_events (personal_room_id, at);
