//! Attendance: who attended a session and how long (from the events Jitsi posted, the booked
//! interval and the corrections entered), corrections, the documents that follow (CSV, PDF
//! sheet), and the signatures of each half-day, sealed in the session's evidence chain.
//!
//! Who may see and correct a session's attendance: its trainers (and account moderators),
//! managers and admins, as for the session itself; everyone else is told the session does
//! not exist. Learners never see anyone's figures: they only sign their own half-days from
//! their personal link.

use std::net::IpAddr;

use domain::Actor;
use domain::attendance::{
    Attendance, AttendanceSettings, BookedSession, ConnectionEvent, Correction, Half, HalfDay, Occupant,
    PersonAttendance, PersonKey, compute_attendance,
};
use domain::evidence::{SignatureRecord, SignedContent, Signer, SignerKind, content_digest};
use domain::localtime::TimeZoneName;
use i18n::{Locale, Message};
use jiff::Timestamp;
use jiff::civil::Date;
use store::{
    ChainCheck, CorrectionRow, JitsiEventKind, NewCorrection, Participant, ParticipantRole, PresenceEvent,
    SessionDetail, SessionStatus, SignOutcome, SignatureContent, SignatureRow,
};

use crate::error::{Error, Result};
use crate::{Caller, Service, booking};

/// Longest reason of a correction, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// Longest typed signature, in characters.
pub const MAX_TYPED_NAME_CHARS: usize = 200;

/// A session's attendance, with what it was computed from.
#[derive(Debug, Clone)]
pub struct Report {
    pub detail: SessionDetail,
    pub attendance: Attendance,
    pub corrections: Vec<CorrectionRow>,
    pub signatures: Vec<SignatureRow>,
}

impl Report {
    /// The figures of a participant (`None`: never seen and never corrected).
    pub fn person(&self, participant_id: &str) -> Option<&PersonAttendance> {
        self.attendance
            .person(&PersonKey::Participant(participant_id.to_owned()))
    }

    /// People Jitsi saw who are no participant of the session (no token, or staff joining
    /// from their account without being one).
    pub fn others(&self) -> impl Iterator<Item = &PersonAttendance> {
        self.attendance
            .people
            .iter()
            .filter(|p| !matches!(p.key, PersonKey::Participant(_)))
    }

    /// The booked minutes of the session.
    pub fn planned_minutes(&self) -> i64 {
        self.attendance.planned_seconds() / 60
    }

    /// When a participant signed a half-day.
    pub fn signature(&self, participant_id: &str, half_day: HalfDay) -> Option<&SignatureRow> {
        self.signatures.iter().find(|s| {
            s.record.signer.kind == SignerKind::Participant
                && s.record.signer.id == participant_id
                && s.record.half_day == half_day
        })
    }

    /// Attended minutes of a participant as they count (corrections included).
    pub fn attended_minutes(&self, participant_id: &str) -> i64 {
        self.person(participant_id).map_or(0, |p| p.effective_seconds() / 60)
    }

    /// Measured minutes within the booked interval.
    pub fn present_minutes(&self, participant_id: &str) -> i64 {
        self.person(participant_id)
            .map_or(0, |p| p.measured.within_booked_seconds() / 60)
    }

    /// Attended share of the booked time, in whole percent.
    pub fn rate(&self, participant_id: &str) -> i64 {
        let planned = self.attendance.planned_seconds();
        if planned <= 0 {
            return 0;
        }
        let attended = self.person(participant_id).map_or(0, |p| p.effective_seconds());
        (attended * 100 + planned / 2) / planned
    }
}

/// The rules' settings of this installation: the `[join]` grace and the `[attendance]` noon.
pub fn settings(svc: &Service) -> AttendanceSettings {
    AttendanceSettings {
        grace_minutes: u32::try_from(svc.config().join.grace.as_mins()).unwrap_or(0),
        noon: svc.config().attendance.noon,
    }
}

fn booked(detail: &SessionDetail) -> Result<BookedSession> {
    let zone = TimeZoneName::parse(&detail.session.time_zone)
        .map_err(|e| Error::Internal(format!("session {} zone: {e}", detail.session.id)))?;
    Ok(BookedSession {
        start: detail.session.starts_at,
        end: detail.session.ends_at,
        zone,
    })
}

