//! Rooms: the lookups of a join (one indexed query from a personal link to everything the token
//! needs, cached while nothing it reads changed), sessions by room name, personal links
//! re-issued, the reservations Prosody asks for, and the room and occupant events it posts.

use std::collections::HashMap;

use domain::presence::{JitsiEventKind, PresenceEvent};
use domain::session::ParticipantRole;
use jiff::Timestamp;

use crate::audit::{AuditEntry, insert_audit};
use crate::db::{Row, args};
use crate::participants::{Participant, participant_role, participant_row, rsvp};
use crate::sessions::{Change, Session, on_changes, session_by_id, session_row};
use crate::{Result, Store, StoreError, new_id, ts};

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

/// Join lookups already made, each tagged with what it was read at: on SQLite the count of
/// committed writes (while it has not moved, nothing in the database changed: a revoked link, a
/// moved or cancelled session, a new server all come with a commit); on PostgreSQL the
/// generation of the change notifications every instance's writes send (`join_watch.rs`) and
/// this process's own commits (so its writes count at once, before their notification is back).
/// The hot path of a join is then no query at all.
#[derive(Default)]
pub(crate) struct JoinCache {
    entries: std::sync::Mutex<HashMap<String, (JoinTag, std::sync::Arc<JoinTarget>)>>,
}

/// What a cache entry was read at (see [`JoinCache`]).
type JoinTag = (u64, u64);

/// Entries kept at most (then the cache starts over).
const JOIN_CACHE_MAX: usize = 20_000;

