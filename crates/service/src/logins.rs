//! Directory logins: OpenID Connect providers (`[[oidc]]`) and LDAP / Active Directory
//! (`[ldap]`), on top of the `directory` crate. A person vouched for by either becomes an account
//! under the same rules as the trusted proxy's login ([`accounts::external_login_as`]): known by
//! the provider's id, or linked to an account nobody logs in to yet, or created with the mapped
//! role — never an account with its own password.
//!
//! An OpenID login under way lives in a cookie sealed with AES-256-GCM under a key derived from
//! the secret key (nothing in the database; any instance can finish it): the `state`, the `nonce`
//! and the PKCE verifier, the provider's name and where to go afterwards, valid for
//! [`directory::oidc::PENDING_LOGIN_MINUTES`]. The ID token is kept the same way for the
//! provider's logout.

use directory::{ErrorKind, Identity, PendingLogin, Provider};
use domain::Locale;
use i18n::Message;
use serde::{Deserialize, Serialize};
use store::{AuditEntry, User};

use crate::Service;
use crate::accounts::{self, ExternalIdentity};
use crate::config::{Config, OidcLogin};
use crate::crypto::SecretKey;
use crate::error::{Error, Result};
use crate::jitsi_servers::Sealer;

/// How long the cookie of a login under way lives, in seconds.
pub const PENDING_COOKIE_SECONDS: i64 = directory::oidc::PENDING_LOGIN_MINUTES * 60;

/// The directory logins of this installation: providers discovered at their first use (so that
/// a provider down at start-up does not stop Dialogue), the LDAP directory, the cookie sealer.
pub struct Runtime {
    providers: Vec<Slot>,
    directory: Option<std::result::Result<directory::Directory, String>>,
    sealer: Sealer,
}

struct Slot {
    login: OidcLogin,
    redirect_uri: String,
    /// HTTPS trusting the provider's `ca_file` or the public authorities; `Err` holds why the
    /// client could not be built (a CA file changed since the configuration was checked).
    http: std::result::Result<reqwest::Client, String>,
    discovered: tokio::sync::Mutex<Option<Provider>>,
}

impl Runtime {
    pub fn new(config: &Config, secret: &SecretKey) -> Runtime {
        // Every other HTTP client of the process (and of the tests, which run the server in
        // process) then finds the one crypto provider built.
        directory::tls::install_default_provider();
        let providers = config
            .oidc
            .iter()
            .map(|login| Slot {
                redirect_uri: login.config.redirect_uri(&config.public_url),
                http: directory::tls::http_client("oidc", "ca_file", login.config.ca_file.as_deref())
                    .map_err(|e| e.to_string()),
                login: login.clone(),
                discovered: tokio::sync::Mutex::new(None),
            })
            .collect();
        let directory = config
            .ldap
            .clone()
            .filter(directory::LdapConfig::is_enabled)
            .map(|ldap| directory::Directory::new(ldap).map_err(|e| e.to_string()));
        Runtime {
            providers,
            directory,
            sealer: Sealer::new(secret.login_secret()),
        }
    }

    /// `(name, label)` of each configured OpenID provider, in the configuration's order.
    pub fn providers(&self) -> impl Iterator<Item = (&str, &str)> {
        self.providers
            .iter()
            .map(|s| (s.login.config.name.as_str(), s.login.label.as_str()))
    }

    /// Whether people may log in with their directory account on the login form.
    pub fn directory_enabled(&self) -> bool {
        self.directory.is_some()
    }

    fn directory(&self) -> Result<&directory::Directory> {
        match &self.directory {
            Some(Ok(d)) => Ok(d),
            Some(Err(problem)) => {
                tracing::error!(%problem, "the LDAP login is misconfigured");
                Err(unavailable())
            }
            None => Err(Error::BadCredentials),
        }
    }

    fn slot(&self, name: &str) -> Result<&Slot> {
        self.providers
            .iter()
            .find(|s| s.login.config.name == name)
            .ok_or(Error::NotFound)
    }

    /// The provider `name`, discovered now if it was not yet (or if that failed before).
    async fn provider(&self, name: &str) -> Result<Provider> {
        let slot = self.slot(name)?;
        let mut discovered = slot.discovered.lock().await;
        if let Some(provider) = &*discovered {
            return Ok(provider.clone());
        }
        let http = match &slot.http {
            Ok(http) => http.clone(),
            Err(problem) => {
                tracing::error!(provider = %name, %problem, "the OpenID login is misconfigured");
                return Err(unavailable());
            }
        };
        match Provider::discover(slot.login.config.clone(), &slot.redirect_uri, http).await {
            Ok(provider) => {
                *discovered = Some(provider.clone());
                Ok(provider)
            }
            Err(e) => {
                tracing::error!(provider = %name, error = %e, "OpenID provider unavailable");
                Err(unavailable())
            }
        }
    }