/// A stored event as the attendance rules read it (room creations say nothing about people).
fn connection_event(e: &PresenceEvent) -> Option<ConnectionEvent> {
    let breakout = (!e.breakout_room_id.is_empty()).then(|| e.breakout_room_id.clone());
    let occupant = || Occupant {
        jid: e.occupant_jid.clone(),
        breakout_room_id: breakout.clone(),
        participant_id: e.participant_id.clone(),
        user_id: e.occupant_id.clone(),
        name: e.occupant_name.clone(),
    };
    match e.kind {
        JitsiEventKind::RoomCreated => None,
        JitsiEventKind::RoomDestroyed => Some(ConnectionEvent::RoomDestroyed {
            breakout_room_id: breakout.clone(),
            at: e.at,
        }),
        JitsiEventKind::OccupantJoined => Some(ConnectionEvent::Joined {
            occupant: occupant(),
            joined_at: e.joined_at.unwrap_or(e.at),
        }),
        JitsiEventKind::OccupantLeft => Some(ConnectionEvent::Left {
            occupant: occupant(),
            joined_at: e.joined_at,
            left_at: e.left_at.unwrap_or(e.at),
        }),
    }
}

fn domain_correction(c: &CorrectionRow) -> Correction {
    Correction {
        person: PersonKey::Participant(c.participant_id.clone()),
        half_day: c.half_day,
        minutes: c.minutes,
        reason: c.reason.clone(),
        by: c.created_by_label.clone(),
        at: c.created_at,
    }
}

/// Computes the report of a session already loaded (no permission check: callers did it).
pub(crate) async fn compute(svc: &Service, detail: SessionDetail) -> Result<Report> {
    let id = detail.session.id.clone();
    let events = svc.store().presence_events(&id).await?;
    let corrections = svc.store().corrections(&id).await?;
    let signatures = svc.store().signatures(&id).await?;
    compute_loaded(svc, detail, &events, corrections, signatures)
}

/// Computes the report of a session from its rows, read already (a course's in one batch).
pub(crate) fn compute_loaded(
    svc: &Service,
    detail: SessionDetail,
    events: &[PresenceEvent],
    corrections: Vec<CorrectionRow>,
    signatures: Vec<SignatureRow>,
) -> Result<Report> {
    let id = &detail.session.id;
    let events: Vec<ConnectionEvent> = events.iter().filter_map(connection_event).collect();
    let domain_corrections: Vec<Correction> = corrections.iter().map(domain_correction).collect();
    let attendance = compute_attendance(
        &booked(&detail)?,
        &settings(svc),
        svc.now(),
        &events,
        &domain_corrections,
    )
    .map_err(|e| Error::Internal(format!("attendance of session {id}: {e}")))?;
    Ok(Report {
        detail,
        attendance,
        corrections,
        signatures,
    })
}

/// A session's attendance, for its trainers, managers and admins (not found for others).
pub async fn report(svc: &Service, actor: &Actor, session_id: &str) -> Result<Report> {
    let (detail, _) = booking::view(svc, actor, session_id).await?;
    compute(svc, detail).await
}

// ---- Corrections ----

/// A correction as a form or the API sends it.
#[derive(Debug, Clone, Default)]
pub struct CorrectionInput {
    pub participant_id: String,
    /// `YYYY-MM-DD`, in the session's zone.
    pub date: String,
    /// `morning` or `afternoon`.
    pub half: String,
    pub minutes: Option<i64>,
    pub reason: String,
}

/// Parses `morning` / `afternoon` of a date.
pub fn parse_half_day(date: &str, half: &str) -> Option<HalfDay> {
    let date: Date = date.trim().parse().ok()?;
    match half.trim() {
        "morning" => Some(HalfDay::morning(date)),
        "afternoon" => Some(HalfDay::afternoon(date)),
        _ => None,
    }
}

/// `morning` / `afternoon`.
pub fn half_name(half: Half) -> &'static str {
    match half {
        Half::Morning => "morning",
        Half::Afternoon => "afternoon",
    }
}

