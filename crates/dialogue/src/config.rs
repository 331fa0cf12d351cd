//! Configuration: built-in defaults, then the TOML file (`--config` or `DIALOGUE_CONFIG`), then
//! environment variables `DIALOGUE_<SECTION>_<KEY>` (top-level keys: `DIALOGUE_<KEY>`); every
//! key may also be read from a file named by `DIALOGUE_<…>_FILE` (for secrets). Parsed once into
//! typed structs; a bad value stops start-up with a message naming the key, the value, where it
//! came from, and what is expected.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use domain::{Locale, Role};
use serde::{Deserialize, Serialize};
use service::ProxyAuthConfig;
use store::Throttle;
use web::WebConfig;

#[path = "config_directory.rs"]
mod logins;
pub use logins::{RawLdap, RawOidc};

/// The configuration file's shape. Every key has a default, so no file at all is valid.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawConfig {
    /// Address and port to listen on.
    pub listen: String,
    /// How people reach Dialogue (scheme, host, port); defaults to `http://<listen>`.
    pub public_url: String,
    /// Where the SQLite database, the secret key and the outbox live.
    pub data_dir: String,
    /// Language of people whose language is not known: `fr` or `en`.
    pub default_locale: String,
    /// IANA time zone of people whose zone is not known.
    pub default_time_zone: String,
    /// The server's secret key (created on first start); defaults to `<data_dir>/secret.key`.
    pub secret_key_file: String,
    pub database: RawDatabase,
    pub log: RawLog,
    pub http: RawHttp,
    pub session: RawSession,
    pub login: RawLogin,
    pub proxy_auth: RawProxyAuth,
    pub booking: RawBooking,
    pub join: RawJoin,
    pub mail: RawMail,
    pub attendance: RawAttendance,
    pub organisation: RawOrganisation,
    /// OpenID Connect providers, one `[[oidc]]` table each.
    pub oidc: Vec<RawOidc>,
    /// The LDAP / Active Directory login.
    pub ldap: RawLdap,
    pub metrics: RawMetrics,
    pub access: RawAccess,
    pub retention: RawRetention,
}

/// How long data is kept: the daily retention job removes or anonymises what is older. A year
/// counts 366 days and a month 31, so nothing goes early.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawRetention {
    /// Attendance evidence (signatures and their chain, corrections, connection times) and the
    /// names of ended sessions' participants, in years after the session (Qualiopi: 3).
    pub attendance_years: i64,
    /// Contacts with no session and no change for this many months are removed.
    pub contacts_months: i64,
    /// Delivered, failed or superseded mail and sent reminders, in days.
    pub mail_days: i64,
    /// Jitsi events' payloads, names and addresses, in days (connection times stay as evidence).
    pub jitsi_events_days: i64,
    /// The audit log, in months.
    pub audit_months: i64,
    /// Failed-login counters, used or expired one-time links, ended login sessions, in days.
    pub login_days: i64,
    /// Rows removed per statement (the job repeats until nothing is left).
    pub batch: i64,
}

impl Default for RawRetention {
    fn default() -> Self {
        RawRetention {
            attendance_years: 3,
            contacts_months: 12,
            mail_days: 90,
            jitsi_events_days: 90,
            audit_months: 12,
            login_days: 30,
            batch: 500,
        }
    }
}

/// Access rules: who may book, on which Jitsi servers, and the optional external join check.
#[derive(Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawAccess {
    /// An HTTP endpoint asked before anyone enters a room (empty: no check). `https://`, or
    /// `http://` on a loopback host.
    pub join_check_url: String,
    /// How long the endpoint has to answer (milliseconds, 100 to 30000).
    pub join_check_timeout_ms: i64,
    /// What a timeout, an unreachable endpoint or an unusable answer means: `deny` (fail
    /// closed) or `allow` (fail open).
    pub join_check_failure: String,
    /// A bearer token sent to the endpoint (or `join_check_token_file`).
    pub join_check_token: String,
    pub join_check_token_file: String,
    /// The authority (PEM) of the endpoint's HTTPS certificate, for a service inside the
    /// company; empty: the public authorities.
    pub join_check_ca_file: String,
    /// The roles that may book sessions (trainers also need `booking.trainers_can_book`).
    pub booking_roles: Vec<String>,
    /// Role → names of the Jitsi servers it may book on (a role not listed: every server).
    /// In `DIALOGUE_ACCESS_JITSI_SERVERS_BY_ROLE`, `|` separates one role's servers:
    /// `manager=Visio A|Visio B, trainer=Visio A`.
    pub jitsi_servers_by_role: BTreeMap<String, ServerNames>,
}

/// One role's servers: a list in the file, or `A|B` from the environment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ServerNames {
    List(Vec<String>),
    Text(String),
}

impl ServerNames {
    fn names(&self) -> Vec<String> {
        let all: Vec<&str> = match self {
            ServerNames::List(list) => list.iter().map(String::as_str).collect(),
            ServerNames::Text(text) => text.split('|').collect(),
        };
        all.into_iter()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

impl Default for RawAccess {
    fn default() -> Self {
        RawAccess {
            join_check_url: String::new(),
            join_check_timeout_ms: 2000,
            join_check_failure: "deny".into(),
            join_check_token: String::new(),
            join_check_token_file: String::new(),
            join_check_ca_file: String::new(),
            booking_roles: vec!["admin".into(), "manager".into(), "trainer".into()],
            jitsi_servers_by_role: BTreeMap::new(),
        }
    }
}

impl std::fmt::Debug for RawAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawAccess")
            .field("join_check_url", &self.join_check_url)
            .field("join_check_timeout_ms", &self.join_check_timeout_ms)
            .field("join_check_failure", &self.join_check_failure)
            .field(
                "join_check_token",
                &if self.join_check_token.is_empty() {
                    ""
                } else {
                    "(hidden)"
                },
            )
            .field("join_check_token_file", &self.join_check_token_file)
            .field("join_check_ca_file", &self.join_check_ca_file)
            .field("booking_roles", &self.booking_roles)
            .field("jitsi_servers_by_role", &self.jitsi_servers_by_role)
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawAttendance {
    /// The local time the afternoon starts at (`HH:MM`), in each session's zone.
    pub noon: String,
    /// How long after a session's end its learners may still sign (minutes).
    pub sign_after_minutes: i64,
}

impl Default for RawAttendance {
    fn default() -> Self {
        RawAttendance {
            noon: "13:00".into(),
            sign_after_minutes: 24 * 60,
        }
    }
}

/// The training organisation, as certificates and attendance sheets print it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawOrganisation {
    pub name: String,
    /// Postal address; `\n` separates lines.
    pub address: String,
    /// SIRET number (14 digits).
    pub siret: String,
    /// Numéro de déclaration d'activité.
    pub nda: String,
    /// Who signs certificates, and their position.
    pub signatory_name: String,
    pub signatory_role: String,
    /// A PNG of the signatory's signature (or stamp) printed on certificates; read at start.
    pub signatory_image: String,
    /// Where certificates are issued (`Fait à`).
    pub place: String,
    /// Font files tried first for characters the embedded DejaVu Sans lacks, before the
    /// system's (`documents::fallback_font_files`); each is checked at start.
    pub fonts: Vec<String>,
}

/// `/metrics`: who may read it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawMetrics {
    /// Serve `/metrics` (to the addresses in `allow` and to holders of `token`).
    pub enabled: bool,
    /// Client addresses (CIDR) that may read `/metrics` without a token.
    pub allow: Vec<String>,
    /// A bearer token that may read `/metrics` from anywhere (empty: none).
    pub token: String,
}

