//! Jitsi servers: the ones Dialogue mints tokens for, with their settings, the default one, and
//! which server a session is pinned to.
//!
//! Secrets (app secret, private key, the bearer Prosody sends) arrive here already sealed by the
//! service, under a key derived from the server's secret key; this crate stores the sealed
//! text and never sees a secret in clear.

use std::collections::BTreeMap;
use std::fmt;

pub use domain::jitsi_server::{JitsiRefusal, TokenModeKind};
use jiff::Timestamp;

use crate::audit::{AuditEntry, insert_audit};
use crate::db::{Conn, Row, args, is_unique_violation};
use crate::{Result, Store, StoreError, new_id, ts};

/// A Jitsi server as stored. The `*_enc` fields are sealed secrets; `Debug` leaves them out.
#[derive(Clone, PartialEq, Eq)]
pub struct JitsiServer {
    pub id: String,
    pub name: String,
    /// Where rooms open: `https://meet.example.org` (JaaS: `https://8x8.vc`).
    pub base_url: String,
    /// The XMPP domain (`sub` without a tenant); empty for JaaS.
    pub domain: String,
    pub tenant: Option<String>,
    pub token_mode: TokenModeKind,
    /// Prosody's `app_id` (`iss`), or the JaaS app id.
    pub app_id: String,
    /// The `kid` (RS256) or the JaaS API key id.
    pub key_id: Option<String>,
    pub app_secret_enc: Option<String>,
    pub private_key_enc: Option<String>,
    /// The public half of the private key (not a secret: Prosody fetches it, JaaS needs it).
    pub public_key_pem: Option<String>,
    /// The sealed bearer secret Prosody sends to the reservation and event endpoints.
    pub api_secret_enc: String,
    /// JaaS: the sealed secret of its webhook endpoint (`X-Jaas-Signature`), when set.
    pub webhook_secret_enc: Option<String>,
    pub moderator_features: BTreeMap<String, bool>,
    pub participant_features: BTreeMap<String, bool>,
    /// Lobby on: moderators' tokens carry `lobby_bypass`, reservations answer `lobby: true`.
    pub lobby: bool,
    /// Per-room occupant limit sent in reservations, when set.
    pub max_occupants: Option<i64>,
    pub is_default: bool,
    /// How Dialogue reaches the Prosody of a secure-domain server (`None` for the other kinds).
    pub xmpp: Option<XmppAdmin>,
    /// Random, new at each write: what in-memory caches of decrypted secrets key on.
    pub revision: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl fmt::Debug for JitsiServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JitsiServer")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("base_url", &self.base_url)
            .field("domain", &self.domain)
            .field("tenant", &self.tenant)
            .field("token_mode", &self.token_mode)
            .field("app_id", &self.app_id)
            .field("key_id", &self.key_id)
            .field("is_default", &self.is_default)
            .finish_non_exhaustive()
    }
}

/// Where a secure-domain server's Prosody listens (client-to-server, STARTTLS) and the admin
/// account Dialogue logs in as; the password sealed.
#[derive(Clone, PartialEq, Eq)]
pub struct XmppAdmin {
    pub host: String,
    pub port: u16,
    pub admin_jid: String,
    pub admin_password_enc: String,
    /// The authority (PEM certificates) trusted for Prosody's certificate besides the web's
    /// roots; not a secret.
    pub ca_pem: Option<String>,
}

impl fmt::Debug for XmppAdmin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("XmppAdmin")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("admin_jid", &self.admin_jid)
            .field("ca_pem", &self.ca_pem.is_some())
            .finish_non_exhaustive()
    }
}

/// A server as validated and sealed by the web layer, for [`Store::create_jitsi_server`] and
/// [`Store::update_jitsi_server`] (an update writes every field).
#[derive(Clone)]
pub struct JitsiServerInput {
    pub name: String,
    pub base_url: String,
    pub domain: String,
    pub tenant: Option<String>,
    pub token_mode: TokenModeKind,
    pub app_id: String,
    pub key_id: Option<String>,
    pub app_secret_enc: Option<String>,
    pub private_key_enc: Option<String>,
    pub public_key_pem: Option<String>,
    pub api_secret_enc: String,
    pub webhook_secret_enc: Option<String>,
    pub moderator_features: BTreeMap<String, bool>,
    pub participant_features: BTreeMap<String, bool>,
    pub lobby: bool,
    pub max_occupants: Option<i64>,
    /// Secure-domain servers only.
    pub xmpp: Option<XmppAdmin>,
    /// Make this the default server (the previous default stops being one). The first server
    /// is the default whatever this says; the default stays one until another takes its place.
    pub is_default: bool,
}

