//! Personal rooms: one permanent Jitsi room per staff account, its guest link (only the SHA-256
//! of the key is stored; the key derives from the room's id and link version, so a new version
//! revokes the old link), the reservations Prosody asked for it and the events of its visits.

use domain::presence::PresenceEvent;
use domain::room::RoomName;
use jiff::Timestamp;

use crate::db::{Row, args};
use crate::rooms::{NewJitsiEvent, event_row};
use crate::{Result, Store, StoreError, new_id, random_bytes, ts};

/// A staff account's personal room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalRoom {
    pub id: String,
    pub owner_id: String,
    /// The owner's name (for the guests' page).
    pub owner_name: String,
    /// The Jitsi room name: `salle-` and 128 random bits.
    pub room: String,
    /// The Jitsi server it lives on (`None` once that server was removed).
    pub server_id: Option<String>,
    /// Guests wait in the lobby until the owner admits them (else they enter directly).
    pub guests_wait: bool,
    pub link_version: i64,
    /// When the owner last took their way in from Dialogue (their moderator token).
    pub owner_entered_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A reservation Prosody made for a personal room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomReservation {
    pub id: String,
    pub room_id: String,
    pub server_id: String,
    pub name: String,
    pub mail_owner: String,
    pub start_time: i64,
    pub deleted_at: Option<Timestamp>,
}

/// A personal room with its owner's name, where `$cond` (on `$1`).
macro_rules! room_select {
    ($cond:literal) => {
        concat!(
            "SELECT r.id, r.owner_id, u.display_name AS owner_name, r.room, r.server_id, r.guests_wait, \
             r.link_version, r.owner_entered_at, r.created_at, r.updated_at FROM personal_rooms r JOIN users u ON u.id = r.owner_id WHERE ",
            $cond,
            " = $1"
        )
    };
}

fn room_row(r: &dyn Row) -> Result<PersonalRoom> {
    Ok(PersonalRoom {
        id: r.text("id")?,
        owner_id: r.text("owner_id")?,
        owner_name: r.text("owner_name")?,
        room: r.text("room")?,
        server_id: r.opt_text("server_id")?,
        guests_wait: r.bool("guests_wait")?,
        link_version: r.i64("link_version")?,
        owner_entered_at: r.opt_i64("owner_entered_at")?.map(ts).transpose()?,
        created_at: ts(r.i64("created_at")?)?,
        updated_at: ts(r.i64("updated_at")?)?,
    })
}

fn reservation_row(r: &dyn Row) -> Result<RoomReservation> {
    Ok(RoomReservation {
        id: r.text("id")?,
        room_id: r.text("room_id")?,
        server_id: r.text("server_id")?,
        name: r.text("name")?,
        mail_owner: r.text("mail_owner")?,
        start_time: r.i64("start_time")?,
        deleted_at: r.opt_i64("deleted_at")?.map(ts).transpose()?,
    })
}

/// What a link key is derived from: the room's id in its own namespace (a participant id never
/// starts with `room:`), so a room's keys never equal a session's.
fn link_subject(room_id: &str) -> String {
    format!("room:{room_id}")
}

impl Store {
    /// The guest link key of a room at `version`.
    pub fn room_guest_key(&self, room_id: &str, version: i64) -> Result<String> {
        self.join_key(&link_subject(room_id), version)
    }

    async fn room_where(&self, sql: &'static str, value: &str) -> Result<Option<PersonalRoom>> {
        let mut c = self.pool.read().await?;
        c.conn().opt(sql, args![value], room_row).await
    }

    /// The personal room of an account.
    pub async fn personal_room_of(&self, owner_id: &str) -> Result<Option<PersonalRoom>> {
        self.room_where(room_select!("r.owner_id"), owner_id).await
    }

    /// A personal room by id.
    pub async fn personal_room_by_id(&self, id: &str) -> Result<Option<PersonalRoom>> {
        self.room_where(room_select!("r.id"), id).await
    }

    /// The personal room a guest link's key hash names (none when unknown or revoked).
    pub async fn personal_room_by_link(&self, link_hash: &str) -> Result<Option<PersonalRoom>> {
        self.room_where(room_select!("r.link_hash"), link_hash).await
    }

    /// The personal room of a Jitsi room name.
    pub async fn personal_room_by_name(&self, room: &str) -> Result<Option<PersonalRoom>> {
        self.room_where(room_select!("r.room"), room).await
    }

    /// Creates the account's personal room (a fresh room name and guest link) or changes its
    /// server and lobby choice.
    pub async fn save_personal_room(
        &self,
        owner_id: &str,
        server_id: &str,
        guests_wait: bool,
        now: Timestamp,
    ) -> Result<PersonalRoom> {
        let now_s = now.as_second();
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let updated = c
            .exec(
                "UPDATE personal_rooms SET server_id = $2, guests_wait = $3, updated_at = $4 WHERE owner_id = $1",
                args![owner_id, server_id, guests_wait, now_s],
            )
            .await?;
        if updated == 0 {
            let id = new_id();
            let room = RoomName::generate("salle", random_bytes::<16>());
            let hash = Self::link_hash(&self.room_guest_key(&id, 1)?);
            c.exec(
                "INSERT INTO personal_rooms (id, owner_id, room, server_id, guests_wait, link_version, link_hash, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $7, $7)",
                args![
                    id.as_str(),
                    owner_id,
                    room.as_str(),
                    server_id,
                    guests_wait,
                    hash.as_str(),
                    now_s
                ],
            )
            .await?;
        }
        let room = c
            .opt(room_select!("r.owner_id"), args![owner_id], room_row)
            .await?
            .ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(room)
    }

