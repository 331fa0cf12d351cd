//! The service's settings, parsed once by the binary from the configuration file and the
//! environment, and passed in.

use std::time::Duration;

use domain::{Locale, Role};
use store::Throttle;

/// Everything the use cases need to know about this installation.
#[derive(Debug, Clone)]
pub struct Config {
    /// How people reach Dialogue, without a trailing slash: `https://dialogue.example.org`.
    pub public_url: String,
    pub default_locale: Locale,
    pub default_time_zone: String,
    /// A login session ends after this long without a request…
    pub session_idle: Duration,
    /// …and after this long in any case.
    pub session_absolute: Duration,
    /// Failed logins allowed per account…
    pub throttle_account: Throttle,
    /// …and per client address.
    pub throttle_address: Throttle,
    /// How long a set-password link stays valid.
    pub password_link_ttl: Duration,
    /// Login through a trusted reverse proxy's identity headers, when configured.
    pub proxy_auth: Option<ProxyAuthConfig>,
    /// Booking rules and limits.
    pub booking: BookingSettings,
    /// When participants may enter a session's room.
    pub join: domain::window::WindowSettings,
    /// Attendance rules and signatures (`[attendance]`).
    pub attendance: AttendanceConfig,
    /// The training organisation as documents print it (`[organisation]`).
    pub organisation: OrganisationConfig,
    /// OpenID Connect providers (`[[oidc]]`), each a button on the login page.
    pub oidc: Vec<OidcLogin>,
    /// The LDAP / Active Directory login (`[ldap]`), when its URL is set.
    pub ldap: Option<directory::LdapConfig>,
    /// Access rules and the external join check (`[access]`).
    pub access: AccessConfig,
    /// How long personal data and attendance evidence are kept (`[retention]`).
    pub retention: RetentionConfig,
}

/// How long each kind of data is kept (`[retention]`); the daily retention job removes or
/// anonymises what is older. Durations are whole days so that the rules are exact and
/// testable; the configuration file says them in the units people think in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionConfig {
    /// Attendance evidence of an ended session (signatures, their chain and seal, corrections,
    /// Jitsi's connection records) and the names of its participants: kept this long after the
    /// session's end, then removed (the participants anonymised). Qualiopi audits look back
    /// three years.
    pub attendance_days: u32,
    /// Contacts who have had no session (and no change) for this long are removed.
    pub contacts_days: u32,
    /// Delivered, failed or superseded mail (bodies' data, addresses, delivery errors) and
    /// sent reminders.
    pub mail_days: u32,
    /// Jitsi events' raw payloads and the names and addresses in them (the connection times
    /// stay, as attendance evidence).
    pub jitsi_events_days: u32,
    /// The audit log.
    pub audit_days: u32,
    /// Failed-login counters, expired or used one-time links, ended login sessions.
    pub login_days: u32,
    /// Rows changed per statement (the job repeats until nothing is left).
    pub batch: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            attendance_days: 3 * 366,
            contacts_days: 12 * 31,
            mail_days: 90,
            jitsi_events_days: 90,
            audit_days: 12 * 31,
            login_days: 30,
            batch: 500,
        }
    }
}

/// Access rules and the optional external join check (`[access]`).
#[derive(Debug, Clone, Default)]
pub struct AccessConfig {
    pub rules: domain::access::AccessRules,
    /// Asked before anyone enters a room, when configured.
    pub join_check: Option<JoinCheckConfig>,
}

/// The external join check: an HTTP endpoint that answers allow or deny for each join.
#[derive(Clone)]
pub struct JoinCheckConfig {
    /// `https://…`, or `http://` on a loopback host.
    pub url: String,
    pub timeout: Duration,
    /// What a timeout, an unreachable endpoint or an unusable answer means.
    pub on_failure: domain::access::CheckFailure,
    /// Sent as `Authorization: Bearer …` when set. A secret: never logged.
    pub token: Option<String>,
    /// The only authority trusted for the endpoint's certificate; `None`: the public ones.
    pub ca_file: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for JoinCheckConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinCheckConfig")
            .field("url", &self.url)
            .field("timeout", &self.timeout)
            .field("on_failure", &self.on_failure)
            .field("token", &self.token.as_ref().map(|_| "(hidden)"))
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// Attendance settings (`[attendance]`).
#[derive(Debug, Clone)]
pub struct AttendanceConfig {
    /// The local time at which the afternoon starts (13:00 by default).
    pub noon: jiff::civil::Time,
    /// How long after a session's end its learners may still sign (minutes).
    pub sign_after_minutes: u32,
}

impl Default for AttendanceConfig {
    fn default() -> Self {
        AttendanceConfig {
            noon: domain::attendance::DEFAULT_NOON,
            sign_after_minutes: 24 * 60,
        }
    }
}

/// The training organisation (`[organisation]`): what certificates and sheets print.
#[derive(Debug, Clone, Default)]
pub struct OrganisationConfig {
    pub name: String,
    pub address: String,
    pub siret: String,
    pub nda: String,
    /// Who signs certificates, and their position.
    pub signatory_name: String,
    pub signatory_role: String,
    /// The signatory's signature (or stamp) printed on certificates, when configured.
    pub signatory_image: Option<SignatoryImage>,
    /// Where certificates are issued (`Fait à`).
    pub place: String,
    /// Font files tried first for characters the embedded fonts lack (checked already).
    pub fonts: Vec<std::path::PathBuf>,
}

/// A PNG read (and checked) when the configuration is: `Debug` shows its size only.
#[derive(Clone, PartialEq, Eq)]
pub struct SignatoryImage(pub std::sync::Arc<Vec<u8>>);

impl SignatoryImage {
    /// Checks `png` as the certificates will print it (a PNG within the signature limits, not
    /// blank); the problem in words otherwise.
    pub fn new(png: Vec<u8>) -> std::result::Result<SignatoryImage, String> {
        documents::check_signature(&png).map_err(|p| p.message(i18n::Locale::En))?;
        Ok(SignatoryImage(std::sync::Arc::new(png)))
    }
}

impl std::fmt::Debug for SignatoryImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SignatoryImage({} bytes)", self.0.len())
    }
}

