//! The address book: people without accounts (learners, guests, external moderators). Entries
//! are created when someone is booked or enrolled by email (found again by that email, compared
//! case-insensitively), and managed by the staff: edited, searched, archived, and merged when
//! the same person was entered twice (the duplicate's participations and enrolments move to the
//! entry kept; the duplicate stays, archived, pointing to it).

use domain::booking::Person;
use domain::session::ParticipantRole;
use jiff::Timestamp;

use crate::audit::{AuditEntry, insert_audit};
use crate::db::{Conn, Row, args, is_unique_violation};
use crate::participants::participant_role;
use crate::sessions::{Session, session_cols, session_row};
use crate::{Result, Store, StoreError, new_id, ts};

/// A person of the address book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub id: String,
    pub email: String,
    /// The family name, or the whole name when it was never split.
    pub name: String,
    /// Empty when unknown.
    pub first_name: String,
    pub company: String,
    pub locale: Option<String>,
    pub time_zone: Option<String>,
    pub notes: String,
    pub archived: bool,
    /// The entry this one was merged into (then archived).
    pub merged_into: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Contact {
    /// "First name Name", or the name alone.
    pub fn full_name(&self) -> String {
        domain::contact::full_name(&self.first_name, &self.name)
    }
}

/// A contact as the staff typed it (validated by the caller).
#[derive(Debug, Clone)]
pub struct ContactInput {
    pub name: String,
    pub first_name: String,
    pub email: String,
    pub company: String,
    pub locale: Option<String>,
    pub time_zone: Option<String>,
    pub notes: String,
}

/// Which contacts to list.
#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    /// Matched (case-insensitively) against the name, first name, email and organisation; empty:
    /// everyone.
    pub search: String,
    pub include_archived: bool,
    /// Only the people of the sessions this account teaches (a trainer's view).
    pub taught_by: Option<String>,
    pub limit: i64,
    pub offset: i64,
}

/// One page of contacts and how many match in all.
#[derive(Debug, Clone, Default)]
pub struct ContactPage {
    pub items: Vec<Contact>,
    pub total: i64,
}

/// A session a contact takes part in.
#[derive(Debug, Clone)]
pub struct ContactSession {
    pub session: Session,
    pub role: ParticipantRole,
}

/// What a merge did.
#[derive(Debug, Clone)]
pub struct MergeOutcome {
    pub kept: Contact,
    /// Participations moved to the entry kept.
    pub participations: i64,
    /// Course enrolments moved.
    pub enrolments: i64,
}

macro_rules! contact_cols {
    () => {
        "k.id, k.email, k.name, k.first_name, k.company, k.locale, k.time_zone, k.notes, k.archived, \
         k.merged_into, k.created_at, k.updated_at"
    };
}

pub(crate) use contact_cols;

pub(crate) fn contact_row(r: &dyn Row) -> Result<Contact> {
    Ok(Contact {
        id: r.text("id")?,
        email: r.text("email")?,
        name: r.text("name")?,
        first_name: r.text("first_name")?,
        company: r.text("company")?,
        locale: r.opt_text("locale")?,
        time_zone: r.opt_text("time_zone")?,
        notes: r.text("notes")?,
        archived: r.bool("archived")?,
        merged_into: r.opt_text("merged_into")?,
        created_at: ts(r.i64("created_at")?)?,
        updated_at: ts(r.i64("updated_at")?)?,
    })
}

pub(crate) async fn contact_by_id(c: &mut Conn<'_>, id: &str) -> Result<Option<Contact>> {
    c.opt(
        concat!("SELECT ", contact_cols!(), " FROM contacts k WHERE k.id = $1"),
        args![id],
        contact_row,
    )
    .await
}

/// Finds or creates the address-book entry of `person` (an existing entry keeps its name). An
/// entry merged into another answers for that other one.
pub(crate) async fn upsert_contact(c: &mut Conn<'_>, person: &Person, now: i64) -> Result<Contact> {
    c.exec(
        "INSERT INTO contacts (id, email, email_norm, name, company, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, '', $5, $5) ON CONFLICT (email_norm) DO NOTHING",
        args![
            new_id().as_str(),
            person.email.as_str(),
            person.email.normalized().as_str(),
            person.name.as_str(),
            now
        ],
    )
    .await?;
    let found = c
        .one(
            concat!("SELECT ", contact_cols!(), " FROM contacts k WHERE k.email_norm = $1"),
            args![person.email.normalized().as_str()],
            contact_row,
        )
        .await?;
    match &found.merged_into {
        Some(kept) => contact_by_id(c, kept).await?.ok_or(StoreError::NotFound),
        None => Ok(found),
    }
}

