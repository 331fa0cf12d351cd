//! Retention: what is older than its period is removed or anonymised, in bounded batches
//! (each statement changes at most `batch` rows, repeated until nothing is left), so that the
//! job never holds the database for long. Every statement is idempotent: several instances
//! running it at once, or a run interrupted and started again, leave the same result.
//!
//! - Attendance evidence of sessions that ended before `evidence`: their signatures with their
//!   chain's seal (the whole chain goes at once, so `dialogue attendance verify` finds an empty,
//!   intact chain rather than a broken one), corrections and Jitsi connection records are
//!   deleted, and their participants without an account anonymised.
//! - Contacts without a session ending after `contacts` and unchanged since are deleted.
//! - Mail of sessions that ended before `mail`, no longer to be delivered and last changed
//!   before it, is deleted; so are the reminders of those sessions.
//! - Jitsi events received before `events` lose their raw payload, names and addresses (the
//!   connection times stay, as attendance evidence); events of no session are deleted.
//! - Room reservations (a session's or a personal room's) whose conference ended before `events`
//!   lose the creator's XMPP address (`mail_owner`: on a secure domain, a host's account name).
//! - Audit entries before `audit` are deleted.
//! - Failed-login counters, one-time links and login sessions ended before `login` are deleted.
//!
//! Nothing inside its period is touched: every statement compares with its own cutoff.

use jiff::Timestamp;

use crate::db::{Conn, args};
use crate::gdpr::{ERASED_NAME, erased_email};
use crate::{Result, Store};

/// The instants before which each kind of data goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionCutoffs {
    pub evidence: Timestamp,
    pub contacts: Timestamp,
    pub mail: Timestamp,
    pub events: Timestamp,
    pub audit: Timestamp,
    pub login: Timestamp,
    /// Rows per statement.
    pub batch: i64,
}

/// How many rows a run removed or anonymised (or, dry, would), by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RetentionCounts {
    /// Sessions whose attendance evidence went.
    pub evidence_sessions: u64,
    pub signatures: u64,
    pub corrections: u64,
    /// Jitsi connection records of those sessions.
    pub connection_events: u64,
    pub participants_anonymised: u64,
    pub contacts: u64,
    pub mail: u64,
    pub reminders: u64,
    pub jitsi_events_anonymised: u64,
    pub jitsi_events_unmatched: u64,
    /// Ended room reservations whose creator's address was emptied.
    pub reservations_anonymised: u64,
    pub audit_entries: u64,
    pub login_rows: u64,
}

impl RetentionCounts {
    pub fn total(&self) -> u64 {
        self.evidence_sessions
            + self.signatures
            + self.corrections
            + self.connection_events
            + self.participants_anonymised
            + self.contacts
            + self.mail
            + self.reminders
            + self.jitsi_events_anonymised
            + self.jitsi_events_unmatched
            + self.reservations_anonymised
            + self.audit_entries
            + self.login_rows
    }
}

/// Sessions past their evidence retention that still hold something to remove.
const EVIDENCE_SESSIONS: &str = "SELECT s.id FROM sessions s WHERE s.ends_at < $1 AND (\
     EXISTS (SELECT 1 FROM attendance_signatures a WHERE a.session_id = s.id) \
     OR EXISTS (SELECT 1 FROM attendance_seals a WHERE a.session_id = s.id) \
     OR EXISTS (SELECT 1 FROM attendance_corrections a WHERE a.session_id = s.id) \
     OR EXISTS (SELECT 1 FROM jitsi_events e WHERE e.session_id = s.id) \
     OR EXISTS (SELECT 1 FROM session_participants p WHERE p.session_id = s.id AND p.user_id IS NULL \
                AND p.email_norm NOT LIKE 'erased-%')) \
     ORDER BY s.ends_at, s.id LIMIT $2";

/// Contacts past their retention: no session ending after the cutoff, unchanged since, and no
/// entry merged into them (those go first).
const OLD_CONTACTS: &str = "SELECT c.id FROM contacts c WHERE c.updated_at < $1 \
     AND NOT EXISTS (SELECT 1 FROM session_participants p JOIN sessions s ON s.id = p.session_id \
                     WHERE p.contact_id = c.id AND s.ends_at >= $1) \
     AND NOT EXISTS (SELECT 1 FROM contacts m WHERE m.merged_into = c.id) \
     ORDER BY c.updated_at, c.id LIMIT $2";

