//! Logins through an organisation's directory: OpenID Connect providers and LDAP / Active
//! Directory, as a library. It knows nothing of HTTP routing, sessions or the database: the web
//! layer starts a flow, keeps what this crate hands it, and turns the resulting [`Identity`]
//! into an account.
//!
//! - [`oidc::Provider`]: authorization code flow with PKCE, `state` and `nonce`, discovery, the
//!   ID token checked against the provider's keys (fetched again when a token names a key we do
//!   not know), userinfo when the token lacks the email, RP-initiated logout.
//! - [`ldap::Directory`]: search with a service account, bind as the person, groups from an
//!   attribute (and Active Directory's nested groups), LDAPS or StartTLS with a chosen authority.
//! - [`role_for`] / [`mapped_role`]: groups → role, shared by every login source.
#![forbid(unsafe_code)]

pub mod config;
pub mod ldap;
pub mod oidc;
mod roles;
pub mod tls;

pub use config::{LdapConfig, OidcProviderConfig, Secret, check_https_url};
pub use ldap::{AccountState, Directory};
pub use oidc::{PendingLogin, Provider};
pub use roles::{mapped_role, role_for};

use std::fmt;

use domain::{Email, Role};

/// A person as a login source vouches for them.
#[derive(Clone, PartialEq, Eq)]
pub struct Identity {
    /// Stable within its source: the OpenID `sub`, or the LDAP entry's DN.
    pub subject: String,
    /// `None` when the source gave none (or one that is not an address).
    pub email: Option<Email>,
    /// Whether the source vouches for the address (OpenID `email_verified`; always true for a
    /// directory, which is the authority on its own entries). Only a verified address should
    /// link the identity to an existing account.
    pub email_verified: bool,
    pub name: Option<String>,
    /// Group names (OpenID) or DNs (LDAP), as the source gave them.
    pub groups: Vec<String>,
    /// `oidc:<name>` or `ldap`: the account's login source.
    pub source: String,
    /// The highest role the groups map to, if any maps.
    pub mapped_role: Option<Role>,
    /// The configured role for an account created without a mapped group.
    pub default_role: Role,
    /// The raw ID token (OpenID only), for [`Provider::logout_url`]'s `id_token_hint`.
    pub id_token: Option<String>,
}

impl Identity {
    /// The role of a new account: the mapped one, else the configured default. (An existing
    /// account keeps its role unless a group maps to one.)
    pub fn role(&self) -> Role {
        self.mapped_role.unwrap_or(self.default_role)
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("subject", &self.subject)
            .field("email", &self.email)
            .field("email_verified", &self.email_verified)
            .field("name", &self.name)
            .field("groups", &self.groups)
            .field("source", &self.source)
            .field("mapped_role", &self.mapped_role)
            .field("default_role", &self.default_role)
            .field("id_token", &self.id_token.as_ref().map(|_| "…"))
            .finish()
    }
}

/// What a caller does with an error: which message the person sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Unknown login or wrong password: the same "wrong email or password" as local logins.
    BadCredentials,
    /// The directory says the account is disabled or locked: disable it here too.
    AccountDisabled,
    /// This login attempt is not to be trusted (state or nonce mismatch, a code used twice, an
    /// ID token that fails a check, a login started too long ago): "the login failed, try
    /// again", and a warning in the log.
    Rejected,
    /// The provider or directory cannot be reached or is misconfigured: "login service
    /// unavailable" for the person, the reason in the log.
    Unavailable,
    /// A configuration value is wrong (start-up, `dialogue check`).
    Config,
}

