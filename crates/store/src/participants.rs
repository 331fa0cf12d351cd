//! The people of a session: participants (trainers, moderators, learners, guests) resolved from
//! accounts and the address book, their personal links, conflicts of those who teach, and the
//! replacement of a session's people.
//!
//! Personal links: each participant's key is derived (`domain::links`) from the server's link
//! secret, the participant id and a version; the database keeps only the key's SHA-256. The
//! server can re-derive any key (for mails and reminders), a copy of the database alone cannot.

use std::collections::{BTreeMap, BTreeSet};

use domain::booking::{ContactPreference, Person};
use domain::session::{BookingRefusal, ConflictWith, ParticipantRole, Rsvp, SessionStatus};
use domain::{Email, Role};
use jiff::Timestamp;

use crate::audit::AuditEntry;
use crate::contacts::{Contact, contact_cols, contact_row, upsert_contact};
use crate::db::{Conn, Row, args};
use crate::outbox::session_of;
use crate::sessions::{
    Change, MAX_SESSION_SECONDS, Session, SessionDetail, changeable, finish, lock_for_change, session_by_id,
    session_cols, session_row,
};
use crate::users::{User, user_row};
use crate::{Result, Store, StoreError, new_id, ts};

/// Someone in a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub id: String,
    pub session_id: String,
    pub role: ParticipantRole,
    /// The account, for trainers and account moderators.
    pub user_id: Option<String>,
    /// The address-book entry, for everyone else.
    pub contact_id: Option<String>,
    pub name: String,
    pub email: String,
    pub link_version: i64,
    pub rsvp: Rsvp,
    pub created_at: Timestamp,
}

/// The people of a session, validated.
#[derive(Debug, Clone, Default)]
pub struct People {
    /// Trainer accounts, by email.
    pub trainers: Vec<Email>,
    /// An account moderator when the email belongs to an active account, otherwise external.
    pub moderators: Vec<Person>,
    pub learners: Vec<Person>,
    pub guests: Vec<Person>,
    /// Moderators are external whatever their address (a trainer's booking): an account's time
    /// is the planners' to give, and whether an address has an account is not the trainer's to
    /// learn.
    pub external_moderators_only: bool,
    /// Languages and zones given for people without accounts: written on their address-book
    /// entries before their mails are queued (which take them).
    pub preferences: Vec<ContactPreference>,
}

/// How many participations (a person in an occurrence: a row, an invitation, reminders) one
/// request, and one account per hour, may add. Without limits until the binary sets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParticipationBudget {
    pub per_request: usize,
    pub per_hour: usize,
}

impl Default for ParticipationBudget {
    fn default() -> Self {
        ParticipationBudget {
            per_request: usize::MAX,
            per_hour: usize::MAX,
        }
    }
}

/// Refuses a request that would add `adding` participations beyond the budget: per request,
/// and per hour for the account that adds them (counted inside the write transaction).
pub(crate) async fn check_budget(
    c: &mut Conn<'_>,
    budget: &ParticipationBudget,
    account: Option<&str>,
    adding: usize,
    now: i64,
) -> Result<()> {
    if adding > budget.per_request {
        return Err(StoreError::Booking(BookingRefusal::TooManyParticipations {
            count: adding,
            max: budget.per_request,
        }));
    }
    if let Some(account) = account
        && budget.per_hour != usize::MAX
    {
        let added = c
            .count(
                "SELECT COUNT(*) AS n FROM session_participants WHERE added_by = $1 AND created_at > $2",
                args![account, now - 3600],
            )
            .await?;
        if usize::try_from(added).unwrap_or(usize::MAX).saturating_add(adding) > budget.per_hour {
            return Err(StoreError::Booking(BookingRefusal::HourlyLimit {
                max: budget.per_hour,
            }));
        }
    }
    Ok(())
}

/// A stored participant role.
pub(crate) fn participant_role(s: &str) -> Result<ParticipantRole> {
    ParticipantRole::parse(s).ok_or_else(|| StoreError::Corrupt(format!("participant role {s:?}")))
}