/// A trainer of the session, a manager or an admin states that a participant attended a
/// half-day for some minutes, with a reason. Kept beside the measured figure and audited.
pub async fn correct(
    svc: &Service,
    caller: &Caller,
    session_id: &str,
    input: &CorrectionInput,
) -> Result<CorrectionRow> {
    let (detail, _) = booking::view(svc, &caller.actor, session_id).await?;
    if detail.session.status == SessionStatus::Cancelled {
        return Err(Error::conflict("", Message::new("booking.error.cancelled")));
    }
    let planned = compute_attendance(&booked(&detail)?, &settings(svc), svc.now(), &[], &[])
        .map_err(|e| Error::Internal(format!("attendance of session {session_id}: {e}")))?
        .planned;
    let mut problems = Vec::new();
    let participant = detail.participants.iter().find(|p| p.id == input.participant_id);
    if participant.is_none() {
        problems.push(crate::Problem::new(
            "participant_id",
            Message::new("attendance.error.participant"),
        ));
    }
    let half_day = parse_half_day(&input.date, &input.half);
    let planned_half = half_day.and_then(|h| planned.iter().find(|p| p.half_day == h));
    if planned_half.is_none() {
        problems.push(crate::Problem::new(
            "half_day",
            Message::new("attendance.error.half_day"),
        ));
    }
    let max = planned_half.map_or(0, |p| p.seconds / 60);
    let minutes = match input.minutes {
        Some(m) if (0..=max).contains(&m) => Some(m),
        _ => {
            if planned_half.is_some() {
                problems.push(crate::Problem::new(
                    "minutes",
                    Message::new("attendance.error.minutes").arg("max", max),
                ));
            } else if input.minutes.is_none() {
                problems.push(crate::Problem::new(
                    "minutes",
                    Message::new("attendance.error.minutes_missing"),
                ));
            }
            None
        }
    };
    let reason = input.reason.trim();
    if reason.is_empty() {
        problems.push(crate::Problem::new("reason", Message::new("attendance.error.reason")));
    } else if reason.chars().count() > MAX_REASON_CHARS {
        problems.push(crate::Problem::new(
            "reason",
            Message::new("attendance.error.reason_long").arg("max", MAX_REASON_CHARS),
        ));
    }
    let (Some(participant), Some(half_day), Some(minutes), true) =
        (participant, half_day, minutes, problems.is_empty())
    else {
        return Err(Error::Invalid(problems));
    };
    let new = NewCorrection {
        session_id: session_id.to_owned(),
        participant_id: participant.id.clone(),
        half_day,
        minutes: u32::try_from(minutes).unwrap_or(0),
        reason: reason.to_owned(),
        created_by: (!caller.is_command_line()).then(|| caller.actor.user_id.clone()),
        created_by_label: caller.email.clone(),
    };
    Ok(svc
        .store()
        .add_correction(&new, svc.now(), &caller.audit("attendance.correct"))
        .await?)
}

// ---- Exports ----

pub(crate) fn doc_half(half: Half) -> documents::HalfDay {
    match half {
        Half::Morning => documents::HalfDay::Morning,
        Half::Afternoon => documents::HalfDay::Afternoon,
    }
}

pub(crate) fn organisation(svc: &Service) -> documents::Organisation {
    let o = &svc.config().organisation;
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    documents::Organisation {
        name: o.name.clone(),
        address: opt(&o.address),
        siret: opt(&o.siret),
        nda: opt(&o.nda),
    }
}

pub(crate) fn minutes(seconds: i64) -> u32 {
    u32::try_from(seconds.max(0) / 60).unwrap_or(u32::MAX)
}

pub(crate) fn correction_lines(
    report: &Report,
    participant_id: &str,
    half_day: HalfDay,
    locale: Locale,
) -> Vec<String> {
    report
        .corrections
        .iter()
        .filter(|c| c.participant_id == participant_id && c.half_day == half_day)
        .map(|c| {
            Message::new("attendance.correction.line")
                .arg("minutes", c.minutes)
                .arg("reason", &c.reason)
                .arg("by", &c.created_by_label)
                .render(locale)
        })
        .collect()
}

