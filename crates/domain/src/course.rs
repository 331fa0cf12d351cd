//! Courses (formations): what a course request must satisfy before it is stored.
//!
//! A course has a title, an optional reference code, a description, a default duration for its
//! sessions, default trainers (accounts, by email) and enrolled learners (people of the address
//! book), who become the participants of its new sessions by default.

use std::collections::BTreeSet;

use jiff::SignedDuration;

use crate::booking::{BookingError, BookingLimits, Person, PersonInput, parse_duration, parse_person, parse_title};
use crate::user::Email;

/// Longest reference code.
pub const MAX_CODE_CHARS: usize = 40;
/// Longest description.
pub const MAX_DESCRIPTION_CHARS: usize = 5000;

/// A course as typed (form or API).
#[derive(Debug, Clone, Default)]
pub struct CourseRequest {
    pub title: String,
    /// Empty: no code.
    pub code: String,
    pub description: String,
    pub default_duration_minutes: i64,
    /// Emails of trainer accounts.
    pub trainers: Vec<String>,
    pub learners: Vec<PersonInput>,
    /// The nature of the action its certificates state (an [`ActionNature`] name); empty:
    /// an action de formation.
    pub action_nature: String,
}

/// The request, valid.
#[derive(Debug, Clone)]
pub struct CoursePlan {
    pub title: String,
    pub code: Option<String>,
    pub description: String,
    pub default_duration: SignedDuration,
    pub trainers: Vec<Email>,
    pub learners: Vec<Person>,
    pub action_nature: ActionNature,
}

/// The nature of the action, as the ministry's model of the certificate of completion
/// (certificat de réalisation) lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ActionNature {
    /// Action de formation (the default).
    #[default]
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

    /// The name forms, the API and the database use.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionNature::Training => "training",
            ActionNature::SkillsAssessment => "skills_assessment",
            ActionNature::Vae => "vae",
            ActionNature::Apprenticeship => "apprenticeship",
        }
    }

    pub fn parse(s: &str) -> Option<ActionNature> {
        ActionNature::ALL.into_iter().find(|n| n.as_str() == s)
    }
}

/// Why a course request was refused. [`CourseError::field`] tells which input it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CourseError {
    /// The title, the duration, a person, or a person given twice (the session rules).
    #[error("{0}")]
    Booking(BookingError),
    #[error("the code is longer than {max} characters")]
    CodeTooLong { max: usize },
    #[error("the code may contain only letters, digits, and - _ . /")]
    CodeInvalid,
    #[error("the description is longer than {max} characters")]
    DescriptionTooLong { max: usize },
    #[error("unknown nature of action")]
    ActionNature,
}

impl CourseError {
    /// `title`, `code`, `description`, `duration`, `trainers` or `learners`.
    pub fn field(&self) -> &'static str {
        match self {
            CourseError::Booking(BookingError::DuplicatePerson { .. }) => "learners",
            CourseError::Booking(e) => e.field(),
            CourseError::CodeTooLong { .. } | CourseError::CodeInvalid => "code",
            CourseError::DescriptionTooLong { .. } => "description",
            CourseError::ActionNature => "action_nature",
        }
    }
}

/// A reference code: trimmed; empty means none.
pub fn parse_code(input: &str) -> Result<Option<String>, CourseError> {
    let code = input.trim();
    if code.is_empty() {
        return Ok(None);
    }
    if code.chars().count() > MAX_CODE_CHARS {
        return Err(CourseError::CodeTooLong { max: MAX_CODE_CHARS });
    }
    if !code
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
    {
        return Err(CourseError::CodeInvalid);
    }
    Ok(Some(code.to_owned()))
}

