//! Jitsi: the servers Dialogue mints tokens for, the lookups of a join (one indexed query from a
//! personal link to everything the token needs), personal links re-issued, the reservations
//! Prosody asks for, and the room and occupant events it posts.
//!
//! Secrets (app secret, private key, the bearer Prosody sends) arrive here already sealed by the
//! service, under a key derived from the server's secret key; this crate stores the sealed
//! text and never sees a secret in clear.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

pub use domain::jitsi_server::{JitsiRefusal, TokenModeKind};
pub use domain::presence::{Attendee, JitsiEventKind, Presence, PresenceEvent};
use jiff::Timestamp;

use crate::audit::{AuditEntry, insert_audit};
use crate::booking::{Change, ParticipantRole, Session, on_changes, participant_row, session_by_id, session_row};
use crate::db::{Conn, Row, args, is_unique_violation};
use crate::{Participant, Result, Store, StoreError, new_id, ts};

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
    pub moderator_features: BTreeMap<String, bool>,
    pub participant_features: BTreeMap<String, bool>,
    /// Lobby on: moderators' tokens carry `lobby_bypass`, reservations answer `lobby: true`.
    pub lobby: bool,
    /// Per-room occupant limit sent in reservations, when set.
    pub max_occupants: Option<i64>,
    pub is_default: bool,
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
    pub moderator_features: BTreeMap<String, bool>,
    pub participant_features: BTreeMap<String, bool>,
    pub lobby: bool,
    pub max_occupants: Option<i64>,
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
         j.lobby, j.max_occupants, j.is_default, j.revision, j.created_at, j.updated_at"
    };
}

fn features(text: &str) -> Result<BTreeMap<String, bool>> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("jitsi features {text:?}: {e}")))
}

fn features_json(f: &BTreeMap<String, bool>) -> String {
    // A map of strings to booleans always serialises.
    serde_json::to_string(f).unwrap_or_else(|_| "{}".to_owned())
}

fn server_row(r: &dyn Row) -> Result<JitsiServer> {
    let mode = r.text("token_mode")?;
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
        moderator_features: features(&r.text("moderator_features")?)?,
        participant_features: features(&r.text("participant_features")?)?,
        lobby: r.bool("lobby")?,
        max_occupants: r.opt_i64("max_occupants")?,
        is_default: r.bool("is_default")?,
        revision: r.text("revision")?,
        created_at: ts(r.i64("created_at")?)?,
        updated_at: ts(r.i64("updated_at")?)?,
    })
}

/// Everything a join needs, from one indexed lookup: the participant, their session, their zone
/// and language when known, and the Jitsi server (pinned, or the default one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinTarget {
    pub participant: Participant,
    pub session: Session,
    /// The contact's or account's zone, when known.
    pub zone: Option<String>,
    /// The contact's or account's language, when known.
    pub locale: Option<String>,
    /// `(id, revision)` of the server to use; `None` when no server exists at all.
    pub server: Option<(String, String)>,
}

/// Join lookups already made (SQLite only), each tagged with the count of committed writes it
/// was read at: while that count has not moved, nothing in the database changed and the entry
/// is exact (a revoked link, a moved or cancelled session, a new server all come with a commit).
/// The hot path of a join is then no query at all.
#[derive(Default)]
pub(crate) struct JoinCache {
    entries: std::sync::Mutex<HashMap<String, (u64, std::sync::Arc<JoinTarget>)>>,
}

/// Entries kept at most (then the cache starts over).
const JOIN_CACHE_MAX: usize = 20_000;

impl JoinCache {
    fn get(&self, link_hash: &str, commits: u64) -> Option<std::sync::Arc<JoinTarget>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(link_hash)
            .filter(|(at, _)| *at == commits)
            .map(|(_, target)| target.clone())
    }

    fn put(&self, link_hash: &str, commits: u64, target: std::sync::Arc<JoinTarget>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= JOIN_CACHE_MAX {
            entries.clear();
        }
        entries.insert(link_hash.to_owned(), (commits, target));
    }
}

