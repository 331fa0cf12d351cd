//! Language and dates for pages: the catalogue look-ups templates call, and local times shown
//! with their zone.

use domain::{Locale, UserInputError};
use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::error::Message;

/// Dates and times in a person's language and zone.
pub fn format_datetime(at: Timestamp, zone: &str, locale: Locale) -> String {
    let tz = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
    let local = at.to_zoned(tz);
    let weekday = locale.t(WEEKDAYS[local.weekday().to_monday_zero_offset() as usize]);
    let month = locale.t(MONTHS[(local.month() - 1) as usize]);
    locale.tf(
        "date.format.datetime",
        &[
            ("weekday", &weekday),
            ("day", &local.day()),
            ("month", &month),
            ("year", &local.year()),
            ("time", &format!("{:02}:{:02}", local.hour(), local.minute())),
            ("zone", &zone),
        ],
    )
}

/// A short date and time (`23/11/2026 09:00`), for tables; the zone is named in the header.
pub fn format_short(at: Timestamp, zone: &str, locale: Locale) -> String {
    let tz = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
    let local = at.to_zoned(tz);
    let (d, m, y) = (local.day(), local.month(), local.year());
    let time = format!("{:02}:{:02}", local.hour(), local.minute());
    match locale {
        Locale::Fr => format!("{d:02}/{m:02}/{y} {time}"),
        Locale::En => format!("{y}-{m:02}-{d:02} {time}"),
    }
}

const WEEKDAYS: [&str; 7] = [
    "date.weekday.1",
    "date.weekday.2",
    "date.weekday.3",
    "date.weekday.4",
    "date.weekday.5",
    "date.weekday.6",
    "date.weekday.7",
];
const MONTHS: [&str; 12] = [
    "date.month.1",
    "date.month.2",
    "date.month.3",
    "date.month.4",
    "date.month.5",
    "date.month.6",
    "date.month.7",
    "date.month.8",
    "date.month.9",
    "date.month.10",
    "date.month.11",
    "date.month.12",
];

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
    fn datetimes_are_local_with_the_zone() {
        let at: Timestamp = "2026-10-26T08:00:00Z".parse().unwrap();
        assert_eq!(
            format_datetime(at, "Europe/Paris", Locale::Fr),
            "lundi 26 octobre 2026 à 09:00 (Europe/Paris)"
        );
        assert_eq!(
            format_datetime(at, "Europe/Paris", Locale::En),
            "Monday 26 October 2026 at 09:00 (Europe/Paris)"
        );
        assert_eq!(format_short(at, "America/New_York", Locale::En), "2026-10-26 04:00");
        assert_eq!(format_short(at, "Europe/Paris", Locale::Fr), "26/10/2026 09:00");
    }

    #[test]
    fn zone_list_is_sorted_and_known() {
        let names = time_zone_names();
        assert!(names.iter().any(|n| n == "Europe/Paris"));
        assert!(names.windows(2).all(|w| w[0] < w[1]));
        assert!(names.iter().all(|n| domain::user::parse_time_zone(n).is_ok()));
    }
}
