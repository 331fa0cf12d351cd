//! Courses (formations): a title, a code, a default session length, trainers and enrolled
//! learners that new sessions start from; archived rather than deleted.

use std::collections::BTreeSet;

use domain::Role;
use domain::booking::Person;
use domain::course::ActionNature;
use domain::session::BookingRefusal;
use jiff::Timestamp;

use crate::audit::{AuditEntry, insert_audit};
use crate::contacts::{Contact, contact_cols, contact_row, upsert_contact};
use crate::db::{Conn, Row, args};
use crate::users::{User, user_by_id, user_row};
use crate::{Result, Store, StoreError, new_id, ts};

/// A course (formation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Course {
    pub id: String,
    pub title: String,
    pub code: Option<String>,
    pub description: String,
    pub default_duration_minutes: i64,
    pub owner_id: String,
    /// What its certificates of completion state.
    pub action_nature: ActionNature,
    pub archived: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A course with its default trainers and enrolled learners.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CourseDetail {
    pub course: Course,
    pub trainers: Vec<User>,
    pub learners: Vec<Contact>,
}

/// A course as typed (validated by the caller).
#[derive(Debug, Clone)]
pub struct CourseInput {
    pub title: String,
    pub code: Option<String>,
    pub description: String,
    pub default_duration_minutes: i64,
    pub owner_id: String,
    pub action_nature: ActionNature,
    /// Trainer account ids.
    pub trainer_ids: Vec<String>,
    pub learners: Vec<Person>,
}

pub(crate) fn course_row(r: &dyn Row) -> Result<Course> {
    Ok(Course {
        id: r.text("id")?,
        title: r.text("title")?,
        code: r.opt_text("code")?,
        description: r.text("description")?,
        default_duration_minutes: r.i64("default_duration_minutes")?,
        owner_id: r.text("owner_id")?,
        action_nature: {
            let name = r.text("action_nature")?;
            ActionNature::parse(&name).ok_or_else(|| StoreError::Corrupt(format!("action nature {name:?}")))?
        },
        archived: r.bool("archived")?,
        created_at: ts(r.i64("created_at")?)?,
        updated_at: ts(r.i64("updated_at")?)?,
    })
}

pub(crate) async fn course_detail(c: &mut Conn<'_>, id: &str) -> Result<Option<CourseDetail>> {
    let Some(course) = c
        .opt(
            "SELECT id, title, code, description, default_duration_minutes, owner_id, action_nature, archived, created_at, \
             updated_at \
             FROM courses WHERE id = $1",
            args![id],
            course_row,
        )
        .await?
    else {
        return Ok(None);
    };
    let trainers = c
        .all(
            "SELECT u.id, u.email, u.display_name, u.role, u.locale, u.time_zone, u.active, \
             u.password_hash IS NOT NULL AS has_password, u.auth_source, u.external_id, u.created_at, u.updated_at \
             FROM course_trainers t JOIN users u ON u.id = t.user_id WHERE t.course_id = $1 ORDER BY u.display_name",
            args![id],
            user_row,
        )
        .await?;
    let learners = c
        .all(
            concat!(
                "SELECT ",
                contact_cols!(),
                " FROM course_learners l JOIN contacts k ON k.id = l.contact_id WHERE l.course_id = $1 \
                 ORDER BY k.name, k.email"
            ),
            args![id],
            contact_row,
        )
        .await?;
    Ok(Some(CourseDetail {
        course,
        trainers,
        learners,
    }))
}

impl Store {
    pub(crate) async fn write_course_people(
        &self,
        c: &mut Conn<'_>,
        course_id: &str,
        input: &CourseInput,
        now: i64,
    ) -> Result<()> {
        c.exec("DELETE FROM course_trainers WHERE course_id = $1", args![course_id])
            .await?;
        c.exec("DELETE FROM course_learners WHERE course_id = $1", args![course_id])
            .await?;
        for user_id in input.trainer_ids.iter().collect::<BTreeSet<_>>() {
            let user = user_by_id(c, user_id).await?;
            match user {
                Some(u) if u.role == Role::Trainer && u.active => {}
                Some(u) => {
                    return Err(StoreError::Booking(BookingRefusal::NotATrainer {
                        email: u.email,
                        role: u.role,
                    }));
                }
                None => {
                    return Err(StoreError::Booking(BookingRefusal::UnknownTrainer {
                        email: user_id.clone(),
                    }));
                }
            }
            c.exec(
                "INSERT INTO course_trainers (course_id, user_id) VALUES ($1, $2)",
                args![course_id, user_id.as_str()],
            )
            .await?;
        }
        for person in &input.learners {
            let contact = upsert_contact(c, person, now).await?;
            c.exec(
                "INSERT INTO course_learners (course_id, contact_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                args![course_id, contact.id.as_str()],
            )
            .await?;
        }
        Ok(())
    }

