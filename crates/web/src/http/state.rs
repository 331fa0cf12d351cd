//! What every handler shares: the service (store, settings, secret key, clock) and the HTTP
//! layer's own settings.

use ipnet::IpNet;
use jiff::Timestamp;
use service::{Config, SecretKey, Service};

/// The HTTP layer's own settings, parsed once by the binary.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Reverse proxies whose `X-Forwarded-For` and identity headers are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Where mail goes, as the outbox page tells admins (no secret in it): a catalogue key
    /// (`outbox.transport.files`, `outbox.transport.smtp`) and its `where` argument.
    pub mail_transport: (&'static str, String),
    /// Who may read `/metrics`.
    pub metrics: crate::http::metrics::MetricsAccess,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            trusted_proxies: Vec::new(),
            body_limit: 1024 * 1024,
            mail_transport: ("outbox.transport.files", "./data/outbox".into()),
            metrics: crate::http::metrics::MetricsAccess::default(),
        }
    }
}

/// Shared by every request. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    service: Service,
    http: std::sync::Arc<WebConfig>,
}

impl AppState {
    pub fn new(service: Service, http: WebConfig) -> AppState {
        AppState {
            service,
            http: std::sync::Arc::new(http),
        }
    }

    /// The use cases.
    pub fn service(&self) -> &Service {
        &self.service
    }

    /// The installation's settings.
    pub fn config(&self) -> &Config {
        self.service.config()
    }

    /// The HTTP layer's settings.
    pub fn http(&self) -> &WebConfig {
        &self.http
    }

    pub fn secret(&self) -> &SecretKey {
        self.service.secret()
    }

    pub fn now(&self) -> Timestamp {
        self.service.now()
    }

    /// An absolute URL for a path of this server.
    pub fn url(&self, path: &str) -> String {
        self.service.url(path)
    }
}