    /// A new guest link for the account's room: the old one stops working.
    pub async fn reissue_room_link(&self, owner_id: &str, now: Timestamp) -> Result<PersonalRoom> {
        let current = self.personal_room_of(owner_id).await?.ok_or(StoreError::NotFound)?;
        let version = current.link_version + 1;
        let hash = Self::link_hash(&self.room_guest_key(&current.id, version)?);
        let mut tx = self.pool.write().await?;
        let changed = tx
            .conn()
            .exec(
                "UPDATE personal_rooms SET link_version = $2, link_hash = $3, updated_at = $4 \
                 WHERE id = $1 AND link_version = $5",
                args![
                    current.id.as_str(),
                    version,
                    hash.as_str(),
                    now.as_second(),
                    current.link_version
                ],
            )
            .await?;
        tx.commit().await?;
        if changed == 0 {
            // Someone else re-issued it at the same moment: theirs is the link now.
            return self.personal_room_of(owner_id).await?.ok_or(StoreError::NotFound);
        }
        Ok(PersonalRoom {
            link_version: version,
            updated_at: now,
            ..current
        })
    }

    /// Deletes the account's room, with its reservations and events. `false` when it had none.
    pub async fn delete_personal_room(&self, owner_id: &str) -> Result<bool> {
        let mut tx = self.pool.write().await?;
        let n = tx
            .conn()
            .exec("DELETE FROM personal_rooms WHERE owner_id = $1", args![owner_id])
            .await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    /// Notes that the room's owner takes their way in now (see [`PersonalRoom::owner_entered_at`]).
    pub async fn note_room_owner_entered(&self, room_id: &str, now: Timestamp) -> Result<()> {
        let mut tx = self.pool.write().await?;
        tx.conn()
            .exec(
                "UPDATE personal_rooms SET owner_entered_at = $2 WHERE id = $1",
                args![room_id, now.as_second()],
            )
            .await?;
        tx.commit().await
    }

    /// Records Prosody's reservation of a personal room, unless one is active (then that one).
    /// `Ok((reservation, created))`.
    pub async fn create_room_reservation(
        &self,
        room_id: &str,
        server_id: &str,
        name: &str,
        mail_owner: &str,
        start_time: i64,
        now: Timestamp,
    ) -> Result<(RoomReservation, bool)> {
        let id = new_id();
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let inserted = c
            .exec(
                "INSERT INTO personal_room_reservations (id, room_id, server_id, name, mail_owner, start_time, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
                args![
                    id.as_str(),
                    room_id,
                    server_id,
                    name,
                    mail_owner,
                    start_time,
                    now.as_second()
                ],
            )
            .await?;
        let active = c
            .one(
                "SELECT id, room_id, server_id, name, mail_owner, start_time, deleted_at \
                 FROM personal_room_reservations WHERE room_id = $1 AND deleted_at IS NULL",
                args![room_id],
                reservation_row,
            )
            .await?;
        tx.commit().await?;
        Ok((active, inserted == 1))
    }

    /// A personal room's reservation by id.
    pub async fn room_reservation(&self, id: &str) -> Result<Option<RoomReservation>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .opt(
                "SELECT id, room_id, server_id, name, mail_owner, start_time, deleted_at \
                 FROM personal_room_reservations WHERE id = $1",
                args![id],
                reservation_row,
            )
            .await
    }

    /// Ends a personal room's reservation (Prosody destroyed the room).
    pub async fn delete_room_reservation(&self, id: &str, now: Timestamp) -> Result<()> {
        let mut tx = self.pool.write().await?;
        tx.conn()
            .exec(
                "UPDATE personal_room_reservations SET deleted_at = $2 WHERE id = $1 AND deleted_at IS NULL",
                args![id, now.as_second()],
            )
            .await?;
        tx.commit().await
    }

    /// Stores a personal room's events once each (by their idempotency key).
    pub async fn record_personal_room_events(&self, room_id: &str, events: &[NewJitsiEvent]) -> Result<usize> {
        self.insert_jitsi_events(events, Some(room_id)).await
    }

    /// A personal room's events since `since` (Unix seconds), as presence needs them.
    pub async fn personal_room_events(&self, room_id: &str, since: i64) -> Result<Vec<PresenceEvent>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .all(
                // participant_id is NULL on a personal room's events (it names a session's participant).
                "SELECT kind, breakout_room_id, occupant_jid, occupant_id, participant_id, occupant_name, \
                 occupant_email, joined_at, left_at, at FROM jitsi_events WHERE personal_room_id = $1 AND at >= $2 \
                 ORDER BY at, id",
                args![room_id, since],
                event_row,
            )
            .await
    }
}
