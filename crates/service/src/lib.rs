//! Dialogue's use cases: what the pages, the JSON API, the endpoints Prosody calls and the
//! command line ask for — book, change and cancel sessions, plan courses, manage people and
//! accounts, open Jitsi servers' secrets, decide a join, record answers and Jitsi's events.
//!
//! Each use case checks the caller's permission (`domain::perm`), the rules (`domain`), calls
//! `store`, and answers with the data or a typed [`Error`] that explains itself in catalogue
//! messages and knows nothing of HTTP. The surfaces render; they do not decide.
#![forbid(unsafe_code)]

pub mod access;
pub mod accounts;
pub mod admin;
pub mod attendance;
pub mod booking;
pub mod clock;
pub mod config;
pub mod contacts;
pub mod course_attendance;
pub mod courses;
pub mod crypto;
pub mod error;
pub mod feeds;
pub mod gdpr;
pub mod import;
pub mod jitsi_servers;
pub mod join;
pub mod links;
pub mod logins;
pub mod messages;
pub mod metrics;
pub mod personal_rooms;
pub mod prosody;
pub mod prosody_accounts;
pub mod retention;
pub mod rsvp;
pub mod tokens;

use std::sync::Arc;

use domain::Actor;
use jiff::Timestamp;
use store::Store;

pub use clock::Clock;
pub use config::{
    AccessConfig, AttendanceConfig, BookingSettings, Config, JoinCheckConfig, OidcLogin, OrganisationConfig,
    ProxyAuthConfig, RetentionConfig, SignatoryImage,
};
pub use crypto::SecretKey;
pub use error::{Error, Problem, Result};
pub use i18n::Message;

/// The service: the store, the settings, the secret key, the clock and the open Jitsi servers.
/// Shared by every request and command; cheap to clone.
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    config: Config,
    secret: SecretKey,
    clock: Clock,
    jitsi: jitsi_servers::Runtime,
    logins: logins::Runtime,
    join_check: Option<access::JoinCheck>,
    metrics: metrics::Metrics,
    prosody: prosody_accounts::Reconciler,
}

impl Service {
    pub fn new(store: Store, config: Config, secret: SecretKey, clock: Clock) -> Service {
        // Process-wide, set by the first service (a process serves one configuration; tests
        // that build several use the default, none).
        documents::set_extra_fonts(config.organisation.fonts.clone());
        let jitsi = jitsi_servers::Runtime::new(&secret);
        let logins = logins::Runtime::new(&config, &secret);
        let join_check = config.access.join_check.clone().map(access::JoinCheck::new);
        Service {
            inner: Arc::new(Inner {
                store,
                config,
                secret,
                clock,
                jitsi,
                logins,
                join_check,
                metrics: metrics::Metrics::new(),
                prosody: prosody_accounts::Reconciler::new(),
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn secret(&self) -> &SecretKey {
        &self.inner.secret
    }

    /// Jitsi servers' decrypted settings, cached by revision.
    pub fn jitsi(&self) -> &jitsi_servers::Runtime {
        &self.inner.jitsi
    }

    /// The directory logins (OpenID providers, LDAP), ready to use.
    pub fn logins(&self) -> &logins::Runtime {
        &self.inner.logins
    }

    /// The external join check (`[access] join_check_url`), when configured.
    pub fn join_check(&self) -> Option<&access::JoinCheck> {
        self.inner.join_check.as_ref()
    }

    /// What `/metrics` reports.
    /// The reconciler of secure-domain servers' Prosody accounts.
    pub fn prosody(&self) -> &prosody_accounts::Reconciler {
        &self.inner.prosody
    }

    pub fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// An absolute URL for a path of this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.inner.config.public_url)
    }
}

/// Who asks: the actor of the permission matrix, their email and address (for the audit log).
#[derive(Debug, Clone)]
pub struct Caller {
    pub actor: Actor,
    pub email: String,
    pub ip: Option<String>,
}

impl Caller {
    /// A caller for `user`, from `ip` when known.
    pub fn of(user: &store::User, ip: Option<String>) -> Caller {
        Caller {
            actor: Actor::new(user.id.clone(), user.role),
            email: user.email.clone(),
            ip,
        }
    }

    /// The administrator at the command line (`dialogue user …`): admin rights, no account.
    pub fn command_line() -> Caller {
        Caller {
            actor: Actor::new(String::new(), domain::Role::Admin),
            email: "command line".into(),
            ip: None,
        }
    }

    /// Whether this is the command line rather than a person's account.
    pub fn is_command_line(&self) -> bool {
        self.actor.user_id.is_empty()
    }

    /// An audit entry of `action` by this caller.
    pub fn audit(&self, action: &str) -> store::AuditEntry {
        let account = (!self.is_command_line()).then_some(self.actor.user_id.as_str());
        store::AuditEntry::new(action, account, &self.email, self.ip.as_deref())
    }
}
