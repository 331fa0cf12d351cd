//! What every handler shares: the store, the typed configuration, the secret key, the clock.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use domain::{Locale, Role};
use ipnet::IpNet;
use jiff::{SignedDuration, Timestamp};
use store::{Store, Throttle};

use crate::crypto::SecretKey;

/// The web layer's settings, parsed once by the binary from the configuration file and
/// environment.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// How people reach Dialogue, without a trailing slash: `https://dialogue.example.org`.
    pub public_url: String,
    pub default_locale: Locale,
    pub default_time_zone: String,
    /// A login session ends after this long without a request…
    pub session_idle: Duration,
    /// …and after this long in any case.
    pub session_absolute: Duration,
    /// Reverse proxies whose `X-Forwarded-For` and identity headers are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Login through a trusted reverse proxy's identity headers, when configured.
    pub proxy_auth: Option<ProxyAuthConfig>,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Failed logins allowed per account…
    pub throttle_account: Throttle,
    /// …and per client address.
    pub throttle_address: Throttle,
    /// How long a set-password link stays valid.
    pub password_link_ttl: Duration,
    /// Booking rules and limits.
    pub booking: BookingSettings,
    /// When participants may enter a session's room.
    pub join: domain::window::WindowSettings,
    /// Where mail goes, as the outbox page tells admins (no secret in it).
    pub mail_transport: String,
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

impl WebConfig {
    /// Whether cookies must be `Secure` (and use the `__Host-` prefix).
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

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            public_url: "http://127.0.0.1:8080".into(),
            default_locale: Locale::Fr,
            default_time_zone: "Europe/Paris".into(),
            session_idle: Duration::from_secs(2 * 3600),
            session_absolute: Duration::from_secs(12 * 3600),
            trusted_proxies: Vec::new(),
            proxy_auth: None,
            body_limit: 1024 * 1024,
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
            booking: BookingSettings::default(),
            join: domain::window::WindowSettings::default(),
            mail_transport: "files in ./data/outbox".into(),
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

/// Where "now" comes from. Tests move time forward without waiting; the binary always uses
/// the system clock.
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_secs: Option<Arc<AtomicI64>>,
    /// When set (not [`i64::MIN`]), the clock stands still at these Unix seconds.
    frozen_secs: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// A clock that can be moved forward (tests only ever construct it).
    pub fn adjustable() -> Clock {
        Clock {
            offset_secs: Some(Arc::new(AtomicI64::new(0))),
            frozen_secs: Some(Arc::new(AtomicI64::new(i64::MIN))),
        }
    }

    /// Moves an adjustable clock forward; no effect on the system clock.
    pub fn advance(&self, by: SignedDuration) {
        if let Some(frozen) = &self.frozen_secs
            && frozen.load(Ordering::SeqCst) != i64::MIN
        {
            frozen.fetch_add(by.as_secs(), Ordering::SeqCst);
            return;
        }
        if let Some(offset) = &self.offset_secs {
            offset.fetch_add(by.as_secs(), Ordering::SeqCst);
        }
    }

    /// Stops an adjustable clock at `at` (whole seconds): it stays there, and [`Clock::advance`]
    /// moves it, so tests can stand exactly one second before an edge. No effect on the system
    /// clock.
    pub fn freeze_at(&self, at: Timestamp) {
        if let Some(frozen) = &self.frozen_secs {
            frozen.store(at.as_second(), Ordering::SeqCst);
        }
    }

    pub fn now(&self) -> Timestamp {
        if let Some(frozen) = &self.frozen_secs {
            let at = frozen.load(Ordering::SeqCst);
            if at != i64::MIN
                && let Ok(t) = Timestamp::from_second(at)
            {
                return t;
            }
        }
        let now = Timestamp::now();
        match &self.offset_secs {
            Some(offset) => now + SignedDuration::from_secs(offset.load(Ordering::SeqCst)),
            None => now,
        }
    }
}

/// Shared by every request. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    config: WebConfig,
    secret: SecretKey,
    clock: Clock,
    jitsi: crate::jitsi::Runtime,
}

impl AppState {
    pub fn new(store: Store, config: WebConfig, secret: SecretKey, clock: Clock) -> AppState {
        let jitsi = crate::jitsi::Runtime::new(&secret);
        AppState {
            inner: Arc::new(Inner {
                store,
                config,
                secret,
                clock,
                jitsi,
            }),
        }
    }

    /// Jitsi servers' decrypted settings, cached by revision.
    pub fn jitsi(&self) -> &crate::jitsi::Runtime {
        &self.inner.jitsi
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn config(&self) -> &WebConfig {
        &self.inner.config
    }

    pub fn secret(&self) -> &SecretKey {
        &self.inner.secret
    }

    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// An absolute URL for a path of this server.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.inner.config.public_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_is_scheme_host_port() {
        let mut c = WebConfig {
            public_url: "https://example.org:8443/dialogue".into(),
            ..WebConfig::default()
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
    fn adjustable_clock_moves() {
        let clock = Clock::adjustable();
        let before = clock.now();
        clock.advance(SignedDuration::from_hours(2));
        assert!(clock.now().duration_since(before) >= SignedDuration::from_secs(7199));
        let frozen = Clock::adjustable();
        let at = Timestamp::from_second(1_900_000_000).unwrap();
        frozen.freeze_at(at);
        assert_eq!(frozen.now(), at);
        frozen.advance(SignedDuration::from_secs(1));
        assert_eq!(frozen.now(), at + SignedDuration::from_secs(1));
        let system = Clock::system();
        system.advance(SignedDuration::from_hours(2));
        assert!(system.now().duration_since(Timestamp::now()).abs() < SignedDuration::from_secs(5));
    }
}
