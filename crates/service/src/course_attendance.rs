//! A course's attendance: per learner across the course's sessions (optionally within a date
//! range), hours planned, hours attended and rate; the course's CSV and PDF sheet over the
//! range; the certificates of completion (certificat de réalisation) from the hours attended,
//! one per learner or all of them in a ZIP.
//!
//! Who may see it: managers and admins (every session of the course), and a trainer for the
//! sessions of the course they teach (as for each session: never more than they could read
//! session by session). Anyone else, or a trainer who teaches none of its sessions and is not
//! one of its trainers, is told the course does not exist. Certificates state the hours of
//! the whole course: managers and admins only.

use std::collections::BTreeMap;

use domain::Actor;
use domain::course::ActionNature;
use i18n::{Locale, Message};
use jiff::civil::Date;
use store::{CourseDetail, SessionDetail, SessionFilter, SessionStatus};

use crate::attendance::{self, Report};
use crate::error::{Error, Problem, Result};
use crate::{Service, booking};

/// Most sessions a course report reads.
const MAX_SESSIONS: i64 = 2000;

/// The local dates (in each session's zone) a course report covers; both ends included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DateRange {
    pub from: Option<Date>,
    pub to: Option<Date>,
}

impl DateRange {
    /// Reads `from` and `to` (`YYYY-MM-DD`; `None` for no bound); a bad or empty date, or
    /// `from` after `to`, is refused with the field named.
    pub fn parse(from: Option<&str>, to: Option<&str>) -> Result<DateRange> {
        let mut problems = Vec::new();
        let mut read = |field: &'static str, text: Option<&str>| -> Option<Date> {
            let text = text?.trim();
            match text.parse::<Date>() {
                Ok(d) => Some(d),
                Err(_) => {
                    problems.push(Problem::new(field, Message::new("attendance.error.date")));
                    None
                }
            }
        };
        let range = DateRange {
            from: read("from", from),
            to: read("to", to),
        };
        if let (Some(f), Some(t)) = (range.from, range.to)
            && f > t
        {
            problems.push(Problem::new("to", Message::new("attendance.error.range")));
        }
        if problems.is_empty() {
            Ok(range)
        } else {
            Err(Error::Invalid(problems))
        }
    }

    fn contains(&self, date: Date) -> bool {
        self.from.is_none_or(|f| date >= f) && self.to.is_none_or(|t| date <= t)
    }
}

/// One learner of the course across its sessions.
#[derive(Debug, Clone)]
pub struct LearnerTotal {
    /// The address-book entry (the learner's identity across sessions), else their email.
    pub key: String,
    pub contact_id: Option<String>,
    pub name: String,
    pub email: String,
    /// Sessions of the range the learner was invited to.
    pub sessions: usize,
    pub planned_minutes: i64,
    /// Counted minutes (corrections included).
    pub attended_minutes: i64,
    pub half_days: usize,
    pub signed_half_days: usize,
    pub first_day: Option<Date>,
    pub last_day: Option<Date>,
}

impl LearnerTotal {
    /// Attended share of the planned time, in whole percent.
    pub fn rate(&self) -> i64 {
        if self.planned_minutes <= 0 {
            return 0;
        }
        (self.attended_minutes * 100 + self.planned_minutes / 2) / self.planned_minutes
    }
}

/// A course's attendance over a range.
#[derive(Debug, Clone)]
pub struct CourseReport {
    pub course: CourseDetail,
    pub range: DateRange,
    /// The sessions read, in time order (cancelled ones left out).
    pub sessions: Vec<Report>,
    /// The learners, by name.
    pub learners: Vec<LearnerTotal>,
    /// The stored seal of each session's signature chain, by session id (none before the
    /// session's first signature).
    pub seals: BTreeMap<String, domain::evidence::Seal>,
}

fn learner_key(p: &store::Participant) -> String {
    p.contact_id.clone().unwrap_or_else(|| p.email.to_lowercase())
}

