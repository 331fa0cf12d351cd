//! The mail outbox, reminders, answers to invitations, and calendar feeds.
//!
//! Every message is a row of `outbox`, written by [`react`] in the same transaction as the
//! booking change that causes it, and delivered later by the worker of the `mail` crate. The row
//! describes the message (kind, session, participant, recipient, language, zone, and a
//! [`MailSnapshot`] of what cannot be read again later); the worker renders it at delivery from
//! the current data. So this crate never depends on `mail`, and a message still queued when a
//! later change comes shows the latest state: an invitation queued for a session moved before
//! delivery carries the new time and needs no update; one queued for a session cancelled before
//! delivery is superseded, and nobody who never heard of the session gets a cancellation.
//!
//! Delivery: [`Store::claim_outbox`] takes due rows under a lease (`status = 'sending'`,
//! `lease_owner`, `lease_until`) in one statement — on PostgreSQL with `FOR UPDATE SKIP LOCKED`,
//! on SQLite under the database's single write lock — so two workers never hold the same row.
//! The worker then marks the row sent, queued again for later, failed or superseded, each only
//! if it still holds the lease. A worker that dies mid-delivery leaves a row whose lease expires
//! and that another worker takes again: if the message had already left, it is sent a second
//! time (at most once more per crash, with the same `Message-ID`).
//!
//! Messages for one recipient about one session go out in the order they were written: a row is
//! not claimed while an earlier one of the same thread is queued or being sent.
//!
//! Reminders are rows of `reminders`, one per (session, participant, offset): scheduled when a
//! session is booked or a participant added (none for offsets already past), moved when the
//! session moves, dropped when it is cancelled or the participant removed (cascade). When due,
//! [`Store::promote_due_reminders`] marks them (once: the primary key and `enqueued_at`) and
//! writes an outbox row, unless the session has started or the participant declined.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use domain::mail_policy::{self, Intent, SessionEvent, SessionIntent};
pub use domain::mail_policy::{MailKind, MailSnapshot, reason};
use domain::session::SessionStatus;
use jiff::{SignedDuration, Timestamp};
use tokio::sync::Notify;

use crate::audit::{AuditEntry, insert_audit};
use crate::db::{Conn, Pool, Row, args};
use crate::participants::Participant;
use crate::reminders::{drop_pending_reminders, schedule_reminders};
use crate::series::heard_as_series;
use crate::sessions::{Change, Session, session_by_id};
use crate::{Result, Store, StoreError, new_id, ts};

/// The PostgreSQL channel on which committed outbox writes wake the workers of every instance.
const CHANNEL: &str = "dialogue_outbox";

/// A stored message kind.
fn mail_kind(s: &str) -> Result<MailKind> {
    MailKind::parse(s).ok_or_else(|| StoreError::Corrupt(format!("mail kind {s:?}")))
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OutboxStatus {
    /// Waiting for its time (`next_attempt_at`).
    Queued,
    /// Held by a worker (until `lease_until`).
    Sending,
    Sent,
    /// Given up: refused permanently, or still failing after the retry period.
    Failed,
    /// Not sent because a later change made it pointless (the reason says which).
    Superseded,
}

impl OutboxStatus {
    pub const ALL: [OutboxStatus; 5] = [Self::Queued, Self::Sending, Self::Sent, Self::Failed, Self::Superseded];

    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Queued => "queued",
            OutboxStatus::Sending => "sending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Failed => "failed",
            OutboxStatus::Superseded => "superseded",
        }
    }

    fn parse(s: &str) -> Result<OutboxStatus> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| StoreError::Corrupt(format!("outbox status {s:?}")))
    }
}

/// One message of the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMessage {
    pub id: String,
    pub kind: MailKind,
    /// The session the message is about (`None`: a welcome message, about an account).
    pub session_id: Option<String>,
    /// The participant it goes to (for a welcome message: the account's id).
    pub participant_id: String,
    pub recipient_email: String,
    pub recipient_name: String,
    /// The recipient's language when known (else the configured default).
    pub locale: Option<String>,
    /// The zone the recipient reads times in.
    pub time_zone: String,
    pub snapshot: MailSnapshot,
    pub status: OutboxStatus,
    /// Delivery attempts so far (counted when a worker takes the row).
    pub attempts: i64,
    pub next_attempt_at: Timestamp,
    /// After this instant a failing message is given up.
    pub give_up_at: Timestamp,
    /// The subject of the last rendering.
    pub subject: Option<String>,
    /// The last delivery error, or for a superseded message the reason (see [`reason`]).
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    /// An invitation that describes every session of this series the recipient is in.
    pub series_id: Option<String>,
}

/// A line of the admin list: a message and the title of its session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxLine {
    pub message: OutboxMessage,
    /// The session's title; empty for a message about no session (a welcome).
    pub session_title: String,
}

/// The outbox as monitoring sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxHealth {
    pub counts: OutboxCounts,
    /// Seconds since the oldest message still to deliver was written; 0 when none.
    pub oldest_pending_age_secs: i64,
}

/// How many messages are in each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxCounts {
    pub queued: i64,
    pub sending: i64,
    pub sent: i64,
    pub failed: i64,
    pub superseded: i64,
}

/// The mail rules the store applies when it writes rows: when reminders are due, how long a
/// message is retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailPolicy {
    /// Reminders, as durations before the start (default 1 day and 1 hour).
    pub reminder_offsets: Vec<SignedDuration>,
    /// How long after it was written a failing message is given up (default a day).
    pub give_up_after: SignedDuration,
}

impl Default for MailPolicy {
    fn default() -> Self {
        MailPolicy {
            reminder_offsets: vec![SignedDuration::from_hours(24), SignedDuration::from_hours(1)],
            give_up_after: SignedDuration::from_hours(24),
        }
    }
}