impl Default for RawMetrics {
    fn default() -> Self {
        RawMetrics {
            enabled: true,
            allow: vec!["127.0.0.1/32".into(), "::1/128".into()],
            token: String::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawMail {
    /// `file` (each message an `.eml` file under `file_dir`) or `smtp`.
    pub transport: String,
    /// Where the file transport writes; defaults to `<data_dir>/outbox`.
    pub file_dir: String,
    /// The sender, `Name <address>`.
    pub from: String,
    /// Where answers go, when not to the sender.
    pub reply_to: String,
    /// The organisation's name, in messages and as the calendar organizer.
    pub organization: String,
    /// How to reach the organisation (address, phone), shown in every message.
    pub contact: String,
    pub smtp_host: String,
    /// 0: the usual port for `smtp_security` (587, 465 or 25).
    pub smtp_port: i64,
    /// `starttls`, `tls` or `none` (a relay on this machine or network).
    pub smtp_security: String,
    pub smtp_username: String,
    pub smtp_password: String,
    /// PEM file of a private certificate authority the SMTP server's certificate comes from.
    pub smtp_ca_file: String,
    /// For each SMTP network operation.
    pub timeout_seconds: i64,
    /// Reminders before each session: `1d`, `1h`, `30m`… (none when empty).
    pub reminders: Vec<String>,
    /// Longest wait between two looks at the outbox.
    pub poll_seconds: i64,
    /// How long a message being delivered stays reserved by its worker.
    pub lease_seconds: i64,
    /// A message still failing after this long is given up.
    pub give_up_hours: i64,
    /// Messages delivered at the same time.
    pub concurrency: i64,
    /// This instance's name, stable across restarts and distinct among the instances sharing
    /// a database: the owner of its outbox leases, taken back at once when it restarts after a
    /// crash. Empty: `<hostname>:<listen port>` (a random name per process when listening on
    /// port 0, whose leases then wait for their expiry).
    pub instance: String,
    /// How often the instance records in the database that it is alive under its name; a
    /// process silent for three periods counts as gone (another may then take the name).
    pub heartbeat_seconds: i64,
}

impl Default for RawMail {
    fn default() -> Self {
        RawMail {
            transport: "file".into(),
            file_dir: String::new(),
            from: "Dialogue <dialogue@localhost>".into(),
            reply_to: String::new(),
            organization: String::new(),
            contact: String::new(),
            smtp_host: String::new(),
            smtp_port: 0,
            smtp_security: "starttls".into(),
            smtp_username: String::new(),
            smtp_password: String::new(),
            smtp_ca_file: String::new(),
            timeout_seconds: 30,
            reminders: vec!["1d".into(), "1h".into()],
            poll_seconds: 5,
            lease_seconds: 300,
            give_up_hours: 24,
            concurrency: 4,
            instance: String::new(),
            heartbeat_seconds: 10,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawBooking {
    /// Trainers may book sessions for themselves.
    pub trainers_can_book: bool,
    /// Trainers and moderators of one session, together.
    pub max_moderators: i64,
    /// Learners and guests of one session, together.
    pub max_participants: i64,
    pub min_duration_minutes: i64,
    pub max_duration_minutes: i64,
    /// Participations (people × occurrences) one request may create.
    pub max_participations_per_request: i64,
    /// Participations one account may create per hour.
    pub max_participations_per_hour: i64,
}

impl Default for RawBooking {
    fn default() -> Self {
        RawBooking {
            trainers_can_book: true,
            max_moderators: 10,
            max_participants: 200,
            min_duration_minutes: 15,
            max_duration_minutes: 720,
            max_participations_per_request: 2_000,
            max_participations_per_hour: 5_000,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawJoin {
    /// Trainers and moderators may enter this long before the start.
    pub moderator_open_before_minutes: i64,
    /// Learners and guests may enter this long before the start.
    pub learner_open_before_minutes: i64,
    /// Everyone may (re)enter until this long after the end.
    pub grace_minutes: i64,
}

impl Default for RawJoin {
    fn default() -> Self {
        RawJoin {
            moderator_open_before_minutes: 15,
            learner_open_before_minutes: 5,
            grace_minutes: 10,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawDatabase {
    /// `sqlite:PATH` or `postgres://…`; defaults to `sqlite:<data_dir>/dialogue.db`.
    pub url: String,
    pub max_connections: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawLog {
    /// `text` or `json`.
    pub format: String,
    /// A tracing filter: `info`, `debug`, `dialogue=debug,sqlx=warn`, …
    pub level: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawHttp {
    /// Reverse proxies (CIDR) whose `X-Forwarded-For` and identity headers are believed.
    pub trusted_proxies: Vec<String>,
    pub body_limit_kib: i64,
    /// How long a shutdown waits for requests in flight.
    pub shutdown_grace_seconds: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawSession {
    pub idle_minutes: i64,
    pub absolute_hours: i64,
    pub password_link_hours: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawLogin {
    pub max_failures_per_account: i64,
    pub max_failures_per_address: i64,
    pub window_minutes: i64,
    pub lockout_minutes: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawProxyAuth {
    pub enabled: bool,
    pub user_header: String,
    pub email_header: String,
    pub name_header: String,
    pub groups_header: String,
    pub default_role: String,
    /// Group → role (`admin`, `manager`, `trainer`).
    pub role_map: BTreeMap<String, String>,
}

impl Default for RawConfig {
    fn default() -> Self {
        RawConfig {
            listen: "127.0.0.1:8080".into(),
            public_url: String::new(),
            data_dir: "./data".into(),
            default_locale: "fr".into(),
            default_time_zone: "Europe/Paris".into(),
            secret_key_file: String::new(),
            database: RawDatabase::default(),
            log: RawLog::default(),
            http: RawHttp::default(),
            session: RawSession::default(),
            login: RawLogin::default(),
            proxy_auth: RawProxyAuth::default(),
            booking: RawBooking::default(),
            join: RawJoin::default(),
            mail: RawMail::default(),
            attendance: RawAttendance::default(),
            organisation: RawOrganisation::default(),
            oidc: Vec::new(),
            ldap: RawLdap::default(),
            metrics: RawMetrics::default(),
            access: RawAccess::default(),
            retention: RawRetention::default(),
        }
    }
}

impl Default for RawDatabase {
    fn default() -> Self {
        RawDatabase {
            url: String::new(),
            max_connections: 10,
        }
    }
}

impl Default for RawLog {
    fn default() -> Self {
        RawLog {
            format: "text".into(),
            level: "info".into(),
        }
    }
}

impl Default for RawHttp {
    fn default() -> Self {
        RawHttp {
            trusted_proxies: Vec::new(),
            body_limit_kib: 1024,
            shutdown_grace_seconds: 30,
        }
    }
}

impl Default for RawSession {
    fn default() -> Self {
        RawSession {
            idle_minutes: 120,
            absolute_hours: 12,
            password_link_hours: 72,
        }
    }
}

impl Default for RawLogin {
    fn default() -> Self {
        RawLogin {
            max_failures_per_account: 5,
            max_failures_per_address: 30,
            window_minutes: 15,
            lockout_minutes: 5,
        }
    }
}

impl Default for RawProxyAuth {
    fn default() -> Self {
        RawProxyAuth {
            enabled: false,
            user_header: "X-Remote-User".into(),
            email_header: String::new(),
            name_header: String::new(),
            groups_header: String::new(),
            default_role: "trainer".into(),
            role_map: BTreeMap::new(),
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub database_max_connections: u32,
    pub secret_key_file: PathBuf,
    pub log_format: LogFormat,
    pub log_level: String,
    pub shutdown_grace: Duration,
    /// What the use cases need to know about this installation.
    pub service: service::Config,
    /// The HTTP layer's own settings.
    pub web: WebConfig,
    pub mail: MailConfig,
}

/// Where mail goes.
#[derive(Debug, Clone)]
pub enum MailTransportConfig {
    /// `.eml` files in this directory.
    Files(PathBuf),
    Smtp(mail::SmtpSettings),
}

/// The validated `[mail]` section.
#[derive(Debug, Clone)]
pub struct MailConfig {
    pub transport: MailTransportConfig,
    pub from: mail::Mailbox,
    pub reply_to: Option<mail::Mailbox>,
    pub organization: String,
    pub contact: String,
    /// Reminder offsets and the retry period, applied by the store.
    pub policy: store::MailPolicy,
    pub worker: mail::WorkerOptions,
}

/// A configuration problem, said in one line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Where the settings come from: a file's text and the environment.
pub struct Sources {
    /// `(path, contents)` of the configuration file, if any.
    pub file: Option<(PathBuf, String)>,
    /// The process environment (or a test's).
    pub env: Vec<(String, String)>,
}

/// The configuration file of an installation from the Debian package, read when no other is
/// named, so that `dialogue check` or `dialogue jitsi-config` run by an administrator see the
/// server's settings and not the built-in defaults.
pub const SYSTEM_CONFIG: &str = "/etc/dialogue/dialogue.toml";

impl Sources {
    /// Reads the file named by `--config` or `DIALOGUE_CONFIG` (else [`SYSTEM_CONFIG`] when it
    /// exists and `DIALOGUE_CONFIG` is not set at all — set it empty for none), and the process
    /// environment.
    pub fn load(path: Option<&Path>) -> Result<Sources, ConfigError> {
        let named = match (path, std::env::var_os("DIALOGUE_CONFIG")) {
            (Some(path), _) => Some(path.to_path_buf()),
            (None, Some(var)) => Some(std::path::PathBuf::from(var)).filter(|p| !p.as_os_str().is_empty()),
            (None, None) => Some(std::path::PathBuf::from(SYSTEM_CONFIG)).filter(|p| p.is_file()),
        };
        let file = match named {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| ConfigError(format!("cannot read the configuration file {}: {e}", path.display())))?;
                Some((path, text))
            }
            None => None,
        };
        Ok(Sources {
            file,
            env: std::env::vars().collect(),
        })
    }

    /// Where the settings came from, in one line: the file, and the `DIALOGUE_*` variables that
    /// set something (names only: values may be secrets).
    pub fn describe(&self) -> String {
        let vars: Vec<&str> = self
            .env
            .iter()
            .map(|(k, _)| k.as_str())
            .filter(|k| k.starts_with(ENV_PREFIX) && !NOT_SETTINGS.contains(k))
            .collect();
        let file = match &self.file {
            Some((path, _)) => format!("file {}", path.display()),
            None => "no configuration file".to_owned(),
        };
        match (self.file.is_some(), vars.is_empty()) {
            (false, true) => format!("{file} and no DIALOGUE_* variable: built-in defaults"),
            (_, true) => file,
            _ => format!("{file}, and {}", vars.join(", ")),
        }
    }

    /// Whether nothing was configured but, at most, logging (built-in defaults otherwise).
    pub fn is_default(&self) -> bool {
        self.file.is_none()
            && !self.env.iter().any(|(k, _)| {
                k.starts_with(ENV_PREFIX) && !NOT_SETTINGS.contains(&k.as_str()) && !k.starts_with("DIALOGUE_LOG_")
            })
    }
}

const ENV_PREFIX: &str = "DIALOGUE_";
/// Variables of ours that are not settings.
const NOT_SETTINGS: &[&str] = &["DIALOGUE_CONFIG", "DIALOGUE_TEST_POSTGRES_URL", "DIALOGUE_LOG"];

/// The environment variable of a key: `listen` → `DIALOGUE_LISTEN`, `database.url` →
/// `DIALOGUE_DATABASE_URL`.
pub fn env_name(section: Option<&str>, key: &str) -> String {
    match section {
        Some(s) => format!("{ENV_PREFIX}{}_{}", s.to_uppercase(), key.to_uppercase()),
        None => format!("{ENV_PREFIX}{}", key.to_uppercase()),
    }
}

/// Parses an environment value into the TOML type of the key's default.
fn env_value(name: &str, text: &str, like: &toml::Value) -> Result<toml::Value, ConfigError> {
    let bad = |expected: &str| ConfigError(format!("{name}={text:?} is invalid: expected {expected}"));
    Ok(match like {
        toml::Value::String(_) => toml::Value::String(text.to_owned()),
        toml::Value::Integer(_) => toml::Value::Integer(text.trim().parse().map_err(|_| bad("a whole number"))?),
        toml::Value::Boolean(_) => toml::Value::Boolean(match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" | "" => false,
            _ => return Err(bad("true or false")),
        }),
        toml::Value::Array(_) => toml::Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| toml::Value::String(s.to_owned()))
                .collect(),
        ),
        toml::Value::Table(_) => {
            let mut table = toml::Table::new();
            // `;` separates the pairs when names hold commas (LDAP group DNs), else `,`; one
            // pair whose name holds commas (more `=` than `,`-separated parts) is one pair.
            let pairs: Vec<&str> = if text.contains(';') {
                text.split(';').collect()
            } else if text.matches('=').count() > text.split(',').count() {
                vec![text]
            } else {
                text.split(',').collect()
            };
            for pair in pairs.into_iter().map(str::trim).filter(|s| !s.is_empty()) {
                let (k, v) = pair.rsplit_once('=').ok_or_else(|| bad("a list of name=value pairs"))?;
                table.insert(k.trim().to_owned(), toml::Value::String(v.trim().to_owned()));
            }
            toml::Value::Table(table)
        }
        _ => return Err(bad("a value")),
    })
}

/// Merges defaults, file and environment, then validates. Also returns warnings (unknown
/// `DIALOGUE_*` variables) for the caller to log.
pub fn load(sources: &Sources) -> Result<(Config, Vec<String>), ConfigError> {
    let defaults = toml::Table::try_from(RawConfig::default())
        .map_err(|e| ConfigError(format!("internal: defaults do not serialise: {e}")))?;
    let mut merged = match &sources.file {
        Some((path, text)) => toml::from_str::<toml::Table>(text).map_err(|e| {
            ConfigError(format!(
                "configuration file {}: {}",
                path.display(),
                one_line(&e.to_string())
            ))
        })?,
        None => toml::Table::new(),
    };
    let env: BTreeMap<&str, &str> = sources.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut origin: BTreeMap<String, String> = BTreeMap::new();
    let mut known_env: Vec<String> = Vec::new();
    let mut apply =
        |section: Option<&str>, key: &str, like: &toml::Value, merged: &mut toml::Table| -> Result<(), ConfigError> {
            let name = env_name(section, key);
            let file_name = format!("{name}_FILE");
            let value = match (env.get(name.as_str()), env.get(file_name.as_str())) {
                (Some(v), _) => Some(((*v).to_owned(), name.clone())),
                (None, Some(path)) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| ConfigError(format!("{file_name}={path:?}: cannot read the file: {e}")))?;
                    Some((text.trim_end_matches(['\n', '\r']).to_owned(), file_name.clone()))
                }
                (None, None) => None,
            };
            known_env.push(name.clone());
            known_env.push(file_name);
            if let Some((text, from)) = value {
                let parsed = env_value(&from, &text, like)?;
                let dotted = section.map_or_else(|| key.to_owned(), |s| format!("{s}.{key}"));
                origin.insert(dotted, from);
                let target = match section {
                    Some(s) => merged
                        .entry(s.to_owned())
                        .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                        .as_table_mut()
                        .ok_or_else(|| ConfigError(format!("configuration file: [{s}] must be a section")))?,
                    None => &mut *merged,
                };
                target.insert(key.to_owned(), parsed);
            }
            Ok(())
        };
    for (key, value) in &defaults {
        match value {
            toml::Value::Table(section) => {
                for (inner, like) in section {
                    // `x_file` beside `x`: its variable is `x`'s own `_FILE` (the value read
                    // from the file), not the path.
                    if inner
                        .strip_suffix("_file")
                        .is_some_and(|base| section.contains_key(base))
                    {
                        continue;
                    }
                    apply(Some(key), inner, like, &mut merged)?;
                }
            }
            // `[[oidc]]`: variables per provider, below.
            toml::Value::Array(_) if key == "oidc" => {}
            like => apply(None, key, like, &mut merged)?,
        }
    }
    known_env.extend(logins::apply_oidc_env(&env, &mut merged, &mut origin, &env_value)?);
    let warnings: Vec<String> = env
        .keys()
        .filter(|k| k.starts_with(ENV_PREFIX) && !NOT_SETTINGS.contains(k) && !known_env.iter().any(|n| n == *k))
        .map(|k| format!("unknown environment variable {k} ignored (see the configuration keys in the README)"))
        .collect();
    let raw: RawConfig = toml::Value::Table(merged)
        .try_into()
        .map_err(|e: toml::de::Error| ConfigError(format!("configuration: {}", one_line(&e.to_string()))))?;
    let config = validate(raw, &origin)?;
    Ok((config, warnings))
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn validate(raw: RawConfig, origin: &BTreeMap<String, String>) -> Result<Config, ConfigError> {
    let bad = |key: &str, value: &dyn std::fmt::Debug, expected: &str| {
        let from = origin.get(key).map(|o| format!(" (from {o})")).unwrap_or_default();
        ConfigError(format!("invalid value for {key}{from}: {value:?}; expected {expected}"))
    };
    let positive = |key: &str, value: i64, max: i64| -> Result<u64, ConfigError> {
        if (1..=max).contains(&value) {
            Ok(value as u64)
        } else {
            Err(bad(key, &value, &format!("a whole number from 1 to {max}")))
        }
    };

    let listen: SocketAddr = raw.listen.trim().parse().map_err(|_| {
        bad(
            "listen",
            &raw.listen,
            "an address and port such as 127.0.0.1:8080 or [::]:8080",
        )
    })?;
    let public_url = if raw.public_url.trim().is_empty() {
        let host = if listen.ip().is_unspecified() {
            "localhost".to_owned()
        } else {
            listen.ip().to_string()
        };
        let host = if host.contains(':') { format!("[{host}]") } else { host };
        format!("http://{host}:{}", listen.port())
    } else {
        parse_public_url(raw.public_url.trim()).ok_or_else(|| {
            bad(
                "public_url",
                &raw.public_url,
                "an http:// or https:// URL with no path, such as https://dialogue.example.org",
            )
        })?
    };
    let data_dir = PathBuf::from(raw.data_dir.trim());
    if raw.data_dir.trim().is_empty() {
        return Err(bad("data_dir", &raw.data_dir, "a directory path"));
    }
    let default_locale: Locale = raw
        .default_locale
        .parse()
        .map_err(|_| bad("default_locale", &raw.default_locale, "fr or en"))?;
    let default_time_zone = domain::user::parse_time_zone(&raw.default_time_zone).map_err(|_| {
        bad(
            "default_time_zone",
            &raw.default_time_zone,
            "an IANA time zone such as Europe/Paris",
        )
    })?;
    let secret_key_file = if raw.secret_key_file.trim().is_empty() {
        data_dir.join("secret.key")
    } else {
        PathBuf::from(raw.secret_key_file.trim())
    };
    let database_url = if raw.database.url.trim().is_empty() {
        format!("sqlite:{}", data_dir.join("dialogue.db").display())
    } else {
        raw.database.url.trim().to_owned()
    };
    if !(database_url.starts_with("sqlite:")
        || database_url.starts_with("postgres://")
        || database_url.starts_with("postgresql://"))
    {
        return Err(bad(
            "database.url",
            &store::redact(&database_url),
            "sqlite:PATH or postgres://USER@HOST/DATABASE",
        ));
    }
    let database_max_connections = positive("database.max_connections", raw.database.max_connections, 1000)? as u32;
    let log_format = match raw.log.format.trim() {
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => return Err(bad("log.format", &other, "text or json")),
    };
    if tracing_subscriber::EnvFilter::try_new(raw.log.level.trim()).is_err() {
        return Err(bad(
            "log.level",
            &raw.log.level,
            "a level such as info, debug, warn, or a filter like dialogue=debug",
        ));
    }
    // Lists of addresses or CIDR ranges (`http.trusted_proxies`, `metrics.allow`).
    let networks = |key: &str, entries: &[String]| {
        entries
            .iter()
            .map(|entry| {
                let text = entry.trim();
                text.parse::<ipnet::IpNet>()
                    .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        bad(
                            key,
                            &text,
                            "addresses or CIDR ranges such as 127.0.0.1/32 or 10.0.0.0/8",
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()
    };
    let trusted_proxies = networks("http.trusted_proxies", &raw.http.trusted_proxies)?;
    let metrics_allow = networks("metrics.allow", &raw.metrics.allow)?;
    let metrics_token = raw.metrics.token.trim();
    if !metrics_token.is_empty() && (metrics_token.len() < 16 || !metrics_token.bytes().all(|b| b.is_ascii_graphic())) {
        return Err(bad(
            "metrics.token",
            &"(hidden)",
            "at least 16 printable characters without spaces, e.g. from `openssl rand -hex 32`",
        ));
    }
    let metrics = web::http::metrics::MetricsAccess {
        enabled: raw.metrics.enabled,
        allow: metrics_allow,
        token: (!metrics_token.is_empty()).then(|| metrics_token.to_owned()),
    };
    let body_limit = positive("http.body_limit_kib", raw.http.body_limit_kib, 1024 * 1024)? as usize * 1024;
    let shutdown_grace = Duration::from_secs(positive(
        "http.shutdown_grace_seconds",
        raw.http.shutdown_grace_seconds,
        3600,
    )?);
    let session_idle =
        Duration::from_secs(positive("session.idle_minutes", raw.session.idle_minutes, 30 * 24 * 60)? * 60);
    let session_absolute =
        Duration::from_secs(positive("session.absolute_hours", raw.session.absolute_hours, 90 * 24)? * 3600);
    let password_link_ttl =
        Duration::from_secs(positive("session.password_link_hours", raw.session.password_link_hours, 30 * 24)? * 3600);
    let window_secs = positive("login.window_minutes", raw.login.window_minutes, 24 * 60)? as i64 * 60;
    let lockout_secs = positive("login.lockout_minutes", raw.login.lockout_minutes, 24 * 60)? as i64 * 60;
    let throttle_account = Throttle {
        max_failures: positive(
            "login.max_failures_per_account",
            raw.login.max_failures_per_account,
            1000,
        )? as i64,
        window_secs,
        lockout_secs,
    };
    let throttle_address = Throttle {
        max_failures: positive(
            "login.max_failures_per_address",
            raw.login.max_failures_per_address,
            100_000,
        )? as i64,
        window_secs,
        lockout_secs,
    };
    let proxy_auth = if raw.proxy_auth.enabled {
        let p = &raw.proxy_auth;
        let header = |key: &str, value: &str, required: bool| -> Result<Option<String>, ConfigError> {
            let v = value.trim();
            if v.is_empty() {
                return if required {
                    Err(bad(key, &value, "an HTTP header name"))
                } else {
                    Ok(None)
                };
            }
            axum_header_ok(v)
                .then(|| Some(v.to_ascii_lowercase()))
                .ok_or_else(|| bad(key, &value, "an HTTP header name such as X-Remote-User"))
        };
        if trusted_proxies.is_empty() {
            return Err(bad(
                "http.trusted_proxies",
                &raw.http.trusted_proxies,
                "at least one proxy address when proxy_auth.enabled is true (identity headers are believed only from them)",
            ));
        }
        let default_role: Role = p
            .default_role
            .parse()
            .map_err(|_| bad("proxy_auth.default_role", &p.default_role, "admin, manager or trainer"))?;
        let mut role_map = Vec::new();
        for (group, role) in &p.role_map {
            let role: Role = role.parse().map_err(|_| {
                bad(
                    &format!("proxy_auth.role_map.{group}"),
                    role,
                    "admin, manager or trainer",
                )
            })?;
            role_map.push((group.clone(), role));
        }
        Some(ProxyAuthConfig {
            user_header: header("proxy_auth.user_header", &p.user_header, true)?.unwrap_or_default(),
            email_header: header("proxy_auth.email_header", &p.email_header, false)?,
            name_header: header("proxy_auth.name_header", &p.name_header, false)?,
            groups_header: header("proxy_auth.groups_header", &p.groups_header, false)?,
            default_role,
            role_map,
        })
    } else {
        None
    };
    let min_duration = positive(
        "booking.min_duration_minutes",
        raw.booking.min_duration_minutes,
        24 * 60,
    )? as i64;
    let max_duration = positive(
        "booking.max_duration_minutes",
        raw.booking.max_duration_minutes,
        24 * 60,
    )? as i64;
    if max_duration < min_duration {
        return Err(bad(
            "booking.max_duration_minutes",
            &max_duration,
            &format!("at least booking.min_duration_minutes ({min_duration})"),
        ));
    }
    let booking = service::BookingSettings {
        trainers_can_book: raw.booking.trainers_can_book,
        limits: domain::booking::BookingLimits {
            max_moderators: positive("booking.max_moderators", raw.booking.max_moderators, 1000)? as usize,
            max_participants: positive("booking.max_participants", raw.booking.max_participants, 100_000)? as usize,
            min_duration: jiff::SignedDuration::from_mins(min_duration),
            max_duration: jiff::SignedDuration::from_mins(max_duration),
            max_participations: positive(
                "booking.max_participations_per_request",
                raw.booking.max_participations_per_request,
                1_000_000,
            )? as usize,
            max_participations_per_hour: positive(
                "booking.max_participations_per_hour",
                raw.booking.max_participations_per_hour,
                10_000_000,
            )? as usize,
            ..Default::default()
        },
    };
    let minutes = |key: &str, value: i64| -> Result<jiff::SignedDuration, ConfigError> {
        if (0..=24 * 60).contains(&value) {
            Ok(jiff::SignedDuration::from_mins(value))
        } else {
            Err(bad(key, &value, "a number of minutes from 0 to 1440"))
        }
    };
    let join = domain::window::WindowSettings {
        moderator_open_before: minutes(
            "join.moderator_open_before_minutes",
            raw.join.moderator_open_before_minutes,
        )?,
        learner_open_before: minutes("join.learner_open_before_minutes", raw.join.learner_open_before_minutes)?,
        grace: minutes("join.grace_minutes", raw.join.grace_minutes)?,
    };
    let mut mail = validate_mail(&raw.mail, &data_dir, &bad)?;
    if mail.worker.instance.is_none() && listen.port() != 0 {
        mail.worker.instance = mail::host_name().map(|host| format!("{host}:{}", listen.port()));
    }
    let noon = raw
        .attendance
        .noon
        .trim()
        .parse::<jiff::civil::Time>()
        .ok()
        .filter(|t| *t > jiff::civil::Time::midnight())
        .ok_or_else(|| {
            bad(
                "attendance.noon",
                &raw.attendance.noon,
                "a local time after midnight such as 13:00",
            )
        })?;
    if !(0..=30 * 24 * 60).contains(&raw.attendance.sign_after_minutes) {
        return Err(bad(
            "attendance.sign_after_minutes",
            &raw.attendance.sign_after_minutes,
            "a number of minutes from 0 to 43200",
        ));
    }
    let siret: String = raw.organisation.siret.chars().filter(|c| !c.is_whitespace()).collect();
    if !siret.is_empty() && (siret.len() != 14 || !siret.chars().all(|c| c.is_ascii_digit())) {
        return Err(bad("organisation.siret", &raw.organisation.siret, "14 digits"));
    }
    let o = &raw.organisation;
    let signatory_image = match o.signatory_image.trim() {
        "" => None,
        path => {
            let png = std::fs::read(path).map_err(|e| {
                bad(
                    "organisation.signatory_image",
                    &path,
                    &format!("a readable PNG file ({e})"),
                )
            })?;
            Some(service::SignatoryImage::new(png).map_err(|why| {
                bad(
                    "organisation.signatory_image",
                    &path,
                    &format!("a signature image: {why}"),
                )
            })?)
        }
    };
    let mut fonts = Vec::new();
    for path in o.fonts.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        documents::check_font_file(std::path::Path::new(path))
            .map_err(|why| bad("organisation.fonts", &path, &format!("a readable font file ({why})")))?;
        fonts.push(std::path::PathBuf::from(path));
    }
    let organisation = service::OrganisationConfig {
        name: if o.name.trim().is_empty() {
            mail.organization.clone()
        } else {
            o.name.trim().to_owned()
        },
        address: o.address.trim().replace("\\n", "\n"),
        siret: o.siret.trim().to_owned(),
        nda: o.nda.trim().to_owned(),
        signatory_name: o.signatory_name.trim().to_owned(),
        signatory_role: o.signatory_role.trim().to_owned(),
        signatory_image,
        place: o.place.trim().to_owned(),
        fonts,
    };
    let oidc = logins::validate_oidc(&raw.oidc)?;
    let ldap = logins::validate_ldap(&raw.ldap)?;
    let access = validate_access(&raw.access, &bad)?;
    let retention = validate_retention(&raw.retention, &bad)?;
    Ok(Config {
        listen,
        data_dir,
        database_url,
        database_max_connections,
        secret_key_file,
        log_format,
        log_level: raw.log.level.trim().to_owned(),
        shutdown_grace,
        service: service::Config {
            public_url,
            default_locale,
            default_time_zone,
            session_idle,
            session_absolute,
            proxy_auth,
            throttle_account,
            throttle_address,
            password_link_ttl,
            booking,
            join,
            attendance: service::AttendanceConfig {
                noon,
                sign_after_minutes: raw.attendance.sign_after_minutes as u32,
            },
            organisation,
            oidc,
            ldap,
            access,
            retention,
        },
        web: WebConfig {
            trusted_proxies,
            body_limit,
            mail_transport: match &mail.transport {
                MailTransportConfig::Files(dir) => ("outbox.transport.files", dir.display().to_string()),
                MailTransportConfig::Smtp(s) => ("outbox.transport.smtp", format!("{}:{}", s.host, s.port)),
            },
            metrics,
        },
        mail,
    })
}

/// The `[retention]` section: each period within its bounds, in days.
fn validate_retention(
    raw: &RawRetention,
    bad: &dyn Fn(&str, &dyn std::fmt::Debug, &str) -> ConfigError,
) -> Result<service::RetentionConfig, ConfigError> {
    let days = |key: &str, value: i64, min: i64, max: i64, unit: &str, per: i64| -> Result<u32, ConfigError> {
        if (min..=max).contains(&value) {
            // At most 30 × 366 days: fits.
            Ok(u32::try_from(value * per).unwrap_or(u32::MAX))
        } else {
            Err(bad(
                &format!("retention.{key}"),
                &value,
                &format!("a whole number of {unit} from {min} to {max}"),
            ))
        }
    };
    Ok(service::RetentionConfig {
        attendance_days: days("attendance_years", raw.attendance_years, 1, 30, "years", 366)?,
        contacts_days: days("contacts_months", raw.contacts_months, 1, 120, "months", 31)?,
        mail_days: days("mail_days", raw.mail_days, 1, 3650, "days", 1)?,
        jitsi_events_days: days("jitsi_events_days", raw.jitsi_events_days, 1, 3650, "days", 1)?,
        audit_days: days("audit_months", raw.audit_months, 1, 120, "months", 31)?,
        login_days: days("login_days", raw.login_days, 1, 365, "days", 1)?,
        batch: days("batch", raw.batch, 1, 100_000, "rows", 1)?,
    })
}

/// `1d`, `2h`, `30m` as a duration (whole minutes, from 1 minute to 30 days).
fn parse_offset(text: &str) -> Option<jiff::SignedDuration> {
    let text = text.trim();
    let split = text.len().checked_sub(1)?;
    let (number, unit) = text.split_at(split);
    let n: i64 = number.trim().parse().ok()?;
    let minutes = match unit {
        "d" => n.checked_mul(24 * 60)?,
        "h" => n.checked_mul(60)?,
        "m" => n,
        _ => return None,
    };
    (1..=30 * 24 * 60)
        .contains(&minutes)
        .then(|| jiff::SignedDuration::from_mins(minutes))
}

fn validate_mail(
    raw: &RawMail,
    data_dir: &Path,
    bad: &dyn Fn(&str, &dyn std::fmt::Debug, &str) -> ConfigError,
) -> Result<MailConfig, ConfigError> {
    let within = |key: &str, value: i64, min: i64, max: i64| -> Result<i64, ConfigError> {
        if (min..=max).contains(&value) {
            Ok(value)
        } else {
            Err(bad(key, &value, &format!("a whole number from {min} to {max}")))
        }
    };
    let mailbox = |key: &str, text: &str| -> Result<mail::Mailbox, ConfigError> {
        text.trim().parse::<mail::Mailbox>().map_err(|_| {
            bad(
                key,
                &text,
                "an address such as formation@example.org or \"Formation Exemple <formation@example.org>\"",
            )
        })
    };
    let from = mailbox("mail.from", &raw.from)?;
    let reply_to = if raw.reply_to.trim().is_empty() {
        None
    } else {
        Some(mailbox("mail.reply_to", &raw.reply_to)?)
    };
    let timeout = within("mail.timeout_seconds", raw.timeout_seconds, 1, 600)?;
    let lease = within("mail.lease_seconds", raw.lease_seconds, 1, 24 * 3600)?;
    if lease < 4 * timeout {
        return Err(bad(
            "mail.lease_seconds",
            &lease,
            &format!(
                "at least 4 × mail.timeout_seconds ({}), so a delivery never outlives its lease",
                4 * timeout
            ),
        ));
    }
    let mut reminders = Vec::new();
    for text in &raw.reminders {
        let offset = parse_offset(text).ok_or_else(|| {
            bad(
                "mail.reminders",
                text,
                "durations such as 1d, 2h or 30m (from 1 minute to 30 days)",
            )
        })?;
        if !reminders.contains(&offset) {
            reminders.push(offset);
        }
    }
    reminders.sort_by(|a, b| b.cmp(a));
    let transport = match raw.transport.trim() {
        "file" | "files" => MailTransportConfig::Files(if raw.file_dir.trim().is_empty() {
            data_dir.join("outbox")
        } else {
            PathBuf::from(raw.file_dir.trim())
        }),
        "smtp" => {
            let host = raw.smtp_host.trim();
            if host.is_empty() || host.contains(['/', ' ', '@']) {
                return Err(bad(
                    "mail.smtp_host",
                    &raw.smtp_host,
                    "the SMTP server's host name when mail.transport is smtp",
                ));
            }
            let security = match raw.smtp_security.trim() {
                "starttls" => mail::SmtpSecurity::StartTls,
                "tls" => mail::SmtpSecurity::Tls,
                "none" => mail::SmtpSecurity::None,
                other => return Err(bad("mail.smtp_security", &other, "starttls, tls or none")),
            };
            let port = match raw.smtp_port {
                0 => match security {
                    mail::SmtpSecurity::StartTls => 587,
                    mail::SmtpSecurity::Tls => 465,
                    mail::SmtpSecurity::None => 25,
                },
                p => within("mail.smtp_port", p, 1, 65535)? as u16,
            };
            let user = raw.smtp_username.trim();
            let credentials = match (user.is_empty(), raw.smtp_password.is_empty()) {
                (true, true) => None,
                (false, false) => Some((user.to_owned(), raw.smtp_password.clone())),
                (true, false) => {
                    return Err(bad(
                        "mail.smtp_username",
                        &user,
                        "a user name, since mail.smtp_password is set",
                    ));
                }
                (false, true) => {
                    return Err(ConfigError(
                        "mail.smtp_password is missing while mail.smtp_username is set: set \
                         DIALOGUE_MAIL_SMTP_PASSWORD or DIALOGUE_MAIL_SMTP_PASSWORD_FILE"
                            .into(),
                    ));
                }
            };
            let ca_pem = if raw.smtp_ca_file.trim().is_empty() {
                None
            } else {
                let path = raw.smtp_ca_file.trim();
                Some(
                    std::fs::read(path)
                        .map_err(|e| bad("mail.smtp_ca_file", &path, &format!("a readable PEM file ({e})")))?,
                )
            };
            MailTransportConfig::Smtp(mail::SmtpSettings {
                host: host.to_owned(),
                port,
                security,
                credentials,
                timeout: Duration::from_secs(timeout as u64),
                ca_pem,
            })
        }
        other => return Err(bad("mail.transport", &other, "file or smtp")),
    };
    let concurrency = within("mail.concurrency", raw.concurrency, 1, 64)? as usize;
    Ok(MailConfig {
        transport,
        from,
        reply_to,
        organization: raw.organization.trim().to_owned(),
        contact: raw.contact.trim().to_owned(),
        policy: store::MailPolicy {
            reminder_offsets: reminders,
            give_up_after: jiff::SignedDuration::from_hours(within(
                "mail.give_up_hours",
                raw.give_up_hours,
                1,
                30 * 24,
            )?),
        },
        worker: mail::WorkerOptions {
            poll: Duration::from_secs(within("mail.poll_seconds", raw.poll_seconds, 1, 3600)? as u64),
            lease: jiff::SignedDuration::from_secs(lease),
            batch: (concurrency * 5).max(20) as i64,
            concurrency,
            instance: match raw.instance.trim() {
                "" => None,
                name if name.len() <= 200 && !name.chars().any(char::is_control) => Some(name.to_owned()),
                name => return Err(bad("mail.instance", &name, "a name of at most 200 characters")),
            },
            heartbeat: Duration::from_secs(within("mail.heartbeat_seconds", raw.heartbeat_seconds, 1, 300)? as u64),
        },
    })
}

/// `[access]`: the booking rules and the join check, each value checked with the key named.
fn validate_access(
    raw: &RawAccess,
    bad: &dyn Fn(&str, &dyn std::fmt::Debug, &str) -> ConfigError,
) -> Result<service::AccessConfig, ConfigError> {
    const ROLES: &str = "a list of roles among admin, manager and trainer";
    let role = |key: &str, text: &str| -> Result<Role, ConfigError> {
        text.parse::<Role>().map_err(|_| bad(key, &text, ROLES))
    };
    let mut booking_roles = Vec::new();
    for text in &raw.booking_roles {
        let r = role("access.booking_roles", text)?;
        if !booking_roles.contains(&r) {
            booking_roles.push(r);
        }
    }
    if booking_roles.is_empty() {
        return Err(bad("access.booking_roles", &raw.booking_roles, ROLES));
    }
    booking_roles.sort();
    let mut jitsi_servers_by_role = BTreeMap::new();
    for (name, servers) in &raw.jitsi_servers_by_role {
        let key = format!("access.jitsi_servers_by_role.{name}");
        let r = role(&key, name)?;
        let servers = servers.names();
        if jitsi_servers_by_role.insert(r, servers).is_some() {
            return Err(bad(&key, name, "each role once"));
        }
    }
    let url = raw.join_check_url.trim();
    let token_file = raw.join_check_token_file.trim();
    if !raw.join_check_token.is_empty() && !token_file.is_empty() {
        return Err(bad(
            "access.join_check_token_file",
            &token_file,
            "either join_check_token or join_check_token_file, not both",
        ));
    }
    let token = if token_file.is_empty() {
        raw.join_check_token.trim().to_owned()
    } else {
        std::fs::read_to_string(token_file)
            .map_err(|e| {
                bad(
                    "access.join_check_token_file",
                    &token_file,
                    &format!("a readable file ({e})"),
                )
            })?
            .trim()
            .to_owned()
    };
    if !token.is_empty() && !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad(
            "access.join_check_token",
            &"(hidden)",
            "printable characters without spaces (it is sent as an HTTP bearer token)",
        ));
    }
    let timeout_ms = raw.join_check_timeout_ms;
    if !(100..=30_000).contains(&timeout_ms) {
        return Err(bad(
            "access.join_check_timeout_ms",
            &timeout_ms,
            "a number of milliseconds from 100 to 30000",
        ));
    }
    let on_failure = domain::access::CheckFailure::parse(&raw.join_check_failure).ok_or_else(|| {
        bad(
            "access.join_check_failure",
            &raw.join_check_failure,
            "deny (refuse the join when the check cannot answer) or allow (let the person in)",
        )
    })?;
    let join_check = if url.is_empty() {
        None
    } else {
        service::access::check_url(url).map_err(|why| bad("access.join_check_url", &url, &why))?;
        let ca_file = raw.join_check_ca_file.trim();
        let ca_file = (!ca_file.is_empty()).then(|| PathBuf::from(ca_file));
        if let Some(ca) = &ca_file {
            // Read and parsed now: a wrong file stops the start, not every join.
            if let Err(e) = directory::tls::client_config("access", "join_check_ca_file", Some(ca)) {
                let why = match e {
                    directory::Error::Config { problem, .. } => problem,
                    other => other.to_string(),
                };
                return Err(bad(
                    "access.join_check_ca_file",
                    &ca,
                    &format!("a PEM file of the authority's certificates ({why})"),
                ));
            }
        }
        Some(service::JoinCheckConfig {
            url: url.to_owned(),
            timeout: Duration::from_millis(timeout_ms as u64),
            on_failure,
            token: (!token.is_empty()).then_some(token),
            ca_file,
        })
    };
    Ok(service::AccessConfig {
        rules: domain::access::AccessRules {
            booking_roles,
            jitsi_servers_by_role,
        },
        join_check,
    })
}

fn axum_header_ok(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// `scheme://host[:port]` without a trailing slash, or `None`.
fn parse_public_url(text: &str) -> Option<String> {
    let text = text.trim_end_matches('/');
    let rest = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"))?;
    let valid_host = !rest.is_empty()
        && !rest.contains(['/', '?', '#', '@', ' '])
        && rest.chars().all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    valid_host.then(|| text.to_owned())
}

/// The documented example configuration (every key with its default), for the README and
/// `dialogue check`.
pub fn example() -> String {
    toml::to_string(&RawConfig::default()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(env: &[(&str, &str)], file: Option<&str>) -> Result<(Config, Vec<String>), ConfigError> {
        load(&Sources {
            file: file.map(|f| (PathBuf::from("/etc/dialogue.toml"), f.to_owned())),
            env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        })
    }

    #[test]
    fn oidc_providers_come_from_the_file_and_the_environment() {
        let dir = std::env::temp_dir().join(format!("dialogue-oidc-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let secret = dir.join("secret");
        std::fs::write(&secret, "from-file\n").unwrap();
        let file = "[[oidc]]\nname = \"company\"\nissuer = \"https://id.example.org\"\nclient_id = \"dialogue\"\nrole_map = { staff = \"manager\" }\n";
        let secret_path = secret.display().to_string();
        let (config, warnings) = with(
            &[
                ("DIALOGUE_OIDC_COMPANY_CLIENT_SECRET_FILE", &secret_path),
                ("DIALOGUE_OIDC_SCHOOL_NET_ISSUER", "https://school.example.org"),
                ("DIALOGUE_OIDC_SCHOOL_NET_CLIENT_ID", "d"),
                ("DIALOGUE_OIDC_SCHOOL_NET_ROLE_MAP", "it=admin"),
                ("DIALOGUE_OIDC_NOKEY", "x"),
            ],
            Some(file),
        )
        .unwrap();
        let oidc = &config.service.oidc;
        assert_eq!(oidc.len(), 2);
        assert_eq!(oidc[0].config.name, "company");
        assert_eq!(oidc[0].config.client_secret.expose(), "from-file");
        assert_eq!(oidc[0].config.role_map, vec![("staff".to_owned(), Role::Manager)]);
        assert_eq!(oidc[0].label, "company");
        assert_eq!(oidc[1].config.name, "school-net");
        assert_eq!(oidc[1].config.role_map, vec![("it".to_owned(), Role::Admin)]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("DIALOGUE_OIDC_NOKEY"));

        let e = with(
            &[
                ("DIALOGUE_OIDC_X_ISSUER", "http://id.example.org"),
                ("DIALOGUE_OIDC_X_CLIENT_ID", "d"),
            ],
            None,
        )
        .unwrap_err();
        assert!(e.0.contains("oidc.issuer"), "{e}");

        // `…_CA_FILE` is the path of the provider's authority, not a key `ca` read from a file.
        let e = with(
            &[
                ("DIALOGUE_OIDC_X_ISSUER", "https://id.example.org"),
                ("DIALOGUE_OIDC_X_CLIENT_ID", "d"),
                ("DIALOGUE_OIDC_X_CA_FILE", "/nonexistent/ca.pem"),
            ],
            None,
        )
        .unwrap_err();
        assert!(
            e.0.contains("oidc.ca_file") && e.0.contains("/nonexistent/ca.pem"),
            "{e}"
        );
        let e = with(
            &[
                ("DIALOGUE_OIDC_X_ISSUER", "https://id.example.org"),
                ("DIALOGUE_OIDC_X_CLIENT_ID", "d"),
                ("DIALOGUE_OIDC_X_DEFAULT_ROLE", "boss"),
            ],
            None,
        )
        .unwrap_err();
        assert!(e.0.contains("default_role"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn ldap_is_off_without_url_and_names_bad_fields() {
        let (config, _) = with(&[], None).unwrap();
        assert!(config.service.ldap.is_none());
        let (config, _) = with(
            &[
                ("DIALOGUE_LDAP_URL", "ldaps://ldap.example.org"),
                ("DIALOGUE_LDAP_BASE_DN", "ou=people,dc=example,dc=org"),
                ("DIALOGUE_LDAP_ROLE_MAP", "cn=staff,ou=groups,dc=example,dc=org=manager"),
            ],
            None,
        )
        .unwrap();
        let ldap = config.service.ldap.unwrap();
        assert_eq!(
            ldap.role_map,
            vec![("cn=staff,ou=groups,dc=example,dc=org".to_owned(), Role::Manager)]
        );
        let e = with(&[("DIALOGUE_LDAP_URL", "ldap://ldap.example.org")], None).unwrap_err();
        assert!(e.0.contains("ldap.url"), "{e}");
        let e = with(
            &[
                ("DIALOGUE_LDAP_URL", "ldaps://ldap.example.org"),
                ("DIALOGUE_LDAP_BASE_DN", "dc=x"),
                ("DIALOGUE_LDAP_BIND_DN", "cn=s,dc=x"),
                ("DIALOGUE_LDAP_BIND_PASSWORD_FILE", "/nonexistent/pw"),
            ],
            None,
        )
        .unwrap_err();
        assert!(e.0.contains("DIALOGUE_LDAP_BIND_PASSWORD_FILE"), "{e}");
    }

    #[test]
    fn defaults_run_with_no_file() {
        let (c, warnings) = with(&[], None).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.service.public_url, "http://127.0.0.1:8080");
        assert_eq!(c.database_url, "sqlite:./data/dialogue.db");
        assert_eq!(c.secret_key_file, PathBuf::from("./data/secret.key"));
        assert_eq!(c.service.default_locale, Locale::Fr);
        assert_eq!(c.service.default_time_zone, "Europe/Paris");
        assert!(c.service.proxy_auth.is_none());
        assert!(warnings.is_empty());
    }

    #[test]
    fn environment_overrides_the_file() {
        let file = "listen = \"127.0.0.1:9000\"\n[database]\nurl = \"sqlite:/tmp/a.db\"\n";
        let (c, _) = with(
            &[
                ("DIALOGUE_DATABASE_URL", "postgres://u:pw@db/dialogue"),
                ("DIALOGUE_PUBLIC_URL", "https://dialogue.example.org/"),
                ("DIALOGUE_DATA_DIR", "/var/lib/dialogue"),
                ("DIALOGUE_HTTP_TRUSTED_PROXIES", "10.0.0.0/8, 127.0.0.1"),
                ("DIALOGUE_LOG_FORMAT", "json"),
            ],
            Some(file),
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.database_url, "postgres://u:pw@db/dialogue");
        assert_eq!(c.service.public_url, "https://dialogue.example.org");
        assert_eq!(c.secret_key_file, PathBuf::from("/var/lib/dialogue/secret.key"));
        assert_eq!(c.web.trusted_proxies.len(), 2);
        assert_eq!(c.log_format, LogFormat::Json);
    }

    #[test]
    fn retention_defaults_bounds_and_overrides() {
        let (c, _) = with(&[], None).unwrap();
        let r = c.service.retention;
        assert_eq!(r.attendance_days, 3 * 366);
        assert_eq!((r.mail_days, r.jitsi_events_days, r.login_days), (90, 90, 30));
        assert_eq!((r.contacts_days, r.audit_days), (12 * 31, 12 * 31));
        let (c, _) = with(
            &[("DIALOGUE_RETENTION_MAIL_DAYS", "30")],
            Some("[retention]\nattendance_years = 5\nbatch = 50\n"),
        )
        .unwrap();
        assert_eq!(c.service.retention.attendance_days, 5 * 366);
        assert_eq!(c.service.retention.mail_days, 30);
        assert_eq!(c.service.retention.batch, 50);
        let e = with(&[], Some("[retention]\nattendance_years = 0\n")).unwrap_err().0;
        assert!(
            e.contains("retention.attendance_years") && e.contains("from 1 to 30"),
            "{e}"
        );
        let e = with(&[("DIALOGUE_RETENTION_LOGIN_DAYS", "-3")], None).unwrap_err().0;
        assert!(
            e.contains("retention.login_days") && e.contains("DIALOGUE_RETENTION_LOGIN_DAYS"),
            "{e}"
        );
        let e = with(&[], Some("[retention]\nmail_month = 3\n")).unwrap_err().0;
        assert!(e.contains("mail_month"), "{e}");
    }

    #[test]
    fn attendance_and_organisation_sections() {
        let (c, _) = with(
            &[
                ("DIALOGUE_ATTENDANCE_NOON", "12:30"),
                ("DIALOGUE_ORGANISATION_SIRET", "123 456 789 00012"),
            ],
            Some("[organisation]\nname = \"Formations Durand\"\nnda = \"11 75 12345 75\"\n"),
        )
        .unwrap();
        assert_eq!(c.service.attendance.noon, jiff::civil::time(12, 30, 0, 0));
        assert_eq!(c.service.attendance.sign_after_minutes, 24 * 60);
        assert_eq!(c.service.organisation.name, "Formations Durand");
        assert_eq!(c.service.organisation.nda, "11 75 12345 75");
        let e = with(&[("DIALOGUE_ATTENDANCE_NOON", "00:00")], None).unwrap_err().0;
        assert!(e.contains("attendance.noon") && e.contains("after midnight"), "{e}");
        let e = with(&[("DIALOGUE_ORGANISATION_SIRET", "12345")], None).unwrap_err().0;
        assert!(e.contains("organisation.siret") && e.contains("14 digits"), "{e}");
        // Fallback fonts: each file is read and parsed at start.
        let font = concat!(env!("CARGO_MANIFEST_DIR"), "/../documents/fonts/DejaVuSans.ttf");
        let (c, _) = with(&[("DIALOGUE_ORGANISATION_FONTS", font)], None).unwrap();
        assert_eq!(c.service.organisation.fonts, vec![std::path::PathBuf::from(font)]);
        let not_a_font = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
        let e = with(
            &[("DIALOGUE_ORGANISATION_FONTS", &format!("{font},{not_a_font}"))],
            None,
        )
        .unwrap_err()
        .0;
        assert!(
            e.contains("organisation.fonts") && e.contains("Cargo.toml") && e.contains("not a TrueType"),
            "{e}"
        );
    }

    #[test]
    fn bad_values_name_the_key_the_value_and_the_expectation() {
        let e = with(&[("DIALOGUE_LISTEN", "nowhere")], None).unwrap_err().0;
        assert!(
            e.contains("listen")
                && e.contains("DIALOGUE_LISTEN")
                && e.contains("\"nowhere\"")
                && e.contains("127.0.0.1:8080"),
            "{e}"
        );
        let e = with(&[], Some("default_time_zone = \"Mars/Olympus\"")).unwrap_err().0;
        assert!(
            e.contains("default_time_zone") && e.contains("Mars/Olympus") && e.contains("IANA"),
            "{e}"
        );
        let e = with(&[("DIALOGUE_SESSION_IDLE_MINUTES", "soon")], None).unwrap_err().0;
        assert!(
            e.contains("DIALOGUE_SESSION_IDLE_MINUTES") && e.contains("whole number"),
            "{e}"
        );
        let e = with(&[], Some("[database]\nurl = \"mysql://x\"")).unwrap_err().0;
        assert!(e.contains("database.url") && e.contains("sqlite:"), "{e}");
        let e = with(&[], Some("listen = 8080")).unwrap_err().0;
        assert!(e.contains("listen"), "{e}");
        let e = with(&[], Some("lisen = \"x\"")).unwrap_err().0;
        assert!(e.contains("lisen"), "unknown keys are named: {e}");
        let e = with(&[("DIALOGUE_PUBLIC_URL", "ftp://x")], None).unwrap_err().0;
        assert!(e.contains("public_url") && e.contains("https://"), "{e}");
        let e = with(&[("DIALOGUE_PROXY_AUTH_ENABLED", "true")], None).unwrap_err().0;
        assert!(
            e.contains("http.trusted_proxies"),
            "proxy login needs trusted proxies: {e}"
        );
    }

    #[test]
    fn proxy_auth_and_role_map() {
        let (c, _) = with(
            &[
                ("DIALOGUE_PROXY_AUTH_ENABLED", "yes"),
                ("DIALOGUE_HTTP_TRUSTED_PROXIES", "127.0.0.2/32"),
                ("DIALOGUE_PROXY_AUTH_ROLE_MAP", "staff=manager, it=admin"),
                ("DIALOGUE_PROXY_AUTH_EMAIL_HEADER", "X-Remote-Email"),
            ],
            None,
        )
        .unwrap();
        let p = c.service.proxy_auth.unwrap();
        assert_eq!(p.user_header, "x-remote-user");
        assert_eq!(p.email_header.as_deref(), Some("x-remote-email"));
        assert!(p.role_map.contains(&("it".into(), Role::Admin)));
        let e = with(
            &[
                ("DIALOGUE_PROXY_AUTH_ENABLED", "yes"),
                ("DIALOGUE_HTTP_TRUSTED_PROXIES", "127.0.0.2/32"),
                ("DIALOGUE_PROXY_AUTH_ROLE_MAP", "staff=boss"),
            ],
            None,
        )
        .unwrap_err()
        .0;
        assert!(e.contains("proxy_auth.role_map.staff") && e.contains("boss"), "{e}");
    }

    #[test]
    fn mail_defaults_to_files_and_smtp_is_checked() {
        let (c, _) = with(&[], None).unwrap();
        match &c.mail.transport {
            MailTransportConfig::Files(dir) => assert_eq!(dir, &PathBuf::from("./data/outbox")),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            c.mail.policy.reminder_offsets,
            [
                jiff::SignedDuration::from_hours(24),
                jiff::SignedDuration::from_hours(1)
            ]
        );
        assert_eq!(c.mail.from.email.to_string(), "dialogue@localhost");
        let (c, _) = with(
            &[
                ("DIALOGUE_MAIL_TRANSPORT", "smtp"),
                ("DIALOGUE_MAIL_SMTP_HOST", "smtp.example.org"),
                ("DIALOGUE_MAIL_SMTP_SECURITY", "tls"),
                ("DIALOGUE_MAIL_SMTP_USERNAME", "dialogue"),
                ("DIALOGUE_MAIL_SMTP_PASSWORD", "s3cret"),
                ("DIALOGUE_MAIL_FROM", "Formation Exemple <formation@example.org>"),
                ("DIALOGUE_MAIL_REMINDERS", "2h, 1d, 30m, 2h"),
            ],
            None,
        )
        .unwrap();
        match &c.mail.transport {
            MailTransportConfig::Smtp(s) => {
                assert_eq!(
                    (s.host.as_str(), s.port, s.security),
                    ("smtp.example.org", 465, mail::SmtpSecurity::Tls)
                );
                assert_eq!(s.credentials, Some(("dialogue".into(), "s3cret".into())));
                assert!(!format!("{s:?}").contains("s3cret"), "the password is never printed");
            }
            other => panic!("{other:?}"),
        }
        let minutes: Vec<i64> = c.mail.policy.reminder_offsets.iter().map(|d| d.as_mins()).collect();
        assert_eq!(minutes, [1440, 120, 30]);
        let (c, _) = with(&[("DIALOGUE_MAIL_REMINDERS", "")], None).unwrap();
        assert!(c.mail.policy.reminder_offsets.is_empty());
        for (env, key) in [
            (vec![("DIALOGUE_MAIL_TRANSPORT", "pigeon")], "mail.transport"),
            (vec![("DIALOGUE_MAIL_TRANSPORT", "smtp")], "mail.smtp_host"),
            (vec![("DIALOGUE_MAIL_FROM", "not an address")], "mail.from"),
            (vec![("DIALOGUE_MAIL_REMINDERS", "1d, soon")], "mail.reminders"),
            (vec![("DIALOGUE_MAIL_REMINDERS", "0m")], "mail.reminders"),
            (vec![("DIALOGUE_MAIL_LEASE_SECONDS", "60")], "mail.lease_seconds"),
            (
                vec![
                    ("DIALOGUE_MAIL_TRANSPORT", "smtp"),
                    ("DIALOGUE_MAIL_SMTP_HOST", "h"),
                    ("DIALOGUE_MAIL_SMTP_SECURITY", "maybe"),
                ],
                "mail.smtp_security",
            ),
            (
                vec![
                    ("DIALOGUE_MAIL_TRANSPORT", "smtp"),
                    ("DIALOGUE_MAIL_SMTP_HOST", "h"),
                    ("DIALOGUE_MAIL_SMTP_USERNAME", "u"),
                ],
                "mail.smtp_password",
            ),
        ] {
            let e = with(&env, None).unwrap_err().0;
            assert!(e.contains(key), "{env:?}: {e}");
        }
    }

    #[test]
    fn access_rules_and_the_join_check() {
        // Off, and today's rules, by default.
        let (c, _) = with(&[], None).unwrap();
        assert!(c.service.access.join_check.is_none());
        assert_eq!(c.service.access.rules, domain::access::AccessRules::default());
        let documented = example();
        assert!(
            documented.contains("[access]") && documented.contains("join_check_failure = \"deny\""),
            "{documented}"
        );
        let file = "[access]\njoin_check_url = \"https://check.example.org/join\"\nbooking_roles = [\"admin\", \"Manager\"]\njitsi_servers_by_role = { manager = [\"Visio B\"] }\n";
        let (c, _) = with(
            &[
                ("DIALOGUE_ACCESS_JOIN_CHECK_TIMEOUT_MS", "500"),
                ("DIALOGUE_ACCESS_JOIN_CHECK_FAILURE", "allow"),
                ("DIALOGUE_ACCESS_JOIN_CHECK_TOKEN", "s3cret-bearer"),
            ],
            Some(file),
        )
        .unwrap();
        let check = c.service.access.join_check.as_ref().unwrap();
        assert_eq!(check.url, "https://check.example.org/join");
        assert_eq!(check.timeout, Duration::from_millis(500));
        assert_eq!(check.on_failure, domain::access::CheckFailure::Allow);
        assert_eq!(check.token.as_deref(), Some("s3cret-bearer"));
        assert!(
            !format!("{c:?}").contains("s3cret-bearer"),
            "the token is never printed"
        );
        let rules = &c.service.access.rules;
        assert_eq!(rules.booking_roles, vec![Role::Manager, Role::Admin]);
        assert!(!rules.may_book(Role::Trainer, true));
        assert!(rules.may_use_server(Role::Manager, "Visio B"));
        assert!(!rules.may_use_server(Role::Manager, "Visio A"));
        // From the environment: `|` between one role's servers.
        let (c, _) = with(
            &[(
                "DIALOGUE_ACCESS_JITSI_SERVERS_BY_ROLE",
                "manager=Visio A|Visio B, trainer=Visio A",
            )],
            None,
        )
        .unwrap();
        let rules = &c.service.access.rules;
        assert_eq!(
            rules.servers_of(Role::Manager),
            Some(&["Visio A".to_owned(), "Visio B".to_owned()][..])
        );
        assert_eq!(rules.servers_of(Role::Trainer), Some(&["Visio A".to_owned()][..]));
        // Bad values stop start-up naming the key.
        for (env, key, why) in [
            (
                ("DIALOGUE_ACCESS_JOIN_CHECK_URL", "ftp://check.example.org/"),
                "access.join_check_url",
                "https://",
            ),
            (
                ("DIALOGUE_ACCESS_JOIN_CHECK_URL", "http://check.example.org/"),
                "access.join_check_url",
                "loopback",
            ),
            (
                ("DIALOGUE_ACCESS_JOIN_CHECK_TIMEOUT_MS", "0"),
                "access.join_check_timeout_ms",
                "100 to 30000",
            ),
            (
                ("DIALOGUE_ACCESS_JOIN_CHECK_TIMEOUT_MS", "60000"),
                "access.join_check_timeout_ms",
                "100 to 30000",
            ),
            (
                ("DIALOGUE_ACCESS_JOIN_CHECK_FAILURE", "open"),
                "access.join_check_failure",
                "deny",
            ),
            (
                ("DIALOGUE_ACCESS_BOOKING_ROLES", "admin,learner"),
                "access.booking_roles",
                "admin, manager and trainer",
            ),
            (
                ("DIALOGUE_ACCESS_BOOKING_ROLES", ""),
                "access.booking_roles",
                "admin, manager and trainer",
            ),
            (
                ("DIALOGUE_ACCESS_JITSI_SERVERS_BY_ROLE", "boss=A"),
                "access.jitsi_servers_by_role.boss",
                "admin",
            ),
            (
                ("DIALOGUE_ACCESS_JOIN_CHECK_TOKEN", "has space"),
                "access.join_check_token",
                "printable",
            ),
        ] {
            let e = with(&[env], None).unwrap_err().0;
            assert!(e.contains(key) && e.contains(why), "{env:?}: {e}");
            assert!(!e.contains("has space"), "{e}");
        }
    }

    #[test]
    fn secrets_can_come_from_files_and_unknown_variables_warn() {
        let dir = std::env::temp_dir().join(format!("dialogue-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("db-url");
        std::fs::write(&file, "postgres://u:secret@db/x\n").unwrap();
        let (c, warnings) = with(
            &[
                ("DIALOGUE_DATABASE_URL_FILE", file.to_str().unwrap()),
                ("DIALOGUE_LISTN", "x"),
            ],
            None,
        )
        .unwrap();
        assert_eq!(c.database_url, "postgres://u:secret@db/x");
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("DIALOGUE_LISTN"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