fn local_date(report: &Report) -> Option<Date> {
    let zone = jiff::tz::TimeZone::get(&report.detail.session.time_zone).ok()?;
    Some(report.detail.session.starts_at.to_zoned(zone).date())
}

/// Midnight UTC `days` after `date`.
fn instant(date: Date, days: i64) -> Option<jiff::Timestamp> {
    date.checked_add(jiff::Span::new().days(days))
        .ok()?
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// Whether `actor` may read the whole course (managers, admins) or only the sessions they
/// teach (`Some(user)`), or nothing (`NotFound`).
async fn scope(svc: &Service, actor: &Actor, course_id: &str) -> Result<(CourseDetail, Option<String>)> {
    let course = svc.store().course(course_id).await?.ok_or(Error::NotFound)?;
    if actor.may_manage_courses() {
        return Ok((course, None));
    }
    if actor.role != domain::Role::Trainer {
        return Err(Error::NotFound);
    }
    Ok((course, Some(actor.user_id.clone())))
}

/// Totals of each learner over reports.
fn totals(reports: &[Report]) -> Vec<LearnerTotal> {
    let mut by_key: BTreeMap<String, LearnerTotal> = BTreeMap::new();
    for report in reports {
        let date = local_date(report);
        for p in attendance::learners(&report.detail) {
            let key = learner_key(p);
            let t = by_key.entry(key.clone()).or_insert_with(|| LearnerTotal {
                key,
                contact_id: p.contact_id.clone(),
                name: p.name.clone(),
                email: p.email.clone(),
                sessions: 0,
                planned_minutes: 0,
                attended_minutes: 0,
                half_days: 0,
                signed_half_days: 0,
                first_day: None,
                last_day: None,
            });
            t.sessions += 1;
            t.planned_minutes += report.planned_minutes();
            t.attended_minutes += report.attended_minutes(&p.id);
            t.half_days += report.attendance.planned.len();
            t.signed_half_days += report
                .attendance
                .planned
                .iter()
                .filter(|h| report.signature(&p.id, h.half_day).is_some())
                .count();
            if let Some(d) = date {
                t.first_day = Some(t.first_day.map_or(d, |f| f.min(d)));
                t.last_day = Some(t.last_day.map_or(d, |l| l.max(d)));
            }
        }
    }
    let mut learners: Vec<LearnerTotal> = by_key.into_values().collect();
    learners.sort_by(|a, b| {
        a.name
            .to_lowercase()
            .cmp(&b.name.to_lowercase())
            .then(a.key.cmp(&b.key))
    });
    learners
}

/// A course's attendance within `range`, for its trainers (their sessions), managers and admins.
/// Drawn signatures come without their pictures (see [`report_with_images`]).
pub async fn report(svc: &Service, actor: &Actor, course_id: &str, range: DateRange) -> Result<CourseReport> {
    report_with(svc, actor, course_id, range, false).await
}

/// [`report`] with the drawn signatures' pictures, for the sheet that prints them.
pub async fn report_with_images(
    svc: &Service,
    actor: &Actor,
    course_id: &str,
    range: DateRange,
) -> Result<CourseReport> {
    report_with(svc, actor, course_id, range, true).await
}

async fn report_with(
    svc: &Service,
    actor: &Actor,
    course_id: &str,
    range: DateRange,
    images: bool,
) -> Result<CourseReport> {
    let (course, teacher) = scope(svc, actor, course_id).await?;
    let summaries = svc
        .store()
        .list_sessions(&SessionFilter {
            course_id: Some(course.course.id.clone()),
            teacher: teacher.clone(),
            // A day of margin on both sides: the range is in each session's own zone.
            from: range.from.and_then(|d| instant(d, -1)),
            to: range.to.and_then(|d| instant(d, 2)),
            limit: MAX_SESSIONS,
            ..Default::default()
        })
        .await?;
    if let Some(user) = &teacher
        && summaries.is_empty()
        && !course.trainers.iter().any(|t| &t.id == user)
    {
        return Err(Error::NotFound);
    }
    // The sessions' rows in one batch (a query per table, not per session): the course page
    // and the API compute every session of the course on each view.
    let listed: Vec<store::Session> = summaries
        .into_iter()
        .map(|summary| summary.session)
        .filter(|session| session.status != SessionStatus::Cancelled)
        .collect();
    let mut rows = match (
        listed.iter().map(|s| s.starts_at).min(),
        listed.iter().map(|s| s.starts_at).max(),
    ) {
        (Some(first), Some(last)) => {
            svc.store()
                .course_attendance_rows(&course.course.id, first, last, images)
                .await?
        }
        _ => Default::default(),
    };
    let mut sessions = Vec::new();
    let mut seals = BTreeMap::new();
    for session in listed {
        let id = session.id.clone();
        let detail = SessionDetail {
            session,
            participants: rows.participants.remove(&id).unwrap_or_default(),
        };
        // Each session as its own page would show it: the same permission check.
        booking::may_view(svc, actor, &detail)?;
        let report = attendance::compute_loaded(
            svc,
            detail,
            &rows.events.remove(&id).unwrap_or_default(),
            rows.corrections.remove(&id).unwrap_or_default(),
            rows.signatures.remove(&id).unwrap_or_default(),
        )?;
        if local_date(&report).is_some_and(|d| range.contains(d)) {
            if let Some(seal) = rows.seals.remove(&id) {
                seals.insert(id, seal);
            }
            sessions.push(report);
        }
    }
    sessions.sort_by_key(|r| r.detail.session.starts_at);
    let learners = totals(&sessions);
    Ok(CourseReport {
        course,
        range,
        sessions,
        learners,
        seals,
    })
}

/// The course's attendance as CSV (UTF-8 with BOM, `;`): the session CSV's rows for every
/// session of the range, in time order.
pub async fn csv(svc: &Service, actor: &Actor, course_id: &str, range: DateRange, locale: Locale) -> Result<Vec<u8>> {
    let report = report(svc, actor, course_id, range).await?;
    let zone_name = report.sessions.first().map_or_else(
        || svc.config().default_time_zone.clone(),
        |r| r.detail.session.time_zone.clone(),
    );
    let zone = jiff::tz::TimeZone::get(&zone_name).map_err(|e| Error::Internal(format!("zone: {e}")))?;
    let rows = report
        .sessions
        .iter()
        .flat_map(|r| attendance::csv_rows(r, locale, None))
        .collect();
    Ok(documents::attendance_csv(&documents::CsvInput {
        locale,
        time_zone: zone,
        rows,
    }))
}

/// The course's attendance sheet over the range: every session of it, each with its half-days,
/// people, signatures and seal.
pub async fn sheet_pdf(
    svc: &Service,
    actor: &Actor,
    course_id: &str,
    range: DateRange,
    locale: Locale,
) -> Result<Vec<u8>> {
    let report = report_with_images(svc, actor, course_id, range).await?;
    if report.sessions.is_empty() {
        return Err(Error::conflict("", Message::new("attendance.error.no_sessions")));
    }
    let mut sessions = Vec::new();
    for r in &report.sessions {
        let seal = report.seals.get(&r.detail.session.id).cloned();
        sessions.extend(attendance::sheet_sessions(svc, r, seal, locale, None)?);
    }
    attendance::render_sheet(documents::SheetInput {
        locale,
        organisation: attendance::organisation(svc),
        course_title: report.course.course.title.clone(),
        sessions,
        generated_at: svc.now(),
    })
    .await
}

fn certificate_input(
    svc: &Service,
    report: &CourseReport,
    learner: &LearnerTotal,
    company: Option<String>,
    locale: Locale,
) -> documents::CertificateInput {
    let o = &svc.config().organisation;
    let today = jiff::tz::TimeZone::get(&svc.config().default_time_zone).map_or_else(
        |_| svc.now().to_zoned(jiff::tz::TimeZone::UTC).date(),
        |z| svc.now().to_zoned(z).date(),
    );
    documents::CertificateInput {
        locale,
        organisation: attendance::organisation(svc),
        signatory: documents::Signatory {
            name: o.signatory_name.clone(),
            role: o.signatory_role.clone(),
            signature: o.signatory_image.as_ref().map(|i| i.0.as_ref().clone()),
        },
        learner: learner.name.clone(),
        company,
        course_title: report.course.course.title.clone(),
        nature: match report.course.course.action_nature {
            ActionNature::Training => documents::ActionNature::Training,
            ActionNature::SkillsAssessment => documents::ActionNature::SkillsAssessment,
            ActionNature::Vae => documents::ActionNature::Vae,
            ActionNature::Apprenticeship => documents::ActionNature::Apprenticeship,
        },
        first_day: learner.first_day.unwrap_or(today),
        last_day: learner.last_day.unwrap_or(today),
        completed_minutes: u32::try_from(learner.attended_minutes.max(0)).unwrap_or(u32::MAX),
        place: o.place.clone(),
        issued_on: today,
    }
}

async fn company(svc: &Service, learner: &LearnerTotal) -> Result<Option<String>> {
    Ok(match &learner.contact_id {
        Some(id) => svc
            .store()
            .contact(id)
            .await?
            .map(|c| c.company)
            .filter(|c| !c.trim().is_empty()),
        None => None,
    })
}

async fn render_certificates(inputs: Vec<documents::CertificateInput>) -> Result<Vec<Vec<u8>>> {
    tokio::task::spawn_blocking(move || {
        inputs
            .iter()
            .map(documents::certificate)
            .collect::<std::result::Result<Vec<_>, _>>()
    })
    .await
    .map_err(|e| Error::Internal(format!("certificate task: {e}")))?
    .map_err(|e| Error::Internal(format!("certificate: {e}")))
}

/// Only managers and admins issue certificates (they state the whole course's hours).
fn issuer(actor: &Actor) -> Result<()> {
    if actor.may_manage_courses() {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}

/// The certificate of completion of one learner (`learner`: their address-book entry, or
/// their email when they have none) for the course within `range`, with the hours attended.
/// Returns the file's suggested name and the PDF.
pub async fn certificate(
    svc: &Service,
    actor: &Actor,
    course_id: &str,
    learner: &str,
    range: DateRange,
    locale: Locale,
) -> Result<(String, Vec<u8>)> {
    issuer(actor)?;
    let report = report(svc, actor, course_id, range).await?;
    let Some(total) = report
        .learners
        .iter()
        .find(|l| l.key == learner || l.email.eq_ignore_ascii_case(learner))
    else {
        return Err(Error::NotFound);
    };
    let input = certificate_input(svc, &report, total, company(svc, total).await?, locale);
    let name = documents::safe_file_name(&total.name, "pdf");
    let pdf = render_certificates(vec![input])
        .await?
        .pop()
        .ok_or_else(|| Error::Internal("no certificate rendered".into()))?;
    Ok((name, pdf))
}

/// Every learner's certificate of completion for the course within `range`, in one ZIP.
pub async fn certificates_zip(
    svc: &Service,
    actor: &Actor,
    course_id: &str,
    range: DateRange,
    locale: Locale,
) -> Result<Vec<u8>> {
    issuer(actor)?;
    let report = report(svc, actor, course_id, range).await?;
    let mut inputs = Vec::new();
    for total in &report.learners {
        inputs.push(certificate_input(
            svc,
            &report,
            total,
            company(svc, total).await?,
            locale,
        ));
    }
    let names: Vec<String> = report.learners.iter().map(|l| l.name.clone()).collect();
    let pdfs = render_certificates(inputs).await?;
    let files: Vec<(String, Vec<u8>)> = names.into_iter().zip(pdfs).collect();
    let local = jiff::tz::TimeZone::get(&svc.config().default_time_zone)
        .map_or_else(
            |_| svc.now().to_zoned(jiff::tz::TimeZone::UTC),
            |z| svc.now().to_zoned(z),
        )
        .datetime();
    documents::certificates_zip(&files, local).map_err(|e| Error::Internal(format!("certificates zip: {e}")))
}
