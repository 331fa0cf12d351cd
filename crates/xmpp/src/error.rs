//! The crate's one error type.

use std::io;
use std::time::Duration;

/// Everything that can go wrong while managing accounts over XMPP. The variants are
/// what a caller acts on: fix the configuration, retry later, fix the admin account,
/// change the password instead of adding, and so on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The [`AdminConfig`](crate::AdminConfig) cannot work (bad JID, unreadable CA
    /// file, plain TCP asked for a non-loopback address...).
    #[error("XMPP configuration: {0}")]
    Config(String),
    /// An argument cannot be sent (a JID of another domain, a password XML or SASLprep
    /// cannot carry...). Nothing was sent.
    #[error("{0}")]
    InvalidInput(String),
    /// The TCP connection could not be made (refused, no route, timed out).
    #[error("XMPP server {address} unreachable: {source}")]
    Unreachable {
        /// `host:port` as configured.
        address: String,
        /// What the operating system said.
        #[source]
        source: io::Error,
    },
    /// TLS could not be set up: STARTTLS not offered when required, the handshake
    /// failed, the certificate is not trusted for the domain.
    #[error("TLS with the XMPP server: {0}")]
    Tls(String),
    /// The server refused the admin account's credentials (SASL failure), offered no
    /// mechanism we may use, or did not prove it knows the password (SCRAM).
    #[error("XMPP authentication failed: {0}")]
    Auth(String),
    /// The server refused a command: the account is not an admin of the domain, the
    /// command is not available, or it failed with the server's note (quoted).
    #[error("the XMPP server refused {command}: {reason}")]
    Refused {
        /// The ad-hoc command node (or the request) that was refused.
        command: String,
        /// The server's own words (its note or error text), else the error condition.
        reason: String,
    },
    /// `add_user` for an account that already exists: change its password instead.
    #[error("the XMPP account {0} already exists")]
    UserExists(String),
    /// `set_password` for an account that does not exist.
    #[error("the XMPP account {0} does not exist")]
    NoSuchUser(String),
    /// The server broke the protocol (invalid or oversized XML, an unexpected answer,
    /// a stream error).
    #[error("XMPP protocol error: {0}")]
    Protocol(String),
    /// The server did not answer in time.
    #[error("the XMPP server did not answer within {0:?}")]
    Timeout(Duration),
    /// The connection failed after it was established.
    #[error("connection to the XMPP server lost: {0}")]
    ConnectionLost(#[source] io::Error),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<crate::xml::ReadError> for Error {
    fn from(e: crate::xml::ReadError) -> Self {
        use crate::xml::ReadError;
        match e {
            ReadError::Io(io) => Self::ConnectionLost(io),
            other => Self::Protocol(other.to_string()),
        }
    }
}