/// The store's share of the mail machinery: the policy and the in-process wake-up.
#[derive(Clone, Default)]
pub(crate) struct MailHooks {
    pub(crate) policy: Arc<MailPolicy>,
    notify: Arc<Notify>,
    /// Leases taken back by this process, since it started (read by `/metrics`).
    reclaimed: Arc<Reclaimed>,
}

/// Counts of leases taken back: a dead worker's rows made claimable again.
#[derive(Default)]
struct Reclaimed {
    /// Released at start by the instance that had leased them before a crash.
    restart: std::sync::atomic::AtomicU64,
    /// Claimed again after their lease expired (any instance's).
    expired: std::sync::atomic::AtomicU64,
}

/// How many outbox leases this process took back since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeasesReclaimed {
    /// Its own, released at start (the instance restarted after a crash).
    pub restart: u64,
    /// Expired ones, claimed again.
    pub expired: u64,
}

/// Waits for outbox work: a local wake-up ([`Store::wake_outbox`], or a write by this process),
/// a PostgreSQL notification (a write committed by any instance), or the end of a poll period.
pub struct OutboxWaker {
    local: Arc<Notify>,
    listener: Option<sqlx::postgres::PgListener>,
}

impl OutboxWaker {
    /// Returns when there may be work, at the latest after `max`.
    pub async fn wait(&mut self, max: Duration) {
        let local = &self.local;
        match &mut self.listener {
            Some(listener) => {
                tokio::select! {
                    () = local.notified() => {}
                    received = listener.recv() => {
                        if let Err(e) = received {
                            tracing::debug!(error = %e, "outbox notifications interrupted");
                            tokio::time::sleep(max).await;
                        }
                    }
                    () = tokio::time::sleep(max) => {}
                }
            }
            None => {
                tokio::select! {
                    () = local.notified() => {}
                    () = tokio::time::sleep(max) => {}
                }
            }
        }
    }
}

/// The columns [`message_row`] reads.
macro_rules! outbox_cols {
    () => {
        "o.id, o.kind, o.session_id, o.participant_id, o.recipient_email, o.recipient_name, o.locale, o.time_zone, \
         o.snapshot, o.status, o.attempts, o.next_attempt_at, o.give_up_at, o.subject, o.last_error, o.created_at, \
         o.updated_at, o.sent_at, o.series_id"
    };
}

/// The same columns, unqualified (for `RETURNING`).
macro_rules! outbox_fields {
    () => {
        "id, kind, session_id, participant_id, recipient_email, recipient_name, locale, time_zone, snapshot, status, \
         attempts, next_attempt_at, give_up_at, subject, last_error, created_at, updated_at, sent_at, series_id"
    };
}

/// The rows a worker may take at `$3`, at most `$4`, in order: due and queued, or held under an
/// expired lease; none while an earlier message of the same thread (session and recipient) is
/// still queued or being sent.
macro_rules! claimable {
    // Two separate queries, not one with an OR of the two states: each then walks `outbox_due`
    // (status, next_attempt_at, and the rowid `seq`) in the order asked and stops at the limit,
    // where the OR sorted the whole backlog in a temporary B-tree inside the writer's lock
    // (0.55 s per claim with 300,000 messages queued; a few ms this way).
    (queued) => {
        claimable!("c.status = 'queued' AND c.next_attempt_at <= $3")
    };
    (expired) => {
        claimable!("c.status = 'sending' AND c.lease_until <= $3")
    };
    ($state:literal) => {
        concat!(
            "SELECT c.seq FROM outbox c WHERE ",
            $state,
            " AND NOT EXISTS (SELECT 1 FROM outbox e \
             WHERE e.session_id = c.session_id AND e.recipient_norm = c.recipient_norm AND e.seq < c.seq \
             AND e.status IN ('queued', 'sending')) ORDER BY c.next_attempt_at, c.seq LIMIT $4"
        )
    };
}

/// The statement that leases the messages [`claimable!`] selects, with a lock clause.
macro_rules! claim_sql {
    ($which:ident, $lock:literal) => {
        concat!(
            "UPDATE outbox SET status = 'sending', lease_owner = $1, lease_until = $2, \
             attempts = attempts + 1, updated_at = $3 WHERE seq IN (",
            claimable!($which),
            $lock,
            ") RETURNING seq, ",
            outbox_fields!()
        )
    };
}

fn message_row(r: &dyn Row) -> Result<OutboxMessage> {
    let snapshot = r.text("snapshot")?;
    Ok(OutboxMessage {
        id: r.text("id")?,
        kind: mail_kind(&r.text("kind")?)?,
        session_id: r.opt_text("session_id")?,
        participant_id: r.text("participant_id")?,
        recipient_email: r.text("recipient_email")?,
        recipient_name: r.text("recipient_name")?,
        locale: r.opt_text("locale")?,
        time_zone: r.text("time_zone")?,
        snapshot: serde_json::from_str(&snapshot)
            .map_err(|e| StoreError::Corrupt(format!("outbox snapshot {snapshot:?}: {e}")))?,
        status: OutboxStatus::parse(&r.text("status")?)?,
        attempts: r.i64("attempts")?,
        next_attempt_at: ts(r.i64("next_attempt_at")?)?,
        give_up_at: ts(r.i64("give_up_at")?)?,
        subject: r.opt_text("subject")?,
        last_error: r.opt_text("last_error")?,
        created_at: ts(r.i64("created_at")?)?,
        updated_at: ts(r.i64("updated_at")?)?,
        sent_at: r.opt_i64("sent_at")?.map(ts).transpose()?,
        series_id: r.opt_text("series_id")?,
    })
}

/// Who a message goes to, resolved when it is written.
#[derive(Debug, Clone)]
pub(crate) struct Recipient {
    pub(crate) participant_id: String,
    pub(crate) email: String,
    pub(crate) name: String,
    pub(crate) locale: Option<String>,
    pub(crate) zone: String,
}

