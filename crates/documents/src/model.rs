//! What the documents are made from: plain data, filled by the caller from the database.
//!
//! Names, titles and free text arrive as they should print. Instants are UTC timestamps with
//! the session's IANA zone; the documents format them (in French or English) in that zone.

use i18n::Locale;
use jiff::Timestamp;
use jiff::civil::Date;

/// The training organisation, as it prints on every document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Organisation {
    pub name: String,
    /// Postal address; each `\n` starts a line.
    pub address: Option<String>,
    /// SIRET number (14 digits), as it should print.
    pub siret: Option<String>,
    /// Numéro de déclaration d'activité (NDA) of the training organisation.
    pub nda: Option<String>,
}

/// Morning or afternoon: the unit a French attendance sheet is signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HalfDay {
    Morning,
    Afternoon,
}

impl HalfDay {
    /// `Matin` / `Morning`.
    pub fn label(self, locale: Locale) -> &'static str {
        match self {
            HalfDay::Morning => locale.t("documents.half_day.morning"),
            HalfDay::Afternoon => locale.t("documents.half_day.afternoon"),
        }
    }
}

/// An attendance sheet: one session, or every session of a course over a period (each session
/// starts a new page and ends with its own seal).
#[derive(Debug, Clone)]
pub struct SheetInput {
    pub locale: Locale,
    pub organisation: Organisation,
    pub course_title: String,
    pub sessions: Vec<SheetSession>,
    /// When the document was produced (printed in the footer, in the first session's zone).
    pub generated_at: Timestamp,
}

/// One session (séance) of the sheet.
#[derive(Debug, Clone)]
pub struct SheetSession {
    /// The session's identifier, as `dialogue attendance verify` takes it.
    pub id: String,
    pub title: String,
    /// IANA zone the session was booked in (`Europe/Paris`).
    pub time_zone: String,
    /// The session's half-days in order: a morning, an afternoon, or both.
    pub parts: Vec<Part>,
    /// Trainers sign each half-day too.
    pub trainers: Vec<Attendee>,
    pub learners: Vec<Attendee>,
    /// The seal of the session's evidence chain.
    pub seal: Seal,
}

/// A half-day of a session and its hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    pub half_day: HalfDay,
    pub start: Timestamp,
    pub end: Timestamp,
}

/// A person on the sheet, with one entry per part of the session (same order as
/// [`SheetSession::parts`]).
#[derive(Debug, Clone)]
pub struct Attendee {
    pub name: String,
    pub attendance: Vec<Attendance>,
}

/// A person's attendance for one half-day.
#[derive(Debug, Clone, Default)]
pub struct Attendance {
    pub planned_minutes: u32,
    /// Minutes present in the room (0: absent).
    pub present_minutes: u32,
    pub signature: Option<Signature>,
    /// Manual corrections of this attendance, as they should print (who, when, why).
    pub corrections: Vec<String>,
}

/// A signature and when it was given.
#[derive(Debug, Clone)]
pub struct Signature {
    pub kind: SignatureKind,
    pub signed_at: Timestamp,
}

#[derive(Debug, Clone)]
pub enum SignatureKind {
    /// A PNG drawn on a canvas (checked as [`crate::check_signature`] does).
    Drawn(Vec<u8>),
    /// The person's full name, typed as their signature.
    Typed(String),
}

/// The seal of a session's evidence chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    /// Hex digest of the last record of the chain.
    pub digest: String,
    /// Number of records the chain holds.
    pub records: u64,
}

/// A certificate of completion (certificat de réalisation) for one learner and course, with
/// the fields of the French Ministry of Labour's model.
#[derive(Debug, Clone)]
pub struct CertificateInput {
    pub locale: Locale,
    pub organisation: Organisation,
    /// The person who signs for the organisation (its legal representative or their delegate).
    pub signatory: Signatory,
    pub learner: String,
    /// The learner's employer, when known.
    pub company: Option<String>,
    pub course_title: String,
    pub nature: ActionNature,
    pub first_day: Date,
    pub last_day: Date,
    /// Time actually attended (durée réalisée), in minutes.
    pub completed_minutes: u32,
    /// Where the certificate is issued (`Fait à`).
    pub place: String,
    pub issued_on: Date,
}

/// Who signs a certificate for the organisation.
#[derive(Debug, Clone)]
pub struct Signatory {
    pub name: String,
    /// Their position (`Directrice`, `Gérant`…).
    pub role: String,
    /// Their drawn signature, if there is one to print (PNG).
    pub signature: Option<Vec<u8>>,
}

/// Nature of the action, as the ministry's model lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionNature {
    /// Action de formation.
    Training,
    /// Bilan de compétences.
    SkillsAssessment,
    /// Action de validation des acquis de l'expérience (VAE).
    Vae,
    /// Action de formation par apprentissage.
    Apprenticeship,
}

impl ActionNature {
    pub const ALL: [ActionNature; 4] = [
        ActionNature::Training,
        ActionNature::SkillsAssessment,
        ActionNature::Vae,
        ActionNature::Apprenticeship,
    ];

    pub fn label(self, locale: Locale) -> &'static str {
        locale.t(match self {
            ActionNature::Training => "documents.certificate.nature.training",
            ActionNature::SkillsAssessment => "documents.certificate.nature.skills_assessment",
            ActionNature::Vae => "documents.certificate.nature.vae",
            ActionNature::Apprenticeship => "documents.certificate.nature.apprenticeship",
        })
    }
}

/// An attendance export: one row per learner and half-day.
#[derive(Debug, Clone)]
pub struct CsvInput {
    pub locale: Locale,
    /// The zone the times are written in (named in the column headers).
    pub time_zone: jiff::tz::TimeZone,
    pub rows: Vec<CsvRow>,
}

#[derive(Debug, Clone)]
pub struct CsvRow {
    pub learner: String,
    pub email: String,
    pub date: Date,
    pub half_day: HalfDay,
    pub planned_minutes: u32,
    pub present_minutes: u32,
    pub first_join: Option<Timestamp>,
    pub last_leave: Option<Timestamp>,
    pub signed_at: Option<Timestamp>,
    pub corrections: Vec<String>,
}