    /// For `dialogue check`: each provider's discovery document and keys, and the LDAP
    /// directory's service bind. One line per login source: its label, and what went wrong.
    pub async fn check(&self) -> Vec<(String, std::result::Result<(), String>)> {
        let mut results = Vec::new();
        for slot in &self.providers {
            let config = &slot.login.config;
            let what = format!("OpenID provider {:?} ({})", config.name, config.issuer);
            let result = match &slot.http {
                Ok(http) => match Provider::discover(config.clone(), &slot.redirect_uri, http.clone()).await {
                    Ok(provider) => provider.check().await.map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                },
                Err(problem) => Err(problem.clone()),
            };
            results.push((what, result));
        }
        if let Some(directory) = &self.directory {
            let result = match directory {
                Ok(d) => {
                    let what = format!("LDAP directory {}", d.config().url);
                    (what, d.check().await.map_err(|e| e.to_string()))
                }
                Err(problem) => ("LDAP directory".to_owned(), Err(problem.clone())),
            };
            results.push(result);
        }
        results
    }
}

fn unavailable() -> Error {
    Error::Unavailable(Message::new("directory.unavailable"))
}

fn login_failed() -> Error {
    Error::refused("", Message::new("directory.login_failed"))
}

/// What the cookie of a login under way holds.
#[derive(Serialize, Deserialize)]
struct PendingCookie {
    provider: String,
    pending: PendingLogin,
    next: String,
}

/// What the cookie kept for the provider's logout holds.
#[derive(Serialize, Deserialize)]
struct LogoutCookie {
    provider: String,
    user_id: String,
    id_token: String,
}

const PENDING_AAD: &str = "oidc pending login";
const LOGOUT_AAD: &str = "oidc logout";

/// A login started: where to send the browser, and the sealed cookie to set.
#[derive(Debug, Clone)]
pub struct OidcStart {
    pub authorize_url: String,
    pub cookie: String,
}

/// Starts a login with the provider `name` (not found when there is none): the provider's URL
/// with a fresh `state`, `nonce` and PKCE challenge, whose secrets go in the sealed cookie.
pub async fn oidc_begin(svc: &Service, name: &str, next: &str) -> Result<OidcStart> {
    let runtime = svc.logins();
    let provider = runtime.provider(name).await?;
    let (authorize_url, mut pending) = provider.begin();
    // Ours: the service's clock decides when a login under way is too old.
    pending.created_at = svc.now();
    let payload = PendingCookie {
        provider: name.to_owned(),
        pending,
        next: next.to_owned(),
    };
    let json = serde_json::to_string(&payload).map_err(|e| Error::Internal(e.to_string()))?;
    let cookie = runtime.sealer.seal(PENDING_AAD, name, &json)?;
    Ok(OidcStart { authorize_url, cookie })
}

/// What the provider sent the browser back with.
#[derive(Debug, Clone, Default)]
pub struct OidcCallback {
    pub code: Option<String>,
    pub state: Option<String>,
    /// The provider's refusal (`access_denied` when the person cancelled).
    pub error: Option<String>,
}

/// A finished login: the account, where to go, and the sealed cookie that remembers the ID
/// token for logging out at the provider.
#[derive(Debug, Clone)]
pub struct OidcDone {
    pub user: User,
    pub next: String,
    pub logout_cookie: String,
}

