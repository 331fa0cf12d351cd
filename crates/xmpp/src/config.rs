//! Where the Prosody server is and how Dialogue logs in to it.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// The XMPP client-to-server port.
pub const DEFAULT_PORT: u16 = 5222;
/// How long one step (connect, log in, one command) may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest stanza accepted from the server by default (Prosody's own default
/// `c2s_stanza_size_limit`).
pub const DEFAULT_MAX_STANZA_BYTES: usize = 256 * 1024;

/// How to reach a Prosody server and which admin account to use.
#[derive(Clone)]
pub struct AdminConfig {
    /// Host name or address to connect to (e.g. `meet.example.org` or `127.0.0.1`).
    pub host: String,
    /// Client-to-server port ([`DEFAULT_PORT`]).
    pub port: u16,
    /// The XMPP domain whose accounts are managed (Prosody's `VirtualHost`); every
    /// JID given to [`AdminClient`](crate::AdminClient) must be in it.
    pub domain: String,
    /// The admin account Dialogue logs in as (bare JID, listed in Prosody's `admins`).
    /// The stream is opened to its domain, which is also the name the server's TLS
    /// certificate must carry.
    pub admin_jid: String,
    /// That account's password.
    pub password: String,
    /// A PEM file of extra trust anchors (a private authority), added to the web's.
    pub ca_file: Option<PathBuf>,
    /// Extra trust anchors given as PEM text (e.g. stored with the server's settings), added
    /// like [`ca_file`](Self::ca_file)'s. Stock Jitsi gives Prosody a self-signed
    /// certificate: its PEM here makes it trusted.
    pub ca_pem: Option<String>,
    /// Accept a server that offers no STARTTLS. Only for a server on a loopback
    /// address (tests, a Prosody on the same machine): any other address is refused.
    pub allow_plain: bool,
    /// Longest wait for one step ([`DEFAULT_TIMEOUT`]): the TCP connection, one
    /// command's answer; connecting, TLS, authentication and binding together get
    /// three times this.
    pub timeout: Duration,
    /// Largest stanza read from the server ([`DEFAULT_MAX_STANZA_BYTES`]).
    pub max_stanza_bytes: usize,
}

impl AdminConfig {
    /// A configuration with the defaults: port 5222, STARTTLS required, the web's
    /// trust anchors, 10 s per step.
    pub fn new(
        host: impl Into<String>,
        domain: impl Into<String>,
        admin_jid: impl Into<String>,
        password: impl Into<String>,
    ) -> Self {
        Self {
            host: host.into(),
            port: DEFAULT_PORT,
            domain: domain.into(),
            admin_jid: admin_jid.into(),
            password: password.into(),
            ca_file: None,
            ca_pem: None,
            allow_plain: false,
            timeout: DEFAULT_TIMEOUT,
            max_stanza_bytes: DEFAULT_MAX_STANZA_BYTES,
        }
    }

    /// `host:port`, as shown in messages.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

impl fmt::Debug for AdminConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("domain", &self.domain)
            .field("admin_jid", &self.admin_jid)
            .field("password", &"…")
            .field("ca_file", &self.ca_file)
            .field("ca_pem", &self.ca_pem.as_ref().map(|_| "…"))
            .field("allow_plain", &self.allow_plain)
            .field("timeout", &self.timeout)
            .field("max_stanza_bytes", &self.max_stanza_bytes)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password() {
        let cfg = AdminConfig::new("h", "d.test", "admin@d.test", "hunter2");
        let shown = format!("{cfg:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("admin@d.test"));
    }

    #[test]
    fn address_brackets_ipv6() {
        let mut cfg = AdminConfig::new("::1", "d", "a@d", "p");
        assert_eq!(cfg.address(), "[::1]:5222");
        cfg.host = "127.0.0.1".into();
        cfg.port = 15222;
        assert_eq!(cfg.address(), "127.0.0.1:15222");
    }
}