/// A stored answer.
pub(crate) fn rsvp(s: &str) -> Result<Rsvp> {
    Rsvp::parse(s).ok_or_else(|| StoreError::Corrupt(format!("rsvp {s:?}")))
}

macro_rules! participant_cols {
    () => {
        "p.id, p.session_id, p.role, p.user_id, p.contact_id, COALESCE(u.display_name, p.name) AS name, \
         COALESCE(u.email, p.email) AS email, p.link_version, p.rsvp, p.created_at"
    };
}

pub(crate) use participant_cols;

pub(crate) fn participant_row(r: &dyn Row) -> Result<Participant> {
    Ok(Participant {
        id: r.text("id")?,
        session_id: r.text("session_id")?,
        role: participant_role(&r.text("role")?)?,
        user_id: r.opt_text("user_id")?,
        contact_id: r.opt_text("contact_id")?,
        name: r.text("name")?,
        email: r.text("email")?,
        link_version: r.i64("link_version")?,
        rsvp: rsvp(&r.text("rsvp")?)?,
        created_at: ts(r.i64("created_at")?)?,
    })
}

pub(crate) async fn participants_of(c: &mut Conn<'_>, session_id: &str) -> Result<Vec<Participant>> {
    c.all(
        concat!(
            "SELECT ",
            participant_cols!(),
            " FROM session_participants p LEFT JOIN users u ON u.id = p.user_id WHERE p.session_id = $1 \
             ORDER BY CASE p.role WHEN 'trainer' THEN 0 WHEN 'moderator' THEN 1 WHEN 'learner' THEN 2 ELSE 3 END, \
             name, p.id"
        ),
        args![session_id],
        participant_row,
    )
    .await
}

/// The active account with this email, if any.
pub(crate) async fn active_user_by_email(c: &mut Conn<'_>, email: &Email) -> Result<Option<User>> {
    c.opt(
        "SELECT id, email, display_name, role, locale, time_zone, active, password_hash IS NOT NULL AS has_password, \
         auth_source, external_id, created_at, updated_at FROM users WHERE email_norm = $1 AND active",
        args![email.normalized().as_str()],
        user_row,
    )
    .await
}

/// A participant to insert, resolved.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub(crate) role: ParticipantRole,
    pub(crate) user_id: Option<String>,
    pub(crate) contact_id: Option<String>,
    pub(crate) name: String,
    pub(crate) email: String,
}

/// Writes the language and zone given for `person` (if any) on their entry; what was not given
/// stays.
async fn prefer(
    c: &mut Conn<'_>,
    contact: &Contact,
    person: &Person,
    preferences: &[ContactPreference],
    now: i64,
) -> Result<()> {
    let norm = person.email.normalized();
    let Some(given) = preferences.iter().find(|p| p.email.normalized() == norm) else {
        return Ok(());
    };
    c.exec(
        "UPDATE contacts SET locale = COALESCE($2, locale), time_zone = COALESCE($3, time_zone), updated_at = $4 \
         WHERE id = $1",
        args![
            contact.id.as_str(),
            given.locale.map(|l| l.as_str()),
            given.time_zone.as_deref(),
            now
        ],
    )
    .await?;
    Ok(())
}