impl Recipient {
    fn norm(&self) -> String {
        self.email.to_lowercase()
    }
}

/// Each participant of a session with their language and zone (account, else address book, else
/// the session's zone and the default language).
pub(crate) async fn recipients(c: &mut Conn<'_>, session: &Session, only: Option<&str>) -> Result<Vec<Recipient>> {
    c.all(
        "SELECT p.id, COALESCE(u.display_name, p.name) AS name, COALESCE(u.email, p.email) AS email, \
         COALESCE(u.locale, k.locale) AS locale, COALESCE(u.time_zone, k.time_zone, $3) AS zone \
         FROM session_participants p LEFT JOIN users u ON u.id = p.user_id LEFT JOIN contacts k ON k.id = p.contact_id \
         WHERE p.session_id = $1 AND ($2 IS NULL OR p.id = $2) ORDER BY p.created_at, p.id",
        args![session.id.as_str(), only, session.time_zone.as_str()],
        |r| {
            Ok(Recipient {
                participant_id: r.text("id")?,
                email: r.text("email")?,
                name: r.text("name")?,
                locale: r.opt_text("locale")?,
                zone: r.text("zone")?,
            })
        },
    )
    .await
}

/// The language and zone of someone removed from a session (their row is gone; their account or
/// address-book entry is not).
async fn removed_recipient(c: &mut Conn<'_>, session: &Session, p: &Participant) -> Result<Recipient> {
    let prefs = c
        .opt(
            "SELECT u.locale AS locale, u.time_zone AS zone FROM users u WHERE u.id = $1 \
             UNION ALL SELECT k.locale AS locale, k.time_zone AS zone FROM contacts k WHERE k.id = $2",
            args![p.user_id.as_deref(), p.contact_id.as_deref()],
            |r| Ok((r.opt_text("locale")?, r.opt_text("zone")?)),
        )
        .await?;
    let (locale, zone) = prefs.unwrap_or((None, None));
    Ok(Recipient {
        participant_id: p.id.clone(),
        email: p.email.clone(),
        name: p.name.clone(),
        locale,
        zone: zone.unwrap_or_else(|| session.time_zone.clone()),
    })
}

/// Writes one message. `series_id`: an invitation that describes the whole series.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn enqueue(
    c: &mut Conn<'_>,
    kind: MailKind,
    session_id: &str,
    series_id: Option<&str>,
    to: &Recipient,
    snapshot: &MailSnapshot,
    now: Timestamp,
    give_up_at: Timestamp,
) -> Result<()> {
    let snapshot = serde_json::to_string(snapshot).map_err(|e| StoreError::Corrupt(format!("outbox snapshot: {e}")))?;
    c.exec(
        "INSERT INTO outbox (id, kind, session_id, participant_id, recipient_email, recipient_norm, recipient_name, \
         locale, time_zone, snapshot, status, attempts, next_attempt_at, give_up_at, created_at, updated_at, series_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'queued', 0, $11, $12, $11, $11, $13)",
        args![
            new_id().as_str(),
            kind.as_str(),
            session_id,
            to.participant_id.as_str(),
            to.email.as_str(),
            to.norm().as_str(),
            to.name.as_str(),
            to.locale.as_deref(),
            to.zone.as_str(),
            snapshot.as_str(),
            now.as_second(),
            give_up_at.as_second(),
            series_id,
        ],
    )
    .await?;
    Ok(())
}

/// Supersedes the queued invitations, updates and reminders of one recipient about a session.
async fn supersede_news(c: &mut Conn<'_>, session_id: &str, norm: &str, why: &str, now: Timestamp) -> Result<u64> {
    c.exec(
        "UPDATE outbox SET status = 'superseded', last_error = $3, updated_at = $4 \
         WHERE session_id = $1 AND recipient_norm = $2 AND status = 'queued' \
         AND kind IN ('invitation', 'update', 'reminder') AND series_id IS NULL",
        args![session_id, norm, why, now.as_second()],
    )
    .await
}

/// Supersedes a queued cancellation of one recipient about a session (they are invited again).
async fn supersede_cancellations(c: &mut Conn<'_>, session_id: &str, norm: &str, now: Timestamp) -> Result<u64> {
    c.exec(
        "UPDATE outbox SET status = 'superseded', last_error = $3, updated_at = $4 \
         WHERE session_id = $1 AND recipient_norm = $2 AND status = 'queued' AND kind = 'cancellation'",
        args![session_id, norm, reason::REINVITED, now.as_second()],
    )
    .await
}

/// Whether this participant may have received an invitation or an update: one was sent, or a
/// delivery was at least attempted (a timeout after the data can hide a success). An invitation
/// to the whole series (`series_id`, by address) counts for each of its sessions.
async fn may_have_heard(
    c: &mut Conn<'_>,
    session_id: &str,
    participant_id: &str,
    series: Option<(&str, &str)>,
) -> Result<bool> {
    let (series_id, norm) = series.unzip();
    let n = c
        .count(
            "SELECT COUNT(*) AS n FROM outbox WHERE ((session_id = $1 AND participant_id = $2) \
             OR (series_id = $3 AND recipient_norm = $4 AND kind = 'invitation')) \
             AND kind IN ('invitation', 'update') AND (status = 'sent' OR attempts > 0)",
            args![session_id, participant_id, series_id, norm],
        )
        .await?;
    Ok(n > 0)
}