/// The learners and guests of a session (the people whose attendance is reported).
pub fn learners(detail: &SessionDetail) -> impl Iterator<Item = &Participant> {
    detail
        .participants
        .iter()
        .filter(|p| matches!(p.role, ParticipantRole::Learner | ParticipantRole::Guest))
}

/// The trainers of a session (who sign each half-day too).
pub fn trainers(detail: &SessionDetail) -> impl Iterator<Item = &Participant> {
    detail.participants.iter().filter(|p| p.role.is_moderator())
}

/// The CSV rows of a report: one per learner and half-day (`only`: that participant's alone).
pub(crate) fn csv_rows(report: &Report, locale: Locale, only: Option<&str>) -> Vec<documents::CsvRow> {
    let mut rows = Vec::new();
    for p in learners(&report.detail).filter(|p| only.is_none_or(|id| p.id == id)) {
        for planned in &report.attendance.planned {
            let h = report.person(&p.id).and_then(|a| a.half_day(planned.half_day));
            rows.push(documents::CsvRow {
                learner: p.name.clone(),
                email: p.email.clone(),
                date: planned.half_day.date,
                half_day: doc_half(planned.half_day.half),
                planned_minutes: minutes(planned.seconds),
                present_minutes: h.map_or(0, |h| minutes(h.effective_seconds())),
                first_join: h.and_then(|h| h.first_seen),
                last_leave: h.and_then(|h| h.last_seen),
                signed_at: report.signature(&p.id, planned.half_day).map(|s| s.record.signed_at),
                corrections: correction_lines(report, &p.id, planned.half_day, locale),
            });
        }
    }
    rows
}

/// A session's attendance as CSV (UTF-8 with BOM, `;`), one row per learner and half-day.
pub async fn csv(svc: &Service, actor: &Actor, session_id: &str, locale: Locale) -> Result<Vec<u8>> {
    let report = report(svc, actor, session_id).await?;
    let zone =
        jiff::tz::TimeZone::get(&report.detail.session.time_zone).map_err(|e| Error::Internal(format!("zone: {e}")))?;
    Ok(documents::attendance_csv(&documents::CsvInput {
        locale,
        time_zone: zone,
        rows: csv_rows(&report, locale, None),
    }))
}

/// A person's line on the sheet of one day of the session.
fn sheet_attendee(report: &Report, p: &Participant, locale: Locale, day: Date) -> documents::Attendee {
    documents::Attendee {
        name: p.name.clone(),
        attendance: report
            .attendance
            .planned
            .iter()
            .filter(|planned| planned.half_day.date == day)
            .map(|planned| {
                let h = report.person(&p.id).and_then(|a| a.half_day(planned.half_day));
                documents::Attendance {
                    planned_minutes: minutes(planned.seconds),
                    present_minutes: h.map_or(0, |h| minutes(h.effective_seconds())),
                    signature: report.signature(&p.id, planned.half_day).map(|s| documents::Signature {
                        kind: match &s.content {
                            SignatureContent::Typed(name) => documents::SignatureKind::Typed(name.clone()),
                            SignatureContent::Png(png) => documents::SignatureKind::Drawn(png.clone()),
                        },
                        signed_at: s.record.signed_at,
                    }),
                    corrections: correction_lines(report, &p.id, planned.half_day, locale),
                }
            })
            .collect(),
    }
}

