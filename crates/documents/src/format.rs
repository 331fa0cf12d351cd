//! Dates, times and durations as the documents print them, in French or English.

use i18n::Locale;
use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;

use crate::DocumentError;

/// `lundi 23 novembre 2026` / `Monday 23 November 2026`.
pub(crate) fn long_date(date: Date, locale: Locale) -> String {
    let weekday = locale.t(&format!("date.weekday.{}", date.weekday().to_monday_one_offset()));
    locale.tf(
        "documents.date.long",
        &[
            ("weekday", &weekday),
            ("day", &date.day()),
            ("month", &locale.t(&format!("date.month.{}", date.month()))),
            ("year", &date.year()),
        ],
    )
}

/// `23 novembre 2026` / `23 November 2026`.
pub(crate) fn date(date: Date, locale: Locale) -> String {
    locale.tf(
        "documents.date",
        &[
            ("day", &date.day()),
            ("month", &locale.t(&format!("date.month.{}", date.month()))),
            ("year", &date.year()),
        ],
    )
}

/// `23/11/2026` / `2026-11-23`, for tables.
pub(crate) fn short_date(date: Date, locale: Locale) -> String {
    match locale {
        Locale::Fr => format!("{:02}/{:02}/{}", date.day(), date.month(), date.year()),
        Locale::En => format!("{}-{:02}-{:02}", date.year(), date.month(), date.day()),
    }
}

/// `09:05`.
pub(crate) fn time(at: Timestamp, zone: &TimeZone) -> String {
    let local = at.to_zoned(zone.clone());
    format!("{:02}:{:02}", local.hour(), local.minute())
}

/// `2026-11-23 09:05:12` in the zone: what spreadsheets read as a date and time.
pub(crate) fn sortable(at: Timestamp, zone: &TimeZone) -> String {
    at.to_zoned(zone.clone()).strftime("%Y-%m-%d %H:%M:%S").to_string()
}

/// `12 h 30` / `12 h 30` (hours and minutes), from minutes.
pub(crate) fn duration(minutes: u32, locale: Locale) -> String {
    locale.tf(
        "documents.duration",
        &[("hours", &(minutes / 60)), ("minutes", &format!("{:02}", minutes % 60))],
    )
}

/// The zone of an IANA name, or the error that names it.
pub(crate) fn zone(name: &str) -> Result<TimeZone, DocumentError> {
    TimeZone::get(name).map_err(|_| DocumentError::UnknownTimeZone(name.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_durations_read_naturally() {
        let day = jiff::civil::date(2026, 11, 23);
        assert_eq!(long_date(day, Locale::Fr), "lundi 23 novembre 2026");
        assert_eq!(long_date(day, Locale::En), "Monday 23 November 2026");
        assert_eq!(date(day, Locale::Fr), "23 novembre 2026");
        assert_eq!(short_date(day, Locale::Fr), "23/11/2026");
        assert_eq!(short_date(day, Locale::En), "2026-11-23");
        assert_eq!(duration(750, Locale::Fr), "12 h 30");
        assert_eq!(duration(420, Locale::En), "7 h 00");
        let at: Timestamp = "2026-11-23T08:05:12Z".parse().unwrap();
        let paris = zone("Europe/Paris").unwrap();
        assert_eq!(time(at, &paris), "09:05");
        assert_eq!(sortable(at, &paris), "2026-11-23 09:05:12");
        assert!(matches!(zone("Mars/Olympus"), Err(DocumentError::UnknownTimeZone(_))));
    }
}