/// Finishes a login on the provider's callback: the sealed cookie must be this browser's login
/// with this provider, the `state` its own, the code good (once), the ID token valid; then the
/// account is found, linked or created. Every refusal is audited and logged with its reason; the
/// person reads "the login failed, try again" (a 403), or that the provider cannot be reached
/// (a 503).
pub async fn oidc_finish(
    svc: &Service,
    name: &str,
    cookie: Option<&str>,
    callback: &OidcCallback,
    locale: Locale,
    ip: &str,
) -> Result<OidcDone> {
    let runtime = svc.logins();
    runtime.slot(name)?;
    let source = format!("oidc:{name}");
    let refuse = |reason: String| async move {
        tracing::warn!(provider = %name, %reason, "OpenID login refused");
        let entry = AuditEntry::new("login.failed", None, "anonymous", Some(ip))
            .detail(serde_json::json!({ "via": format!("oidc:{name}"), "reason": reason }));
        svc.store().audit(&entry, svc.now()).await?;
        Ok::<Error, Error>(login_failed())
    };
    if let Some(error) = &callback.error {
        let e = refuse(format!("the provider answered {error}")).await?;
        return Err(if error == "access_denied" {
            Error::refused("", Message::new("directory.login_cancelled"))
        } else {
            e
        });
    }
    let pending = cookie
        .and_then(|sealed| runtime.sealer.open(PENDING_AAD, name, sealed).ok())
        .and_then(|json| serde_json::from_str::<PendingCookie>(&json).ok())
        .filter(|p| p.provider == name);
    let Some(PendingCookie { pending, next, .. }) = pending else {
        return Err(refuse(
            "no login of this browser under way with this provider (cookie missing, expired or forged)".into(),
        )
        .await?);
    };
    let (Some(code), Some(state)) = (&callback.code, &callback.state) else {
        return Err(refuse("the callback carries no code or no state".into()).await?);
    };
    let provider = runtime.provider(name).await?;
    let identity = match provider.finish(&pending, state, code, svc.now()).await {
        Ok(identity) => identity,
        Err(e) => {
            return Err(match e.kind() {
                ErrorKind::Rejected | ErrorKind::BadCredentials | ErrorKind::AccountDisabled => {
                    refuse(e.to_string()).await?
                }
                ErrorKind::Unavailable | ErrorKind::Config => {
                    tracing::error!(provider = %name, error = %e, "OpenID login failed on the provider's side");
                    unavailable()
                }
            });
        }
    };
    let user = account_of(svc, &identity, locale, ip).await?;
    let logout = LogoutCookie {
        provider: name.to_owned(),
        user_id: user.id.clone(),
        id_token: identity.id_token.clone().unwrap_or_default(),
    };
    let json = serde_json::to_string(&logout).map_err(|e| Error::Internal(e.to_string()))?;
    let logout_cookie = runtime.sealer.seal(LOGOUT_AAD, "", &json)?;
    tracing::info!(provider = %name, user = %user.email, %source, "OpenID login");
    Ok(OidcDone {
        user,
        next,
        logout_cookie,
    })
}

/// Where to send a person logging out of the account `user_id` when their login came from a
/// provider that offers RP-initiated logout (`end_session_endpoint`): the sealed cookie of
/// their login must be theirs. `post_logout` must be registered at the provider.
pub async fn oidc_logout_url(svc: &Service, user_id: &str, cookie: Option<&str>, post_logout: &str) -> Option<String> {
    let runtime = svc.logins();
    let logout = cookie
        .and_then(|sealed| runtime.sealer.open(LOGOUT_AAD, "", sealed).ok())
        .and_then(|json| serde_json::from_str::<LogoutCookie>(&json).ok())
        .filter(|l| l.user_id == user_id)?;
    let provider = runtime.provider(&logout.provider).await.ok()?;
    let hint = (!logout.id_token.is_empty()).then_some(logout.id_token.as_str());
    provider.logout_url(hint, post_logout)
}

/// The account of a person the directory vouches for: `login` (a user name or an address, as
/// the user filter reads it) with `password`. Wrong credentials, an unknown login and an
/// account the directory disables all answer [`Error::BadCredentials`].
pub(crate) async fn ldap_login(svc: &Service, login: &str, password: &str, ip: &str) -> Result<User> {
    let directory = svc.logins().directory()?;
    match directory.authenticate(login, password).await {
        Ok(identity) => account_of(svc, &identity, svc.config().default_locale, ip).await,
        Err(e) => match e.kind() {
            ErrorKind::BadCredentials => Err(Error::BadCredentials),
            ErrorKind::AccountDisabled => {
                tracing::info!("LDAP: the directory disables this account; login refused");
                if let directory::Error::AccountDisabled { dn } = &e {
                    disable_for_directory(svc, dn, "disabled", Some(ip)).await?;
                }
                Err(Error::BadCredentials)
            }
            ErrorKind::Rejected | ErrorKind::Unavailable | ErrorKind::Config => {
                tracing::error!(error = %e, "LDAP login failed on the directory's side");
                Err(unavailable())
            }
        },
    }
}