/// The sheet's part of one session: one block per calendar day it touches in its zone (a
/// session over several days, "day 2 of 3" in its title), each with that day's half-days
/// (morning, afternoon or both), people and the session's seal (`seal`: the stored one, none
/// before the first signature). `only`: that participant's rows alone (a person's excerpt),
/// with the same seal.
pub(crate) fn sheet_sessions(
    svc: &Service,
    report: &Report,
    seal: Option<domain::evidence::Seal>,
    locale: Locale,
    only: Option<&str>,
) -> Result<Vec<documents::SheetSession>> {
    let shown = |p: &&Participant| only.is_none_or(|id| p.id == id);
    let zone =
        jiff::tz::TimeZone::get(&report.detail.session.time_zone).map_err(|e| Error::Internal(format!("zone: {e}")))?;
    let s = &report.detail.session;
    let seal = seal.unwrap_or_else(|| domain::evidence::genesis(&svc.secret().evidence_key(), &s.id));
    let days: std::collections::BTreeSet<Date> = report.attendance.planned.iter().map(|p| p.half_day.date).collect();
    let mut out = Vec::with_capacity(days.len());
    for (n, day) in days.iter().enumerate() {
        let mut parts = Vec::new();
        for planned in report.attendance.planned.iter().filter(|p| p.half_day.date == *day) {
            let (from, until) = planned
                .half_day
                .bounds(&zone, svc.config().attendance.noon)
                .map_err(|e| Error::Internal(format!("half-day bounds: {e}")))?;
            parts.push(documents::Part {
                half_day: doc_half(planned.half_day.half),
                start: from.max(s.starts_at),
                end: until.min(s.ends_at),
            });
        }
        let title = if days.len() > 1 {
            locale.tf(
                "documents.sheet.session_day",
                &[("title", &s.title), ("n", &(n + 1)), ("total", &days.len())],
            )
        } else {
            s.title.clone()
        };
        out.push(documents::SheetSession {
            id: s.id.clone(),
            title,
            time_zone: s.time_zone.clone(),
            parts,
            trainers: trainers(&report.detail)
                .filter(shown)
                .map(|p| sheet_attendee(report, p, locale, *day))
                .collect(),
            learners: learners(&report.detail)
                .filter(shown)
                .map(|p| sheet_attendee(report, p, locale, *day))
                .collect(),
            seal: documents::Seal {
                digest: hex(seal.head()),
                records: seal.count() as u64,
            },
        });
    }
    Ok(out)
}

/// Renders a sheet off the async runtime.
pub(crate) async fn render_sheet(input: documents::SheetInput) -> Result<Vec<u8>> {
    tokio::task::spawn_blocking(move || documents::attendance_sheet(&input))
        .await
        .map_err(|e| Error::Internal(format!("sheet task: {e}")))?
        .map_err(|e| Error::Internal(format!("sheet: {e}")))
}

/// The PDF attendance sheet of a session: its half-days (a morning, an afternoon or both) of
/// each date it touches.
pub async fn sheet_pdf(svc: &Service, actor: &Actor, session_id: &str, locale: Locale) -> Result<Vec<u8>> {
    let report = report(svc, actor, session_id).await?;
    session_sheet(svc, &report, locale, None).await
}

