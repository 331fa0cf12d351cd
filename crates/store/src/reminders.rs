//! Reminders: one row per (session, participant, offset), scheduled when a session is booked
//! or a participant added (none for offsets already past), moved when the session moves,
//! dropped when it is cancelled or the participant removed (cascade). When due,
//! [`Store::promote_due_reminders`] marks them (once: the primary key and `enqueued_at`) and
//! writes an outbox row, unless the session has started or the participant declined.

use std::collections::BTreeMap;

pub use domain::mail_policy::{MailKind, MailSnapshot};
use domain::session::SessionStatus;
use jiff::Timestamp;

use crate::db::{Conn, args};
use crate::outbox::{MailPolicy, enqueue, notify, recipients, session_of};
use crate::sessions::Session;
use crate::{Result, Store, ts};

/// Schedules the reminders of a session (of one participant, or all) whose time is still ahead.
pub(crate) async fn schedule_reminders(
    c: &mut Conn<'_>,
    policy: &MailPolicy,
    session: &Session,
    only: Option<&str>,
    now: Timestamp,
) -> Result<()> {
    for offset in &policy.reminder_offsets {
        let due = session.starts_at.as_second() - offset.as_secs();
        if due <= now.as_second() {
            continue;
        }
        c.exec(
            "INSERT INTO reminders (session_id, participant_id, offset_minutes, due_at) \
             SELECT p.session_id, p.id, $3, $4 FROM session_participants p \
             WHERE p.session_id = $1 AND ($2 IS NULL OR p.id = $2) ON CONFLICT DO NOTHING",
            args![session.id.as_str(), only, offset.as_secs() / 60, due],
        )
        .await?;
    }
    Ok(())
}

pub(crate) async fn drop_pending_reminders(c: &mut Conn<'_>, session_id: &str) -> Result<()> {
    c.exec(
        "DELETE FROM reminders WHERE session_id = $1 AND enqueued_at IS NULL",
        args![session_id],
    )
    .await?;
    Ok(())
}

impl Store {
    /// Turns the reminders due at `now` into outbox messages, each once. A reminder whose
    /// session has started (or is cancelled), or whose participant declined, is spent without a
    /// message; of several due at once for one participant (after downtime) only the one
    /// closest to the start is sent. Returns how many messages were written.
    pub async fn promote_due_reminders(&self, now: Timestamp) -> Result<usize> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let due = c
            .all(
                "UPDATE reminders SET enqueued_at = $1 WHERE enqueued_at IS NULL AND due_at <= $1 \
                 RETURNING session_id, participant_id, offset_minutes",
                args![now.as_second()],
                |r| {
                    Ok((
                        r.text("session_id")?,
                        r.text("participant_id")?,
                        r.i64("offset_minutes")?,
                    ))
                },
            )
            .await?;
        if due.is_empty() {
            return Ok(0);
        }
        // The smallest offset per (session, participant).
        let mut latest: BTreeMap<(String, String), i64> = BTreeMap::new();
        for (session_id, participant_id, offset) in due {
            let entry = latest.entry((session_id, participant_id)).or_insert(offset);
            *entry = (*entry).min(offset);
        }
        let mut written = 0;
        for ((session_id, participant_id), offset) in latest {
            let session = session_of(&mut c, &session_id).await?;
            if session.status != SessionStatus::Scheduled || session.starts_at <= now {
                continue;
            }
            let declined = c
                .count(
                    "SELECT COUNT(*) AS n FROM session_participants WHERE id = $1 AND rsvp = 'declined'",
                    args![participant_id.as_str()],
                )
                .await?;
            if declined > 0 {
                continue;
            }
            for to in recipients(&mut c, &session, Some(&participant_id)).await? {
                let snapshot = MailSnapshot {
                    offset_minutes: Some(offset),
                    ..MailSnapshot::default()
                };
                // A reminder is worth nothing once the session has started.
                enqueue(
                    &mut c,
                    MailKind::Reminder,
                    &session_id,
                    None,
                    &to,
                    &snapshot,
                    now,
                    session.starts_at,
                )
                .await?;
                written += 1;
            }
        }
        if written > 0 {
            notify(&mut c, &self.mail).await?;
        }
        tx.commit().await?;
        Ok(written)
    }

    /// Writes a reminder to sign the attendance sheet of a session to each of `participants`
    /// not reminded of it yet, in one transaction: a participant is reminded once, however
    /// many passes or instances ask (the primary key of `sign_reminders`). The message is given
    /// up at `give_up_at` (when the sheet stops taking signatures). Returns how many were written.
    pub async fn enqueue_sign_reminders(
        &self,
        session_id: &str,
        participants: &[String],
        now: Timestamp,
        give_up_at: Timestamp,
    ) -> Result<usize> {
        if participants.is_empty() {
            return Ok(0);
        }
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let session = session_of(&mut c, session_id).await?;
        let mut written = 0;
        for participant_id in participants {
            let fresh = c
                .exec(
                    "INSERT INTO sign_reminders (session_id, participant_id, enqueued_at) \
                     SELECT p.session_id, p.id, $3 FROM session_participants p WHERE p.session_id = $1 AND p.id = $2 \
                     ON CONFLICT DO NOTHING",
                    args![session_id, participant_id.as_str(), now.as_second()],
                )
                .await?;
            if fresh == 0 {
                continue;
            }
            for to in recipients(&mut c, &session, Some(participant_id)).await? {
                enqueue(
                    &mut c,
                    MailKind::SignReminder,
                    session_id,
                    None,
                    &to,
                    &MailSnapshot::default(),
                    now,
                    give_up_at,
                )
                .await?;
                written += 1;
            }
        }
        if written > 0 {
            notify(&mut c, &self.mail).await?;
        }
        tx.commit().await?;
        Ok(written)
    }

    /// Who was reminded to sign a session's sheet already (participant ids).
    pub async fn sign_reminded(&self, session_id: &str) -> Result<Vec<String>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .all(
                "SELECT participant_id FROM sign_reminders WHERE session_id = $1 ORDER BY participant_id",
                args![session_id],
                |r| r.text("participant_id"),
            )
            .await
    }

    /// The reminders of a session: (participant id, offset in minutes, due, already spent).
    pub async fn session_reminders(&self, session_id: &str) -> Result<Vec<(String, i64, Timestamp, bool)>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .all(
                "SELECT participant_id, offset_minutes, due_at, enqueued_at FROM reminders WHERE session_id = $1 \
                 ORDER BY participant_id, offset_minutes DESC",
                args![session_id],
                |r| {
                    Ok((
                        r.text("participant_id")?,
                        r.i64("offset_minutes")?,
                        ts(r.i64("due_at")?)?,
                        r.opt_i64("enqueued_at")?.is_some(),
                    ))
                },
            )
            .await
    }
}