// An invitation to a whole series stays while a session of the series does: it is what makes
// later changes go out as overrides of the one event the recipient holds (`series.rs`).
const OLD_MAIL_COUNT: &str = "SELECT COUNT(*) AS n FROM outbox o JOIN sessions s ON s.id = o.session_id \
     WHERE o.status IN ('sent', 'failed', 'superseded') AND o.updated_at < $1 AND s.ends_at < $1 \
     AND NOT EXISTS (SELECT 1 FROM sessions t WHERE t.series_id = o.series_id AND t.ends_at >= $1)";
const OLD_MAIL_DELETE: &str = "DELETE FROM outbox WHERE seq IN (SELECT o.seq FROM outbox o \
     JOIN sessions s ON s.id = o.session_id \
     WHERE o.status IN ('sent', 'failed', 'superseded') AND o.updated_at < $1 AND s.ends_at < $1 \
     AND NOT EXISTS (SELECT 1 FROM sessions t WHERE t.series_id = o.series_id AND t.ends_at >= $1) LIMIT $2)";

const OLD_REMINDERS_COUNT: &str = "SELECT COUNT(*) AS n FROM reminders r JOIN sessions s ON s.id = r.session_id \
     WHERE s.ends_at < $1";
const OLD_REMINDERS_DELETE: &str = "DELETE FROM reminders WHERE session_id IN (SELECT s.id FROM sessions s \
     WHERE s.ends_at < $1 AND EXISTS (SELECT 1 FROM reminders r WHERE r.session_id = s.id) LIMIT $2)";

const OLD_EVENTS_COUNT: &str = "SELECT COUNT(*) AS n FROM jitsi_events WHERE received_at < $1 \
     AND session_id IS NOT NULL AND (payload <> '{}' OR occupant_name IS NOT NULL OR occupant_email IS NOT NULL)";
const OLD_EVENTS_UPDATE: &str = "UPDATE jitsi_events SET payload = '{}', occupant_name = NULL, occupant_email = NULL \
     WHERE id IN (SELECT id FROM jitsi_events WHERE received_at < $1 AND session_id IS NOT NULL \
     AND (payload <> '{}' OR occupant_name IS NOT NULL OR occupant_email IS NOT NULL) LIMIT $2)";

const UNMATCHED_EVENTS_COUNT: &str =
    "SELECT COUNT(*) AS n FROM jitsi_events WHERE received_at < $1 AND session_id IS NULL";
const UNMATCHED_EVENTS_DELETE: &str = "DELETE FROM jitsi_events WHERE id IN (SELECT id FROM jitsi_events \
     WHERE received_at < $1 AND session_id IS NULL LIMIT $2)";

// Only ended conferences (`deleted_at` set): a live room's reservation is still asked for.
const OLD_RESERVATIONS_COUNT: &str = "SELECT COUNT(*) AS n FROM jitsi_reservations \
     WHERE created_at < $1 AND deleted_at IS NOT NULL AND mail_owner <> ''";
const OLD_RESERVATIONS_UPDATE: &str = "UPDATE jitsi_reservations SET mail_owner = '' WHERE id IN \
     (SELECT id FROM jitsi_reservations WHERE created_at < $1 AND deleted_at IS NOT NULL AND mail_owner <> '' LIMIT $2)";
const OLD_ROOM_RESERVATIONS_COUNT: &str = "SELECT COUNT(*) AS n FROM personal_room_reservations \
     WHERE created_at < $1 AND deleted_at IS NOT NULL AND mail_owner <> ''";
const OLD_ROOM_RESERVATIONS_UPDATE: &str = "UPDATE personal_room_reservations SET mail_owner = '' WHERE id IN \
     (SELECT id FROM personal_room_reservations WHERE created_at < $1 AND deleted_at IS NOT NULL \
      AND mail_owner <> '' LIMIT $2)";

const OLD_AUDIT_COUNT: &str = "SELECT COUNT(*) AS n FROM audit_log WHERE at < $1";
const OLD_AUDIT_DELETE: &str = "DELETE FROM audit_log WHERE seq IN (SELECT seq FROM audit_log WHERE at < $1 LIMIT $2)";

const OLD_THROTTLE_COUNT: &str =
    "SELECT COUNT(*) AS n FROM login_throttle WHERE window_start < $1 AND locked_until < $1";