/// A session and the server its room lives on (pinned, or the default one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomSession {
    pub session: Session,
    /// `(id, revision)` of the server; `None` when no server exists.
    pub server: Option<(String, String)>,
}

/// A reservation Prosody made for a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub id: String,
    pub session_id: String,
    pub server_id: String,
    /// The room node exactly as Prosody sent it.
    pub name: String,
    pub mail_owner: String,
    /// Unix seconds, as Prosody sent it.
    pub start_time: i64,
    pub created_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
}

/// What [`Store::create_reservation`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReservationOutcome {
    Created(Reservation),
    /// The session already has an active reservation (Prosody asks again after a restart, or
    /// retries): answer 409 with its id.
    Existing(Reservation),
}

/// An event to store, as the web layer parsed it.
#[derive(Debug, Clone)]
pub struct NewJitsiEvent {
    /// What makes a delivery the same event (see `jitsi::Event::idempotency_key`).
    pub idem_key: String,
    pub server_id: Option<String>,
    pub kind: JitsiEventKind,
    pub room: String,
    pub tenant: Option<String>,
    /// `""` for the main room.
    pub breakout_room_id: String,
    /// The session of the room, when it is one of ours on this server.
    pub session_id: Option<String>,
    /// `""` for room events.
    pub occupant_jid: String,
    /// `context.user.id` of the occupant's token (a participant id, or an account id).
    pub occupant_id: Option<String>,
    pub occupant_name: Option<String>,
    pub occupant_email: Option<String>,
    pub joined_at: Option<i64>,
    pub left_at: Option<i64>,
    /// The event's own time (created, destroyed, joined or left).
    pub at: i64,
    pub received_at: i64,
    /// The body as received (for reports to come).
    pub payload: String,
}

fn reservation_row(r: &dyn Row) -> Result<Reservation> {
    Ok(Reservation {
        id: r.text("id")?,
        session_id: r.text("session_id")?,
        server_id: r.text("server_id")?,
        name: r.text("name")?,
        mail_owner: r.text("mail_owner")?,
        start_time: r.i64("start_time")?,
        created_at: ts(r.i64("created_at")?)?,
        deleted_at: r.opt_i64("deleted_at")?.map(ts).transpose()?,
    })
}

fn server_pair(r: &dyn Row) -> Result<Option<(String, String)>> {
    Ok(match (r.opt_text("server_id")?, r.opt_text("server_revision")?) {
        (Some(id), Some(rev)) => Some((id, rev)),
        _ => None,
    })
}

async fn server_by_id(c: &mut Conn<'_>, id: &str) -> Result<Option<JitsiServer>> {
    c.opt(
        concat!("SELECT ", server_cols!(), " FROM jitsi_servers j WHERE j.id = $1"),
        args![id],
        server_row,
    )
    .await
}

fn map_name_taken(e: StoreError, name: &str) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Jitsi(JitsiRefusal::NameTaken { name: name.to_owned() })
    } else {
        e
    }
}

impl Store {
    // ---- Servers ----

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

