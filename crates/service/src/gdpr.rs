//! A person's data: export and erasure (GDPR articles 15, 17 and 20), for a contact or a
//! participant named by their email address. Admins and managers export and erase; erasing
//! attendance evidence still within its retention needs an admin's explicit force. Trainers
//! are refused. Both are audited (the export too: who saw whose data). See `store::gdpr` for
//! what is exported and what erasure changes.

use domain::window::JoinWindow;
use domain::{Email, Locale, Role};
use serde_json::Value;
use store::{Erasure, ErasureCounts, ErasureRequest};

use crate::error::{Error, Result};
use crate::{Caller, Message, Service};

fn allowed(caller: &Caller) -> Result<()> {
    if caller.actor.role >= Role::Manager {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

fn address(email: &str) -> Result<String> {
    Email::parse(email)
        .map(|e| e.normalized())
        .map_err(|_| Error::invalid("email", Message::new("gdpr.error.email")))
}

/// Everything Dialogue holds about the person with this address, as JSON.
pub async fn export(svc: &Service, caller: &Caller, email: &str) -> Result<Value> {
    allowed(caller)?;
    let norm = address(email)?;
    let now = svc.now();
    let Some(data) = svc.store().person_data(&norm, now).await? else {
        return Err(Error::invalid(
            "email",
            Message::new("gdpr.error.not_found").arg("email", email.trim()),
        ));
    };
    // Who saw whose data; the address stays in the log until the person is erased.
    svc.store()
        .audit(&caller.audit("gdpr.export").target("email", &norm, &norm), now)
        .await?;
    Ok(data)
}

/// What an export is delivered as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// The JSON document alone.
    Json,
    /// A ZIP with the JSON document and the person's documents (see [`export_zip`]).
    Zip,
}

impl ExportFormat {
    /// `json` (or nothing) or `zip`; anything else is refused with the field named.
    pub fn parse(text: Option<&str>) -> Result<ExportFormat> {
        match text.map(str::trim) {
            None | Some("") | Some("json") => Ok(ExportFormat::Json),
            Some("zip") => Ok(ExportFormat::Zip),
            Some(_) => Err(Error::invalid("format", Message::new("gdpr.error.format"))),
        }
    }
}

/// The file name of the JSON document inside the export's ZIP.
pub const EXPORT_JSON: &str = "personal-data.json";
/// The file name of the calendar of their sessions inside the export's ZIP.
pub const EXPORT_CALENDAR: &str = "sessions.ics";

/// The export as a ZIP: the JSON document ([`EXPORT_JSON`]), the calendar of the sessions they
/// are or were booked into ([`EXPORT_CALENDAR`], with their own join links; absent when none),
/// the certificate of completion (PDF, in `locale`) of each course where they attended some
/// time, and for each session they attended or signed, their excerpt of its attendance sheet
/// (see [`sheet_excerpts`]). Audited once, as the JSON export.
pub async fn export_zip(svc: &Service, caller: &Caller, email: &str, locale: Locale) -> Result<Vec<u8>> {
    let data = export(svc, caller, email).await?;
    let json = serde_json::to_vec_pretty(&data).map_err(|e| Error::Internal(format!("person data: {e}")))?;
    let mut files: Vec<(String, &'static str, Vec<u8>)> = vec![(EXPORT_JSON.into(), "json", json)];
    let (ics, mut courses) = calendar(svc, &data, locale).await?;
    if let Some(ics) = ics {
        files.push((EXPORT_CALENDAR.into(), "ics", ics.into_bytes()));
    }
    let norm = address(email)?;
    courses.extend(
        data["course_enrolments"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["course_id"].as_str().map(str::to_owned)),
    );
    courses.sort_unstable();
    courses.dedup();
    let everything = crate::course_attendance::DateRange::default();
    for course_id in &courses {
        let report = crate::course_attendance::report(svc, &caller.actor, course_id, everything).await?;
        let attended = report
            .learners
            .iter()
            .any(|l| l.email.eq_ignore_ascii_case(&norm) && l.attended_minutes > 0);
        if !attended {
            continue;
        }
        let (_, pdf) =
            crate::course_attendance::certificate(svc, &caller.actor, course_id, &norm, everything, locale).await?;
        let title = locale.tf("gdpr.export.certificate", &[("course", &report.course.course.title)]);
        files.push((title, "pdf", pdf));
    }
    files.extend(sheet_excerpts(svc, &data, locale).await?);
    let local = jiff::tz::TimeZone::get(&svc.config().default_time_zone)
        .map_or_else(
            |_| svc.now().to_zoned(jiff::tz::TimeZone::UTC),
            |z| svc.now().to_zoned(z),
        )
        .datetime();
    documents::zip_files(&files, local).map_err(|e| Error::Internal(format!("export zip: {e}")))
}

/// For each session the person attended (some minutes present) or signed: their rows of its
/// attendance sheet, as the sheet prints them (half-days, minutes, signature drawn or typed with
/// its time, corrections) with the seal of the session's evidence chain and how to verify it,
/// as a PDF, and the same rows as CSV when they were a learner. Nobody else's rows.
async fn sheet_excerpts(svc: &Service, data: &Value, locale: Locale) -> Result<Vec<(String, &'static str, Vec<u8>)>> {
    let mut files = Vec::new();
    for p in data["participations"].as_array().into_iter().flatten() {
        let (Some(participant_id), Some(session_id)) = (p["id"].as_str(), p["session_id"].as_str()) else {
            continue;
        };
        let Some(detail) = svc.store().session(session_id).await? else {
            continue;
        };
        if !detail.participants.iter().any(|q| q.id == participant_id) {
            continue;
        }
        let report = crate::attendance::compute(svc, detail).await?;
        let signed = report.signatures.iter().any(|s| s.record.signer.id == participant_id);
        if report.attended_minutes(participant_id) <= 0 && !signed {
            continue;
        }
        let s = &report.detail.session;
        let zone = jiff::tz::TimeZone::get(&s.time_zone).unwrap_or(jiff::tz::TimeZone::UTC);
        let name = locale.tf(
            "gdpr.export.sheet",
            &[
                ("session", &s.title),
                ("date", &s.starts_at.to_zoned(zone.clone()).date()),
            ],
        );
        let pdf = crate::attendance::session_sheet(svc, &report, locale, Some(participant_id)).await?;
        files.push((name.clone(), "pdf", pdf));
        let rows = crate::attendance::csv_rows(&report, locale, Some(participant_id));
        if !rows.is_empty() {
            let csv = documents::attendance_csv(&documents::CsvInput {
                locale,
                time_zone: zone,
                rows,
            });
            files.push((name, "csv", csv));
        }
    }
    Ok(files)
}

/// Their sessions as one calendar, each event with their own join link (`None`: no session),
/// and the courses of those sessions.
async fn calendar(svc: &Service, data: &Value, locale: Locale) -> Result<(Option<String>, Vec<String>)> {
    let mut events = Vec::new();
    let mut courses = Vec::new();
    for p in data["participations"].as_array().into_iter().flatten() {
        let (Some(participant_id), Some(session_id)) = (p["id"].as_str(), p["session_id"].as_str()) else {
            continue;
        };
        let Some(detail) = svc.store().session(session_id).await? else {
            continue;
        };
        let Some(me) = detail.participants.iter().find(|q| q.id == participant_id) else {
            continue;
        };
        let s = &detail.session;
        courses.extend(s.course_id.clone());
        let join = svc.store().join_key(&me.id, me.link_version).ok().map(|key| {
            let window =
                JoinWindow::for_participant(s.starts_at, s.ends_at, me.role.is_moderator(), &svc.config().join);
            mail::calendar::JoinInfo {
                url: svc.url(&format!("/j/{key}")),
                opens_at: window.opens,
            }
        });
        let trainers: Vec<store::Participant> = detail
            .participants
            .iter()
            .filter(|q| q.role == store::ParticipantRole::Trainer)
            .cloned()
            .collect();
        events.push(mail::calendar::session_event_in(
            s,
            &trainers,
            join.as_ref(),
            None,
            locale,
            s.updated_at,
            &s.time_zone,
        ));
    }
    if events.is_empty() {
        return Ok((None, courses));
    }
    let name = locale.t("gdpr.export.calendar").to_owned();
    Ok((
        Some(mail::calendar::calendar(None, Some(name), events).render()),
        courses,
    ))
}

/// Erases the person with this address; `force` (admins only) erases signatures still within
/// their retention too.
pub async fn erase(svc: &Service, caller: &Caller, email: &str, force: bool) -> Result<ErasureCounts> {
    allowed(caller)?;
    let norm = address(email)?;
    if force && caller.actor.role != Role::Admin {
        return Err(Error::Refused(vec![crate::Problem::new(
            "force",
            Message::new("gdpr.error.force"),
        )]));
    }
    let now = svc.now();
    let days = i64::from(svc.config().retention.attendance_days);
    let evidence_since = now - jiff::SignedDuration::from_hours(24 * days);
    let request = ErasureRequest {
        email_norm: &norm,
        force,
        evidence_since,
    };
    let outcome = svc
        .store()
        .erase_person(&request, &svc.secret().evidence_key(), now, &caller.audit("gdpr.erase"))
        .await?;
    match outcome {
        Erasure::Erased(counts) => {
            tracing::info!(?counts, "a person's data was erased");
            Ok(counts)
        }
        Erasure::NothingFound => Err(Error::invalid(
            "email",
            Message::new("gdpr.error.not_found").arg("email", email.trim()),
        )),
        Erasure::HasAccount => Err(Error::conflict(
            "email",
            Message::new("gdpr.error.account").arg("email", email.trim()),
        )),
        Erasure::EvidenceHeld { signatures, sessions } => Err(Error::conflict(
            "force",
            Message::new("gdpr.error.evidence")
                .arg("signatures", signatures)
                .arg("sessions", sessions),
        )),
        Erasure::ChainBroken { session_id } => Err(Error::conflict(
            "email",
            Message::new("gdpr.error.chain").arg("session", session_id),
        )),
    }
}