/// Why a login or a check failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{section}.{field}: {problem}")]
    Config {
        section: &'static str,
        field: &'static str,
        problem: String,
    },
    #[error("unknown login or wrong password")]
    BadCredentials,
    /// `dn`: the person's entry, whose account here is disabled too.
    #[error("the account is disabled or locked in the directory")]
    AccountDisabled { dn: String },

    // OpenID Connect
    #[error("the state returned by the provider is not the one this login started with")]
    StateMismatch,
    #[error("this login was started more than {minutes} minutes ago", minutes = oidc::PENDING_LOGIN_MINUTES)]
    LoginExpired,
    #[error("the provider refused the code: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    CodeRefused { error: String, description: Option<String> },
    #[error("the ID token was refused: {0}")]
    IdToken(#[from] TokenProblem),
    #[error("OpenID provider {provider}: {problem}")]
    Provider { provider: String, problem: String },

    // LDAP
    #[error("{count} directory entries match this login: the user filter must select one person")]
    AmbiguousLogin { count: usize },
    #[error("LDAP {during}: {source}")]
    Ldap {
        during: &'static str,
        #[source]
        source: Box<ldap3::LdapError>,
    },
    #[error("LDAP {during}: {problem}")]
    Directory { during: &'static str, problem: String },
}

/// Why an ID token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenProblem {
    #[error("the token response holds no ID token")]
    Missing,
    #[error("signed with a key the provider does not publish (kid {kid:?})")]
    UnknownKey { kid: Option<String> },
    #[error("bad signature: {0}")]
    Signature(String),
    #[error("issued by another issuer: {0}")]
    Issuer(String),
    #[error("meant for another client: {0}")]
    Audience(String),
    #[error("expired: {0}")]
    Expired(String),
    #[error("issued in the future: {0}")]
    IssuedInFuture(String),
    #[error("the nonce is not this login's")]
    Nonce,
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub(crate) fn config(section: &'static str, field: &'static str, problem: impl Into<String>) -> Error {
        Error::Config {
            section,
            field,
            problem: problem.into(),
        }
    }

    /// How the caller should treat this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Config { .. } => ErrorKind::Config,
            Error::BadCredentials => ErrorKind::BadCredentials,
            Error::AccountDisabled { .. } => ErrorKind::AccountDisabled,
            Error::StateMismatch | Error::LoginExpired | Error::IdToken(_) => ErrorKind::Rejected,
            // A code used twice, expired or issued to another client; anything else from the
            // token endpoint (a wrong client secret…) is the configuration's fault.
            Error::CodeRefused { error, .. } if error == "invalid_grant" => ErrorKind::Rejected,
            Error::CodeRefused { .. } => ErrorKind::Unavailable,
            Error::Provider { .. } | Error::AmbiguousLogin { .. } | Error::Ldap { .. } | Error::Directory { .. } => {
                ErrorKind::Unavailable
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The web layer awaits these in axum handlers, which need `Send` futures.
    #[allow(dead_code)]
    fn futures_are_send(provider: &Provider, pending: &PendingLogin, directory: &Directory) {
        fn send<T: Send>(_: T) {}
        send(Provider::discover(
            OidcProviderConfig::default(),
            "",
            reqwest::Client::new(),
        ));
        send(provider.finish(pending, "", "", jiff::Timestamp::now()));
        send(provider.verify("", "", jiff::Timestamp::now()));
        send(provider.check());
        send(directory.authenticate("", ""));
        send(directory.account_state(""));
        send(directory.check());
    }

    #[test]
    fn errors_tell_the_caller_what_to_show() {
        assert_eq!(Error::BadCredentials.kind(), ErrorKind::BadCredentials);
        assert_eq!(
            Error::AccountDisabled { dn: "uid=x".into() }.kind(),
            ErrorKind::AccountDisabled
        );
        assert_eq!(Error::StateMismatch.kind(), ErrorKind::Rejected);
        assert_eq!(Error::IdToken(TokenProblem::Nonce).kind(), ErrorKind::Rejected);
        let refused = |error: &str| Error::CodeRefused {
            error: error.into(),
            description: None,
        };
        assert_eq!(refused("invalid_grant").kind(), ErrorKind::Rejected);
        assert_eq!(refused("invalid_client").kind(), ErrorKind::Unavailable);
        assert_eq!(Error::AmbiguousLogin { count: 2 }.kind(), ErrorKind::Unavailable);
        assert_eq!(Error::config("ldap", "url", "x").kind(), ErrorKind::Config);
        assert_eq!(Error::config("ldap", "url", "bad").to_string(), "ldap.url: bad");
    }
}