/// Whether an invitation or update for this participant waits untouched (it will be rendered
/// with the latest data, so a further update is not needed); an invitation to the whole series
/// counts for each of its sessions.
async fn news_pending(
    c: &mut Conn<'_>,
    session_id: &str,
    participant_id: &str,
    series: Option<(&str, &str)>,
) -> Result<bool> {
    let (series_id, norm) = series.unzip();
    let n = c
        .count(
            "SELECT COUNT(*) AS n FROM outbox WHERE ((session_id = $1 AND participant_id = $2) \
             OR (series_id = $3 AND recipient_norm = $4 AND kind = 'invitation')) \
             AND kind IN ('invitation', 'update') AND status = 'queued' AND attempts = 0",
            args![session_id, participant_id, series_id, norm],
        )
        .await?;
    Ok(n > 0)
}

/// What [`react`] reads before writing: for bookings and additions, their sessions and (in a
/// series) their recipients, kept for the writing pass (`react` changes neither), and how many
/// sessions of each series each recipient is invited to (two or more make one invitation to the
/// series).
#[derive(Default)]
struct Invited {
    sessions: HashMap<String, Session>,
    recipients: HashMap<(String, Option<String>), Vec<Recipient>>,
    counts: HashMap<(String, String), usize>,
}

async fn series_invitations(c: &mut Conn<'_>, changes: &[Change]) -> Result<Invited> {
    let mut read = Invited::default();
    for change in changes {
        let (session_id, only) = match change {
            Change::Booked { session_id } => (session_id, None),
            Change::ParticipantAdded {
                session_id,
                participant_id,
            } => (session_id, Some(participant_id.as_str())),
            _ => continue,
        };
        let session = session_of(c, session_id).await?;
        if let Some(series_id) = &session.series_id {
            let people = recipients(c, &session, only).await?;
            for to in &people {
                *read.counts.entry((series_id.clone(), to.norm())).or_insert(0) += 1;
            }
            read.recipients
                .insert((session_id.clone(), only.map(str::to_owned)), people);
        }
        read.sessions.insert(session_id.clone(), session);
    }
    Ok(read)
}

/// Whether an invitation to the whole series waits untouched for this recipient (it will show
/// the latest sessions when delivered).
async fn series_news_pending(c: &mut Conn<'_>, series_id: &str, norm: &str) -> Result<bool> {
    let n = c
        .count(
            "SELECT COUNT(*) AS n FROM outbox WHERE series_id = $1 AND recipient_norm = $2 \
             AND kind = 'invitation' AND status = 'queued' AND attempts = 0",
            args![series_id, norm],
        )
        .await?;
    Ok(n > 0)
}

/// A recipient's first invitation to a whole series is queued: the sessions of that series they
/// were invited to one by one (each its own calendar event, with its own UID) are in it now, so
/// they must not stay in their calendar a second time. Invitations and updates of those
/// sessions still untouched in the queue are superseded (the series invitation shows the latest
/// data); for each session whose own event they may hold (a request sent or attempted, not
/// cancelled since), a cancellation of that event alone is queued (`into_series`: it says they
/// still take part, and is rendered with the session's own UID, not as an occurrence of the
/// series). Everything they were told of the series after this goes to the series' event.
async fn fold_into_series(
    c: &mut Conn<'_>,
    series_id: &str,
    to: &Recipient,
    now: Timestamp,
    give_up: Timestamp,
) -> Result<()> {
    let norm = to.norm();
    c.exec(
        "UPDATE outbox SET status = 'superseded', last_error = $3, updated_at = $4 \
         WHERE recipient_norm = $2 AND series_id IS NULL AND status = 'queued' AND attempts = 0 \
         AND kind IN ('invitation', 'update') AND session_id IN (SELECT id FROM sessions WHERE series_id = $1)",
        args![series_id, norm.as_str(), reason::IN_SERIES, now.as_second()],
    )
    .await?;
    let held = c
        .all(
            "SELECT o.session_id, o.participant_id FROM outbox o JOIN sessions s ON s.id = o.session_id \
             WHERE s.series_id = $1 AND o.recipient_norm = $2 AND o.series_id IS NULL \
             AND o.kind IN ('invitation', 'update') AND (o.status = 'sent' OR o.attempts > 0) \
             AND NOT EXISTS (SELECT 1 FROM outbox x WHERE x.session_id = o.session_id \
                 AND x.recipient_norm = o.recipient_norm AND x.kind = 'cancellation' AND x.seq > o.seq \
                 AND x.status <> 'superseded') \
             AND NOT EXISTS (SELECT 1 FROM outbox y WHERE y.session_id = o.session_id \
                 AND y.recipient_norm = o.recipient_norm AND y.kind IN ('invitation', 'update') \
                 AND y.series_id IS NULL AND y.seq > o.seq AND (y.status = 'sent' OR y.attempts > 0)) \
             ORDER BY s.starts_at, o.seq",
            args![series_id, norm.as_str()],
            |r| Ok((r.text("session_id")?, r.text("participant_id")?)),
        )
        .await?;
    let snapshot = MailSnapshot {
        into_series: true,
        ..MailSnapshot::default()
    };
    for (session_id, participant_id) in held {
        let own = Recipient {
            participant_id,
            ..to.clone()
        };
        enqueue(
            c,
            MailKind::Cancellation,
            &session_id,
            None,
            &own,
            &snapshot,
            now,
            give_up,
        )
        .await?;
    }
    Ok(())
}

pub(crate) async fn session_of(c: &mut Conn<'_>, id: &str) -> Result<Session> {
    session_by_id(c, id).await?.ok_or(StoreError::NotFound)
}