/// Finds or creates the entry of an imported person: a new entry takes every field; an
/// existing one keeps what the staff entered and only gains the fields it lacked (first name,
/// organisation, language, zone). An entry merged into another answers for that other one.
pub(crate) async fn upsert_contact_details(c: &mut Conn<'_>, input: &ContactInput, now: i64) -> Result<Contact> {
    let norm = input.email.trim().to_lowercase();
    c.exec(
        "INSERT INTO contacts (id, email, email_norm, name, first_name, company, locale, time_zone, notes, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
         ON CONFLICT (email_norm) DO NOTHING",
        args![
            new_id().as_str(),
            input.email.trim(),
            norm.as_str(),
            input.name.as_str(),
            input.first_name.as_str(),
            input.company.as_str(),
            input.locale.as_deref(),
            input.time_zone.as_deref(),
            input.notes.as_str(),
            now
        ],
    )
    .await?;
    let found = c
        .one(
            concat!("SELECT ", contact_cols!(), " FROM contacts k WHERE k.email_norm = $1"),
            args![norm.as_str()],
            contact_row,
        )
        .await?;
    let found = match &found.merged_into {
        Some(kept) => contact_by_id(c, kept).await?.ok_or(StoreError::NotFound)?,
        None => found,
    };
    let lacking = (found.first_name.is_empty() && !input.first_name.is_empty())
        || (found.company.is_empty() && !input.company.is_empty())
        || (found.locale.is_none() && input.locale.is_some())
        || (found.time_zone.is_none() && input.time_zone.is_some());
    if !lacking {
        return Ok(found);
    }
    c.exec(
        "UPDATE contacts SET \
         first_name = CASE WHEN first_name = '' THEN $2 ELSE first_name END, \
         company = CASE WHEN company = '' THEN $3 ELSE company END, \
         locale = COALESCE(locale, $4), time_zone = COALESCE(time_zone, $5), updated_at = $6 WHERE id = $1",
        args![
            found.id.as_str(),
            input.first_name.as_str(),
            input.company.as_str(),
            input.locale.as_deref(),
            input.time_zone.as_deref(),
            now
        ],
    )
    .await?;
    contact_by_id(c, &found.id).await?.ok_or(StoreError::NotFound)
}

/// A search as a `LIKE` pattern: lowercased, its own wildcards dropped.
fn pattern(search: &str) -> String {
    format!("%{}%", search.trim().to_lowercase().replace(['%', '_', '\\'], ""))
}

fn taken(e: StoreError) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::EmailTaken
    } else {
        e
    }
}

/// The condition of a list (`$1` pattern, `$2` archived too, `$3` the teaching account or NULL).
macro_rules! contact_where {
    () => {
        " FROM contacts k WHERE ($2 OR NOT k.archived) \
          AND (k.email_norm LIKE $1 OR LOWER(k.name) LIKE $1 OR LOWER(k.first_name) LIKE $1 \
               OR LOWER(k.company) LIKE $1 OR LOWER(k.first_name || ' ' || k.name) LIKE $1 \
               OR LOWER(k.name || ' ' || k.first_name) LIKE $1) \
          AND ($3 IS NULL OR EXISTS (SELECT 1 FROM session_participants p \
               JOIN session_participants t ON t.session_id = p.session_id \
               WHERE p.contact_id = k.id AND t.user_id = $3 AND t.role IN ('trainer', 'moderator')))"
    };
}

impl Store {
    /// A page of contacts by name, and how many match.
    pub async fn list_contacts(&self, filter: &ContactFilter) -> Result<ContactPage> {
        let pattern = pattern(&filter.search);
        let mut c = self.pool.read().await?;
        let mut c = c.conn();
        let total = c
            .count(
                concat!("SELECT COUNT(*) AS n", contact_where!()),
                args![pattern.as_str(), filter.include_archived, filter.taught_by.as_deref()],
            )
            .await?;
        let items = c
            .all(
                concat!(
                    "SELECT ",
                    contact_cols!(),
                    contact_where!(),
                    " ORDER BY LOWER(k.name), LOWER(k.first_name), k.email_norm LIMIT $4 OFFSET $5"
                ),
                args![
                    pattern.as_str(),
                    filter.include_archived,
                    filter.taught_by.as_deref(),
                    filter.limit.max(0),
                    filter.offset.max(0)
                ],
                contact_row,
            )
            .await?;
        Ok(ContactPage { items, total })
    }

    /// One contact.
    pub async fn contact(&self, id: &str) -> Result<Option<Contact>> {
        contact_by_id(&mut self.pool.read().await?.conn(), id).await
    }