    /// Stores a new server under `id` (chosen by the caller, who sealed its secrets for it).
    pub async fn create_jitsi_server(
        &self,
        id: &str,
        input: &JitsiServerInput,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<JitsiServer> {
        let now_s = now.as_second();
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let existing = c.count("SELECT COUNT(*) AS n FROM jitsi_servers", &[]).await?;
        let is_default = input.is_default || existing == 0;
        if is_default {
            c.exec(
                "UPDATE jitsi_servers SET is_default = $1 WHERE is_default",
                args![false],
            )
            .await?;
        }
        c.exec(
            "INSERT INTO jitsi_servers (id, name, name_norm, base_url, domain, tenant, token_mode, app_id, key_id, \
             app_secret_enc, private_key_enc, public_key_pem, api_secret_enc, moderator_features, participant_features, \
             lobby, max_occupants, is_default, revision, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20)",
            args![
                id,
                input.name.as_str(),
                input.name.trim().to_lowercase().as_str(),
                input.base_url.as_str(),
                input.domain.as_str(),
                input.tenant.as_deref(),
                input.token_mode.as_str(),
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
                now_s,
            ],
        )
        .await
        .map_err(|e| map_name_taken(e, &input.name))?;
        insert_audit(
            &mut c,
            &audit
                .clone()
                .target("jitsi_server", id, &input.name)
                .detail(serde_json::json!({
                    "token_mode": input.token_mode.as_str(), "default": is_default
                })),
            now,
        )
        .await?;
        let server = server_by_id(&mut c, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(server)
    }

    /// Replaces a server's settings (every field of `input`).
    pub async fn update_jitsi_server(
        &self,
        id: &str,
        input: &JitsiServerInput,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<JitsiServer> {
        let now_s = now.as_second();
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let current = server_by_id(&mut c, id).await?.ok_or(StoreError::NotFound)?;
        let is_default = current.is_default || input.is_default;
        if is_default && !current.is_default {
            c.exec(
                "UPDATE jitsi_servers SET is_default = $1 WHERE is_default",
                args![false],
            )
            .await?;
        }
        c.exec(
            "UPDATE jitsi_servers SET name = $2, name_norm = $3, base_url = $4, domain = $5, tenant = $6, \
             token_mode = $7, app_id = $8, key_id = $9, app_secret_enc = $10, private_key_enc = $11, \
             public_key_pem = $12, api_secret_enc = $13, moderator_features = $14, participant_features = $15, \
             lobby = $16, max_occupants = $17, is_default = $18, revision = $19, updated_at = $20 WHERE id = $1",
            args![
                id,
                input.name.as_str(),
                input.name.trim().to_lowercase().as_str(),
                input.base_url.as_str(),
                input.domain.as_str(),
                input.tenant.as_deref(),
                input.token_mode.as_str(),
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
                now_s,
            ],
        )
        .await
        .map_err(|e| map_name_taken(e, &input.name))?;
        insert_audit(
            &mut c,
            &audit
                .clone()
                .target("jitsi_server", id, &input.name)
                .detail(serde_json::json!({
                    "token_mode": input.token_mode.as_str(), "default": is_default
                })),
            now,
        )
        .await?;
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

    // ---- Joining ----

    /// Everything a personal link's join needs, in one indexed query (by the key's hash), or
    /// none at all when this process has read it since its last committed write (SQLite).
    pub async fn join_target(&self, link_hash: &str) -> Result<Option<std::sync::Arc<JoinTarget>>> {
        // Read the count before the query: a write committed meanwhile makes the entry stale.
        let commits = self.pool.commits();
        if let Some(at) = commits
            && let Some(hit) = self.joins.get(link_hash, at)
        {
            return Ok(Some(hit));
        }
        let found = self.join_target_query(link_hash).await?.map(std::sync::Arc::new);
        if let (Some(at), Some(target)) = (commits, &found) {
            self.joins.put(link_hash, at, target.clone());
        }
        Ok(found)
    }

    async fn join_target_query(&self, link_hash: &str) -> Result<Option<JoinTarget>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .opt(
                "SELECT p.id AS p_id, p.session_id AS p_session_id, p.role AS p_role, p.user_id AS p_user_id, \
                 p.contact_id AS p_contact_id, COALESCE(u.display_name, p.name) AS p_name, \
                 COALESCE(u.email, p.email) AS p_email, p.link_version AS p_link_version, p.rsvp AS p_rsvp, \
                 p.created_at AS p_created_at, COALESCE(u.time_zone, k.time_zone) AS viewer_zone, \
                 COALESCE(u.locale, k.locale) AS viewer_locale, \
                 s.id, s.uid, s.course_id, s.series_id, s.title, s.starts_at, s.ends_at, s.time_zone, s.status, \
                 s.room, s.notes, s.sequence, s.created_by, s.created_at, s.updated_at, \
                 j.id AS server_id, j.revision AS server_revision \
                 FROM session_participants p JOIN sessions s ON s.id = p.session_id \
                 LEFT JOIN users u ON u.id = p.user_id LEFT JOIN contacts k ON k.id = p.contact_id \
                 LEFT JOIN jitsi_servers j ON j.id = COALESCE(s.jitsi_server_id, \
                 (SELECT d.id FROM jitsi_servers d WHERE d.is_default)) \
                 WHERE p.link_hash = $1",
                args![link_hash],
                |r| {
                    Ok(JoinTarget {
                        participant: Participant {
                            id: r.text("p_id")?,
                            session_id: r.text("p_session_id")?,
                            role: crate::booking::participant_role(&r.text("p_role")?)?,
                            user_id: r.opt_text("p_user_id")?,
                            contact_id: r.opt_text("p_contact_id")?,
                            name: r.text("p_name")?,
                            email: r.text("p_email")?,
                            link_version: r.i64("p_link_version")?,
                            rsvp: crate::booking::rsvp(&r.text("p_rsvp")?)?,
                            created_at: ts(r.i64("p_created_at")?)?,
                        },
                        session: session_row(r)?,
                        zone: r.opt_text("viewer_zone")?,
                        locale: r.opt_text("viewer_locale")?,
                        server: server_pair(r)?,
                    })
                },
            )
            .await
    }

    /// A session with its server (for staff joining from their account, and Prosody's calls).
    pub async fn room_session_by_id(&self, session_id: &str) -> Result<Option<RoomSession>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .opt(
                "SELECT s.id, s.uid, s.course_id, s.series_id, s.title, s.starts_at, s.ends_at, s.time_zone, s.status, \
                 s.room, s.notes, s.sequence, s.created_by, s.created_at, s.updated_at, \
                 j.id AS server_id, j.revision AS server_revision FROM sessions s \
                 LEFT JOIN jitsi_servers j ON j.id = COALESCE(s.jitsi_server_id, \
                 (SELECT d.id FROM jitsi_servers d WHERE d.is_default)) WHERE s.id = $1",
                args![session_id],
                |r| {
                    Ok(RoomSession {
                        session: session_row(r)?,
                        server: server_pair(r)?,
                    })
                },
            )
            .await
    }

    /// The session whose room is `room`, with its server.
    pub async fn room_session(&self, room: &str) -> Result<Option<RoomSession>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .opt(
                "SELECT s.id, s.uid, s.course_id, s.series_id, s.title, s.starts_at, s.ends_at, s.time_zone, s.status, \
                 s.room, s.notes, s.sequence, s.created_by, s.created_at, s.updated_at, \
                 j.id AS server_id, j.revision AS server_revision FROM sessions s \
                 LEFT JOIN jitsi_servers j ON j.id = COALESCE(s.jitsi_server_id, \
                 (SELECT d.id FROM jitsi_servers d WHERE d.is_default)) WHERE s.room = $1",
                args![room],
                |r| {
                    Ok(RoomSession {
                        session: session_row(r)?,
                        server: server_pair(r)?,
                    })
                },
            )
            .await
    }

    /// Revokes a participant's personal link and issues a new one (the version goes up, the
    /// stored hash follows; the old key no longer finds anyone). Recorded as
    /// [`Change::LinkReissued`] in the same transaction, so the new link can be mailed.
    pub async fn reissue_link(
        &self,
        session_id: &str,
        participant_id: &str,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<Participant> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let current = c
            .opt(
                "SELECT p.id, p.session_id, p.role, p.user_id, p.contact_id, COALESCE(u.display_name, p.name) AS name, \
                 COALESCE(u.email, p.email) AS email, p.link_version, p.rsvp, p.created_at \
                 FROM session_participants p LEFT JOIN users u ON u.id = p.user_id \
                 WHERE p.id = $1 AND p.session_id = $2",
                args![participant_id, session_id],
                participant_row,
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        let version = current.link_version + 1;
        let hash = Self::link_hash(&self.join_key(participant_id, version)?);
        c.exec(
            "UPDATE session_participants SET link_version = $2, link_hash = $3 WHERE id = $1",
            args![participant_id, version, hash.as_str()],
        )
        .await?;
        insert_audit(
            &mut c,
            &audit
                .clone()
                .target("participant", participant_id, &current.email)
                .detail(serde_json::json!({ "session": session_id, "link_version": version })),
            now,
        )
        .await?;
        on_changes(
            &mut c,
            &self.mail,
            &[Change::LinkReissued {
                session_id: session_id.to_owned(),
                participant_id: participant_id.to_owned(),
            }],
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Participant {
            link_version: version,
            ..current
        })
    }

    // ---- Reservations ----

    /// Records Prosody's reservation of a session's room, unless one is active already (then
    /// that one is returned, for a 409).
    pub async fn create_reservation(
        &self,
        session_id: &str,
        server_id: &str,
        name: &str,
        mail_owner: &str,
        start_time: i64,
        now: Timestamp,
    ) -> Result<ReservationOutcome> {
        let now_s = now.as_second();
        let id = new_id();
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let inserted = c
            .exec(
                "INSERT INTO jitsi_reservations (id, session_id, server_id, name, mail_owner, start_time, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                args![id.as_str(), session_id, server_id, name, mail_owner, start_time, now_s],
            )
            .await?;
        let active = c
            .one(
                "SELECT id, session_id, server_id, name, mail_owner, start_time, created_at, deleted_at \
                 FROM jitsi_reservations WHERE session_id = $1 AND deleted_at IS NULL",
                args![session_id],
                reservation_row,
            )
            .await?;
        tx.commit().await?;
        Ok(if inserted == 1 {
            ReservationOutcome::Created(active)
        } else {
            ReservationOutcome::Existing(active)
        })
    }

    pub async fn reservation(&self, id: &str) -> Result<Option<Reservation>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .opt(
                "SELECT id, session_id, server_id, name, mail_owner, start_time, created_at, deleted_at \
                 FROM jitsi_reservations WHERE id = $1",
                args![id],
                reservation_row,
            )
            .await
    }

    /// Ends a reservation (Prosody destroyed the room). Deleting it again changes nothing.
    pub async fn delete_reservation(&self, id: &str, now: Timestamp) -> Result<()> {
        let mut tx = self.pool.write().await?;
        tx.conn()
            .exec(
                "UPDATE jitsi_reservations SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL",
                args![id, now.as_second()],
            )
            .await?;
        tx.commit().await
    }

    // ---- Events ----

    /// Stores events once each (by their idempotency key), attributing occupants whose token
    /// named a participant of the session. Returns how many were new.
    pub async fn record_jitsi_events(&self, events: &[NewJitsiEvent]) -> Result<usize> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let mut inserted = 0;
        for e in events {
            inserted += c
                .exec(
                    "INSERT INTO jitsi_events (id, idem_key, server_id, kind, room, tenant, breakout_room_id, session_id, \
                     participant_id, occupant_jid, occupant_id, occupant_name, occupant_email, joined_at, left_at, at, \
                     received_at, payload) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
                     (SELECT p.id FROM session_participants p WHERE p.id = $9 AND p.session_id = $8), \
                     $10, $9, $11, $12, $13, $14, $15, $16, $17) ON CONFLICT (idem_key) DO NOTHING",
                    args![
                        new_id().as_str(),
                        e.idem_key.as_str(),
                        e.server_id.as_deref(),
                        e.kind.as_str(),
                        e.room.as_str(),
                        e.tenant.as_deref(),
                        e.breakout_room_id.as_str(),
                        e.session_id.as_deref(),
                        e.occupant_id.as_deref(),
                        e.occupant_jid.as_str(),
                        e.occupant_name.as_deref(),
                        e.occupant_email.as_deref(),
                        e.joined_at,
                        e.left_at,
                        e.at,
                        e.received_at,
                        e.payload.as_str(),
                    ],
                )
                .await? as usize;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    /// How many events are stored for a session (`None`: for no session).
    pub async fn jitsi_event_count(&self, session_id: Option<&str>) -> Result<i64> {
        let mut c = self.pool.read().await?;
        match session_id {
            Some(id) => {
                c.conn()
                    .count(
                        "SELECT COUNT(*) AS n FROM jitsi_events WHERE session_id = $1",
                        args![id],
                    )
                    .await
            }
            None => {
                c.conn()
                    .count("SELECT COUNT(*) AS n FROM jitsi_events WHERE session_id IS NULL", &[])
                    .await
            }
        }
    }

    /// A session's events as presence needs them.
    pub async fn presence_events(&self, session_id: &str) -> Result<Vec<PresenceEvent>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .all(
                "SELECT e.kind, e.breakout_room_id, e.occupant_jid, e.occupant_id, e.participant_id, \
                 COALESCE(u.display_name, p.name) AS participant_name, p.role AS participant_role, e.occupant_name, \
                 e.occupant_email, e.joined_at, e.left_at, e.at FROM jitsi_events e \
                 LEFT JOIN session_participants p ON p.id = e.participant_id LEFT JOIN users u ON u.id = p.user_id \
                 WHERE e.session_id = $1 ORDER BY e.at, e.id",
                args![session_id],
                |r| {
                    Ok(PresenceEvent {
                        kind: event_kind(&r.text("kind")?)?,
                        breakout_room_id: r.text("breakout_room_id")?,
                        occupant_jid: r.text("occupant_jid")?,
                        occupant_id: r.opt_text("occupant_id")?,
                        participant_id: r.opt_text("participant_id")?,
                        participant_name: r.opt_text("participant_name")?,
                        participant_role: r
                            .opt_text("participant_role")?
                            .map(|role| crate::booking::participant_role(&role))
                            .transpose()?,
                        occupant_name: r.opt_text("occupant_name")?,
                        occupant_email: r.opt_text("occupant_email")?,
                        joined_at: r.opt_i64("joined_at")?,
                        left_at: r.opt_i64("left_at")?,
                        at: r.i64("at")?,
                    })
                },
            )
            .await
    }

    /// A session by id with nothing else (for the endpoints Prosody calls).
    pub async fn session_row(&self, id: &str) -> Result<Option<Session>> {
        session_by_id(&mut self.pool.read().await?.conn(), id).await
    }

    /// Every participant id → (name, role) of a session (for presence labels).
    pub async fn participant_names(&self, session_id: &str) -> Result<HashMap<String, (String, ParticipantRole)>> {
        let mut c = self.pool.read().await?;
        let rows = c
            .conn()
            .all(
                "SELECT p.id, COALESCE(u.display_name, p.name) AS name, p.role FROM session_participants p \
                 LEFT JOIN users u ON u.id = p.user_id WHERE p.session_id = $1",
                args![session_id],
                |r| Ok((r.text("id")?, r.text("name")?, r.text("role")?)),
            )
            .await?;
        rows.into_iter()
            .map(|(id, name, role)| Ok((id, (name, crate::booking::participant_role(&role)?))))
            .collect()
    }
}

fn event_kind(s: &str) -> Result<JitsiEventKind> {
    JitsiEventKind::parse(s).ok_or_else(|| StoreError::Corrupt(format!("jitsi event kind {s:?}")))
}