const OLD_THROTTLE_DELETE: &str = "DELETE FROM login_throttle WHERE key IN (SELECT key FROM login_throttle \
     WHERE window_start < $1 AND locked_until < $1 LIMIT $2)";
const OLD_LINKS_COUNT: &str = "SELECT COUNT(*) AS n FROM one_time_tokens WHERE expires_at < $1";
const OLD_LINKS_DELETE: &str = "DELETE FROM one_time_tokens WHERE token_hash IN (SELECT token_hash \
     FROM one_time_tokens WHERE expires_at < $1 LIMIT $2)";
const OLD_LOGINS_COUNT: &str = "SELECT COUNT(*) AS n FROM login_sessions WHERE expires_at < $1";
const OLD_LOGINS_DELETE: &str = "DELETE FROM login_sessions WHERE id_hash IN (SELECT id_hash \
     FROM login_sessions WHERE expires_at < $1 LIMIT $2)";

fn count_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl Store {
    /// What a run would remove or anonymise now (nothing is changed).
    pub async fn retention_plan(&self, cut: &RetentionCutoffs) -> Result<RetentionCounts> {
        let mut pooled = self.pool.read().await?;
        let mut c = pooled.conn();
        let mut n = RetentionCounts::default();
        let sessions: Vec<String> = c
            .all(EVIDENCE_SESSIONS, args![cut.evidence.as_second(), i64::MAX], |r| {
                r.text("id")
            })
            .await?;
        for id in &sessions {
            let id = id.as_str();
            n.evidence_sessions += 1;
            n.signatures += count_u64(
                c.count(
                    "SELECT COUNT(*) AS n FROM attendance_signatures WHERE session_id = $1",
                    args![id],
                )
                .await?,
            );
            n.corrections += count_u64(
                c.count(
                    "SELECT COUNT(*) AS n FROM attendance_corrections WHERE session_id = $1",
                    args![id],
                )
                .await?,
            );
            n.connection_events += count_u64(
                c.count(
                    "SELECT COUNT(*) AS n FROM jitsi_events WHERE session_id = $1",
                    args![id],
                )
                .await?,
            );
            n.participants_anonymised += count_u64(
                c.count(
                    "SELECT COUNT(*) AS n FROM session_participants WHERE session_id = $1 AND user_id IS NULL \
                     AND email_norm NOT LIKE 'erased-%'",
                    args![id],
                )
                .await?,
            );
        }
        n.contacts = count_u64(
            i64::try_from(
                c.all(OLD_CONTACTS, args![cut.contacts.as_second(), i64::MAX], |r| {
                    r.text("id")
                })
                .await?
                .len(),
            )
            .unwrap_or(0),
        );
        let t = |at: Timestamp| at.as_second();
        n.mail = count_u64(c.count(OLD_MAIL_COUNT, args![t(cut.mail)]).await?);
        n.reminders = count_u64(c.count(OLD_REMINDERS_COUNT, args![t(cut.mail)]).await?);
        n.jitsi_events_anonymised = count_u64(c.count(OLD_EVENTS_COUNT, args![t(cut.events)]).await?);
        n.jitsi_events_unmatched = count_u64(c.count(UNMATCHED_EVENTS_COUNT, args![t(cut.events)]).await?);
        n.reservations_anonymised = count_u64(c.count(OLD_RESERVATIONS_COUNT, args![t(cut.events)]).await?)
            + count_u64(c.count(OLD_ROOM_RESERVATIONS_COUNT, args![t(cut.events)]).await?);
        n.audit_entries = count_u64(c.count(OLD_AUDIT_COUNT, args![t(cut.audit)]).await?);
        n.login_rows = count_u64(c.count(OLD_THROTTLE_COUNT, args![t(cut.login)]).await?)
            + count_u64(c.count(OLD_LINKS_COUNT, args![t(cut.login)]).await?)
            + count_u64(c.count(OLD_LOGINS_COUNT, args![t(cut.login)]).await?);
        Ok(n)
    }

    /// Removes or anonymises what is past its retention (see the module's documentation), a
    /// batch per transaction.
    pub async fn retention_apply(&self, cut: &RetentionCutoffs) -> Result<RetentionCounts> {
        let mut n = RetentionCounts::default();
        let batch = cut.batch.max(1);
        // Evidence, a batch of sessions per transaction, each session's chain whole.
        loop {
            let mut tx = self.pool.write().await?;
            let mut c = tx.conn();
            let sessions: Vec<String> = c
                .all(EVIDENCE_SESSIONS, args![cut.evidence.as_second(), batch], |r| {
                    r.text("id")
                })
                .await?;
            for id in &sessions {
                purge_evidence(&mut c, id, &mut n).await?;
            }
            tx.commit().await?;
            if (sessions.len() as i64) < batch {
                break;
            }
        }
        loop {
            let mut tx = self.pool.write().await?;
            let mut c = tx.conn();
            let ids: Vec<String> = c
                .all(OLD_CONTACTS, args![cut.contacts.as_second(), batch], |r| r.text("id"))
                .await?;
            for id in &ids {
                let id = id.as_str();
                c.exec(
                    "UPDATE session_participants SET contact_id = NULL WHERE contact_id = $1",
                    args![id],
                )
                .await?;
                n.contacts += c.exec("DELETE FROM contacts WHERE id = $1", args![id]).await?;
            }
            tx.commit().await?;
            if (ids.len() as i64) < batch {
                break;
            }
        }
        let t = |at: Timestamp| at.as_second();
        n.mail += self.repeat(OLD_MAIL_DELETE, t(cut.mail), batch).await?;
        n.reminders += self.repeat(OLD_REMINDERS_DELETE, t(cut.mail), batch).await?;
        n.jitsi_events_anonymised += self.repeat(OLD_EVENTS_UPDATE, t(cut.events), batch).await?;
        n.jitsi_events_unmatched += self.repeat(UNMATCHED_EVENTS_DELETE, t(cut.events), batch).await?;
        n.reservations_anonymised += self.repeat(OLD_RESERVATIONS_UPDATE, t(cut.events), batch).await?;
        n.reservations_anonymised += self.repeat(OLD_ROOM_RESERVATIONS_UPDATE, t(cut.events), batch).await?;
        n.audit_entries += self.repeat(OLD_AUDIT_DELETE, t(cut.audit), batch).await?;
        n.login_rows += self.repeat(OLD_THROTTLE_DELETE, t(cut.login), batch).await?;
        n.login_rows += self.repeat(OLD_LINKS_DELETE, t(cut.login), batch).await?;
        n.login_rows += self.repeat(OLD_LOGINS_DELETE, t(cut.login), batch).await?;
        Ok(n)
    }

    /// Runs `sql` (`$1` the cutoff, `$2` the batch) in its own transaction until it changes
    /// fewer rows than a batch; the rows changed in all.
    async fn repeat(&self, sql: &'static str, cutoff: i64, batch: i64) -> Result<u64> {
        let mut total = 0;
        loop {
            let mut tx = self.pool.write().await?;
            let changed = tx.conn().exec(sql, args![cutoff, batch]).await?;
            tx.commit().await?;
            total += changed;
            // A reminders batch is counted in sessions but changes rows: stop on nothing left.
            if changed == 0 || (sql != OLD_REMINDERS_DELETE && (changed as i64) < batch) {
                return Ok(total);
            }
        }
    }
}

