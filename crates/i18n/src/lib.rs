//! French and English message catalogues.
//!
//! Every string a person reads (pages, errors, mails, calendar entries) comes from the files
//! under `locales/fr/` and `locales/en/` (one per area), embedded at compile time. Each line is
//! `key = value`; `{name}` marks a placeholder; `#` starts a comment line. The tests fail when
//! the two catalogues differ in keys or placeholders, and the web crate's tests fail when a
//! template uses a key that neither has.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

mod message;

pub use message::{Arg, Message};

/// A language Dialogue speaks. French is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Locale {
    #[default]
    Fr,
    En,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::Fr, Locale::En];

    /// The BCP 47 tag (`fr`, `en`), as stored and as used in `lang` attributes.
    pub fn as_str(self) -> &'static str {
        match self {
            Locale::Fr => "fr",
            Locale::En => "en",
        }
    }

    /// The language's own name, for language pickers.
    pub fn native_name(self) -> &'static str {
        match self {
            Locale::Fr => "Français",
            Locale::En => "English",
        }
    }

    /// The best locale for an `Accept-Language` header, honouring q-values; `None` when the
    /// header names no language Dialogue speaks.
    pub fn from_accept_language(header: &str) -> Option<Locale> {
        let mut best: Option<(f32, usize, Locale)> = None;
        for (position, item) in header.split(',').enumerate() {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim();
            let mut quality = 1.0f32;
            for param in parts {
                if let Some(q) = param.trim().strip_prefix("q=") {
                    quality = q.trim().parse().unwrap_or(0.0);
                }
            }
            if quality <= 0.0 {
                continue;
            }
            let primary = tag.split('-').next().unwrap_or("");
            let Ok(locale) = primary.parse::<Locale>() else {
                continue;
            };
            // Higher quality wins; on a tie the earlier entry wins.
            let better = match best {
                None => true,
                Some((q, _, _)) => quality > q,
            };
            if better {
                best = Some((quality, position, locale));
            }
        }
        best.map(|(_, _, locale)| locale)
    }

    /// Looks a message up; a missing key yields the key itself (and the catalogue tests fail).
    pub fn t(self, key: &str) -> &'static str {
        let catalogue = match self {
            Locale::Fr => &*FR,
            Locale::En => &*EN,
        };
        match catalogue.get_key_value(key) {
            Some((_, value)) => value,
            None => leak_missing(key),
        }
    }

    /// Looks a message up whose key is built from data (an audit action, a detail's name):
    /// `None` when the catalogue has none, for the caller to show the data as it is.
    pub fn lookup(self, key: &str) -> Option<&'static str> {
        let catalogue = match self {
            Locale::Fr => &*FR,
            Locale::En => &*EN,
        };
        catalogue.get(key).copied()
    }

    /// Looks a message up and fills its `{name}` placeholders.
    pub fn tf(self, key: &str, args: &[(&str, &dyn fmt::Display)]) -> String {
        fill(self.t(key), args)
    }
}

/// Missing keys are rare (a test catches them) but must not panic a server; the key text is
/// shown instead. Interned so that `t` can keep returning `&'static str`.
fn leak_missing(key: &str) -> &'static str {
    static MISSING: LazyLock<std::sync::Mutex<HashMap<String, &'static str>>> = LazyLock::new(Default::default);
    let mut missing = match MISSING.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    if let Some(value) = missing.get(key) {
        return value;
    }
    let leaked: &'static str = Box::leak(key.to_owned().into_boxed_str());
    missing.insert(key.to_owned(), leaked);
    leaked
}

/// Replaces each `{name}` in `template` by its argument; unknown placeholders stay as written.
pub fn fill(template: &str, args: &[(&str, &dyn fmt::Display)]) -> String {
    use fmt::Write;
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match args.iter().find(|(n, _)| *n == name) {
                    Some((_, value)) => {
                        let _ = write!(out, "{value}");
                    }
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A language tag Dialogue does not speak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownLocale(pub String);

impl fmt::Display for UnknownLocale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown language {:?}: expected fr or en", self.0)
    }
}

impl std::error::Error for UnknownLocale {}

impl FromStr for Locale {
    type Err = UnknownLocale;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "fr" | "fr-fr" | "fr-be" | "fr-ch" | "fr-ca" => Ok(Locale::Fr),
            "en" | "en-gb" | "en-us" => Ok(Locale::En),
            _ => Err(UnknownLocale(s.to_owned())),
        }
    }
}

/// One file per area and language; both lists name the same areas in the same order.
macro_rules! catalogue {
    ($lang:literal) => {
        &[
            ("core", include_str!(concat!("../locales/", $lang, "/core.txt"))),
            ("booking", include_str!(concat!("../locales/", $lang, "/booking.txt"))),
            ("api", include_str!(concat!("../locales/", $lang, "/api.txt"))),
            ("jitsi", include_str!(concat!("../locales/", $lang, "/jitsi.txt"))),
            ("mail", include_str!(concat!("../locales/", $lang, "/mail.txt"))),
            (
                "documents",
                include_str!(concat!("../locales/", $lang, "/documents.txt")),
            ),
            (
                "attendance",
                include_str!(concat!("../locales/", $lang, "/attendance.txt")),
            ),
            (
                "addressbook",
                include_str!(concat!("../locales/", $lang, "/addressbook.txt")),
            ),
            (
                "directory",
                include_str!(concat!("../locales/", $lang, "/directory.txt")),
            ),
            (
                "operations",
                include_str!(concat!("../locales/", $lang, "/operations.txt")),
            ),
            ("gdpr", include_str!(concat!("../locales/", $lang, "/gdpr.txt"))),
        ]
    };
}