/// Validates a whole course request; every problem is returned.
pub fn plan_course(request: &CourseRequest, limits: &BookingLimits) -> Result<CoursePlan, Vec<CourseError>> {
    let mut errors = Vec::new();
    let title = parse_title(&request.title, limits.max_title_chars)
        .map_err(|e| errors.push(CourseError::Booking(e)))
        .ok();
    let code = parse_code(&request.code).map_err(|e| errors.push(e)).ok();
    let description = request.description.trim();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        errors.push(CourseError::DescriptionTooLong {
            max: MAX_DESCRIPTION_CHARS,
        });
    }
    let description: String = description
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect();
    let duration = parse_duration(request.default_duration_minutes, limits)
        .map_err(|e| errors.push(CourseError::Booking(e)))
        .ok();
    let mut seen = BTreeSet::new();
    let mut trainers = Vec::new();
    for email in &request.trainers {
        match Email::parse(email) {
            Ok(e) => {
                if seen.insert(e.normalized()) {
                    trainers.push(e);
                }
            }
            Err(error) => errors.push(CourseError::Booking(BookingError::Person {
                field: "trainers",
                error,
            })),
        }
    }
    let mut learners = Vec::new();
    let mut enrolled = BTreeSet::new();
    for input in &request.learners {
        match parse_person(input, "learners") {
            // The same learner twice is merged: enrolment is a set.
            Ok(p) => {
                if enrolled.insert(p.email.normalized()) {
                    learners.push(p);
                }
            }
            Err(e) => errors.push(CourseError::Booking(e)),
        }
    }
    if learners.len() > limits.max_participants {
        errors.push(CourseError::Booking(BookingError::TooManyParticipants {
            count: learners.len(),
            max: limits.max_participants,
        }));
    }
    let action_nature = match request.action_nature.trim() {
        "" => Some(ActionNature::Training),
        name => ActionNature::parse(name),
    };
    if action_nature.is_none() {
        errors.push(CourseError::ActionNature);
    }
    match (title, code, duration, action_nature, errors.is_empty()) {
        (Some(title), Some(code), Some(default_duration), Some(action_nature), true) => Ok(CoursePlan {
            title,
            code,
            description,
            default_duration,
            trainers,
            learners,
            action_nature,
        }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> CourseRequest {
        CourseRequest {
            title: "Excel avancé 📊".into(),
            code: " XL-201 ".into(),
            description: "Deux jours.\nApportez un ordinateur.".into(),
            default_duration_minutes: 180,
            trainers: vec!["theo@example.org".into(), "THEO@example.org".into()],
            learners: vec![
                PersonInput {
                    name: "Léa".into(),
                    email: "lea@example.org".into(),
                    ..Default::default()
                },
                PersonInput {
                    name: String::new(),
                    email: "Lea@Example.org".into(),
                    ..Default::default()
                },
            ],
            action_nature: String::new(),
        }
    }

    #[test]
    fn a_course_is_planned_with_duplicates_merged() {
        let plan = plan_course(&request(), &BookingLimits::default()).unwrap();
        assert_eq!(plan.title, "Excel avancé 📊");
        assert_eq!(plan.code.as_deref(), Some("XL-201"));
        assert_eq!(plan.default_duration, SignedDuration::from_mins(180));
        assert_eq!(plan.trainers.len(), 1);
        assert_eq!(plan.learners.len(), 1);
        let mut r = request();
        r.code = "  ".into();
        assert_eq!(plan_course(&r, &BookingLimits::default()).unwrap().code, None);
        assert_eq!(plan.action_nature, ActionNature::Training, "by default");
        r.action_nature = "vae".into();
        assert_eq!(
            plan_course(&r, &BookingLimits::default()).unwrap().action_nature,
            ActionNature::Vae
        );
        r.action_nature = "bilan".into();
        let errors = plan_course(&r, &BookingLimits::default()).unwrap_err();
        assert_eq!(errors, vec![CourseError::ActionNature]);
        assert_eq!(errors[0].field(), "action_nature");
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let mut r = request();
        r.title = " ".into();
        r.code = "a b".into();
        r.description = "x".repeat(MAX_DESCRIPTION_CHARS + 1);
        r.default_duration_minutes = 5;
        r.learners.push(PersonInput {
            name: "X".into(),
            email: "not-an-email".into(),
            ..Default::default()
        });
        let errors = plan_course(&r, &BookingLimits::default()).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(CourseError::field).collect();
        assert_eq!(fields, ["title", "code", "description", "duration", "learners"]);
        // A default duration too large for a duration is refused like any other.
        for minutes in [i64::MAX, i64::MIN, 153_722_867_280_912_931] {
            let mut r = request();
            r.default_duration_minutes = minutes;
            let errors = plan_course(&r, &BookingLimits::default()).unwrap_err();
            assert_eq!(errors.iter().map(CourseError::field).collect::<Vec<_>>(), ["duration"]);
        }
        assert_eq!(
            parse_code(&"C".repeat(41)),
            Err(CourseError::CodeTooLong { max: MAX_CODE_CHARS })
        );
    }
}