/// The sheet of a session already loaded and checked: everyone's rows, or `only` that
/// participant's (an excerpt, as a person's data export gives it).
pub(crate) async fn session_sheet(
    svc: &Service,
    report: &Report,
    locale: Locale,
    only: Option<&str>,
) -> Result<Vec<u8>> {
    let seal = svc.store().signature_seal(&report.detail.session.id).await?;
    let sessions = sheet_sessions(svc, report, seal, locale, only)?;
    let s = &report.detail.session;
    let course_title = match &s.course_id {
        Some(course) => svc
            .store()
            .course(course)
            .await?
            .map(|c| c.course.title)
            .unwrap_or_else(|| s.title.clone()),
        None => s.title.clone(),
    };
    render_sheet(documents::SheetInput {
        locale,
        organisation: organisation(svc),
        course_title,
        sessions,
        generated_at: svc.now(),
    })
    .await
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---- Signatures ----

/// What a person signs with.
#[derive(Debug, Clone)]
pub enum SignWith {
    Typed(String),
    Png(Vec<u8>),
}

/// Where a signature comes from (server-side facts, recorded in the chain).
#[derive(Debug, Clone)]
pub struct SignContext {
    pub client_address: IpAddr,
    pub user_agent: String,
}

/// The half-days a participant may sign now, and those signed already.
#[derive(Debug, Clone, Default)]
pub struct SignState {
    /// Open for signing now (the window is open, they attended or a correction says so).
    pub open: Vec<HalfDay>,
    pub signed: Vec<(HalfDay, Timestamp)>,
    /// Whether the signing window is open at all.
    pub window_open: bool,
}

fn sign_window_open(svc: &Service, detail: &SessionDetail) -> bool {
    signing_open(svc, &detail.session)
}

/// Whether the attendance sheet of `session` takes signatures now: from its start until
/// `[attendance] sign_after_minutes` after its end, unless it was cancelled. (What a person
/// may sign within it depends on their presence: [`sign_state`].)
pub fn signing_open(svc: &Service, session: &store::Session) -> bool {
    let now = svc.now();
    let until = session
        .ends_at
        .saturating_add(jiff::SignedDuration::from_mins(i64::from(
            svc.config().attendance.sign_after_minutes,
        )))
        .unwrap_or(session.ends_at);
    session.status != SessionStatus::Cancelled && now >= session.starts_at && now <= until
}

/// What `participant` may sign now in `report`.
pub fn sign_state(svc: &Service, report: &Report, participant_id: &str) -> SignState {
    let window_open = sign_window_open(svc, &report.detail);
    let person = report.person(participant_id);
    let mut state = SignState {
        window_open,
        ..Default::default()
    };
    for planned in &report.attendance.planned {
        if let Some(s) = report.signature(participant_id, planned.half_day) {
            state.signed.push((planned.half_day, s.record.signed_at));
            continue;
        }
        let attended = person
            .and_then(|p| p.half_day(planned.half_day))
            .is_some_and(|h| match &h.correction {
                Some(c) => c.minutes > 0,
                None => h.measured.present_seconds > 0,
            });
        if window_open && attended {
            state.open.push(planned.half_day);
        }
    }
    state
}

fn check_signature(content: &SignWith) -> Result<()> {
    match content {
        SignWith::Typed(name) => {
            let name = name.trim();
            if name.is_empty() {
                return Err(Error::invalid("name", Message::new("attendance.error.typed_name")));
            }
            if name.chars().count() > MAX_TYPED_NAME_CHARS {
                return Err(Error::invalid(
                    "name",
                    Message::new("attendance.error.typed_name_long").arg("max", MAX_TYPED_NAME_CHARS),
                ));
            }
            Ok(())
        }
        SignWith::Png(png) => documents::check_signature(png)
            .map(|_| ())
            .map_err(|_| Error::invalid("signature", Message::new("attendance.error.drawing"))),
    }
}

async fn sign(
    svc: &Service,
    report: &Report,
    participant: &Participant,
    half_day: HalfDay,
    content: SignWith,
    context: &SignContext,
    audit: store::AuditEntry,
) -> Result<Timestamp> {
    check_signature(&content)?;
    let state = sign_state(svc, report, &participant.id);
    if state.signed.iter().any(|(h, _)| *h == half_day) {
        return Err(Error::conflict(
            "half_day",
            Message::new("attendance.error.already_signed"),
        ));
    }
    if !state.window_open {
        return Err(Error::conflict("", Message::new("attendance.error.sign_closed")));
    }
    if !state.open.contains(&half_day) {
        return Err(Error::conflict(
            "half_day",
            Message::new("attendance.error.not_present"),
        ));
    }
    let session_id = &report.detail.session.id;
    let (stored, digest) = match &content {
        SignWith::Typed(name) => {
            let name = name.trim().to_owned();
            let digest = content_digest(session_id, half_day, SignedContent::TypedName(&name));
            (SignatureContent::Typed(name), digest)
        }
        SignWith::Png(png) => (
            SignatureContent::Png(png.clone()),
            content_digest(session_id, half_day, SignedContent::Png(png)),
        ),
    };
    let now = svc.now();
    let record = SignatureRecord {
        signer: Signer {
            kind: SignerKind::Participant,
            id: participant.id.clone(),
            display_name: participant.name.clone(),
        },
        half_day,
        signed_at: now,
        client_address: context.client_address,
        user_agent: context.user_agent.chars().take(500).collect(),
        content_sha256: digest,
    };
    match svc
        .store()
        .append_signature(&svc.secret().evidence_key(), session_id, &record, &stored, now, &audit)
        .await?
    {
        SignOutcome::Signed(_) => Ok(now),
        SignOutcome::AlreadySigned => Err(Error::conflict(
            "half_day",
            Message::new("attendance.error.already_signed"),
        )),
    }
}

/// The report of the session a personal link names, for its participant's own signing (they
/// see only their own state).
pub async fn link_report(svc: &Service, key: &str) -> Result<(Report, Participant)> {
    let target = crate::join::link_target(svc, key).await?;
    let detail = svc.store().session(&target.session.id).await?.ok_or(Error::NotFound)?;
    let participant = target.participant.clone();
    Ok((compute(svc, detail).await?, participant))
}

/// A participant signs a half-day from their personal link.
pub async fn sign_from_link(
    svc: &Service,
    key: &str,
    half_day: Option<HalfDay>,
    content: SignWith,
    context: &SignContext,
) -> Result<Timestamp> {
    let (report, participant) = link_report(svc, key).await?;
    let Some(half_day) = half_day else {
        return Err(Error::invalid("half_day", Message::new("attendance.error.half_day")));
    };
    let audit = store::AuditEntry::new(
        "attendance.sign",
        None,
        &participant.email,
        Some(&context.client_address.to_string()),
    );
    sign(svc, &report, &participant, half_day, content, context, audit).await
}

/// A trainer of the session signs a half-day from their account.
pub async fn sign_as_trainer(
    svc: &Service,
    caller: &Caller,
    session_id: &str,
    half_day: Option<HalfDay>,
    content: SignWith,
    context: &SignContext,
) -> Result<Timestamp> {
    let report = report(svc, &caller.actor, session_id).await?;
    let Some(participant) = trainers(&report.detail)
        .find(|p| p.user_id.as_deref() == Some(caller.actor.user_id.as_str()))
        .cloned()
    else {
        return Err(Error::Forbidden);
    };
    let Some(half_day) = half_day else {
        return Err(Error::invalid("half_day", Message::new("attendance.error.half_day")));
    };
    sign(
        svc,
        &report,
        &participant,
        half_day,
        content,
        context,
        caller.audit("attendance.sign"),
    )
    .await
}

/// The trainer's own participant in the report, if the actor teaches the session.
pub fn own_trainer<'a>(report: &'a Report, actor: &Actor) -> Option<&'a Participant> {
    trainers(&report.detail).find(|p| p.user_id.as_deref() == Some(actor.user_id.as_str()))
}

