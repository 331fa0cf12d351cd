//! Language and dates for pages: the catalogue look-ups templates call, and local times shown
//! with their zone.

use domain::UserInputError;

pub use i18n::{format_datetime, format_short};

use crate::http::error::Message;

/// The catalogue message explaining refused account input.
pub fn user_input_message(e: &UserInputError) -> Message {
    match e {
        UserInputError::EmailEmpty => Message::new("input.email_empty"),
        UserInputError::EmailInvalid(v) => Message::new("input.email_invalid").arg("value", v),
        UserInputError::EmailTooLong { max } => Message::new("input.email_too_long").arg("max", max),
        UserInputError::NameEmpty => Message::new("input.name_empty"),
        UserInputError::NameTooLong { max } => Message::new("input.name_too_long").arg("max", max),
        UserInputError::NameControl => Message::new("input.name_control"),
        UserInputError::PasswordTooShort { min } => Message::new("input.password_too_short").arg("min", min),
        UserInputError::PasswordTooLong { max } => Message::new("input.password_too_long").arg("max", max),
        UserInputError::UnknownTimeZone(v) => Message::new("input.time_zone_unknown").arg("value", v),
        UserInputError::UnknownLocale(v) => Message::new("input.locale_unknown").arg("value", v),
    }
}

/// The IANA zones offered in pickers: every canonical zone of the embedded database, sorted.
pub fn time_zone_names() -> &'static [String] {
    static NAMES: std::sync::LazyLock<Vec<String>> = std::sync::LazyLock::new(|| {
        let mut names: Vec<String> = jiff::tz::db()
            .available()
            .map(|name| name.as_str().to_owned())
            .filter(|name| name.contains('/') && !name.starts_with("Etc/") && !name.starts_with("SystemV/"))
            .collect();
        names.push("UTC".to_owned());
        names.sort();
        names.dedup();
        names
    });
    &NAMES
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_list_is_sorted_and_known() {
        let names = time_zone_names();
        assert!(names.iter().any(|n| n == "Europe/Paris"));
        assert!(names.windows(2).all(|w| w[0] < w[1]));
        assert!(names.iter().all(|n| domain::user::parse_time_zone(n).is_ok()));
    }
}