/// One OpenID Connect provider as configured, with the label of its button.
#[derive(Debug, Clone)]
pub struct OidcLogin {
    pub config: directory::OidcProviderConfig,
    /// What its button on the login page says (the name when not configured).
    pub label: String,
}

/// Booking settings (`[booking]`).
#[derive(Debug, Clone)]
pub struct BookingSettings {
    /// Trainers book sessions for themselves (default on).
    pub trainers_can_book: bool,
    pub limits: domain::booking::BookingLimits,
}

impl Default for BookingSettings {
    fn default() -> Self {
        BookingSettings {
            trainers_can_book: true,
            limits: domain::booking::BookingLimits::default(),
        }
    }
}

/// Identity headers set by a trusted reverse proxy (Apache's CAS, Shibboleth, SAML or LDAP
/// modules, nginx `auth_request` or `auth_basic`).
#[derive(Debug, Clone)]
pub struct ProxyAuthConfig {
    /// Carries the person's stable id at the identity provider (required).
    pub user_header: String,
    pub email_header: Option<String>,
    pub name_header: Option<String>,
    pub groups_header: Option<String>,
    /// The role of an account created at its first login when no group maps to one.
    pub default_role: Role,
    /// Group name → role; the highest role among a person's groups wins.
    pub role_map: Vec<(String, Role)>,
}

impl Config {
    /// Whether people reach Dialogue over HTTPS (cookies are then `Secure`).
    pub fn https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The scheme, host and port of the public URL as browsers send it in `Origin`: scheme and
    /// host in lower case, the scheme's default port left out (`https://Example.org:443/x` is
    /// `https://example.org`).
    pub fn origin(&self) -> String {
        let url = &self.public_url;
        let after_scheme = url.find("://").map_or(0, |i| i + 3);
        let end = url[after_scheme..]
            .find('/')
            .map_or(url.len(), |slash| after_scheme + slash);
        let origin = url[..end].to_ascii_lowercase();
        for (scheme, port) in [("https://", ":443"), ("http://", ":80")] {
            if origin.starts_with(scheme)
                && let Some(bare) = origin.strip_suffix(port)
            {
                return bare.to_owned();
            }
        }
        origin
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            public_url: "http://127.0.0.1:8080".into(),
            default_locale: Locale::Fr,
            default_time_zone: "Europe/Paris".into(),
            session_idle: Duration::from_secs(2 * 3600),
            session_absolute: Duration::from_secs(12 * 3600),
            throttle_account: Throttle {
                max_failures: 5,
                window_secs: 15 * 60,
                lockout_secs: 5 * 60,
            },
            throttle_address: Throttle {
                max_failures: 30,
                window_secs: 15 * 60,
                lockout_secs: 5 * 60,
            },
            password_link_ttl: Duration::from_secs(72 * 3600),
            proxy_auth: None,
            booking: BookingSettings::default(),
            join: domain::window::WindowSettings::default(),
            attendance: AttendanceConfig::default(),
            organisation: OrganisationConfig::default(),
            oidc: Vec::new(),
            ldap: None,
            access: AccessConfig::default(),
            retention: RetentionConfig::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_is_scheme_host_port() {
        let mut c = Config {
            public_url: "https://example.org:8443/dialogue".into(),
            ..Config::default()
        };
        assert_eq!(c.origin(), "https://example.org:8443");
        assert!(c.https());
        c.public_url = "http://127.0.0.1:8080".into();
        assert_eq!(c.origin(), "http://127.0.0.1:8080");
        assert!(!c.https());
        // As browsers send it: lower case, no default port.
        c.public_url = "https://Formation.Example.org:443/dialogue/".into();
        assert_eq!(c.origin(), "https://formation.example.org");
        c.public_url = "http://example.org:80".into();
        assert_eq!(c.origin(), "http://example.org");
    }

    #[test]
    fn the_join_check_token_is_not_printed() {
        let check = JoinCheckConfig {
            url: "https://check.example.org/join".into(),
            timeout: Duration::from_secs(2),
            on_failure: domain::access::CheckFailure::Deny,
            token: Some("very-secret-bearer".into()),
            ca_file: None,
        };
        let printed = format!("{check:?}");
        assert!(!printed.contains("very-secret-bearer"), "{printed}");
        assert!(printed.contains("(hidden)") && printed.contains("check.example.org"));
    }
}
