//! Calendar feeds: each account's feed version (a reset moves it on, so an old address is not
//! found) and the sessions a feed shows.

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::audit::{AuditEntry, insert_audit};
use crate::db::args;
use crate::participants::{Participant, participant_cols, participant_row};
use crate::sessions::{SessionDetail, session_cols, session_row};
use crate::{Result, Store};

/// The sessions of account `$1`'s feed overlapping `[$2, $3)`: taught, or booked when `$4`.
macro_rules! feed_filter {
    () => {
        "s.ends_at > $2 AND s.starts_at < $3 AND (s.id IN (SELECT session_id FROM session_participants \
         WHERE user_id = $1 AND role IN ('trainer', 'moderator')) OR ($4 AND s.created_by = $1))"
    };
}

impl Store {
    /// The version of an account's calendar-feed key (1 until it is first reset).
    pub async fn feed_version(&self, user_id: &str) -> Result<i64> {
        let mut c = self.pool.read().await?;
        let version = c
            .conn()
            .opt(
                "SELECT version FROM calendar_feeds WHERE user_id = $1",
                args![user_id],
                |r| r.i64("version"),
            )
            .await?;
        Ok(version.unwrap_or(1))
    }

    /// Gives an account a new feed key version (the old feed URL stops working); returns it.
    pub async fn reset_feed(&self, user_id: &str, now: Timestamp, audit: &AuditEntry) -> Result<i64> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let version = c
            .one(
                "INSERT INTO calendar_feeds (user_id, version, updated_at) VALUES ($1, 2, $2) \
                 ON CONFLICT (user_id) DO UPDATE SET version = calendar_feeds.version + 1, updated_at = $2 \
                 RETURNING version",
                args![user_id, now.as_second()],
                |r| r.i64("version"),
            )
            .await?;
        insert_audit(&mut c, &audit.clone().target("calendar_feed", user_id, ""), now).await?;
        tx.commit().await?;
        Ok(version)
    }

    /// The sessions of an account's feed overlapping `[from, to)`, cancelled ones included: those
    /// it teaches (trainer or account moderator), and with `include_booked` those it booked.
    /// Participants come with each session, trainers first.
    pub async fn feed_sessions(
        &self,
        user_id: &str,
        include_booked: bool,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<SessionDetail>> {
        let mut c = self.pool.read().await?;
        let mut c = c.conn();
        let args = args![user_id, from.as_second(), to.as_second(), include_booked];
        let sessions = c
            .all(
                concat!(
                    "SELECT ",
                    session_cols!(),
                    " FROM sessions s WHERE ",
                    feed_filter!(),
                    " ORDER BY s.starts_at, s.id"
                ),
                args,
                session_row,
            )
            .await?;
        let participants = c
            .all(
                concat!(
                    "SELECT ",
                    participant_cols!(),
                    " FROM session_participants p LEFT JOIN users u ON u.id = p.user_id \
                     WHERE p.session_id IN (SELECT s.id FROM sessions s WHERE ",
                    feed_filter!(),
                    ") ORDER BY p.session_id, CASE p.role WHEN 'trainer' THEN 0 WHEN 'moderator' THEN 1 \
                     WHEN 'learner' THEN 2 ELSE 3 END, name, p.id"
                ),
                args,
                participant_row,
            )
            .await?;
        let mut by_session: BTreeMap<String, Vec<Participant>> = BTreeMap::new();
        for p in participants {
            by_session.entry(p.session_id.clone()).or_default().push(p);
        }
        Ok(sessions
            .into_iter()
            .map(|session| SessionDetail {
                participants: by_session.remove(&session.id).unwrap_or_default(),
                session,
            })
            .collect())
    }
}