/// Writes the messages and reminders that booking changes call for, inside their transaction:
/// what to write is the mail policy's decision (`domain::mail_policy`), from the facts this
/// function reads of the outbox, only those the policy needs.
pub(crate) async fn react(c: &mut Conn<'_>, hooks: &MailHooks, changes: &[Change], now: Timestamp) -> Result<()> {
    let policy = &*hooks.policy;
    let give_up = now + policy.give_up_after;
    let mut wrote = false;
    let mut invited = series_invitations(c, changes).await?;
    // (series, recipient) already given one invitation to the whole series by these changes.
    let mut series_sent: HashSet<(String, String)> = HashSet::new();
    // The occurrences of each series these changes cancel ("this and the following"): a
    // recipient who holds the series as one event hears of them in one message, and
    // (series, recipient) marks those told already.
    let cancelled_together = cancelled_by_series(c, &invited, changes).await?;
    let mut series_cancelled: HashSet<(String, String)> = HashSet::new();
    for change in changes {
        let (session_id, event, only, removed) = match change {
            Change::Booked { session_id } => (session_id, SessionEvent::Booked, None, None),
            Change::Rescheduled {
                session_id,
                old_starts_at,
                old_ends_at,
            } => (
                session_id,
                SessionEvent::Rescheduled {
                    old_starts_at: old_starts_at.as_second(),
                    old_ends_at: old_ends_at.as_second(),
                },
                None,
                None,
            ),
            Change::Edited { session_id } => (session_id, SessionEvent::Edited, None, None),
            Change::ParticipantAdded {
                session_id,
                participant_id,
            } => (
                session_id,
                SessionEvent::ParticipantAdded,
                Some(participant_id.as_str()),
                None,
            ),
            Change::ParticipantRemoved {
                session_id,
                participant,
            } => (
                session_id,
                SessionEvent::ParticipantRemoved { role: participant.role },
                None,
                Some(participant),
            ),
            Change::Cancelled { session_id, .. } => (session_id, SessionEvent::Cancelled, None, None),
            Change::LinkReissued {
                session_id,
                participant_id,
            } => (
                session_id,
                // Filled in below, once the session is read.
                SessionEvent::LinkReissued { open: false },
                Some(participant_id.as_str()),
                None,
            ),
        };
        if event == SessionEvent::Edited {
            continue;
        }
        let session = match invited.sessions.get(session_id) {
            Some(session) => session.clone(),
            None => session_of(c, session_id).await?,
        };
        let event = match event {
            SessionEvent::LinkReissued { .. } => SessionEvent::LinkReissued {
                open: session.status == SessionStatus::Scheduled && !session.ended(now),
            },
            other => other,
        };
        for intent in mail_policy::for_session(event) {
            match intent {
                SessionIntent::DropPendingReminders => drop_pending_reminders(c, session_id).await?,
                SessionIntent::ScheduleReminders => schedule_reminders(c, policy, &session, only, now).await?,
            }
        }
        let recipients = match removed {
            // Their row is gone (and their reminders with it); their account or address-book
            // entry is not.
            Some(p) => vec![removed_recipient(c, &session, p).await?],
            None => match invited
                .recipients
                .remove(&(session_id.clone(), only.map(str::to_owned)))
            {
                Some(people) => people,
                None => recipients(c, &session, only).await?,
            },
        };
        let needs = mail_policy::needs(event);
        let inviting = matches!(event, SessionEvent::Booked | SessionEvent::ParticipantAdded);
        for to in recipients {
            let norm = to.norm();
            let series = session.series_id.as_deref().map(|s| (s, norm.as_str()));
            let facts = mail_policy::Recipient {
                may_have_heard: needs.may_have_heard
                    && may_have_heard(c, session_id, &to.participant_id, series).await?,
                news_pending: needs.news_pending && news_pending(c, session_id, &to.participant_id, series).await?,
            };
            for intent in mail_policy::for_recipient(event, facts) {
                match intent {
                    Intent::Send {
                        kind: MailKind::Invitation,
                        snapshot,
                    } if inviting && series.is_some() => {
                        let Some((series_id, norm)) = series else { continue };
                        let key = (series_id.to_owned(), norm.to_owned());
                        let heard = heard_as_series(c, series_id, norm).await?;
                        let whole = invited.counts.get(&key).copied().unwrap_or(0) >= 2 || heard;
                        if !whole {
                            enqueue(c, MailKind::Invitation, session_id, None, &to, &snapshot, now, give_up).await?;
                            wrote = true;
                        } else if series_sent.insert(key) && !series_news_pending(c, series_id, norm).await? {
                            // One invitation describes every session of the series this
                            // recipient is in, rendered at delivery from the latest data.
                            enqueue(
                                c,
                                MailKind::Invitation,
                                session_id,
                                Some(series_id),
                                &to,
                                &snapshot,
                                now,
                                give_up,
                            )
                            .await?;
                            wrote = true;
                            if !heard {
                                // Their first event for the series: the sessions of it they
                                // were invited to one by one leave their own events.
                                fold_into_series(c, series_id, &to, now, give_up).await?;
                            }
                        }
                    }
                    Intent::Send { kind, mut snapshot } => {
                        if let Change::Cancelled { message, .. } = change {
                            snapshot.cancel_message.clone_from(message);
                            if let Some((series_id, norm)) = series
                                && let Some(together) = cancelled_together.get(series_id)
                            {
                                let told = (series_id.to_owned(), norm.to_owned());
                                if series_cancelled.contains(&told) {
                                    // Told in the message about the first of them.
                                    continue;
                                }
                                if heard_as_series(c, series_id, norm).await? {
                                    series_cancelled.insert(told);
                                    snapshot.with_occurrences =
                                        together.iter().filter(|id| *id != session_id).cloned().collect();
                                }
                            }
                        }
                        enqueue(c, kind, session_id, None, &to, &snapshot, now, give_up).await?;
                        wrote = true;
                    }
                    Intent::SupersedeNews { why } => {
                        supersede_news(c, session_id, &to.norm(), why, now).await?;
                    }
                    Intent::SupersedeCancellations => {
                        supersede_cancellations(c, session_id, &to.norm(), now).await?;
                    }
                }
            }
        }
    }
    if wrote {
        notify(c, hooks).await?;
    }
    Ok(())
}