/// A UTC offset as people read it: `UTC+02:00`, `UTC-03:30`.
pub fn offset_label(offset: jiff::tz::Offset) -> String {
    let secs = offset.seconds();
    let sign = if secs < 0 { '-' } else { '+' };
    let secs = secs.abs();
    format!("UTC{sign}{:02}:{:02}", secs / 3600, secs % 3600 / 60)
}

/// Dates and times in a person's language and zone.
pub fn format_datetime(at: jiff::Timestamp, zone: &str, locale: Locale) -> String {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
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
pub fn format_short(at: jiff::Timestamp, zone: &str, locale: Locale) -> String {
    let tz = jiff::tz::TimeZone::get(zone).unwrap_or(jiff::tz::TimeZone::UTC);
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

static FR_SOURCES: &[(&str, &str)] = catalogue!("fr");
static EN_SOURCES: &[(&str, &str)] = catalogue!("en");
static FR: LazyLock<HashMap<&'static str, &'static str>> = LazyLock::new(|| parse(FR_SOURCES));
static EN: LazyLock<HashMap<&'static str, &'static str>> = LazyLock::new(|| parse(EN_SOURCES));

fn parse(sources: &[(&'static str, &'static str)]) -> HashMap<&'static str, &'static str> {
    sources
        .iter()
        .flat_map(|(_, source)| parse_lines(source))
        .map(|(_, key, value)| (key, value))
        .collect()
}

/// `(line number, key, value)` of each entry, in file order.
fn parse_lines(source: &'static str) -> Vec<(usize, &'static str, &'static str)> {
    source
        .lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let (key, value) = line.split_once(" = ").unwrap_or((line, ""));
            Some((i + 1, key.trim(), value.trim()))
        })
        .collect()
}

/// Every key of the French catalogue (the reference), for tests in other crates.
pub fn keys() -> impl Iterator<Item = &'static str> {
    FR.keys().copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn placeholders(value: &str) -> BTreeSet<&str> {
        let mut found = BTreeSet::new();
        let mut rest = value;
        while let Some(open) = rest.find('{') {
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else { break };
            found.insert(&after[..close]);
            rest = &after[close + 1..];
        }
        found
    }

    #[test]
    fn catalogues_are_well_formed() {
        for (lang, sources) in [("fr", FR_SOURCES), ("en", EN_SOURCES)] {
            let mut seen = BTreeSet::new();
            for (area, source) in sources.iter() {
                let name = format!("{lang}/{area}");
                for (line, key, value) in parse_lines(source) {
                    assert!(
                        !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_'),
                        "{name}.txt line {line}: bad key {key:?} (expected `key = value`)"
                    );
                    assert!(!value.is_empty(), "{name}.txt line {line}: empty value for {key}");
                    assert!(seen.insert(key), "{name}.txt line {line}: duplicate key {key}");
                }
            }
        }
    }

    #[test]
    fn catalogues_have_the_same_keys_and_placeholders() {
        let fr: BTreeSet<_> = FR.keys().collect();
        let en: BTreeSet<_> = EN.keys().collect();
        let only_fr: Vec<_> = fr.difference(&en).collect();
        let only_en: Vec<_> = en.difference(&fr).collect();
        assert!(only_fr.is_empty(), "keys missing from en.txt: {only_fr:?}");
        assert!(only_en.is_empty(), "keys missing from fr.txt: {only_en:?}");
        for key in fr {
            assert_eq!(
                placeholders(FR[key]),
                placeholders(EN[key]),
                "placeholders differ for {key}"
            );
        }
    }

    #[test]
    fn accept_language_picks_the_best_spoken_language() {
        assert_eq!(
            Locale::from_accept_language("en-US,en;q=0.9,fr;q=0.8"),
            Some(Locale::En)
        );
        assert_eq!(
            Locale::from_accept_language("de-DE,fr;q=0.5,en;q=0.4"),
            Some(Locale::Fr)
        );
        assert_eq!(Locale::from_accept_language("fr;q=0.2, en;q=0.7"), Some(Locale::En));
        assert_eq!(Locale::from_accept_language("de, es"), None);
        assert_eq!(Locale::from_accept_language("en;q=0, fr;q=0.1"), Some(Locale::Fr));
        assert_eq!(Locale::from_accept_language(""), None);
    }

    #[test]
    fn datetimes_are_local_with_the_zone() {
        let at: jiff::Timestamp = "2026-10-26T08:00:00Z".parse().unwrap();
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
    fn fill_replaces_named_placeholders() {
        assert_eq!(
            fill("Bonjour {name} ({n})", &[("name", &"Zoé"), ("n", &3)]),
            "Bonjour Zoé (3)"
        );
        assert_eq!(fill("{unknown} {", &[]), "{unknown} {");
    }

    #[test]
    fn missing_keys_show_the_key() {
        assert_eq!(Locale::En.t("no.such.key"), "no.such.key");
    }
}
