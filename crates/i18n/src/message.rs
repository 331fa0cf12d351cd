//! A message from the catalogues with its arguments, rendered late: the code that refuses
//! something (a service, a domain rule) names the message; the surface that shows it (a page,
//! the JSON API, a mail) renders it in the reader's language and time zone.

use std::fmt;

use crate::{Locale, format_datetime};

/// One argument of a [`Message`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// Shown as written (a name, an address, a number).
    Text(String),
    /// A catalogue key, looked up in the reader's language (a role's name, say).
    Term(&'static str),
    /// An instant, shown in the reader's language and zone.
    Instant(jiff::Timestamp),
}

/// A catalogue key and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub key: &'static str,
    pub args: Vec<(&'static str, Arg)>,
}

impl Message {
    pub fn new(key: &'static str) -> Message {
        Message { key, args: Vec::new() }
    }

    /// Adds an argument shown as written.
    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Message {
        self.args.push((name, Arg::Text(value.to_string())));
        self
    }

    /// Adds an argument that is itself a catalogue key.
    pub fn term(mut self, name: &'static str, key: &'static str) -> Message {
        self.args.push((name, Arg::Term(key)));
        self
    }

    /// Adds an instant, shown in the reader's zone.
    pub fn instant(mut self, name: &'static str, at: jiff::Timestamp) -> Message {
        self.args.push((name, Arg::Instant(at)));
        self
    }

    /// The message in `locale`, instants in UTC.
    pub fn render(&self, locale: Locale) -> String {
        self.render_in(locale, "UTC")
    }

    /// The message in `locale`, instants in `zone` (an IANA name).
    pub fn render_in(&self, locale: Locale, zone: &str) -> String {
        let rendered: Vec<(&str, String)> = self
            .args
            .iter()
            .map(|(name, arg)| {
                let text = match arg {
                    Arg::Text(t) => t.clone(),
                    Arg::Term(key) => locale.t(key).to_owned(),
                    Arg::Instant(at) => format_datetime(*at, zone, locale),
                };
                (*name, text)
            })
            .collect();
        let args: Vec<(&str, &dyn fmt::Display)> = rendered.iter().map(|(n, v)| (*n, v as &dyn fmt::Display)).collect();
        locale.tf(self.key, &args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_render_in_the_readers_language_and_zone() {
        let at = jiff::Timestamp::from_second(1_800_000_000).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
        let m = Message::new("date.format.datetime")
            .arg("weekday", "x")
            .term("month", "date.month.1")
            .instant("time", at);
        let paris = m.render_in(Locale::Fr, "Europe/Paris");
        let utc = m.render(Locale::Fr);
        assert_ne!(paris, utc, "the instant follows the zone");
        assert!(paris.contains(Locale::Fr.t("date.month.1")));
        assert!(m.render(Locale::En).contains(Locale::En.t("date.month.1")));
    }
}