/// Disables the account the directory knows as `dn`, if there is one and it is active: the
/// directory says `why` ("disabled" or "gone"). Its login sessions end with it. The last active
/// admin is kept (and a warning says so): the directory cannot lock everyone out.
async fn disable_for_directory(svc: &Service, dn: &str, why: &str, ip: Option<&str>) -> Result<bool> {
    let store = svc.store();
    let Some(user) = store.user_by_external_id(directory::ldap::SOURCE, dn).await? else {
        return Ok(false);
    };
    if !user.active {
        return Ok(false);
    }
    let audit = AuditEntry::new("user.disable", None, "directory", ip)
        .target("user", &user.id, &user.email)
        .detail(serde_json::json!({ "source": directory::ldap::SOURCE, "directory": why }));
    match store.set_active(&user.id, false, svc.now(), &audit).await {
        Ok(_) => {
            tracing::info!(account = %user.id, directory = why, "account disabled: the directory no longer lets it in");
            Ok(true)
        }
        Err(store::StoreError::LastAdmin) => {
            tracing::warn!(account = %user.id, "the directory disables the last active admin: kept active");
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// What a directory sync did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DirectorySync {
    /// Active accounts of the directory looked up.
    pub checked: usize,
    /// The addresses of the accounts disabled.
    pub disabled: Vec<String>,
}

/// The periodic sync (`[ldap] sync_minutes`): each active account of the directory whose entry
/// is gone or disabled there is disabled here. A directory that cannot be asked stops the run
/// and disables nobody it did not hear about; the next run starts over.
pub async fn sync_directory(svc: &Service) -> Result<DirectorySync> {
    let mut report = DirectorySync::default();
    let directory = match &svc.logins().directory {
        Some(Ok(d)) => d,
        _ => return Ok(report),
    };
    let accounts = svc.store().list_users(&store::UserFilter::default()).await?;
    for user in accounts {
        let (Some(dn), true) = (&user.external_id, user.auth_source == directory::ldap::SOURCE) else {
            continue;
        };
        let state = directory.account_state(dn).await.map_err(|e| {
            tracing::warn!(error = %e, "directory sync stopped: the directory cannot be asked");
            unavailable()
        })?;
        report.checked += 1;
        let why = match state {
            directory::ldap::AccountState::Active => continue,
            directory::ldap::AccountState::Disabled => "disabled",
            directory::ldap::AccountState::Gone => "gone",
        };
        if disable_for_directory(svc, dn, why, None).await? {
            report.disabled.push(user.email.clone());
        }
    }
    Ok(report)
}

/// Finds, links or creates the account of `identity` (the proxy login's rules). An address the
/// provider does not vouch for (`email_verified` false) may name a new account, never link an
/// existing one.
async fn account_of(svc: &Service, identity: &Identity, locale: Locale, ip: &str) -> Result<User> {
    let store = svc.store();
    if !identity.email_verified
        && let Some(email) = &identity.email
        && store
            .user_by_external_id(&identity.source, &identity.subject)
            .await?
            .is_none()
        && let Some(existing) = store.user_by_email(email.as_str()).await?
    {
        tracing::warn!(
            source = %identity.source,
            account = %existing.id,
            "an identity names, unverified, the address of an existing account: not linked"
        );
        return Err(Error::conflict(
            "",
            Message::new("proxy.account_exists").arg("email", &existing.email),
        ));
    }
    let external = ExternalIdentity {
        source: identity.source.clone(),
        external_id: identity.subject.clone(),
        email: identity.email.as_ref().map(|e| e.as_str().to_owned()),
        name: identity.name.clone(),
        groups: identity.groups.clone(),
    };
    accounts::external_login_as(svc, &external, identity.default_role, identity.mapped_role, locale, ip).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_cookies_open_only_for_their_provider_and_key() {
        let secret = SecretKey::new(&[7u8; 32]);
        let runtime = Runtime::new(&Config::default(), &secret);
        let sealed = runtime.sealer.seal(PENDING_AAD, "company", "{}").unwrap();
        assert_eq!(runtime.sealer.open(PENDING_AAD, "company", &sealed).unwrap(), "{}");
        assert!(runtime.sealer.open(PENDING_AAD, "other", &sealed).is_err());
        assert!(runtime.sealer.open(LOGOUT_AAD, "company", &sealed).is_err());
        let other = Runtime::new(&Config::default(), &SecretKey::new(&[8u8; 32]));
        assert!(other.sealer.open(PENDING_AAD, "company", &sealed).is_err());
        // Nor does a Jitsi server's sealer, whose key derives from the same secret.
        let jitsi = Sealer::new(secret.jitsi_secret());
        assert!(jitsi.open(PENDING_AAD, "company", &sealed).is_err());
    }
}