impl fmt::Debug for JitsiServerInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JitsiServerInput")
            .field("name", &self.name)
            .field("token_mode", &self.token_mode)
            .finish_non_exhaustive()
    }
}

macro_rules! server_cols {
    () => {
        "j.id, j.name, j.base_url, j.domain, j.tenant, j.token_mode, j.app_id, j.key_id, j.app_secret_enc, \
         j.private_key_enc, j.public_key_pem, j.api_secret_enc, j.moderator_features, j.participant_features, \
         j.lobby, j.max_occupants, j.is_default, j.revision, j.created_at, j.updated_at, j.webhook_secret_enc, j.kind, \
         j.xmpp_host, j.xmpp_port, j.admin_jid, j.admin_password_enc, j.xmpp_ca_pem"
    };
}

pub(crate) fn features(text: &str) -> Result<BTreeMap<String, bool>> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("jitsi features {text:?}: {e}")))
}

pub(crate) fn features_json(f: &BTreeMap<String, bool>) -> String {
    // A map of strings to booleans always serialises.
    serde_json::to_string(f).unwrap_or_else(|_| "{}".to_owned())
}

pub(crate) fn server_row(r: &dyn Row) -> Result<JitsiServer> {
    let secure = r.text("kind")? == "secure-domain";
    let mode = if secure {
        TokenModeKind::SecureDomain.as_str().to_owned()
    } else {
        r.text("token_mode")?
    };
    let xmpp = if secure {
        let port = r.opt_i64("xmpp_port")?.unwrap_or(5222);
        Some(XmppAdmin {
            host: r.opt_text("xmpp_host")?.unwrap_or_default(),
            port: u16::try_from(port).map_err(|_| StoreError::Corrupt(format!("xmpp port {port}")))?,
            admin_jid: r.opt_text("admin_jid")?.unwrap_or_default(),
            admin_password_enc: r.opt_text("admin_password_enc")?.unwrap_or_default(),
            ca_pem: r.opt_text("xmpp_ca_pem")?,
        })
    } else {
        None
    };
    Ok(JitsiServer {
        id: r.text("id")?,
        name: r.text("name")?,
        base_url: r.text("base_url")?,
        domain: r.text("domain")?,
        tenant: r.opt_text("tenant")?,
        token_mode: TokenModeKind::parse(&mode).ok_or_else(|| StoreError::Corrupt(format!("token mode {mode:?}")))?,
        app_id: r.text("app_id")?,
        key_id: r.opt_text("key_id")?,
        app_secret_enc: r.opt_text("app_secret_enc")?,
        private_key_enc: r.opt_text("private_key_enc")?,
        public_key_pem: r.opt_text("public_key_pem")?,
        api_secret_enc: r.text("api_secret_enc")?,
        webhook_secret_enc: r.opt_text("webhook_secret_enc")?,
        moderator_features: features(&r.text("moderator_features")?)?,
        participant_features: features(&r.text("participant_features")?)?,
        lobby: r.bool("lobby")?,
        max_occupants: r.opt_i64("max_occupants")?,
        is_default: r.bool("is_default")?,
        xmpp,
        revision: r.text("revision")?,
        created_at: ts(r.i64("created_at")?)?,
        updated_at: ts(r.i64("updated_at")?)?,
    })
}

pub(crate) async fn server_by_id(c: &mut Conn<'_>, id: &str) -> Result<Option<JitsiServer>> {
    c.opt(
        concat!("SELECT ", server_cols!(), " FROM jitsi_servers j WHERE j.id = $1"),
        args![id],
        server_row,
    )
    .await
}

pub(crate) fn map_name_taken(e: StoreError, name: &str) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Jitsi(JitsiRefusal::NameTaken { name: name.to_owned() })
    } else {
        e
    }
}