async fn purge_evidence(c: &mut Conn<'_>, session_id: &str, n: &mut RetentionCounts) -> Result<()> {
    let id = session_id;
    n.evidence_sessions += 1;
    n.signatures += c
        .exec("DELETE FROM attendance_signatures WHERE session_id = $1", args![id])
        .await?;
    c.exec("DELETE FROM attendance_seals WHERE session_id = $1", args![id])
        .await?;
    n.corrections += c
        .exec("DELETE FROM attendance_corrections WHERE session_id = $1", args![id])
        .await?;
    n.connection_events += c
        .exec("DELETE FROM jitsi_events WHERE session_id = $1", args![id])
        .await?;
    let people: Vec<String> = c
        .all(
            "SELECT id FROM session_participants WHERE session_id = $1 AND user_id IS NULL \
             AND email_norm NOT LIKE 'erased-%'",
            args![id],
            |r| r.text("id"),
        )
        .await?;
    for p in &people {
        let erased = erased_email(p);
        n.participants_anonymised += c
            .exec(
                "UPDATE session_participants SET name = $2, email = $3, email_norm = $3, contact_id = NULL \
                 WHERE id = $1",
                args![p.as_str(), ERASED_NAME, erased.as_str()],
            )
            .await?;
    }
    Ok(())
}