/// The sessions `changes` cancel, by series, for the series of which they cancel more than
/// one.
async fn cancelled_by_series(
    c: &mut Conn<'_>,
    invited: &Invited,
    changes: &[Change],
) -> Result<HashMap<String, Vec<String>>> {
    let mut by_series: HashMap<String, Vec<String>> = HashMap::new();
    if changes
        .iter()
        .filter(|ch| matches!(ch, Change::Cancelled { .. }))
        .count()
        < 2
    {
        return Ok(by_series);
    }
    for change in changes {
        if let Change::Cancelled { session_id, .. } = change {
            let series_id = match invited.sessions.get(session_id) {
                Some(session) => session.series_id.clone(),
                None => session_of(c, session_id).await?.series_id,
            };
            if let Some(series_id) = series_id {
                by_series.entry(series_id).or_default().push(session_id.clone());
            }
        }
    }
    by_series.retain(|_, ids| ids.len() > 1);
    Ok(by_series)
}

/// Wakes the workers: this process's at once (on SQLite it then waits for the write lock, so it
/// sees the rows once committed), every instance's through PostgreSQL when the transaction
/// commits.
pub(crate) async fn notify(c: &mut Conn<'_>, hooks: &MailHooks) -> Result<()> {
    if c.is_postgres() {
        c.exec("SELECT pg_notify($1, '')", args![CHANNEL]).await?;
    }
    hooks.notify.notify_one();
    Ok(())
}

impl Store {
    /// Sets the reminder offsets and the retry period (from the configuration).
    pub fn set_mail_policy(&mut self, policy: MailPolicy) {
        self.mail.policy = Arc::new(policy);
    }

    pub fn mail_policy(&self) -> &MailPolicy {
        &self.mail.policy
    }

    /// Wakes this process's outbox worker (after a retry was asked for, or in tests).
    pub fn wake_outbox(&self) {
        self.mail.notify.notify_one();
    }