    /// The contact with this email (any case), if any.
    pub async fn contact_by_email(&self, email: &str) -> Result<Option<Contact>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .opt(
                concat!("SELECT ", contact_cols!(), " FROM contacts k WHERE k.email_norm = $1"),
                args![email.trim().to_lowercase().as_str()],
                contact_row,
            )
            .await
    }

    /// Whether `user_id` teaches (as trainer or moderator) a session `contact_id` takes part in.
    pub async fn contact_taught_by(&self, contact_id: &str, user_id: &str) -> Result<bool> {
        let mut c = self.pool.read().await?;
        let n = c
            .conn()
            .count(
                "SELECT COUNT(*) AS n FROM session_participants p \
                 JOIN session_participants t ON t.session_id = p.session_id \
                 WHERE p.contact_id = $1 AND t.user_id = $2 AND t.role IN ('trainer', 'moderator')",
                args![contact_id, user_id],
            )
            .await?;
        Ok(n > 0)
    }

    /// The sessions a contact takes part in, newest first (only those `taught_by` teaches, when
    /// given), at most `limit`.
    pub async fn contact_sessions(
        &self,
        contact_id: &str,
        taught_by: Option<&str>,
        limit: i64,
    ) -> Result<Vec<ContactSession>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .all(
                concat!(
                    "SELECT ",
                    session_cols!(),
                    ", p.role AS p_role FROM session_participants p JOIN sessions s ON s.id = p.session_id \
                     WHERE p.contact_id = $1 AND ($2 IS NULL OR EXISTS (SELECT 1 FROM session_participants t \
                     WHERE t.session_id = s.id AND t.user_id = $2 AND t.role IN ('trainer', 'moderator'))) \
                     ORDER BY s.starts_at DESC, s.id LIMIT $3"
                ),
                args![contact_id, taught_by, limit],
                |r| {
                    Ok(ContactSession {
                        session: session_row(r)?,
                        role: participant_role(&r.text("p_role")?)?,
                    })
                },
            )
            .await
    }

    pub async fn create_contact(&self, input: &ContactInput, now: Timestamp, audit: &AuditEntry) -> Result<Contact> {
        let id = new_id();
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        c.exec(
            "INSERT INTO contacts (id, email, email_norm, name, first_name, company, locale, time_zone, notes, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
            args![
                id.as_str(),
                input.email.trim(),
                input.email.trim().to_lowercase().as_str(),
                input.name.as_str(),
                input.first_name.as_str(),
                input.company.as_str(),
                input.locale.as_deref(),
                input.time_zone.as_deref(),
                input.notes.as_str(),
                now.as_second()
            ],
        )
        .await
        .map_err(taken)?;
        let label = domain::contact::full_name(&input.first_name, &input.name);
        insert_audit(&mut c, &audit.clone().target("contact", &id, &label), now).await?;
        let contact = contact_by_id(&mut c, &id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(contact)
    }

    /// Replaces a contact's fields. Sessions already booked keep the address they were booked
    /// with; language and zone apply to every message from now on.
    pub async fn update_contact(
        &self,
        id: &str,
        input: &ContactInput,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<Contact> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let before = contact_by_id(&mut c, id).await?.ok_or(StoreError::NotFound)?;
        c.exec(
            "UPDATE contacts SET email = $2, email_norm = $3, name = $4, first_name = $5, company = $6, locale = $7, \
             time_zone = $8, notes = $9, updated_at = $10 WHERE id = $1",
            args![
                id,
                input.email.trim(),
                input.email.trim().to_lowercase().as_str(),
                input.name.as_str(),
                input.first_name.as_str(),
                input.company.as_str(),
                input.locale.as_deref(),
                input.time_zone.as_deref(),
                input.notes.as_str(),
                now.as_second()
            ],
        )
        .await
        .map_err(taken)?;
        let mut changed = Vec::new();
        for (field, old, new) in [
            ("email", before.email.as_str(), input.email.trim()),
            ("name", before.name.as_str(), input.name.as_str()),
            ("first_name", before.first_name.as_str(), input.first_name.as_str()),
            ("company", before.company.as_str(), input.company.as_str()),
            (
                "locale",
                before.locale.as_deref().unwrap_or(""),
                input.locale.as_deref().unwrap_or(""),
            ),
            (
                "time_zone",
                before.time_zone.as_deref().unwrap_or(""),
                input.time_zone.as_deref().unwrap_or(""),
            ),
            ("notes", before.notes.as_str(), input.notes.as_str()),
        ] {
            if old != new {
                changed.push(field);
            }
        }
        let label = domain::contact::full_name(&input.first_name, &input.name);
        let entry = audit
            .clone()
            .target("contact", id, &label)
            .detail(serde_json::json!({ "changed": changed }));
        insert_audit(&mut c, &entry, now).await?;
        let contact = contact_by_id(&mut c, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(contact)
    }

    /// Archives a contact (hidden from lists and suggestions; their sessions keep them), or
    /// brings one back. A merged entry stays archived.
    pub async fn set_contact_archived(
        &self,
        id: &str,
        archived: bool,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<Contact> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let before = contact_by_id(&mut c, id).await?.ok_or(StoreError::NotFound)?;
        if !archived && before.merged_into.is_some() {
            return Err(StoreError::Booking(domain::session::BookingRefusal::ContactMerged));
        }
        c.exec(
            "UPDATE contacts SET archived = $2, updated_at = $3 WHERE id = $1",
            args![id, archived, now.as_second()],
        )
        .await?;
        insert_audit(&mut c, &audit.clone().target("contact", id, &before.full_name()), now).await?;
        let contact = contact_by_id(&mut c, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(contact)
    }

    /// Merges `duplicate` into `keep`: the duplicate's participations and course enrolments
    /// move to `keep`, whose empty fields take the duplicate's values; the duplicate is archived
    /// and points to `keep` (a later booking of its address finds `keep`). One transaction,
    /// audited.
    pub async fn merge_contacts(
        &self,
        keep: &str,
        duplicate: &str,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<MergeOutcome> {
        use domain::session::BookingRefusal;
        let now_s = now.as_second();
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        if c.is_postgres() {
            // Both rows, in id order (no deadlock between two opposite merges).
            let (a, b) = if keep < duplicate {
                (keep, duplicate)
            } else {
                (duplicate, keep)
            };
            for id in [a, b] {
                c.exec("SELECT id FROM contacts WHERE id = $1 FOR UPDATE", args![id])
                    .await?;
            }
        }
        let kept = contact_by_id(&mut c, keep).await?.ok_or(StoreError::NotFound)?;
        let dup = contact_by_id(&mut c, duplicate).await?.ok_or(StoreError::NotFound)?;
        if kept.id == dup.id {
            return Err(StoreError::Booking(BookingRefusal::MergeSelf));
        }
        if kept.merged_into.is_some() || dup.merged_into.is_some() {
            return Err(StoreError::Booking(BookingRefusal::ContactMerged));
        }
        let participations = c
            .exec(
                "UPDATE session_participants SET contact_id = $1 WHERE contact_id = $2",
                args![keep, duplicate],
            )
            .await?;
        let enrolments = c
            .exec(
                "INSERT INTO course_learners (course_id, contact_id) \
                 SELECT course_id, $1 FROM course_learners WHERE contact_id = $2 ON CONFLICT DO NOTHING",
                args![keep, duplicate],
            )
            .await?;
        c.exec("DELETE FROM course_learners WHERE contact_id = $1", args![duplicate])
            .await?;
        c.exec(
            "UPDATE contacts SET merged_into = $1 WHERE merged_into = $2",
            args![keep, duplicate],
        )
        .await?;
        let pick = |mine: &str, theirs: &str| {
            if mine.trim().is_empty() {
                theirs.to_owned()
            } else {
                mine.to_owned()
            }
        };
        let notes = match (kept.notes.trim(), dup.notes.trim()) {
            (mine, "") => mine.to_owned(),
            ("", theirs) => theirs.to_owned(),
            (mine, theirs) if mine == theirs => mine.to_owned(),
            (mine, theirs) => format!("{mine}\n\n{theirs}"),
        };
        c.exec(
            "UPDATE contacts SET first_name = $2, company = $3, locale = COALESCE(locale, $4), \
             time_zone = COALESCE(time_zone, $5), notes = $6, archived = $7, updated_at = $8 WHERE id = $1",
            args![
                keep,
                pick(&kept.first_name, &dup.first_name).as_str(),
                pick(&kept.company, &dup.company).as_str(),
                dup.locale.as_deref(),
                dup.time_zone.as_deref(),
                notes.as_str(),
                false,
                now_s
            ],
        )
        .await?;
        c.exec(
            "UPDATE contacts SET archived = $2, merged_into = $3, updated_at = $4 WHERE id = $1",
            args![duplicate, true, keep, now_s],
        )
        .await?;
        let participations = i64::try_from(participations).unwrap_or(i64::MAX);
        let enrolments = i64::try_from(enrolments).unwrap_or(i64::MAX);
        let entry = audit
            .clone()
            .target("contact", keep, &kept.full_name())
            .detail(serde_json::json!({
                "merged": dup.id,
                "merged_email": dup.email,
                "participations": participations,
                "enrolments": enrolments,
            }));
        insert_audit(&mut c, &entry, now).await?;
        let kept = contact_by_id(&mut c, keep).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(MergeOutcome {
            kept,
            participations,
            enrolments,
        })
    }
}
