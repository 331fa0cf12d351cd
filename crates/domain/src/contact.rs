//! The address book: people without an account (learners, guests, external moderators).
//!
//! A contact has a name (the family name, or the whole name when it was never split), an
//! optional first name, one email address (unique, compared case-insensitively), an
//! organisation, an optional language and time zone (what their mails and pages use; unset:
//! the session's zone and the default language), and notes for the staff.

use crate::Locale;
use crate::user::{DisplayName, Email, UserInputError, parse_locale, parse_time_zone};

/// Longest organisation name.
pub const MAX_COMPANY_CHARS: usize = 200;
/// Longest notes.
pub const MAX_NOTES_CHARS: usize = 5000;

/// A contact as typed (form or API). Empty strings are "not set".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactRequest {
    pub name: String,
    pub first_name: String,
    pub email: String,
    pub company: String,
    pub locale: String,
    pub time_zone: String,
    pub notes: String,
}

/// A valid contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactPlan {
    pub name: DisplayName,
    /// Empty when unknown.
    pub first_name: String,
    pub email: Email,
    pub company: String,
    pub locale: Option<Locale>,
    /// An IANA name, canonical spelling.
    pub time_zone: Option<String>,
    pub notes: String,
}

/// Why a contact was refused; [`ContactError::field`] names the input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    #[error("{field}: {error}")]
    Input { field: &'static str, error: UserInputError },
    #[error("{field} is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
}

impl ContactError {
    /// `name`, `first_name`, `email`, `company`, `locale`, `time_zone` or `notes`.
    pub fn field(&self) -> &'static str {
        match self {
            ContactError::Input { field, .. } | ContactError::TooLong { field, .. } => field,
        }
    }
}

/// Single-line text: trimmed, at most `max` characters, control characters refused.
fn line(input: &str, field: &'static str, max: usize) -> Result<String, ContactError> {
    let s = input.trim();
    if s.chars().count() > max {
        return Err(ContactError::TooLong { field, max });
    }
    if s.chars().any(char::is_control) {
        return Err(ContactError::Input {
            field,
            error: UserInputError::NameControl,
        });
    }
    Ok(s.to_owned())
}

/// Validates a whole contact; every problem is returned.
pub fn plan_contact(request: &ContactRequest) -> Result<ContactPlan, Vec<ContactError>> {
    let mut errors = Vec::new();
    let name = DisplayName::parse(&request.name)
        .map_err(|error| errors.push(ContactError::Input { field: "name", error }))
        .ok();
    let first_name = line(&request.first_name, "first_name", DisplayName::MAX_CHARS)
        .map_err(|e| errors.push(e))
        .ok();
    let email = Email::parse(&request.email)
        .map_err(|error| errors.push(ContactError::Input { field: "email", error }))
        .ok();
    let company = line(&request.company, "company", MAX_COMPANY_CHARS)
        .map_err(|e| errors.push(e))
        .ok();
    let locale = match request.locale.trim() {
        "" => Some(None),
        l => parse_locale(l)
            .map(Some)
            .map_err(|error| errors.push(ContactError::Input { field: "locale", error }))
            .ok(),
    };
    let time_zone = match request.time_zone.trim() {
        "" => Some(None),
        z => parse_time_zone(z)
            .map(Some)
            .map_err(|error| {
                errors.push(ContactError::Input {
                    field: "time_zone",
                    error,
                })
            })
            .ok(),
    };
    let notes = request.notes.trim();
    if notes.chars().count() > MAX_NOTES_CHARS {
        errors.push(ContactError::TooLong {
            field: "notes",
            max: MAX_NOTES_CHARS,
        });
    }
    let notes: String = notes
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect();
    match (name, first_name, email, company, locale, time_zone) {
        (Some(name), Some(first_name), Some(email), Some(company), Some(locale), Some(time_zone))
            if errors.is_empty() =>
        {
            Ok(ContactPlan {
                name,
                first_name,
                email,
                company,
                locale,
                time_zone,
                notes,
            })
        }
        _ => Err(errors),
    }
}

/// How a contact is shown: "first name name", or the name alone.
pub fn full_name(first_name: &str, name: &str) -> String {
    match first_name.trim() {
        "" => name.trim().to_owned(),
        first => format!("{first} {}", name.trim()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> ContactRequest {
        ContactRequest {
            name: " Martin ".into(),
            first_name: "Claire".into(),
            email: "Claire.Martin@Example.org".into(),
            company: "ACME".into(),
            locale: "en".into(),
            time_zone: "america/new_york".into(),
            notes: "Vient de Lyon\n".into(),
        }
    }

    #[test]
    fn a_valid_contact() {
        let plan = plan_contact(&request()).unwrap();
        assert_eq!(plan.name.as_str(), "Martin");
        assert_eq!(plan.first_name, "Claire");
        assert_eq!(plan.email.normalized(), "claire.martin@example.org");
        assert_eq!(plan.locale, Some(Locale::En));
        assert_eq!(plan.time_zone.as_deref(), Some("America/New_York"));
        assert_eq!(plan.notes, "Vient de Lyon");
        let bare = plan_contact(&ContactRequest {
            name: "Léa".into(),
            email: "lea@example.org".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((bare.locale, bare.time_zone), (None, None));
        assert_eq!(full_name(&plan.first_name, plan.name.as_str()), "Claire Martin");
        assert_eq!(full_name("", "Léa"), "Léa");
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let errors = plan_contact(&ContactRequest {
            name: " ".into(),
            first_name: "a\u{7}".into(),
            email: "nope".into(),
            company: "x".repeat(201),
            locale: "de".into(),
            time_zone: "Mars/Olympus".into(),
            notes: "n".repeat(5001),
        })
        .unwrap_err();
        let fields: Vec<&str> = errors.iter().map(ContactError::field).collect();
        assert_eq!(
            fields,
            ["name", "first_name", "email", "company", "locale", "time_zone", "notes"]
        );
    }
}