/// Reminds, once, each learner or guest who attended a session that has ended and has not
/// signed every half-day they may sign, while the sheet still takes signatures: the message
/// (through the outbox) links to their signing page and is given up when the sheet closes.
/// Safe to run from several passes and instances at once. Returns how many were written.
pub async fn queue_sign_reminders(svc: &Service) -> Result<usize> {
    let now = svc.now();
    let window = jiff::SignedDuration::from_mins(i64::from(svc.config().attendance.sign_after_minutes));
    let sessions = svc
        .store()
        .list_sessions(&store::SessionFilter {
            from: Some(now.checked_sub(window).unwrap_or(now)),
            ended_by: Some(now),
            limit: 500,
            ..Default::default()
        })
        .await?;
    let mut written = 0;
    for summary in sessions {
        let id = &summary.session.id;
        let reminded = svc.store().sign_reminded(id).await?;
        let Some(detail) = svc.store().session(id).await? else {
            continue;
        };
        if learners(&detail).all(|p| reminded.contains(&p.id)) {
            continue;
        }
        let report = compute(svc, detail).await?;
        let due: Vec<String> = learners(&report.detail)
            .filter(|p| !reminded.contains(&p.id) && !sign_state(svc, &report, &p.id).open.is_empty())
            .map(|p| p.id.clone())
            .collect();
        let until = summary
            .session
            .ends_at
            .checked_add(window)
            .unwrap_or(summary.session.ends_at);
        written += svc.store().enqueue_sign_reminders(id, &due, now, until).await?;
    }
    Ok(written)
}

/// Recomputes a session's evidence chain (the command line and those who may see the session).
pub async fn verify(svc: &Service, actor: &Actor, session_id: &str) -> Result<ChainCheck> {
    booking::view(svc, actor, session_id).await?;
    Ok(svc
        .store()
        .verify_signatures(&svc.secret().evidence_key(), session_id)
        .await?)
}
