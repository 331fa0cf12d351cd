//! Language and dates for pages: the catalogue look-ups templates call, and local times shown
//! with their zone.

pub use i18n::{format_datetime, format_short};

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