/// Writes a server's settings: a new row, or the row `id` updated (its creation time kept). The
/// one statement of both, so that its long list of columns is written once.
pub(crate) async fn save_server(
    c: &mut Conn<'_>,
    id: &str,
    input: &JitsiServerInput,
    is_default: bool,
    now: i64,
) -> Result<()> {
    c.exec(
        "INSERT INTO jitsi_servers (id, name, name_norm, base_url, domain, tenant, token_mode, app_id, key_id, \
         app_secret_enc, private_key_enc, public_key_pem, api_secret_enc, moderator_features, participant_features, \
         lobby, max_occupants, is_default, revision, created_at, updated_at, webhook_secret_enc, kind, xmpp_host, \
         xmpp_port, admin_jid, admin_password_enc, xmpp_ca_pem) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20, \
         $21, $22, $23, $24, $25, $26, $27) \
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, name_norm = excluded.name_norm, \
         base_url = excluded.base_url, domain = excluded.domain, tenant = excluded.tenant, \
         token_mode = excluded.token_mode, app_id = excluded.app_id, key_id = excluded.key_id, \
         app_secret_enc = excluded.app_secret_enc, private_key_enc = excluded.private_key_enc, \
         public_key_pem = excluded.public_key_pem, api_secret_enc = excluded.api_secret_enc, \
         moderator_features = excluded.moderator_features, participant_features = excluded.participant_features, \
         lobby = excluded.lobby, max_occupants = excluded.max_occupants, is_default = excluded.is_default, \
         revision = excluded.revision, updated_at = excluded.updated_at, \
         webhook_secret_enc = excluded.webhook_secret_enc, kind = excluded.kind, \
         xmpp_host = excluded.xmpp_host, xmpp_port = excluded.xmpp_port, admin_jid = excluded.admin_jid, \
         admin_password_enc = excluded.admin_password_enc, xmpp_ca_pem = excluded.xmpp_ca_pem",
        args![
            id,
            input.name.as_str(),
            input.name.trim().to_lowercase().as_str(),
            input.base_url.as_str(),
            input.domain.as_str(),
            input.tenant.as_deref(),
            // The column's CHECK predates secure-domain servers: see migration 0013.
            if input.token_mode.has_tokens() {
                input.token_mode.as_str()
            } else {
                TokenModeKind::Hs256.as_str()
            },
            input.app_id.as_str(),
            input.key_id.as_deref(),
            input.app_secret_enc.as_deref(),
            input.private_key_enc.as_deref(),
            input.public_key_pem.as_deref(),
            input.api_secret_enc.as_str(),
            features_json(&input.moderator_features).as_str(),
            features_json(&input.participant_features).as_str(),
            input.lobby,
            input.max_occupants,
            is_default,
            new_id().as_str(),
            now,
            input.webhook_secret_enc.as_deref(),
            if input.token_mode.has_tokens() {
                "token"
            } else {
                "secure-domain"
            },
            input.xmpp.as_ref().map(|x| x.host.as_str()),
            input.xmpp.as_ref().map(|x| i64::from(x.port)),
            input.xmpp.as_ref().map(|x| x.admin_jid.as_str()),
            input.xmpp.as_ref().map(|x| x.admin_password_enc.as_str()),
            input.xmpp.as_ref().and_then(|x| x.ca_pem.as_deref()),
        ],
    )
    .await
    .map_err(|e| map_name_taken(e, &input.name))?;
    Ok(())
}