/// Resolves people to accounts and contacts; refuses unknown or non-trainer trainers.
pub(crate) async fn resolve_people(c: &mut Conn<'_>, people: &People, now: i64) -> Result<Vec<Resolved>> {
    let mut out = Vec::new();
    for email in &people.trainers {
        let user = active_user_by_email(c, email).await?.ok_or_else(|| {
            StoreError::Booking(BookingRefusal::UnknownTrainer {
                email: email.as_str().to_owned(),
            })
        })?;
        if user.role != Role::Trainer {
            return Err(StoreError::Booking(BookingRefusal::NotATrainer {
                email: user.email,
                role: user.role,
            }));
        }
        out.push(Resolved {
            role: ParticipantRole::Trainer,
            user_id: Some(user.id),
            contact_id: None,
            name: user.display_name,
            email: user.email,
        });
    }
    for person in &people.moderators {
        let account = if people.external_moderators_only {
            None
        } else {
            active_user_by_email(c, &person.email).await?
        };
        match account {
            Some(user) => out.push(Resolved {
                role: ParticipantRole::Moderator,
                user_id: Some(user.id),
                contact_id: None,
                name: user.display_name,
                email: user.email,
            }),
            None => {
                let contact = upsert_contact(c, person, now).await?;
                prefer(c, &contact, person, &people.preferences, now).await?;
                out.push(Resolved {
                    role: ParticipantRole::Moderator,
                    user_id: None,
                    contact_id: Some(contact.id),
                    name: person.name.as_str().to_owned(),
                    email: person.email.as_str().to_owned(),
                });
            }
        }
    }
    for (role, list) in [
        (ParticipantRole::Learner, &people.learners),
        (ParticipantRole::Guest, &people.guests),
    ] {
        for person in list {
            let contact = upsert_contact(c, person, now).await?;
            prefer(c, &contact, person, &people.preferences, now).await?;
            out.push(Resolved {
                role,
                user_id: None,
                contact_id: Some(contact.id),
                name: person.name.as_str().to_owned(),
                email: person.email.as_str().to_owned(),
            });
        }
    }
    Ok(out)
}

/// On PostgreSQL, locks accounts in id order (`FOR NO KEY UPDATE`: exclusive among bookings and
/// changes, compatible with the key-share locks of rows that reference an account, such as a
/// new session's `created_by`).
pub(crate) async fn lock_accounts(c: &mut Conn<'_>, user_ids: &BTreeSet<String>) -> Result<()> {
    if !c.is_postgres() {
        return Ok(());
    }
    for id in user_ids {
        c.exec(
            "SELECT id FROM users WHERE id = $1 FOR NO KEY UPDATE",
            args![id.as_str()],
        )
        .await?;
    }
    Ok(())
}

/// Refuses if any of `user_ids` teaches a scheduled session (other than `except`) overlapping
/// one of `times`. Locks the accounts first on PostgreSQL.
pub(crate) async fn check_conflicts(
    c: &mut Conn<'_>,
    user_ids: &BTreeSet<String>,
    times: &[(Timestamp, Timestamp)],
    except: &BTreeSet<String>,
) -> Result<()> {
    if times.is_empty() || user_ids.is_empty() {
        return Ok(());
    }
    // BTreeSet: ids in order, so concurrent bookings lock in the same order (no deadlock).
    lock_accounts(c, user_ids).await?;
    let from = times.iter().map(|t| t.0).min().unwrap_or_default();
    let to = times.iter().map(|t| t.1).max().unwrap_or_default();
    for user_id in user_ids {
        // Through the teaching index: only this account's sessions that may overlap (one that
        // ends after `from` started at most MAX_SESSION_SECONDS before it).
        let busy = c
            .all(
                concat!(
                    "SELECT ",
                    session_cols!(),
                    ", u.email AS teacher_email FROM session_participants p \
                     JOIN sessions s ON s.id = p.session_id JOIN users u ON u.id = p.user_id \
                     WHERE p.user_id = $1 AND p.role IN ('trainer', 'moderator') \
                     AND p.starts_at < $3 AND p.starts_at > $4 AND p.ends_at > $2 AND s.status = 'scheduled' \
                     ORDER BY s.starts_at"
                ),
                args![
                    user_id.as_str(),
                    from.as_second(),
                    to.as_second(),
                    from.as_second().saturating_sub(MAX_SESSION_SECONDS)
                ],
                |r| Ok((session_row(r)?, r.text("teacher_email")?)),
            )
            .await?;
        for (session, email) in busy {
            if except.contains(&session.id) {
                continue;
            }
            if times
                .iter()
                .any(|(s, e)| session.starts_at < *e && session.ends_at > *s)
            {
                return Err(StoreError::Booking(BookingRefusal::Conflict(Box::new(ConflictWith {
                    email,
                    session_id: session.id,
                    title: session.title,
                    starts_at: session.starts_at,
                    ends_at: session.ends_at,
                    time_zone: session.time_zone,
                }))));
            }
        }
    }
    Ok(())
}