    /// Enrols imported people in a course, in one transaction: each gets (or completes) their
    /// address-book entry; those already enrolled stay as they are. Returns how many were
    /// enrolled.
    pub async fn import_course_learners(
        &self,
        course_id: &str,
        people: &[crate::ContactInput],
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<usize> {
        let now_s = now.as_second();
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let title = c
            .opt("SELECT title FROM courses WHERE id = $1", args![course_id], |r| {
                r.text("title")
            })
            .await?
            .ok_or(StoreError::NotFound)?;
        let mut added = 0usize;
        for person in people {
            let contact = crate::contacts::upsert_contact_details(&mut c, person, now_s).await?;
            let before = c
                .count(
                    "SELECT COUNT(*) AS n FROM course_learners WHERE course_id = $1 AND contact_id = $2",
                    args![course_id, contact.id.as_str()],
                )
                .await?;
            if before == 0 {
                c.exec(
                    "INSERT INTO course_learners (course_id, contact_id) VALUES ($1, $2)",
                    args![course_id, contact.id.as_str()],
                )
                .await?;
                added += 1;
            }
        }
        c.exec(
            "UPDATE courses SET updated_at = $2 WHERE id = $1",
            args![course_id, now_s],
        )
        .await?;
        insert_audit(
            &mut c,
            &audit
                .clone()
                .target("course", course_id, &title)
                .detail(serde_json::json!({ "imported": added })),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(added)
    }

    pub(crate) fn map_code_taken(e: StoreError, code: &Option<String>) -> StoreError {
        if crate::db::is_unique_violation(&e) {
            StoreError::Booking(BookingRefusal::CourseCodeTaken {
                code: code.clone().unwrap_or_default(),
            })
        } else {
            e
        }
    }

    pub async fn create_course(&self, input: &CourseInput, now: Timestamp, audit: &AuditEntry) -> Result<CourseDetail> {
        let now_s = now.as_second();
        let id = new_id();
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        c.exec(
            "INSERT INTO courses (id, title, code, description, default_duration_minutes, owner_id, archived, created_at, \
             updated_at, action_nature) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
            args![
                id.as_str(),
                input.title.as_str(),
                input.code.as_deref(),
                input.description.as_str(),
                input.default_duration_minutes,
                input.owner_id.as_str(),
                false,
                now_s,
                input.action_nature.as_str()
            ],
        )
        .await
        .map_err(|e| Self::map_code_taken(e, &input.code))?;
        self.write_course_people(&mut c, &id, input, now_s).await?;
        insert_audit(&mut c, &audit.clone().target("course", &id, &input.title), now).await?;
        let detail = course_detail(&mut c, &id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(detail)
    }

    pub async fn update_course(
        &self,
        id: &str,
        input: &CourseInput,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<CourseDetail> {
        let now_s = now.as_second();
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let changed = c
            .exec(
                "UPDATE courses SET title = $2, code = $3, description = $4, default_duration_minutes = $5, owner_id = $6, \
                 updated_at = $7, action_nature = $8 WHERE id = $1",
                args![
                    id,
                    input.title.as_str(),
                    input.code.as_deref(),
                    input.description.as_str(),
                    input.default_duration_minutes,
                    input.owner_id.as_str(),
                    now_s,
                    input.action_nature.as_str()
                ],
            )
            .await
            .map_err(|e| Self::map_code_taken(e, &input.code))?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        self.write_course_people(&mut c, id, input, now_s).await?;
        insert_audit(&mut c, &audit.clone().target("course", id, &input.title), now).await?;
        let detail = course_detail(&mut c, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(detail)
    }

    pub async fn set_course_archived(
        &self,
        id: &str,
        archived: bool,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<()> {
        self.update_one_audited(
            "UPDATE courses SET archived = $2, updated_at = $3 WHERE id = $1",
            args![id, archived, now.as_second()],
            &audit.clone().target("course", id, ""),
            now,
        )
        .await
    }

    pub async fn course(&self, id: &str) -> Result<Option<CourseDetail>> {
        course_detail(&mut self.pool.read().await?.conn(), id).await
    }

    /// Courses by title; archived ones only when asked.
    pub async fn list_courses(&self, include_archived: bool) -> Result<Vec<Course>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .all(
                "SELECT id, title, code, description, default_duration_minutes, owner_id, action_nature, archived, created_at, \
             updated_at \
                 FROM courses WHERE NOT archived OR $1 ORDER BY title, id",
                args![include_archived],
                course_row,
            )
            .await
    }
}