    /// What the outbox worker waits on. On PostgreSQL it listens for the notifications that
    /// every instance's writes send when they commit; should that fail it polls.
    pub async fn outbox_waker(&self) -> OutboxWaker {
        let listener = match &self.pool {
            Pool::Postgres(pool, _) => match sqlx::postgres::PgListener::connect_with(pool).await {
                Ok(mut listener) => match listener.listen(CHANNEL).await {
                    Ok(()) => Some(listener),
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot listen for outbox notifications: polling");
                        None
                    }
                },
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for outbox notifications: polling");
                    None
                }
            },
            Pool::Sqlite { .. } => None,
        };
        OutboxWaker {
            local: self.mail.notify.clone(),
            listener,
        }
    }

    /// Queues the rows `owner` holds again, due `now`: called when an instance starts under the
    /// same identity as before, whose previous process cannot be delivering any more, so they
    /// need not wait for their lease to expire. Each keeps its place in its thread (the order is
    /// the rows' own). Returns how many there were.
    pub async fn release_own_leases(&self, owner: &str, now: Timestamp) -> Result<u64> {
        let mut tx = self.pool.write().await?;
        let released = tx
            .conn()
            .exec(
                "UPDATE outbox SET status = 'queued', next_attempt_at = $2, lease_owner = NULL, lease_until = NULL, \
                 updated_at = $2 WHERE status = 'sending' AND lease_owner = $1",
                args![owner, now.as_second()],
            )
            .await?;
        tx.commit().await?;
        self.mail
            .reclaimed
            .restart
            .fetch_add(released, std::sync::atomic::Ordering::Relaxed);
        if released > 0 {
            self.wake_outbox();
        }
        Ok(released)
    }

    /// The leases this process took back since it started.
    pub fn outbox_leases_reclaimed(&self) -> LeasesReclaimed {
        let r = &self.mail.reclaimed;
        LeasesReclaimed {
            restart: r.restart.load(std::sync::atomic::Ordering::Relaxed),
            expired: r.expired.load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// Takes up to `limit` messages that are due (queued and due, or held under an expired
    /// lease), for `owner`, until `now + lease`. Each comes back with its attempt counted.
    pub async fn claim_outbox(
        &self,
        owner: &str,
        now: Timestamp,
        lease: SignedDuration,
        limit: i64,
    ) -> Result<Vec<OutboxMessage>> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let until = (now + lease).as_second();
        let mut claimed = Vec::new();
        let mut expired_count = 0;
        // Expired leases first (their messages were due before anything queued now), then the
        // queue, up to `limit` in all.
        for expired in [true, false] {
            let room = limit - claimed.len() as i64;
            if room <= 0 {
                break;
            }
            let args = args![owner, until, now.as_second(), room];
            // On PostgreSQL rows another instance is claiming are skipped; on SQLite this
            // transaction holds the database's only write lock.
            let sql = match (c.is_postgres(), expired) {
                (true, true) => claim_sql!(expired, " FOR UPDATE SKIP LOCKED"),
                (true, false) => claim_sql!(queued, " FOR UPDATE SKIP LOCKED"),
                (false, true) => claim_sql!(expired, ""),
                (false, false) => claim_sql!(queued, ""),
            };
            let rows = c.all(sql, args, |r| Ok((r.i64("seq")?, message_row(r)?))).await?;
            if expired {
                expired_count = rows.len() as u64;
            }
            claimed.extend(rows);
        }
        if claimed.is_empty() {
            // Nothing claimed, nothing written: rolled back rather than committed, so an idle
            // worker's polls do not count as writes (which would empty the join cache's view of
            // an unchanged database every poll).
            drop(tx);
            return Ok(Vec::new());
        }
        tx.commit().await?;
        self.mail
            .reclaimed
            .expired
            .fetch_add(expired_count, std::sync::atomic::Ordering::Relaxed);
        claimed.sort_by_key(|(seq, _)| *seq);
        Ok(claimed.into_iter().map(|(_, m)| m).collect())
    }

    /// Marks a message sent, if `owner` still holds it. Returns whether it did.
    pub async fn outbox_sent(&self, id: &str, owner: &str, now: Timestamp, subject: &str) -> Result<bool> {
        self.outbox_finish(
            "UPDATE outbox SET status = 'sent', sent_at = $3, updated_at = $3, subject = $4, last_error = NULL, \
             snapshot = CASE WHEN kind = 'welcome' THEN '{}' ELSE snapshot END, lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2 AND status = 'sending'",
            args![id, owner, now.as_second(), subject],
        )
        .await
    }

    /// Queues a message again for `next_attempt_at` after a temporary failure, if `owner` still
    /// holds it.
    pub async fn outbox_retry_later(
        &self,
        id: &str,
        owner: &str,
        now: Timestamp,
        next_attempt_at: Timestamp,
        subject: Option<&str>,
        error: &str,
    ) -> Result<bool> {
        self.outbox_finish(
            "UPDATE outbox SET status = 'queued', next_attempt_at = $4, updated_at = $3, \
             subject = COALESCE($5, subject), last_error = $6, lease_owner = NULL, lease_until = NULL \
             WHERE id = $1 AND lease_owner = $2 AND status = 'sending'",
            args![id, owner, now.as_second(), next_attempt_at.as_second(), subject, error],
        )
        .await
    }

    /// Gives a message up with the reason, if `owner` still holds it.
    pub async fn outbox_failed(
        &self,
        id: &str,
        owner: &str,
        now: Timestamp,
        subject: Option<&str>,
        error: &str,
    ) -> Result<bool> {
        self.outbox_finish(
            "UPDATE outbox SET status = 'failed', updated_at = $3, subject = COALESCE($4, subject), last_error = $5, \
             snapshot = CASE WHEN kind = 'welcome' THEN '{}' ELSE snapshot END, lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2 AND status = 'sending'",
            args![id, owner, now.as_second(), subject, error],
        )
        .await
    }

    /// Leaves a message unsent because a later change made it pointless (see [`reason`]).
    pub async fn outbox_superseded(&self, id: &str, owner: &str, now: Timestamp, why: &str) -> Result<bool> {
        self.outbox_finish(
            "UPDATE outbox SET status = 'superseded', updated_at = $3, last_error = $4, lease_owner = NULL, \
             snapshot = CASE WHEN kind = 'welcome' THEN '{}' ELSE snapshot END, lease_until = NULL WHERE id = $1 AND lease_owner = $2 AND status = 'sending'",
            args![id, owner, now.as_second(), why],
        )
        .await
    }

    pub(crate) async fn outbox_finish(&self, sql: &'static str, args: &[crate::db::Arg<'_>]) -> Result<bool> {
        let mut tx = self.pool.write().await?;
        let changed = tx.conn().exec(sql, args).await?;
        tx.commit().await?;
        Ok(changed == 1)
    }

    /// Queues a failed message again, now, with a new retry period. Not a welcome: its link was
    /// wiped when it failed (not found).
    pub async fn retry_outbox(&self, id: &str, now: Timestamp, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let changed = c
            .exec(
                "UPDATE outbox SET status = 'queued', attempts = 0, next_attempt_at = $2, give_up_at = $3, \
                 updated_at = $2 WHERE id = $1 AND status = 'failed' AND kind <> 'welcome'",
                args![id, now.as_second(), (now + self.mail.policy.give_up_after).as_second()],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        insert_audit(&mut c, &audit.clone().target("outbox", id, ""), now).await?;
        tx.commit().await?;
        self.wake_outbox();
        Ok(())
    }

    /// One message.
    pub async fn outbox_message(&self, id: &str) -> Result<Option<OutboxMessage>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .opt(
                concat!("SELECT ", outbox_cols!(), " FROM outbox o WHERE o.id = $1"),
                args![id],
                message_row,
            )
            .await
    }

    /// Messages in one of `statuses` (all when empty), newest first, `limit` from `offset`.
    pub async fn list_outbox(&self, statuses: &[OutboxStatus], limit: i64, offset: i64) -> Result<Vec<OutboxLine>> {
        let mut c = self.pool.read().await?;
        let wanted: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
        let pick = |i: usize| wanted.get(i).copied().or(wanted.first().copied());
        c.conn()
            .all(
                concat!(
                    "SELECT ",
                    outbox_cols!(),
                    ", COALESCE(s.title, '') AS session_title FROM outbox o LEFT JOIN sessions s ON s.id = o.session_id \
                     WHERE ($1 IS NULL OR o.status IN ($1, $2, $3)) ORDER BY o.seq DESC LIMIT $4 OFFSET $5"
                ),
                args![pick(0), pick(1), pick(2), limit, offset],
                |r| {
                    Ok(OutboxLine {
                        message: message_row(r)?,
                        session_title: r.text("session_title")?,
                    })
                },
            )
            .await
    }

    /// How many messages are in each status.
    pub async fn outbox_counts(&self) -> Result<OutboxCounts> {
        let mut c = self.pool.read().await?;
        let rows = c
            .conn()
            .all("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status", &[], |r| {
                Ok((r.text("status")?, r.i64("n")?))
            })
            .await?;
        let mut counts = OutboxCounts::default();
        for (status, n) in rows {
            match OutboxStatus::parse(&status)? {
                OutboxStatus::Queued => counts.queued = n,
                OutboxStatus::Sending => counts.sending = n,
                OutboxStatus::Sent => counts.sent = n,
                OutboxStatus::Failed => counts.failed = n,
                OutboxStatus::Superseded => counts.superseded = n,
            }
        }
        Ok(counts)
    }

    /// What `/metrics` reads at scrape time: the messages in each status and the age of the
    /// oldest one still to deliver (queued or being sent), by the status index.
    pub async fn outbox_health(&self, now: Timestamp) -> Result<OutboxHealth> {
        let counts = self.outbox_counts().await?;
        let mut c = self.pool.read().await?;
        let oldest = c
            .conn()
            .one(
                "SELECT MIN(created_at) AS oldest FROM outbox WHERE status IN ('queued', 'sending')",
                &[],
                |r| r.opt_i64("oldest"),
            )
            .await?;
        Ok(OutboxHealth {
            counts,
            oldest_pending_age_secs: oldest.map_or(0, |t| (now.as_second() - t).max(0)),
        })
    }

    /// The messages about one session, in the order they were written.
    pub async fn session_outbox(&self, session_id: &str) -> Result<Vec<OutboxMessage>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .all(
                concat!(
                    "SELECT ",
                    outbox_cols!(),
                    " FROM outbox o WHERE o.session_id = $1 ORDER BY o.seq"
                ),
                args![session_id],
                message_row,
            )
            .await
    }

    /// Forgets what is over: finished messages (sent, failed, superseded) and spent reminders of
    /// sessions that ended before `before`. Messages of sessions still to come are kept, since
    /// they tell who may have heard of a session (and must hear of its cancellation). Returns
    /// how many rows went.
    pub async fn purge_outbox(&self, before: Timestamp) -> Result<u64> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let messages = c
            .exec(
                // An invitation to a whole series stays while a session of the series does (see
                // `series.rs`: later changes go out as overrides because of it).
                "DELETE FROM outbox WHERE status IN ('sent', 'failed', 'superseded') AND updated_at < $1 \
                 AND (session_id IN (SELECT id FROM sessions WHERE ends_at < $1) OR session_id IS NULL) \
                 AND NOT EXISTS (SELECT 1 FROM sessions t WHERE t.series_id = outbox.series_id AND t.ends_at >= $1)",
                args![before.as_second()],
            )
            .await?;
        let reminders = c
            .exec(
                "DELETE FROM reminders WHERE enqueued_at IS NOT NULL \
                 AND session_id IN (SELECT id FROM sessions WHERE ends_at < $1)",
                args![before.as_second()],
            )
            .await?;
        tx.commit().await?;
        Ok(messages + reminders)
    }
}