impl Store {
    /// The personal-link key of a participant (43 characters, 256 bits), re-derivable by the
    /// server only.
    pub fn join_key(&self, participant_id: &str, version: i64) -> Result<String> {
        let secret = self
            .links
            .as_ref()
            .ok_or_else(|| StoreError::Corrupt("the link secret is not configured".into()))?;
        Ok(secret.join_key(participant_id, version))
    }

    /// The stored hash of a personal-link key.
    pub fn link_hash(key: &str) -> String {
        domain::links::sha256_hex(key)
    }

    /// Adds a participant to a session that runs from `starts_at` to `ends_at` (copied into the
    /// participant's row for the teaching index).
    pub(crate) async fn insert_participant(
        &self,
        c: &mut Conn<'_>,
        session_id: &str,
        (starts_at, ends_at): (Timestamp, Timestamp),
        p: &Resolved,
        added_by: Option<&str>,
        now: i64,
    ) -> Result<String> {
        let id = new_id();
        let hash = Self::link_hash(&self.join_key(&id, 1)?);
        c.exec(
            "INSERT INTO session_participants (id, session_id, role, user_id, contact_id, name, email, email_norm, \
             link_version, link_hash, rsvp, created_at, starts_at, ends_at, added_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, 'pending', $10, $11, $12, $13)",
            args![
                id.as_str(),
                session_id,
                p.role.as_str(),
                p.user_id.as_deref(),
                p.contact_id.as_deref(),
                p.name.as_str(),
                p.email.as_str(),
                p.email.to_lowercase().as_str(),
                hash.as_str(),
                now,
                starts_at.as_second(),
                ends_at.as_second(),
                added_by,
            ],
        )
        .await?;
        Ok(id)
    }

    /// The participant whose personal-link key hashes to `link_hash`, with their session.
    pub async fn participant_by_link(&self, link_hash: &str) -> Result<Option<(Participant, Session)>> {
        let mut c = self.pool.read().await?;
        let mut c = c.conn();
        let Some(participant) = c
            .opt(
                concat!(
                    "SELECT ",
                    participant_cols!(),
                    " FROM session_participants p LEFT JOIN users u ON u.id = p.user_id WHERE p.link_hash = $1"
                ),
                args![link_hash],
                participant_row,
            )
            .await?
        else {
            return Ok(None);
        };
        let session = session_by_id(&mut c, &participant.session_id)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(Some((participant, session)))
    }