impl JoinCache {
    fn get(&self, link_hash: &str, tag: JoinTag) -> Option<std::sync::Arc<JoinTarget>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(link_hash)
            .filter(|(at, _)| *at == tag)
            .map(|(_, target)| target.clone())
    }

    fn put(&self, link_hash: &str, tag: JoinTag, target: std::sync::Arc<JoinTarget>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= JOIN_CACHE_MAX {
            entries.clear();
        }
        entries.insert(link_hash.to_owned(), (tag, target));
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

pub(crate) fn reservation_row(r: &dyn Row) -> Result<Reservation> {
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

pub(crate) fn server_pair(r: &dyn Row) -> Result<Option<(String, String)>> {
    Ok(match (r.opt_text("server_id")?, r.opt_text("server_revision")?) {
        (Some(id), Some(rev)) => Some((id, rev)),
        _ => None,
    })
}

/// The columns of a presence event and the tables they come from (`jitsi_events e`, its
/// participant `p` and their account `u`); the caller adds its `WHERE` and order.
macro_rules! presence_cols {
    () => {
        "e.kind, e.breakout_room_id, e.occupant_jid, e.occupant_id, e.participant_id, \
         COALESCE(u.display_name, p.name) AS participant_name, p.role AS participant_role, e.occupant_name, \
         e.occupant_email, e.joined_at, e.left_at, e.at FROM jitsi_events e \
         LEFT JOIN session_participants p ON p.id = e.participant_id LEFT JOIN users u ON u.id = p.user_id"
    };
}

/// A row of [`presence_cols`] as presence reads it.
pub(crate) fn presence_row(r: &dyn Row) -> Result<PresenceEvent> {
    Ok(PresenceEvent {
        participant_name: r.opt_text("participant_name")?,
        participant_role: r
            .opt_text("participant_role")?
            .map(|role| participant_role(&role))
            .transpose()?,
        ..event_row(r)?
    })
}

/// A row of `jitsi_events`' own columns (kind, breakout_room_id, occupant_jid, occupant_id,
/// participant_id, occupant_name, occupant_email, joined_at, left_at, at), without the
/// participant's name and role that [`presence_row`] joins in.
pub(crate) fn event_row(r: &dyn Row) -> Result<PresenceEvent> {
    Ok(PresenceEvent {
        kind: event_kind(&r.text("kind")?)?,
        breakout_room_id: r.text("breakout_room_id")?,
        occupant_jid: r.text("occupant_jid")?,
        occupant_id: r.opt_text("occupant_id")?,
        participant_id: r.opt_text("participant_id")?,
        participant_name: None,
        participant_role: None,
        occupant_name: r.opt_text("occupant_name")?,
        occupant_email: r.opt_text("occupant_email")?,
        joined_at: r.opt_i64("joined_at")?,
        left_at: r.opt_i64("left_at")?,
        at: r.i64("at")?,
    })
}

pub(crate) fn event_kind(s: &str) -> Result<JitsiEventKind> {
    JitsiEventKind::parse(s).ok_or_else(|| StoreError::Corrupt(format!("jitsi event kind {s:?}")))
}

/// A session with the server that serves it (its pinned one, else the default), where `$cond`.
macro_rules! room_query {
    ($cond:literal) => {
        concat!(
            "SELECT s.id, s.uid, s.course_id, s.series_id, s.title, s.starts_at, s.ends_at, s.time_zone, s.status, \
             s.room, s.notes, s.sequence, s.created_by, s.created_at, s.updated_at, \
             j.id AS server_id, j.revision AS server_revision FROM sessions s \
             LEFT JOIN jitsi_servers j ON j.id = COALESCE(s.jitsi_server_id, \
             (SELECT d.id FROM jitsi_servers d WHERE d.is_default)) WHERE ",
            $cond
        )
    };
}

impl Store {
    /// Everything a personal link's join needs, in one indexed query (by the key's hash), or
    /// none at all when this process has read it since nothing it reads changed (see
    /// [`JoinCache`]; on PostgreSQL only while change notifications are received).
    pub async fn join_target(&self, link_hash: &str) -> Result<Option<std::sync::Arc<JoinTarget>>> {
        // Read the tag before the query: a change committed meanwhile makes the entry stale.
        let tag = self.join_tag();
        if let Some(at) = tag
            && let Some(hit) = self.joins.get(link_hash, at)
        {
            return Ok(Some(hit));
        }
        let found = self.join_target_query(link_hash).await?.map(std::sync::Arc::new);
        if let (Some(at), Some(target)) = (tag, &found) {
            self.joins.put(link_hash, at, target.clone());
        }
        Ok(found)
    }

    /// What a join read now is exact at, `None` when the cache cannot be used (PostgreSQL
    /// while not listening for changes).
    fn join_tag(&self) -> Option<JoinTag> {
        match self.pool.commits() {
            Some(commits) => Some((commits, 0)),
            None => {
                let generation = self.join_watch.current()?;
                Some((generation, self.pool.local_commits()))
            }
        }
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
                            role: participant_role(&r.text("p_role")?)?,
                            user_id: r.opt_text("p_user_id")?,
                            contact_id: r.opt_text("p_contact_id")?,
                            name: r.text("p_name")?,
                            email: r.text("p_email")?,
                            link_version: r.i64("p_link_version")?,
                            rsvp: rsvp(&r.text("p_rsvp")?)?,
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
            .opt(room_query!("s.id = $1"), args![session_id], |r| {
                Ok(RoomSession {
                    session: session_row(r)?,
                    server: server_pair(r)?,
                })
            })
            .await
    }

    /// The session whose room is `room`, with its server.
    pub async fn room_session(&self, room: &str) -> Result<Option<RoomSession>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .opt(room_query!("s.room = $1"), args![room], |r| {
                Ok(RoomSession {
                    session: session_row(r)?,
                    server: server_pair(r)?,
                })
            })
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

    /// Stores events once each (by their idempotency key), attributing occupants whose token
    /// named a participant of the session. Returns how many were new.
    pub async fn record_jitsi_events(&self, events: &[NewJitsiEvent]) -> Result<usize> {
        self.insert_jitsi_events(events, None).await
    }

    /// [`Store::record_jitsi_events`], the events attached to a personal room when they are one's.
    pub(crate) async fn insert_jitsi_events(
        &self,
        events: &[NewJitsiEvent],
        personal_room: Option<&str>,
    ) -> Result<usize> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let mut inserted = 0;
        for e in events {
            inserted += c
                .exec(
                    "INSERT INTO jitsi_events (id, idem_key, server_id, kind, room, tenant, breakout_room_id, session_id, \
                     participant_id, occupant_jid, occupant_id, occupant_name, occupant_email, joined_at, left_at, at, \
                     received_at, payload, personal_room_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
                     (SELECT p.id FROM session_participants p WHERE p.id = $9 AND p.session_id = $8), \
                     $10, $9, $11, $12, $13, $14, $15, $16, $17, $18) ON CONFLICT (idem_key) DO NOTHING",
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
                        personal_room,
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
                concat!(
                    "SELECT ",
                    presence_cols!(),
                    " WHERE e.session_id = $1 ORDER BY e.at, e.id"
                ),
                args![session_id],
                presence_row,
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
            .map(|(id, name, role)| Ok((id, (name, participant_role(&role)?))))
            .collect()
    }
}
