//! What a person types about an account: email, display name, password, time zone.

use std::fmt;

/// Why a piece of account input was refused. Each variant maps to a message in the catalogues.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserInputError {
    #[error("the email address is empty")]
    EmailEmpty,
    #[error("{0:?} is not a valid email address")]
    EmailInvalid(String),
    #[error("the email address is longer than {max} characters")]
    EmailTooLong { max: usize },
    #[error("the name is empty")]
    NameEmpty,
    #[error("the name is longer than {max} characters")]
    NameTooLong { max: usize },
    #[error("the name contains control characters")]
    NameControl,
    #[error("the password is shorter than {min} characters")]
    PasswordTooShort { min: usize },
    #[error("the password is longer than {max} characters")]
    PasswordTooLong { max: usize },
    #[error("unknown time zone {0:?}")]
    UnknownTimeZone(String),
    #[error("unknown language {0:?}")]
    UnknownLocale(String),
}

/// A syntactically valid email address, trimmed. Compared case-insensitively through
/// [`Email::normalized`]; shown as typed.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const MAX_LEN: usize = 254;

    /// Checks the practical subset of RFC 5321 that mail servers accept: one `@`, a dot-atom
    /// local part of at most 64 octets, a domain of letter/digit/hyphen labels with at least one
    /// dot. No spaces, quotes, angle brackets, commas or control characters (so an address can
    /// never break out of a mail header).
    pub fn parse(input: &str) -> Result<Email, UserInputError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(UserInputError::EmailEmpty);
        }
        if s.len() > Self::MAX_LEN {
            return Err(UserInputError::EmailTooLong { max: Self::MAX_LEN });
        }
        let invalid = || UserInputError::EmailInvalid(s.to_owned());
        let (local, domain) = s.rsplit_once('@').ok_or_else(invalid)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || (c.is_ascii_punctuation() && "!#$%&'*+-/=?^_`{|}~.".contains(c)));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local_ok && domain_ok {
            Ok(Email(s.to_owned()))
        } else {
            Err(invalid())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used for uniqueness and look-ups: lowercased.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({:?})", self.0)
    }
}

/// A person's display name: trimmed, 1 to 100 characters, any script, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(input: &str) -> Result<DisplayName, UserInputError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(UserInputError::NameEmpty);
        }
        if s.chars().count() > Self::MAX_CHARS {
            return Err(UserInputError::NameTooLong { max: Self::MAX_CHARS });
        }
        if s.chars().any(char::is_control) {
            return Err(UserInputError::NameControl);
        }
        Ok(DisplayName(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password someone chose: at least 10 characters (NIST SP 800-63B asks for 8; passphrases are
/// encouraged), at most 256. Its `Debug` never shows it.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 10;
    pub const MAX_CHARS: usize = 256;

    pub fn parse(input: &str) -> Result<NewPassword, UserInputError> {
        let count = input.chars().count();
        if count < Self::MIN_CHARS || input.trim().is_empty() {
            return Err(UserInputError::PasswordTooShort { min: Self::MIN_CHARS });
        }
        if count > Self::MAX_CHARS {
            return Err(UserInputError::PasswordTooLong { max: Self::MAX_CHARS });
        }
        Ok(NewPassword(input.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(…)")
    }
}

/// Checks an IANA time zone name against the embedded database and returns its canonical
/// spelling (case as in the database).
pub fn parse_time_zone(input: &str) -> Result<String, UserInputError> {
    let name = input.trim();
    let unknown = || UserInputError::UnknownTimeZone(name.to_owned());
    if name.is_empty() || name.starts_with(['+', '-']) || name.contains(char::is_whitespace) {
        return Err(unknown());
    }
    let tz = jiff::tz::db().get(name).map_err(|_| unknown())?;
    Ok(tz.iana_name().unwrap_or(name).to_owned())
}

/// Parses a language setting.
pub fn parse_locale(input: &str) -> Result<crate::Locale, UserInputError> {
    input
        .parse()
        .map_err(|_| UserInputError::UnknownLocale(input.trim().to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        for ok in [
            "a@example.org",
            "  Zoé.Martin+cours@Exemple.fr ",
            "o'brien@mail.co.uk",
            "x@sub-domain.example",
            "用户@例子.公司",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok} should be valid");
        }
        for bad in [
            "plain",
            "@example.org",
            "a@",
            "a@localhost",
            "a b@example.org",
            "a@exa mple.org",
            "a@@example.org",
            ".a@example.org",
            "a..b@example.org",
            "a@-example.org",
            "\"quoted\"@example.org",
            "a@example.org\r\nBcc: x@evil.org",
            "<a@example.org>",
            "a,b@example.org",
        ] {
            assert!(
                matches!(Email::parse(bad), Err(UserInputError::EmailInvalid(_))),
                "{bad:?} should be invalid"
            );
        }
        assert_eq!(Email::parse(" "), Err(UserInputError::EmailEmpty));
        let long = format!("{}@example.org", "a".repeat(250));
        assert_eq!(Email::parse(&long), Err(UserInputError::EmailTooLong { max: 254 }));
        let email = Email::parse(" Zoé@Exemple.FR ").unwrap();
        assert_eq!(email.as_str(), "Zoé@Exemple.FR");
        assert_eq!(email.normalized(), "zoé@exemple.fr");
    }

    #[test]
    fn names() {
        assert_eq!(DisplayName::parse("  Zoé 🎓 李 ").unwrap().as_str(), "Zoé 🎓 李");
        assert_eq!(DisplayName::parse("   "), Err(UserInputError::NameEmpty));
        assert_eq!(DisplayName::parse("a\nb"), Err(UserInputError::NameControl));
        assert!(DisplayName::parse(&"é".repeat(100)).is_ok());
        assert_eq!(
            DisplayName::parse(&"é".repeat(101)),
            Err(UserInputError::NameTooLong { max: 100 })
        );
    }

    #[test]
    fn passwords() {
        assert!(NewPassword::parse("correct horse").is_ok());
        assert!(matches!(
            NewPassword::parse("short"),
            Err(UserInputError::PasswordTooShort { .. })
        ));
        assert!(matches!(
            NewPassword::parse("          "),
            Err(UserInputError::PasswordTooShort { .. })
        ));
        assert!(matches!(
            NewPassword::parse(&"x".repeat(257)),
            Err(UserInputError::PasswordTooLong { .. })
        ));
        assert_eq!(
            format!("{:?}", NewPassword::parse("correct horse").unwrap()),
            "NewPassword(…)"
        );
    }

    #[test]
    fn time_zones() {
        assert_eq!(parse_time_zone("Europe/Paris").unwrap(), "Europe/Paris");
        assert_eq!(parse_time_zone(" America/New_York ").unwrap(), "America/New_York");
        assert!(parse_time_zone("Mars/Olympus").is_err());
        assert!(parse_time_zone("+02:00").is_err());
        assert!(parse_time_zone("").is_err());
    }

    #[test]
    fn locales() {
        assert_eq!(parse_locale("en"), Ok(crate::Locale::En));
        assert_eq!(parse_locale("FR"), Ok(crate::Locale::Fr));
        assert!(parse_locale("de").is_err());
    }
}
