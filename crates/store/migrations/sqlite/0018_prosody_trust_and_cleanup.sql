-- Secure-domain servers, what issue 13 left.
--
-- The authority (PEM certificates) that signed a Prosody's certificate: stock Jitsi gives
-- Prosody a self-signed one, which the web's roots do not trust. Not a secret.
ALTER TABLE jitsi_servers ADD COLUMN xmpp_ca_pem TEXT;

-- Set just before the reconciler asks Prosody to create the account, cleared once it recorded
-- the creation: after a crash in between, an account of that name on Prosody is the one
-- Dialogue created (adopted: its password set again), not someone else's.
ALTER TABLE prosody_accounts ADD COLUMN creating BOOLEAN NOT NULL DEFAULT 0;

-- Accounts Dialogue created on a Prosody it no longer manages (the server was deleted or
-- stopped being a secure-domain one), with what is needed to log in there as its admin: the
-- reconciler deletes them from Prosody, then the row. No foreign key: the server may be gone.
-- The admin password stays sealed, bound to server_id as it was on the server's row.
CREATE TABLE prosody_orphans (
    server_id          TEXT NOT NULL,
    node               TEXT NOT NULL,
    server_name        TEXT NOT NULL,
    domain             TEXT NOT NULL,
    xmpp_host          TEXT NOT NULL,
    xmpp_port          INTEGER NOT NULL,
    admin_jid          TEXT NOT NULL,
    admin_password_enc TEXT NOT NULL,
    xmpp_ca_pem        TEXT,
    attempts           INTEGER NOT NULL DEFAULT 0,
    next_attempt_at    INTEGER NOT NULL,
    last_error         TEXT,
    created_at         INTEGER NOT NULL,
    PRIMARY KEY (server_id, node)
);