impl Store {
    /// Every server, the default first, then by name.
    pub async fn list_jitsi_servers(&self) -> Result<Vec<JitsiServer>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .all(
                concat!(
                    "SELECT ",
                    server_cols!(),
                    " FROM jitsi_servers j ORDER BY j.is_default DESC, j.name_norm, j.id"
                ),
                &[],
                server_row,
            )
            .await
    }

    pub async fn jitsi_server(&self, id: &str) -> Result<Option<JitsiServer>> {
        server_by_id(&mut self.pool.read().await?.conn(), id).await
    }

    /// The server with this name (case-insensitively).
    pub async fn jitsi_server_by_name(&self, name: &str) -> Result<Option<JitsiServer>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .opt(
                concat!(
                    "SELECT ",
                    server_cols!(),
                    " FROM jitsi_servers j WHERE j.name_norm = $1"
                ),
                args![name.trim().to_lowercase().as_str()],
                server_row,
            )
            .await
    }

    /// The default server, if any.
    pub async fn default_jitsi_server(&self) -> Result<Option<JitsiServer>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .opt(
                concat!("SELECT ", server_cols!(), " FROM jitsi_servers j WHERE j.is_default"),
                &[],
                server_row,
            )
            .await
    }

    /// Adds a server. The first one, or one marked so, becomes the default.
    pub async fn create_jitsi_server(
        &self,
        id: &str,
        input: &JitsiServerInput,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<JitsiServer> {
        self.write_jitsi_server(id, input, true, now, audit).await
    }

    /// Changes a server (a new revision, so every instance reopens it); marking it the default
    /// takes the mark from the other one.
    pub async fn update_jitsi_server(
        &self,
        id: &str,
        input: &JitsiServerInput,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<JitsiServer> {
        self.write_jitsi_server(id, input, false, now, audit).await
    }

    async fn write_jitsi_server(
        &self,
        id: &str,
        input: &JitsiServerInput,
        new: bool,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<JitsiServer> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let previous = if new {
            None
        } else {
            Some(server_by_id(&mut c, id).await?.ok_or(StoreError::NotFound)?)
        };
        let was_default = previous.as_ref().is_some_and(|p| p.is_default);
        // A Prosody this server no longer manages (another kind now, or another XMPP domain):
        // the accounts Dialogue made there are handed to the cleanup, with the old admin login.
        if let Some(previous) = &previous
            && (input.xmpp.is_none() || previous.domain != input.domain)
        {
            crate::prosody_accounts::orphan_accounts(&mut c, previous, now).await?;
        }
        let first = new && c.count("SELECT COUNT(*) AS n FROM jitsi_servers", &[]).await? == 0;
        let is_default = was_default || input.is_default || first;
        if is_default && !was_default {
            c.exec(
                "UPDATE jitsi_servers SET is_default = $1 WHERE is_default",
                args![false],
            )
            .await?;
        }
        save_server(&mut c, id, input, is_default, now.as_second()).await?;
        let entry = audit
            .clone()
            .target("jitsi_server", id, &input.name)
            .detail(serde_json::json!({ "token_mode": input.token_mode.as_str(), "default": is_default }));
        insert_audit(&mut c, &entry, now).await?;
        let server = server_by_id(&mut c, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(server)
    }

    /// Deletes a server. Refused for the default server while others exist (make another the
    /// default first) and while upcoming sessions use it. Past sessions pinned to it fall back
    /// to the default server; their events and attendance stay.
    pub async fn delete_jitsi_server(&self, id: &str, now: Timestamp, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let server = server_by_id(&mut c, id).await?.ok_or(StoreError::NotFound)?;
        if server.is_default {
            let others = c
                .count("SELECT COUNT(*) AS n FROM jitsi_servers WHERE id <> $1", args![id])
                .await?;
            if others > 0 {
                return Err(StoreError::Jitsi(JitsiRefusal::DefaultInUse));
            }
        }
        let upcoming = c
            .count(
                "SELECT COUNT(*) AS n FROM sessions WHERE status = 'scheduled' AND ends_at > $2 \
                 AND (jitsi_server_id = $1 OR (jitsi_server_id IS NULL AND $3))",
                args![id, now.as_second(), server.is_default],
            )
            .await?;
        if upcoming > 0 {
            return Err(StoreError::Jitsi(JitsiRefusal::InUse { sessions: upcoming }));
        }
        // The accounts Dialogue made on its Prosody are deleted there afterwards.
        crate::prosody_accounts::orphan_accounts(&mut c, &server, now).await?;
        c.exec("DELETE FROM jitsi_servers WHERE id = $1", args![id]).await?;
        insert_audit(&mut c, &audit.clone().target("jitsi_server", id, &server.name), now).await?;
        tx.commit().await
    }

    /// Pins a session to a server (`None`: the default one, whichever it is at join time).
    pub async fn set_session_jitsi_server(
        &self,
        session_id: &str,
        server_id: Option<&str>,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        if let Some(server_id) = server_id
            && server_by_id(&mut c, server_id).await?.is_none()
        {
            return Err(StoreError::Jitsi(JitsiRefusal::UnknownServer));
        }
        let changed = c
            .exec(
                "UPDATE sessions SET jitsi_server_id = $2 WHERE id = $1",
                args![session_id, server_id],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        insert_audit(
            &mut c,
            &audit
                .clone()
                .target("session", session_id, "")
                .detail(serde_json::json!({ "jitsi_server": server_id })),
            now,
        )
        .await?;
        tx.commit().await
    }

    /// The server a session is pinned to (`None`: the default one).
    pub async fn session_jitsi_server(&self, session_id: &str) -> Result<Option<String>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .one(
                "SELECT jitsi_server_id FROM sessions WHERE id = $1",
                args![session_id],
                |r| r.opt_text("jitsi_server_id"),
            )
            .await
    }
}
