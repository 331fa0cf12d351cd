-- Secure-domain Jitsi servers (no tokens; hosts log in with a Prosody account Dialogue manages
-- over XMPP as an admin JID) and those accounts.
--
-- The kind is its own column: SQLite cannot widen the CHECK of token_mode without rebuilding
-- jitsi_servers, which three tables reference. A secure-domain server keeps token_mode 'hs256'
-- as an unused placeholder; the store reads kind first.
ALTER TABLE jitsi_servers ADD COLUMN kind TEXT NOT NULL DEFAULT 'token' CHECK (kind IN ('token', 'secure-domain'));
ALTER TABLE jitsi_servers ADD COLUMN xmpp_host TEXT;
ALTER TABLE jitsi_servers ADD COLUMN xmpp_port INTEGER;
ALTER TABLE jitsi_servers ADD COLUMN admin_jid TEXT;
-- Sealed like the other secrets (AES-256-GCM, bound to the server and the field).
ALTER TABLE jitsi_servers ADD COLUMN admin_password_enc TEXT;

-- The Prosody accounts Dialogue created (or is to create) on a secure-domain server: one per
-- host. The reconciler makes Prosody match: creates the account while applied IS NULL, sets
-- the password while applied < generation, deletes the account (then the row) when wanted is
-- false. Only accounts with a row here are ever deleted from Prosody. No foreign key to users:
-- a deleted user's account must still be removed from Prosody.
CREATE TABLE prosody_accounts (
    server_id       TEXT NOT NULL REFERENCES jitsi_servers (id) ON DELETE CASCADE,
    user_id         TEXT NOT NULL,
    node            TEXT NOT NULL,
    password_enc    TEXT NOT NULL,
    generation      INTEGER NOT NULL DEFAULT 1,
    applied         INTEGER,
    wanted          BOOLEAN NOT NULL DEFAULT 1,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (server_id, user_id)
);
CREATE UNIQUE INDEX prosody_accounts_node ON prosody_accounts (server_id, node);
CREATE INDEX prosody_accounts_user ON prosody_accounts (user_id);

-- One reconciler at a time across instances: a single row whose lease is claimed.
CREATE TABLE prosody_reconciler (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    lease_owner TEXT,
    lease_until INTEGER NOT NULL DEFAULT 0
);
INSERT INTO prosody_reconciler (id, lease_owner, lease_until) VALUES (1, NULL, 0);