#[cfg(test)]
mod tests {
    use domain::{DisplayName, Email, Locale, Role};

    use super::*;
    use crate::{ConnectOptions, NewSessions, NewUser, People};

    /// A `LinkReissued` change is an update for that participant alone, saying the link
    /// changed.
    #[tokio::test]
    async fn a_reissued_link_is_news_for_its_participant_only() {
        let db = testkit::TestDb::sqlite();
        let mut store = Store::connect(&db.url, &ConnectOptions::default()).await.unwrap();
        store.migrate(jiff::Timestamp::now()).await.unwrap();
        store.set_link_secret(&[7; 32]);
        let audit = AuditEntry::new("test", None, "test", None);
        let user = |email: &str, role| NewUser {
            email: Email::parse(email).unwrap(),
            display_name: DisplayName::parse("Théo").unwrap(),
            role,
            locale: Locale::Fr,
            time_zone: "Europe/Paris".into(),
            password_hash: None,
            auth_source: "local".into(),
            external_id: None,
        };
        store
            .create_user(&user("theo@example.org", Role::Trainer), jiff::Timestamp::now(), &audit)
            .await
            .unwrap();
        let manager = store
            .create_user(&user("m@example.org", Role::Manager), jiff::Timestamp::now(), &audit)
            .await
            .unwrap();
        let start = Timestamp::from_second(Timestamp::now().as_second() / 60 * 60 + 48 * 3600).unwrap();
        let detail = store
            .book_sessions(
                &NewSessions {
                    course_id: None,
                    title: "T".into(),
                    notes: String::new(),
                    time_zone: "Europe/Paris".into(),
                    times: vec![(start, start + SignedDuration::from_hours(1))],
                    rrule: None,
                    people: People {
                        trainers: vec![Email::parse("theo@example.org").unwrap()],
                        learners: vec![domain::booking::Person {
                            name: DisplayName::parse("Zoé").unwrap(),
                            email: Email::parse("zoe@example.org").unwrap(),
                        }],
                        ..People::default()
                    },
                    created_by: manager.id,
                    jitsi_server_id: None,
                },
                jiff::Timestamp::now(),
                &audit,
            )
            .await
            .unwrap()
            .remove(0);
        let zoe = detail
            .participants
            .iter()
            .find(|p| p.email == "zoe@example.org")
            .unwrap();
        let now = Timestamp::now();
        // While her invitation waits, the new link goes out with it: no update.
        let mut tx = store.pool.write().await.unwrap();
        let reissued = [Change::LinkReissued {
            session_id: detail.session.id.clone(),
            participant_id: zoe.id.clone(),
        }];
        react(&mut tx.conn(), &store.mail, &reissued, now).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(store.session_outbox(&detail.session.id).await.unwrap().len(), 2);
        for m in store
            .claim_outbox("w", now, SignedDuration::from_mins(5), 10)
            .await
            .unwrap()
        {
            store.outbox_sent(&m.id, "w", now, "S").await.unwrap();
        }
        let mut tx = store.pool.write().await.unwrap();
        let reissued = [Change::LinkReissued {
            session_id: detail.session.id.clone(),
            participant_id: zoe.id.clone(),
        }];
        react(&mut tx.conn(), &store.mail, &reissued, now).await.unwrap();
        tx.commit().await.unwrap();
        let messages = store.session_outbox(&detail.session.id).await.unwrap();
        let updates: Vec<_> = messages.iter().filter(|m| m.kind == MailKind::Update).collect();
        assert_eq!(updates.len(), 1);
        assert_eq!(updates[0].recipient_email, "zoe@example.org");
        assert!(updates[0].snapshot.link_changed && updates[0].snapshot.old_starts_at.is_none());
    }
}