    /// Replaces the people of each session: someone kept (same email, same role) keeps their
    /// participant row, link and answer; someone new gets a new row; someone absent is removed.
    pub async fn replace_participants(
        &self,
        session_ids: &[String],
        people: &People,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<Vec<SessionDetail>> {
        self.replace_participants_with(session_ids, people, &[], now, audit)
            .await
    }

    /// [`Store::replace_participants`], after creating or completing the address-book entries
    /// of `details` (an import: people with their first name, organisation, language and zone),
    /// in the same transaction.
    pub async fn replace_participants_with(
        &self,
        session_ids: &[String],
        people: &People,
        details: &[crate::ContactInput],
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<Vec<SessionDetail>> {
        self.change_participants(session_ids, people, details, false, now, audit)
            .await
    }

    /// Adds `people` to each session where they are not yet (under any role), keeping everyone
    /// there; the address-book entries of `details` are created or completed first. All in one
    /// transaction, so someone added to several sessions of a series gets one invitation to the
    /// series (an import into "this session and the following ones").
    pub async fn add_participants_with(
        &self,
        session_ids: &[String],
        people: &People,
        details: &[crate::ContactInput],
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<Vec<SessionDetail>> {
        self.change_participants(session_ids, people, details, true, now, audit)
            .await
    }

    /// Replaces the people of each session by `people`, or with `additive` only adds those
    /// whose address is not there yet.
    async fn change_participants(
        &self,
        session_ids: &[String],
        people: &People,
        details: &[crate::ContactInput],
        additive: bool,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<Vec<SessionDetail>> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        for person in details {
            crate::contacts::upsert_contact_details(&mut c, person, now.as_second()).await?;
        }
        let resolved = resolve_people(&mut c, people, now.as_second()).await?;
        let teachers: BTreeSet<String> = resolved
            .iter()
            .filter(|p| p.role.is_moderator())
            .filter_map(|p| p.user_id.clone())
            .collect();
        lock_for_change(&mut c, session_ids, &teachers).await?;
        let mut changes = Vec::new();
        // New participations of this request so far (the budget bounds them all together).
        let mut adding = 0usize;
        let mut first_title = None;
        for session_id in session_ids {
            let session = session_by_id(&mut c, session_id).await?.ok_or(StoreError::NotFound)?;
            changeable(&session, now)?;
            first_title.get_or_insert_with(|| session.title.clone());
            let current = participants_of(&mut c, session_id).await?;
            let key = |role: ParticipantRole, email: &str| (role, email.to_lowercase());
            let present: BTreeSet<String> = current.iter().map(|p| p.email.to_lowercase()).collect();
            let wanted: BTreeMap<_, &Resolved> = resolved
                .iter()
                .filter(|p| !additive || !present.contains(&p.email.to_lowercase()))
                .map(|p| (key(p.role, &p.email), p))
                .collect();
            let existing: BTreeMap<_, &Participant> = current.iter().map(|p| (key(p.role, &p.email), p)).collect();
            let newcomers: BTreeSet<String> = resolved
                .iter()
                .filter(|p| !existing.contains_key(&key(p.role, &p.email)))
                .filter(|p| p.role.is_moderator())
                .filter_map(|p| p.user_id.clone())
                .collect();
            check_conflicts(
                &mut c,
                &newcomers,
                &[(session.starts_at, session.ends_at)],
                &BTreeSet::from([session.id.clone()]),
            )
            .await?;
            adding += wanted.keys().filter(|k| !existing.contains_key(*k)).count();
            check_budget(&mut c, &self.budget, audit.actor_id.as_deref(), adding, now.as_second()).await?;
            for (k, participant) in &existing {
                if !additive && !wanted.contains_key(k) {
                    c.exec(
                        "DELETE FROM session_participants WHERE id = $1",
                        args![participant.id.as_str()],
                    )
                    .await?;
                    changes.push(Change::ParticipantRemoved {
                        session_id: session_id.clone(),
                        participant: (*participant).clone(),
                    });
                }
            }
            for (k, p) in &wanted {
                if !existing.contains_key(k) {
                    // The same email in another role: the old row is gone above; a new one with a
                    // fresh link replaces it.
                    let times = (session.starts_at, session.ends_at);
                    let id = self
                        .insert_participant(&mut c, session_id, times, p, audit.actor_id.as_deref(), now.as_second())
                        .await?;
                    changes.push(Change::ParticipantAdded {
                        session_id: session_id.clone(),
                        participant_id: id,
                    });
                }
            }
        }
        let entry = session_ids.first().map(|first| {
            audit
                .clone()
                .target("session", first, first_title.as_deref().unwrap_or(""))
                .detail(serde_json::json!({ "sessions": session_ids.len() }))
        });
        finish(tx, &self.mail, session_ids, entry, &changes, now).await
    }

    /// Contacts whose name or email contains `search` (case-insensitively), at most `limit`.
    pub async fn search_contacts(&self, search: &str, limit: i64) -> Result<Vec<Contact>> {
        let pattern = format!("%{}%", search.trim().to_lowercase().replace(['%', '_'], ""));
        let mut c = self.pool.read().await?;
        c.conn()
            .all(
                concat!(
                    "SELECT ",
                    contact_cols!(),
                    " FROM contacts k WHERE k.email_norm LIKE $1 OR LOWER(k.name) LIKE $1 \
                     ORDER BY k.name, k.email LIMIT $2"
                ),
                args![pattern.as_str(), limit],
                contact_row,
            )
            .await
    }

    /// Active trainer accounts, by name (for pickers).
    pub async fn trainers(&self) -> Result<Vec<User>> {
        self.list_users(&crate::UserFilter {
            roles: vec![Role::Trainer],
            include_inactive: false,
        })
        .await
    }
}

/// Answers and their counts for a session page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RsvpCounts {
    pub accepted: usize,
    pub declined: usize,
    pub pending: usize,
}

impl RsvpCounts {
    /// The answers of the people invited to attend (learners and guests; trainers and
    /// moderators when `everyone`).
    pub fn of(participants: &[Participant], everyone: bool) -> RsvpCounts {
        let mut counts = RsvpCounts::default();
        for p in participants {
            if !everyone && !matches!(p.role, ParticipantRole::Learner | ParticipantRole::Guest) {
                continue;
            }
            match p.rsvp {
                Rsvp::Accepted => counts.accepted += 1,
                Rsvp::Declined => counts.declined += 1,
                Rsvp::Pending => counts.pending += 1,
            }
        }
        counts
    }

    pub fn total(&self) -> usize {
        self.accepted + self.declined + self.pending
    }
}

impl Store {
    /// Records a participant's answer, found by the hash of their personal link. Refused once
    /// the session is cancelled or has ended.
    /// Records an answer for the participant of a personal link; with `whole_series`, for
    /// every session of its series still ahead where the same person takes part (the answer
    /// to an invitation to the whole series). Returns the participant and the number of
    /// participations answered.
    pub async fn set_rsvp(
        &self,
        link_hash: &str,
        answer: Rsvp,
        whole_series: bool,
        now: Timestamp,
    ) -> Result<(Participant, Session, u64)> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let participant = c
            .opt(
                concat!(
                    "SELECT ",
                    participant_cols!(),
                    " FROM session_participants p LEFT JOIN users u ON u.id = p.user_id WHERE p.link_hash = $1"
                ),
                args![link_hash],
                participant_row,
            )
            .await?
            .ok_or(StoreError::NotFound)?;
        let session = session_of(&mut c, &participant.session_id).await?;
        if session.status == SessionStatus::Cancelled {
            return Err(StoreError::Booking(BookingRefusal::Cancelled));
        }
        if session.ended(now) {
            return Err(StoreError::Booking(BookingRefusal::Ended));
        }
        let mut answered = c
            .exec(
                "UPDATE session_participants SET rsvp = $2 WHERE id = $1",
                args![participant.id.as_str(), answer.as_str()],
            )
            .await?;
        if let (true, Some(series_id)) = (whole_series, &session.series_id) {
            answered += c
                .exec(
                    "UPDATE session_participants SET rsvp = $2 WHERE id <> $1 AND id IN (\
                     SELECT p.id FROM session_participants p JOIN sessions s ON s.id = p.session_id \
                     JOIN session_participants a ON a.id = $1 \
                     WHERE s.series_id = $3 AND s.status = 'scheduled' AND s.ends_at > $4 \
                     AND (p.email_norm = a.email_norm OR (p.user_id IS NOT NULL AND p.user_id = a.user_id)))",
                    args![
                        participant.id.as_str(),
                        answer.as_str(),
                        series_id.as_str(),
                        now.as_second()
                    ],
                )
                .await?;
        }
        tx.commit().await?;
        Ok((
            Participant {
                rsvp: answer,
                ..participant
            },
            session,
            answered,
        ))
    }

    /// Sets the language and zone of an address-book entry (by email): its mails follow them.
    pub async fn set_contact_preferences(
        &self,
        email: &str,
        locale: Option<&str>,
        time_zone: Option<&str>,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.pool.write().await?;
        let changed = tx
            .conn()
            .exec(
                "UPDATE contacts SET locale = $2, time_zone = $3, updated_at = $4 WHERE email_norm = $1",
                args![email.trim().to_lowercase().as_str(), locale, time_zone, now.as_second()],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        tx.commit().await
    }
}
