//! Jitsi servers on the web side: their secrets sealed at rest, their decrypted settings cached
//! in memory, the validation shared by the admin pages and the API, and how Prosody's bearer
//! secret is recognised.
//!
//! Secrets (HS256 app secret, RSA private key, the bearer Prosody sends) are sealed with
//! AES-256-GCM under a key derived from the server's secret key, bound (as associated data) to
//! the server's id and the field, so a copy of the database alone reveals none of them and a
//! sealed value moved to another row or field does not open. Decrypted settings, with the HMAC
//! key prepared and the PEM parsed once, are cached by the server's revision (new at each write),
//! so several instances sharing a database see each other's changes at their next request.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::jitsi_server::{self as settings, SettingError};
pub use domain::jitsi_server::{KNOWN_FEATURES, default_features};
use jitsi::{HmacSecret, SigningKey, TokenError, TokenMode, TokenRequest, UserInfo};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use store::{JitsiServer, JitsiServerInput, Store, StoreError, TokenModeKind};

use i18n::Message;

use crate::crypto::{SecretKey, constant_time_eq, random_token};
use crate::error::{Error, Problem};
use crate::{Caller, Service, messages};

/// Seals and opens secrets (AES-256-GCM, random 96-bit nonces).
pub struct Sealer {
    key: LessSafeKey,
    rng: SystemRandom,
}

const SEAL_PREFIX: &str = "v1.";

impl Sealer {
    pub fn new(key: &[u8; 32]) -> Sealer {
        // A 32-byte key is exactly what AES-256-GCM takes: this cannot fail.
        #[allow(clippy::expect_used)]
        let unbound = UnboundKey::new(&AES_256_GCM, key).expect("a 256-bit key");
        Sealer {
            key: LessSafeKey::new(unbound),
            rng: SystemRandom::new(),
        }
    }

    fn aad(server_id: &str, field: &str) -> String {
        format!("dialogue jitsi server {server_id} {field}")
    }

    /// `v1.` + base64url(nonce ‖ ciphertext ‖ tag).
    pub fn seal(&self, server_id: &str, field: &str, secret: &str) -> Result<String, StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .map_err(|_| StoreError::Corrupt("no randomness for sealing".into()))?;
        let mut data = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(Self::aad(server_id, field).as_bytes()),
                &mut data,
            )
            .map_err(|_| StoreError::Corrupt("sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!("{SEAL_PREFIX}{}", URL_SAFE_NO_PAD.encode(out)))
    }

    /// Opens a sealed secret; a wrong key, row or field, or tampering, fails.
    pub fn open(&self, server_id: &str, field: &str, sealed: &str) -> Result<String, StoreError> {
        let bad = || StoreError::Corrupt(format!("the sealed {field} of Jitsi server {server_id} does not open"));
        let raw = sealed
            .strip_prefix(SEAL_PREFIX)
            .and_then(|b| URL_SAFE_NO_PAD.decode(b).ok())
            .ok_or_else(bad)?;
        if raw.len() < NONCE_LEN {
            return Err(bad());
        }
        let (nonce, rest) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| bad())?;
        let mut data = rest.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(Self::aad(server_id, field).as_bytes()), &mut data)
            .map_err(|_| bad())?;
        String::from_utf8(plain.to_vec()).map_err(|_| bad())
    }
}

/// A server's settings with its secrets open and ready: what a join or a Prosody call uses.
pub struct ServerRuntime {
    pub server: JitsiServer,
    /// How tokens are signed; `None` for a secure-domain server (no tokens).
    pub mode: Option<TokenMode>,
    /// How Dialogue logs in to a secure-domain server's Prosody (admin password open).
    pub xmpp: Option<xmpp::AdminConfig>,
    /// The bearer Prosody sends.
    pub api_secret: String,
    /// JaaS: the secret its webhook deliveries are signed with, when set.
    pub webhook_secret: Option<jitsi::WebhookSecret>,
    /// `hex(sha256(kid)).pem` for RS256 servers (where Prosody fetches the public key).
    pub key_path: Option<String>,
}

impl std::fmt::Debug for ServerRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerRuntime")
            .field("server", &self.server)
            .field("mode", &self.mode)
            .field("xmpp", &self.xmpp)
            .finish_non_exhaustive()
    }
}

impl ServerRuntime {
    /// The server's tenant, when it has one.
    pub fn tenant(&self) -> Option<&str> {
        self.server.tenant.as_deref().filter(|t| !t.is_empty())
    }

    /// The features a role gets.
    pub fn features(&self, moderator: bool) -> &BTreeMap<String, bool> {
        if moderator {
            &self.server.moderator_features
        } else {
            &self.server.participant_features
        }
    }

    /// A signed token for `user` in `room`, valid from a minute ago until `expires_at`.
    pub fn mint(&self, room: &str, user: UserInfo<'_>, now: i64, expires_at: i64) -> Result<String, TokenError> {
        self.mint_with_bypass(room, user, now, expires_at, self.server.lobby && user.moderator)
    }

    /// [`ServerRuntime::mint`] with the lobby bypass chosen by the caller (personal rooms: the
    /// owner always, guests when the owner lets them in directly).
    pub fn mint_with_bypass(
        &self,
        room: &str,
        user: UserInfo<'_>,
        now: i64,
        expires_at: i64,
        lobby_bypass: bool,
    ) -> Result<String, TokenError> {
        let Some(mode) = &self.mode else {
            return Err(TokenError::Json("a secure-domain server takes no tokens".into()));
        };
        jitsi::mint(
            mode,
            &TokenRequest {
                room,
                domain: &self.server.domain,
                tenant: self.tenant(),
                user,
                features: self.features(user.moderator),
                lobby_bypass,
                now,
                expires_at,
            },
        )
    }

    /// Where the browser goes with `token`: `https://host/<tenant?>/<room>#jwt=…` (JaaS:
    /// `https://8x8.vc/<app id>/<room>#jwt=…`).
    pub fn room_url(&self, room: &str, token: &str) -> Result<String, TokenError> {
        match &self.mode {
            None => Ok(self.guest_url(room)),
            Some(TokenMode::Jaas { app_id, .. }) => {
                let full = jitsi::jaas_full_app_id(app_id)?;
                Ok(jitsi::join_url(&self.server.base_url, Some(&full), room, token))
            }
            Some(_) => Ok(jitsi::join_url(&self.server.base_url, self.tenant(), room, token)),
        }
    }

    /// Whether this is a secure-domain server (no tokens; hosts log in with a Prosody account).
    pub fn is_secure_domain(&self) -> bool {
        self.mode.is_none()
    }

    /// The room's address without a token (`https://host/<tenant?>/<room>`): how everyone
    /// enters a secure-domain server's rooms (guests anonymously, hosts after Jitsi's login
    /// prompt).
    pub fn guest_url(&self, room: &str) -> String {
        let mut url = format!("{}/", self.server.base_url.trim_end_matches('/'));
        if let Some(tenant) = self.tenant() {
            url.push_str(tenant);
            url.push('/');
        }
        url.push_str(room);
        url
    }
}

/// Whether `host` is a loopback address or `localhost` (where a Prosody may be reached without
/// STARTTLS).
pub fn is_loopback_host(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// How Dialogue logs in to a secure-domain server's Prosody.
fn admin_config(sealer: &Sealer, server: &JitsiServer) -> Result<Option<xmpp::AdminConfig>, StoreError> {
    let Some(x) = &server.xmpp else {
        return Ok(None);
    };
    let password = sealer.open(&server.id, "admin_password", &x.admin_password_enc)?;
    let mut cfg = xmpp::AdminConfig::new(x.host.clone(), server.domain.clone(), x.admin_jid.clone(), password);
    cfg.port = x.port;
    cfg.ca_pem = x.ca_pem.clone();
    // Plain TCP only to a Prosody on this machine; STARTTLS with a trusted certificate otherwise.
    cfg.allow_plain = is_loopback_host(&x.host);
    Ok(Some(cfg))
}

/// Opens a stored server: its secrets unsealed, its key parsed.
/// How long `dialogue check` waits for a Jitsi server's page.
const PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Asks a server's page, as people's browsers will (`<base URL>/`, TLS checked against the
/// public authorities, redirects not followed): the URL asked, and the HTTP status or why
/// nothing answered (every cause on one line: "invalid peer certificate: UnknownIssuer").
/// Dialogue itself never calls Jitsi — Prosody calls Dialogue — so this is for `dialogue check`.
pub async fn probe(base_url: &str) -> (String, std::result::Result<u16, String>) {
    let url = format!("{}/", base_url.trim_end_matches('/'));
    let client = match directory::tls::http_client("jitsi", "base_url", None) {
        Ok(c) => c,
        Err(e) => return (url, Err(e.to_string())),
    };
    let result = match client.get(&url).timeout(PROBE_TIMEOUT).send().await {
        Ok(response) => Ok(response.status().as_u16()),
        Err(e) => Err(directory::oidc::chain(&e)),
    };
    (url, result)
}

/// What a Jitsi site's `config.js` says of the settings Dialogue relies on (those
/// `dialogue jitsi-config` prints), as far as a browser sees them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WebConfig {
    /// `hosts.anonymousdomain`: the guest domain of a secure domain.
    pub anonymous_domain: Option<String>,
    /// `welcomePage.customUrl`: where the site's root sends browsers.
    pub welcome_url: Option<String>,
    /// `enableUserRolesBasedOnToken: true`: the web app takes the moderator right from the token.
    pub roles_from_token: bool,
}

/// Reads the settings of a `config.js` that Dialogue relies on; lines commented out with `//`
/// (most of the stock file) are skipped.
pub fn read_web_config(js: &str) -> WebConfig {
    let mut out = WebConfig::default();
    for line in js.lines().map(str::trim).filter(|l| !l.starts_with("//")) {
        if out.anonymous_domain.is_none() {
            out.anonymous_domain = quoted_after(line, "anonymousdomain:");
        }
        if out.welcome_url.is_none() {
            out.welcome_url = quoted_after(line, "customUrl:");
        }
        if let Some(at) = line.find("enableUserRolesBasedOnToken:") {
            out.roles_from_token = line[at + "enableUserRolesBasedOnToken:".len()..]
                .trim_start()
                .starts_with("true");
        }
    }
    out
}

/// The quoted string (single or double quotes) right after `key` on the line.
fn quoted_after(line: &str, key: &str) -> Option<String> {
    let rest = line[line.find(key)? + key.len()..].trim_start();
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let body = &rest[1..];
    let end = body.find(quote)?;
    Some(body[..end].to_owned()).filter(|s| !s.is_empty())
}

/// What asking a Jitsi site's `config.js` gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebConfigAnswer {
    Read(WebConfig),
    /// Answered without the file (this HTTP status).
    Status(u16),
    /// Nothing answered, and why.
    Unreachable(String),
}

/// Asks a server's `<base URL>/config.js` as browsers get it (as [`probe`] does): the URL asked
/// and what came back.
pub async fn probe_config(base_url: &str) -> (String, WebConfigAnswer) {
    let url = format!("{}/config.js", base_url.trim_end_matches('/'));
    let client = match directory::tls::http_client("jitsi", "base_url", None) {
        Ok(c) => c,
        Err(e) => return (url, WebConfigAnswer::Unreachable(e.to_string())),
    };
    let answer = match client.get(&url).timeout(PROBE_TIMEOUT).send().await {
        Ok(response) if response.status().is_success() => match response.text().await {
            Ok(text) => WebConfigAnswer::Read(read_web_config(&text)),
            Err(e) => WebConfigAnswer::Unreachable(directory::oidc::chain(&e)),
        },
        Ok(response) => WebConfigAnswer::Status(response.status().as_u16()),
        Err(e) => WebConfigAnswer::Unreachable(directory::oidc::chain(&e)),
    };
    (url, answer)
}

pub fn open_server(sealer: &Sealer, server: JitsiServer) -> Result<ServerRuntime, StoreError> {
    let id = server.id.clone();
    let missing = |what: &str| StoreError::Corrupt(format!("Jitsi server {id} has no {what}"));
    let api_secret = sealer.open(&id, "api_secret", &server.api_secret_enc)?;
    let webhook_secret = match &server.webhook_secret_enc {
        Some(sealed) => Some(
            jitsi::WebhookSecret::new(&sealer.open(&id, "webhook_secret", sealed)?)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        ),
        None => None,
    };
    let xmpp = admin_config(sealer, &server)?;
    let (mode, key_path) = match server.token_mode {
        TokenModeKind::SecureDomain => (None, None),
        TokenModeKind::Hs256 => {
            let sealed = server.app_secret_enc.as_deref().ok_or_else(|| missing("app secret"))?;
            let secret = HmacSecret::new(sealer.open(&id, "app_secret", sealed)?)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            (
                Some(TokenMode::Hs256 {
                    app_id: server.app_id.clone(),
                    secret,
                }),
                None,
            )
        }
        TokenModeKind::Rs256 | TokenModeKind::Jaas => {
            let sealed = server
                .private_key_enc
                .as_deref()
                .ok_or_else(|| missing("private key"))?;
            let key = SigningKey::from_pem(&sealer.open(&id, "private_key", sealed)?)
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            let key_id = server.key_id.clone().ok_or_else(|| missing("key id"))?;
            if server.token_mode == TokenModeKind::Rs256 {
                let path = jitsi::asap_key_path(&key_id);
                (
                    Some(TokenMode::Rs256 {
                        app_id: server.app_id.clone(),
                        key_id,
                        key,
                    }),
                    Some(path),
                )
            } else {
                (
                    Some(TokenMode::Jaas {
                        app_id: server.app_id.clone(),
                        key_id,
                        key,
                    }),
                    None,
                )
            }
        }
    };
    Ok(ServerRuntime {
        server,
        mode,
        xmpp,
        api_secret,
        webhook_secret,
        key_path,
    })
}

/// Jitsi servers' open settings, cached by `(id, revision)`.
pub struct Runtime {
    sealer: Sealer,
    cache: RwLock<HashMap<String, Arc<ServerRuntime>>>,
}

impl Runtime {
    pub fn new(secret: &SecretKey) -> Runtime {
        Runtime {
            sealer: Sealer::new(secret.jitsi_secret()),
            cache: RwLock::new(HashMap::new()),
        }
    }

    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    fn cached(&self, id: &str, revision: &str) -> Option<Arc<ServerRuntime>> {
        let cache = self.cache.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.get(id).filter(|s| s.server.revision == revision).cloned()
    }

    fn remember(&self, server: JitsiServer) -> Result<Arc<ServerRuntime>, StoreError> {
        let open = Arc::new(open_server(&self.sealer, server)?);
        let mut cache = self.cache.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.insert(open.server.id.clone(), open.clone());
        Ok(open)
    }

    /// The open server `id` at `revision` (as a join lookup named it): from the cache, or
    /// loaded, opened and cached. `None` if it vanished meanwhile.
    pub async fn server(
        &self,
        store: &Store,
        id: &str,
        revision: &str,
    ) -> Result<Option<Arc<ServerRuntime>>, StoreError> {
        if let Some(hit) = self.cached(id, revision) {
            return Ok(Some(hit));
        }
        match store.jitsi_server(id).await? {
            Some(server) => self.remember(server).map(Some),
            None => Ok(None),
        }
    }

    /// Every server that opens (for Prosody's calls, which name no server). One whose secrets do
    /// not open with this instance's key (restored from another installation, say) is left out
    /// and logged, so that it does not take the other servers' reservations and events down
    /// with it; `dialogue check` reports it too.
    pub async fn all(&self, store: &Store) -> Result<Vec<Arc<ServerRuntime>>, StoreError> {
        let servers = store.list_jitsi_servers().await?;
        let mut out = Vec::with_capacity(servers.len());
        for server in servers {
            match self.cached(&server.id, &server.revision) {
                Some(hit) => out.push(hit),
                None => {
                    let (id, name) = (server.id.clone(), server.name.clone());
                    match self.remember(server) {
                        Ok(open) => out.push(open),
                        Err(e) => {
                            tracing::error!(server = %name, %id, error = %e, "a Jitsi server's secrets do not open: skipped")
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// Refuses a bearer that another server already uses (Prosody's calls are told apart by
    /// their bearer alone: two servers with one would answer for each other).
    pub async fn check_bearer(
        &self,
        store: &Store,
        id: &str,
        change: &ServerChange,
        problems: &mut FieldProblems,
    ) -> Result<(), StoreError> {
        let Some(wanted) = text(&change.api_secret).filter(|s| !s.is_empty()) else {
            return Ok(());
        };
        for server in self.all(store).await? {
            if server.server.id != id && constant_time_eq(server.api_secret.as_bytes(), wanted.as_bytes()) {
                problems.push(Problem::new("api_secret", Message::new("jitsi.error.api_secret_taken")));
                break;
            }
        }
        Ok(())
    }

    /// The open server `id`, whatever its revision (for calls that name their server).
    pub async fn by_id(&self, store: &Store, id: &str) -> Result<Option<Arc<ServerRuntime>>, StoreError> {
        match store.jitsi_server(id).await? {
            Some(server) => match self.cached(&server.id, &server.revision) {
                Some(hit) => Ok(Some(hit)),
                None => self.remember(server).map(Some),
            },
            None => Ok(None),
        }
    }

    /// The server whose bearer secret is `presented`, comparing with each in constant time.
    pub async fn by_bearer(&self, store: &Store, presented: &str) -> Result<Option<Arc<ServerRuntime>>, StoreError> {
        let mut found = None;
        for server in self.all(store).await? {
            // Every server is compared, whatever matched before: the time taken does not say which.
            if constant_time_eq(server.api_secret.as_bytes(), presented.as_bytes()) {
                found = Some(server);
            }
        }
        Ok(found)
    }
}

/// A server's settings as typed in a form or sent to the API. `None`: not given (an update
/// keeps the current value; a creation uses the default).
#[derive(Debug, Clone, Default)]
pub struct ServerChange {
    pub name: Option<String>,
    pub base_url: Option<String>,
    pub domain: Option<String>,
    pub tenant: Option<String>,
    pub token_mode: Option<String>,
    pub app_id: Option<String>,
    pub key_id: Option<String>,
    /// Write-only; empty or `None` keeps the current one.
    pub app_secret: Option<String>,
    /// Write-only PEM; empty or `None` keeps the current one.
    pub private_key: Option<String>,
    /// Write-only; empty or `None` keeps the current one (a new server gets a generated one).
    pub api_secret: Option<String>,
    /// JaaS only, write-only: the webhook endpoint's secret from the JaaS console; empty or
    /// `None` keeps the current one.
    pub webhook_secret: Option<String>,
    pub moderator_features: Option<BTreeMap<String, bool>>,
    pub participant_features: Option<BTreeMap<String, bool>>,
    pub lobby: Option<bool>,
    /// `Some(None)` clears the limit.
    pub max_occupants: Option<Option<i64>>,
    pub is_default: Option<bool>,
    /// Secure-domain servers: where Prosody's client port listens (default: the XMPP domain).
    pub xmpp_host: Option<String>,
    /// Default 5222.
    pub xmpp_port: Option<i64>,
    /// The admin JID Dialogue logs in as (in the XMPP domain, listed in Prosody's `admins`).
    pub admin_jid: Option<String>,
    /// Write-only; empty or `None` keeps the current one.
    pub admin_password: Option<String>,
    /// The authority (PEM certificates) trusted for Prosody's certificate besides the web's
    /// roots. Not a secret: `None` keeps the current one, empty removes it.
    pub xmpp_ca_pem: Option<String>,
}

/// The longest certificate authority text accepted (a chain of a few certificates fits).
pub const MAX_CA_PEM_BYTES: usize = 65_536;

/// A validated change, ready to store, and the bearer secret when one was generated (shown once).
pub struct PreparedServer {
    pub input: JitsiServerInput,
    pub generated_api_secret: Option<String>,
}

/// Field errors (field name, message).
pub type FieldProblems = Vec<Problem>;

fn text(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim)
}

/// Records a field's problem (under `field` when given, else the error's own field).
fn record(problems: &mut FieldProblems, result: Result<(), SettingError>, field: Option<&'static str>) {
    if let Err(e) = result {
        problems.push(Problem::new(field.unwrap_or(e.field()), messages::server_setting(e)));
    }
}

/// Validates `change` over `current` (an update) or from nothing (a creation, `current` None),
/// and seals the secrets for server `id`. Every problem is reported, each with its field.
pub fn prepare(
    sealer: &Sealer,
    id: &str,
    current: Option<&JitsiServer>,
    change: &ServerChange,
) -> Result<PreparedServer, FieldProblems> {
    let mut problems: FieldProblems = Vec::new();
    let open_current = |field: &str, sealed: &Option<String>| -> Option<String> {
        sealed.as_deref().and_then(|s| sealer.open(id, field, s).ok())
    };

    let name_raw = text(&change.name)
        .map(str::to_owned)
        .or_else(|| current.map(|c| c.name.clone()))
        .unwrap_or_default();
    let name = settings::parse_name(&name_raw);
    record(&mut problems, name.as_ref().map(|_| ()).map_err(|e| *e), None);
    let name = name.unwrap_or_default();

    let mode_text = text(&change.token_mode)
        .map(str::to_owned)
        .or_else(|| current.map(|c| c.token_mode.as_str().to_owned()))
        .unwrap_or_default();
    let mode = TokenModeKind::parse(&mode_text);
    record(&mut problems, mode.map(|_| ()).ok_or(SettingError::Mode), None);
    let mode = mode.unwrap_or(TokenModeKind::Hs256);
    let same_mode = current.is_some_and(|c| c.token_mode == mode);
    let jaas = mode == TokenModeKind::Jaas;

    let base_url_raw = text(&change.base_url)
        .map(str::to_owned)
        .or_else(|| current.map(|c| c.base_url.clone()))
        .unwrap_or_default();
    let base_url = if jaas && base_url_raw.is_empty() {
        Ok(jitsi::JAAS_BASE_URL.to_owned())
    } else {
        settings::parse_base_url(&base_url_raw)
    };
    record(&mut problems, base_url.as_ref().map(|_| ()).map_err(|e| *e), None);
    let base_url = base_url.ok();

    let domain = if jaas {
        String::new()
    } else {
        let raw = text(&change.domain)
            .map(str::to_owned)
            .or_else(|| current.map(|c| c.domain.clone()))
            .unwrap_or_default();
        let domain = settings::parse_domain(&raw);
        record(&mut problems, domain.as_ref().map(|_| ()).map_err(|e| *e), None);
        domain.unwrap_or_default()
    };

    let tenant = if jaas {
        None
    } else {
        match &change.tenant {
            Some(t) => Some(t.trim().to_owned()).filter(|t| !t.is_empty()),
            None => current.and_then(|c| c.tenant.clone()),
        }
    };
    if let Some(t) = &tenant
        && !jitsi::is_valid_tenant(t)
    {
        problems.push(Problem::new("tenant", Message::new("jitsi.error.tenant")));
    }

    let app_id_raw = text(&change.app_id)
        .map(str::to_owned)
        .or_else(|| current.map(|c| c.app_id.clone()))
        .unwrap_or_default();
    let app_id = if mode.has_tokens() {
        let app_id = settings::parse_app_id(&app_id_raw);
        record(&mut problems, app_id.as_ref().map(|_| ()).map_err(|e| *e), None);
        app_id.unwrap_or(app_id_raw)
    } else {
        String::new()
    };

    let key_id = if matches!(mode, TokenModeKind::Hs256 | TokenModeKind::SecureDomain) {
        None
    } else {
        let raw = text(&change.key_id)
            .map(str::to_owned)
            .or_else(|| current.and_then(|c| c.key_id.clone()))
            .unwrap_or_default();
        let k = settings::parse_key_id(&raw);
        record(&mut problems, k.as_ref().map(|_| ()).map_err(|e| *e), None);
        Some(k.unwrap_or(raw))
    };

    // The secure-domain settings are used by that kind alone, but a value given for another
    // kind is still checked: an impossible one is refused, not silently kept aside (the API
    // fuzzer sent `xmpp_port: 0` to a token server and got 200).
    if mode != TokenModeKind::SecureDomain {
        if let Some(port) = change.xmpp_port {
            record(&mut problems, settings::check_xmpp_port(port).map(|_| ()), None);
        }
        if let Some(pem) = change.xmpp_ca_pem.as_deref().map(str::trim).filter(|p| !p.is_empty())
            && (pem.len() > MAX_CA_PEM_BYTES || xmpp::parse_ca_pem(pem.as_bytes()).is_err())
        {
            problems.push(Problem::new("xmpp_ca_pem", Message::new("jitsi.error.xmpp_ca_pem")));
        }
        if let Some(password) = change.admin_password.as_deref().filter(|p| !p.is_empty()) {
            record(
                &mut problems,
                settings::check_admin_password(Some(password)).map(|_| ()),
                None,
            );
        }
    }
    // Likewise an HS256 secret given to a server of another kind.
    if mode != TokenModeKind::Hs256
        && let Some(secret) = text(&change.app_secret).filter(|s| !s.is_empty())
    {
        record(
            &mut problems,
            settings::check_app_secret(Some(secret)).map(|_| ()),
            None,
        );
    }

    // Secrets: a new value, else the current one (when the mode did not change).
    let mut token_mode: Option<TokenMode> = None;
    let mut app_secret_plain = None;
    let mut private_key_plain = None;
    let mut xmpp_plain = None;
    match mode {
        TokenModeKind::SecureDomain => {
            let cur = current.and_then(|c| c.xmpp.as_ref());
            let host_raw = text(&change.xmpp_host)
                .filter(|h| !h.is_empty())
                .map(str::to_owned)
                .or_else(|| cur.map(|x| x.host.clone()))
                .unwrap_or_else(|| domain.clone());
            let host = settings::parse_xmpp_host(&host_raw);
            record(&mut problems, host.as_ref().map(|_| ()).map_err(|e| *e), None);
            let port = settings::check_xmpp_port(
                change
                    .xmpp_port
                    .or_else(|| cur.map(|x| i64::from(x.port)))
                    .unwrap_or(i64::from(xmpp::DEFAULT_PORT)),
            );
            record(&mut problems, port.map(|_| ()), None);
            let jid_raw = text(&change.admin_jid)
                .map(str::to_owned)
                .or_else(|| cur.map(|x| x.admin_jid.clone()))
                .unwrap_or_default();
            let jid = settings::parse_admin_jid(&jid_raw, &domain);
            record(&mut problems, jid.as_ref().map(|_| ()).map_err(|e| *e), None);
            let given = change
                .admin_password
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(str::to_owned);
            let password =
                given.or_else(|| cur.and_then(|x| sealer.open(id, "admin_password", &x.admin_password_enc).ok()));
            let password = settings::check_admin_password(password.as_deref()).map(str::to_owned);
            record(&mut problems, password.as_ref().map(|_| ()).map_err(|e| *e), None);
            let ca_pem = match &change.xmpp_ca_pem {
                Some(given) => Some(given.trim().to_owned()).filter(|p| !p.is_empty()),
                None => cur.and_then(|x| x.ca_pem.clone()),
            };
            let ca_ok = ca_pem
                .as_deref()
                .is_none_or(|pem| pem.len() <= MAX_CA_PEM_BYTES && xmpp::parse_ca_pem(pem.as_bytes()).is_ok());
            if !ca_ok {
                problems.push(Problem::new("xmpp_ca_pem", Message::new("jitsi.error.xmpp_ca_pem")));
            }
            if let (Ok(host), Ok(port), Ok(jid), Ok(password), true) = (host, port, jid, password, ca_ok) {
                xmpp_plain = Some((host, port, jid, password, ca_pem));
            }
        }
        TokenModeKind::Hs256 => {
            let given = text(&change.app_secret).filter(|s| !s.is_empty()).map(str::to_owned);
            let secret = given.or_else(|| {
                same_mode
                    .then(|| current.and_then(|c| open_current("app_secret", &c.app_secret_enc)))
                    .flatten()
            });
            match settings::check_app_secret(secret.as_deref()).map(str::to_owned) {
                Err(e) => record(&mut problems, Err(e), None),
                Ok(s) => {
                    if let Ok(secret) = HmacSecret::new(s.clone()) {
                        token_mode = Some(TokenMode::Hs256 {
                            app_id: app_id.clone(),
                            secret,
                        });
                    }
                    app_secret_plain = Some(s);
                }
            }
        }
        TokenModeKind::Rs256 | TokenModeKind::Jaas => {
            let given = change
                .private_key
                .as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(str::to_owned);
            let pem = given.or_else(|| {
                (current.is_some_and(|c| matches!(c.token_mode, TokenModeKind::Rs256 | TokenModeKind::Jaas)))
                    .then(|| current.and_then(|c| open_current("private_key", &c.private_key_enc)))
                    .flatten()
            });
            match pem {
                None => problems.push(Problem::new("private_key", Message::new("jitsi.error.key_required"))),
                Some(pem) => match SigningKey::from_pem(&pem) {
                    Err(e) => problems.push(Problem::new("private_key", crate::messages::key(&e))),
                    Ok(key) => {
                        let key_id = key_id.clone().unwrap_or_default();
                        token_mode = Some(if jaas {
                            TokenMode::Jaas {
                                app_id: app_id.clone(),
                                key_id,
                                key,
                            }
                        } else {
                            TokenMode::Rs256 {
                                app_id: app_id.clone(),
                                key_id,
                                key,
                            }
                        });
                        private_key_plain = Some(pem);
                    }
                },
            }
        }
    }

    let mut generated_api_secret = None;
    let api_secret = match text(&change.api_secret).filter(|s| !s.is_empty()) {
        Some(s) => {
            record(&mut problems, settings::check_api_secret(s), None);
            Some(s.to_owned())
        }
        None => match current.and_then(|c| open_current("api_secret", &Some(c.api_secret_enc.clone()))) {
            Some(s) => Some(s),
            None => {
                let fresh = random_token();
                generated_api_secret = Some(fresh.clone());
                Some(fresh)
            }
        },
    };

    // JaaS: the webhook secret, kept while the server stays a JaaS one.
    let webhook_secret = match text(&change.webhook_secret).filter(|s| !s.is_empty()) {
        Some(_) if !jaas => {
            problems.push(Problem::new(
                "webhook_secret",
                Message::new("jitsi.error.webhook_secret_jaas_only"),
            ));
            None
        }
        Some(s) => {
            if !valid_webhook_secret(s) {
                problems.push(Problem::new(
                    "webhook_secret",
                    Message::new("jitsi.error.webhook_secret"),
                ));
            }
            Some(s.to_owned())
        }
        None if jaas && same_mode => current.and_then(|c| open_current("webhook_secret", &c.webhook_secret_enc)),
        None => None,
    };

    let moderator_features = change
        .moderator_features
        .clone()
        .or_else(|| current.map(|c| c.moderator_features.clone()))
        .unwrap_or_else(|| default_features(true));
    let participant_features = change
        .participant_features
        .clone()
        .or_else(|| current.map(|c| c.participant_features.clone()))
        .unwrap_or_else(|| default_features(false));
    record(&mut problems, settings::check_features(&moderator_features), None);
    record(
        &mut problems,
        settings::check_features(&participant_features),
        Some("participant_features"),
    );
    let max_occupants = change
        .max_occupants
        .unwrap_or_else(|| current.and_then(|c| c.max_occupants));
    record(&mut problems, settings::check_max_occupants(max_occupants), None);

    // The settings must make tokens Prosody accepts: mint one to be sure.
    if let Some(mode) = &token_mode
        && problems.is_empty()
    {
        let features = BTreeMap::new();
        let probe = jitsi::mint(
            mode,
            &TokenRequest {
                room: "dialogue-check",
                domain: &domain,
                tenant: tenant.as_deref(),
                user: UserInfo {
                    id: "check",
                    name: "check",
                    email: "check@example.org",
                    avatar: None,
                    moderator: false,
                },
                features: &features,
                lobby_bypass: false,
                now: 1_000_000_000,
                expires_at: 1_000_003_600,
            },
        );
        match probe {
            Ok(_) => {}
            Err(TokenError::InvalidDomain(_)) => {
                problems.push(Problem::new("domain", Message::new("jitsi.error.domain")))
            }
            Err(TokenError::InvalidTenant(_)) => {
                problems.push(Problem::new("tenant", Message::new("jitsi.error.tenant")))
            }
            Err(TokenError::InvalidJaasAppId(_) | TokenError::EmptyAppId) => {
                problems.push(Problem::new("app_id", Message::new("jitsi.error.jaas_app_id")))
            }
            Err(TokenError::InvalidKeyId(_) | TokenError::JaasKeyIdMismatch { .. }) => {
                problems.push(Problem::new("key_id", Message::new("jitsi.error.key_id_invalid")))
            }
            Err(_) => problems.push(Problem::new("", Message::new("jitsi.error.settings"))),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }

    let seal = |field: &str, value: &str| sealer.seal(id, field, value);
    let sealed = (|| -> Result<_, StoreError> {
        Ok((
            app_secret_plain.as_deref().map(|s| seal("app_secret", s)).transpose()?,
            private_key_plain
                .as_deref()
                .map(|s| seal("private_key", s))
                .transpose()?,
            seal("api_secret", api_secret.as_deref().unwrap_or_default())?,
            webhook_secret
                .as_deref()
                .map(|s| seal("webhook_secret", s))
                .transpose()?,
            xmpp_plain
                .map(|(host, port, admin_jid, password, ca_pem)| {
                    Ok::<_, StoreError>(store::XmppAdmin {
                        host,
                        port,
                        admin_jid,
                        ca_pem,
                        admin_password_enc: seal("admin_password", &password)?,
                    })
                })
                .transpose()?,
        ))
    })();
    let Ok((app_secret_enc, private_key_enc, api_secret_enc, webhook_secret_enc, xmpp)) = sealed else {
        return Err(vec![Problem::new("", Message::new("error.internal"))]);
    };
    let public_key_pem = token_mode
        .as_ref()
        .and_then(TokenMode::signing_key)
        .map(|k| k.public_key_pem().to_owned());
    Ok(PreparedServer {
        input: JitsiServerInput {
            name,
            base_url: base_url.unwrap_or_default(),
            domain,
            tenant,
            token_mode: mode,
            app_id,
            key_id,
            app_secret_enc,
            private_key_enc,
            public_key_pem,
            api_secret_enc,
            webhook_secret_enc,
            moderator_features,
            participant_features,
            lobby: change.lobby.or(current.map(|c| c.lobby)).unwrap_or(false),
            max_occupants,
            xmpp,
            is_default: change.is_default.unwrap_or(false),
        },
        generated_api_secret,
    })
}

/// A JaaS webhook secret as the console shows it: visible ASCII, 8 to 200 characters.
fn valid_webhook_secret(s: &str) -> bool {
    (8..=200).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic())
}

// ---- Use cases (admins only: `domain::perm`) ----

/// A server just created, and its bearer secret when Dialogue generated it (shown once).
#[derive(Debug)]
pub struct Created {
    pub server: JitsiServer,
    pub generated_api_secret: Option<String>,
}

fn require_admin(actor: &domain::Actor) -> Result<(), Error> {
    if actor.may_manage_jitsi_servers() {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// Every server, by name.
pub async fn list(svc: &Service, actor: &domain::Actor) -> Result<Vec<JitsiServer>, Error> {
    require_admin(actor)?;
    Ok(svc.store().list_jitsi_servers().await?)
}

/// Every server's id and name (what the session pages show of the server in use).
pub async fn names(svc: &Service) -> Result<Vec<(String, String)>, Error> {
    Ok(svc
        .store()
        .list_jitsi_servers()
        .await?
        .into_iter()
        .map(|s| (s.id, s.name))
        .collect())
}

/// One server (its secrets stay sealed).
pub async fn get(svc: &Service, actor: &domain::Actor, id: &str) -> Result<JitsiServer, Error> {
    require_admin(actor)?;
    svc.store().jitsi_server(id).await?.ok_or(Error::NotFound)
}

/// Validates and seals `change` for server `id` (over `current` for an update); a bearer that
/// another server already uses is one of the problems. Every problem is reported at once.
async fn prepare_checked(
    svc: &Service,
    id: &str,
    current: Option<&JitsiServer>,
    change: &ServerChange,
    mut problems: FieldProblems,
) -> Result<PreparedServer, Error> {
    svc.jitsi().check_bearer(svc.store(), id, change, &mut problems).await?;
    match prepare(svc.jitsi().sealer(), id, current, change) {
        Ok(p) if problems.is_empty() => Ok(p),
        Ok(_) => Err(Error::Invalid(problems)),
        Err(mut more) => {
            problems.append(&mut more);
            Err(Error::Invalid(problems))
        }
    }
}

/// Adds a server. `problems` are the caller's own findings about the input (a form field it
/// could not read), reported with the others.
pub async fn create(
    svc: &Service,
    caller: &Caller,
    change: &ServerChange,
    problems: FieldProblems,
) -> Result<Created, Error> {
    require_admin(&caller.actor)?;
    let id = store::new_id();
    let prepared = prepare_checked(svc, &id, None, change, problems).await?;
    let server = svc
        .store()
        .create_jitsi_server(&id, &prepared.input, svc.now(), &caller.audit("jitsi_server.create"))
        .await?;
    svc.prosody().poke();
    Ok(Created {
        server,
        generated_api_secret: prepared.generated_api_secret,
    })
}

/// Changes a server: the fields given, secrets only when new ones are given.
pub async fn update(
    svc: &Service,
    caller: &Caller,
    id: &str,
    change: &ServerChange,
    problems: FieldProblems,
) -> Result<JitsiServer, Error> {
    let current = get(svc, &caller.actor, id).await?;
    let prepared = prepare_checked(svc, id, Some(&current), change, problems).await?;
    let server = svc
        .store()
        .update_jitsi_server(id, &prepared.input, svc.now(), &caller.audit("jitsi_server.update"))
        .await?;
    svc.prosody().poke();
    Ok(server)
}

/// Removes a server that no session to come uses (and that is not the default while others
/// exist).
pub async fn delete(svc: &Service, caller: &Caller, id: &str) -> Result<(), Error> {
    get(svc, &caller.actor, id).await?;
    svc.store()
        .delete_jitsi_server(id, svc.now(), &caller.audit("jitsi_server.delete"))
        .await?;
    // A secure-domain server's accounts are to be deleted from its Prosody now.
    svc.prosody().poke();
    Ok(())
}

/// Pins a session to a server (`None`: back to the default). Admins and managers, while the
/// session may still be changed.
pub async fn pin_session(svc: &Service, caller: &Caller, session_id: &str, server: Option<&str>) -> Result<(), Error> {
    let (_, facts) = crate::booking::view(svc, &caller.actor, session_id).await?;
    if !caller.actor.may_choose_jitsi_server(facts) {
        return Err(Error::Forbidden);
    }
    Ok(svc
        .store()
        .set_session_jitsi_server(session_id, server, svc.now(), &caller.audit("session.jitsi_server"))
        .await?)
}

/// A store refusal about servers as the caller reads it.
pub fn refusal(r: &store::JitsiRefusal) -> Error {
    match r {
        store::JitsiRefusal::NameTaken { name } => {
            Error::conflict("name", Message::new("jitsi.error.name_taken").arg("name", name))
        }
        store::JitsiRefusal::DefaultInUse => Error::conflict("", Message::new("jitsi.error.default_in_use")),
        store::JitsiRefusal::InUse { sessions } => {
            Error::conflict("", Message::new("jitsi.error.in_use").arg("count", sessions))
        }
        store::JitsiRefusal::UnknownServer => {
            Error::invalid("jitsi_server", Message::new("jitsi.error.unknown_server"))
        }
    }
}

/// The key-server URL Prosody's `asap_key_server` points at, and the file it fetches for `kid`.
pub fn key_server_url(public_url: &str, kid: &str) -> String {
    format!(
        "{}/{}",
        jitsi::asap_key_server_url(public_url),
        jitsi::asap_key_path(kid)
    )
}

/// Where a JaaS server's webhooks go: the address to enter in the JaaS console.
pub fn jaas_webhook_url(public_url: &str, server_id: &str) -> String {
    format!("{}/jitsi/jaas/{server_id}/webhook", public_url.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    /// The settings Dialogue relies on, read from a `config.js` shaped like Jitsi's own (most
    /// lines commented out), in either quote style; commented lines never count.
    #[test]
    fn config_js_settings_are_read_and_comments_skipped() {
        let js = "var config = {\n    hosts: {\n        domain: 'meet.example.org',\n\n        // anonymousdomain: 'guest.example.com',\n    },\n\
                  // welcomePage: { customUrl: 'https://elsewhere.example/' },\n    enableUserRolesBasedOnToken: true,\n\
                  welcomePage: { disabled: false, customUrl: \"https://dialogue.example.org/\" },\n};\n";
        let read = super::read_web_config(js);
        assert_eq!(read.anonymous_domain, None);
        assert_eq!(read.welcome_url.as_deref(), Some("https://dialogue.example.org/"));
        assert!(read.roles_from_token);
        let read = super::read_web_config(
            "hosts: { anonymousdomain: \"guest.meet.example.org\" },\nenableUserRolesBasedOnToken: false,",
        );
        assert_eq!(read.anonymous_domain.as_deref(), Some("guest.meet.example.org"));
        assert!(!read.roles_from_token && read.welcome_url.is_none());
    }

    use super::*;

    const PEM: &str = include_str!("../../jitsi/tests/fixtures/test-only-rsa-2048-pkcs8.pem");

    fn sealer() -> Sealer {
        Sealer::new(&[9; 32])
    }

    #[test]
    fn sealed_secrets_open_only_where_they_were_sealed() {
        let s = sealer();
        let sealed = s.seal("srv1", "app_secret", "top secret value").unwrap();
        assert!(sealed.starts_with("v1.") && !sealed.contains("top secret"));
        assert_eq!(s.open("srv1", "app_secret", &sealed).unwrap(), "top secret value");
        assert_ne!(
            sealed,
            s.seal("srv1", "app_secret", "top secret value").unwrap(),
            "random nonces"
        );
        assert!(s.open("srv2", "app_secret", &sealed).is_err(), "another row");
        assert!(s.open("srv1", "api_secret", &sealed).is_err(), "another field");
        assert!(
            Sealer::new(&[8; 32]).open("srv1", "app_secret", &sealed).is_err(),
            "another key"
        );
        let mut tampered = sealed.into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert!(
            s.open("srv1", "app_secret", std::str::from_utf8(&tampered).unwrap())
                .is_err()
        );
        assert!(s.open("srv1", "app_secret", "garbage").is_err());
    }

    fn hs256_change() -> ServerChange {
        ServerChange {
            name: Some("Meet".into()),
            base_url: Some("https://meet.example.org/".into()),
            domain: Some("meet.example.org".into()),
            token_mode: Some("hs256".into()),
            app_id: Some("dialogue".into()),
            app_secret: Some("an-app-secret-of-at-least-32-characters".into()),
            ..Default::default()
        }
    }

    fn server_from(id: &str, p: &PreparedServer) -> JitsiServer {
        let i = &p.input;
        JitsiServer {
            id: id.into(),
            name: i.name.clone(),
            base_url: i.base_url.clone(),
            domain: i.domain.clone(),
            tenant: i.tenant.clone(),
            token_mode: i.token_mode,
            app_id: i.app_id.clone(),
            key_id: i.key_id.clone(),
            app_secret_enc: i.app_secret_enc.clone(),
            private_key_enc: i.private_key_enc.clone(),
            public_key_pem: i.public_key_pem.clone(),
            api_secret_enc: i.api_secret_enc.clone(),
            webhook_secret_enc: i.webhook_secret_enc.clone(),
            moderator_features: i.moderator_features.clone(),
            participant_features: i.participant_features.clone(),
            lobby: i.lobby,
            max_occupants: i.max_occupants,
            is_default: true,
            xmpp: i.xmpp.clone(),
            revision: "r1".into(),
            created_at: jiff::Timestamp::UNIX_EPOCH,
            updated_at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn a_new_server_gets_defaults_and_a_generated_bearer() {
        let s = sealer();
        let p = prepare(&s, "srv1", None, &hs256_change()).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(p.input.base_url, "https://meet.example.org");
        let bearer = p.generated_api_secret.clone().unwrap();
        assert_eq!(bearer.len(), 43);
        assert_eq!(p.input.moderator_features, default_features(true));
        let open = open_server(&s, server_from("srv1", &p)).unwrap();
        assert_eq!(open.api_secret, bearer);
        assert!(matches!(open.mode, Some(TokenMode::Hs256 { .. })));
        // An update that gives no secret keeps them; no new bearer is generated.
        let current = server_from("srv1", &p);
        let again = prepare(
            &s,
            "srv1",
            Some(&current),
            &ServerChange {
                lobby: Some(true),
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        assert!(again.generated_api_secret.is_none() && again.input.lobby);
        let reopened = open_server(&s, server_from("srv1", &again)).unwrap();
        assert_eq!(reopened.api_secret, bearer);
        assert_eq!(
            reopened.mode.as_ref().map(TokenMode::algorithm).unwrap_or_default(),
            "HS256",
            "the app secret came through the update"
        );
    }

    #[test]
    fn every_problem_is_reported_with_its_field() {
        let s = sealer();
        let bad = ServerChange {
            name: Some(" ".into()),
            base_url: Some("http://meet.example.org".into()),
            domain: Some("".into()),
            tenant: Some("Acme Inc".into()),
            token_mode: Some("rs256".into()),
            app_id: Some("".into()),
            private_key: Some("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----".into()),
            api_secret: Some("short".into()),
            max_occupants: Some(Some(0)),
            moderator_features: Some(BTreeMap::from([("Bad Key".into(), true)])),
            ..Default::default()
        };
        let problems = prepare(&s, "srv1", None, &bad).err().unwrap();
        let fields: Vec<&str> = problems.iter().map(|p| &*p.field).collect();
        for f in [
            "name",
            "base_url",
            "domain",
            "tenant",
            "app_id",
            "key_id",
            "private_key",
            "api_secret",
            "max_occupants",
            "moderator_features",
        ] {
            assert!(fields.contains(&f), "{f} missing from {fields:?}");
        }
        // A short HS256 secret, a JaaS app id of the wrong shape.
        let mut short = hs256_change();
        short.app_secret = Some("too short".into());
        let problems = prepare(&s, "srv1", None, &short).err().unwrap();
        assert_eq!(problems[0].field, "app_secret");
        let jaas = ServerChange {
            name: Some("JaaS".into()),
            token_mode: Some("jaas".into()),
            app_id: Some("Not-A-JaaS-Id".into()),
            key_id: Some("abc123".into()),
            private_key: Some(PEM.into()),
            ..Default::default()
        };
        let problems = prepare(&s, "srv2", None, &jaas).err().unwrap();
        assert_eq!(problems.iter().map(|p| &*p.field).collect::<Vec<_>>(), ["app_id"]);
    }

    #[test]
    fn rs256_and_jaas_servers_open_with_their_keys() {
        let s = sealer();
        let rs = ServerChange {
            name: Some("RS".into()),
            base_url: Some("https://meet.example.org".into()),
            domain: Some("meet.example.org".into()),
            token_mode: Some("rs256".into()),
            app_id: Some("dialogue".into()),
            key_id: Some("dialogue-2026".into()),
            private_key: Some(PEM.into()),
            ..Default::default()
        };
        let p = prepare(&s, "rs", None, &rs).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(
            p.input
                .public_key_pem
                .as_deref()
                .unwrap()
                .starts_with("-----BEGIN PUBLIC KEY-----")
        );
        assert!(!p.input.private_key_enc.as_deref().unwrap().contains("PRIVATE KEY"));
        let open = open_server(&s, server_from("rs", &p)).unwrap();
        assert_eq!(
            open.key_path.as_deref(),
            Some(jitsi::asap_key_path("dialogue-2026").as_str())
        );
        let jaas = ServerChange {
            name: Some("JaaS".into()),
            token_mode: Some("jaas".into()),
            app_id: Some("vpaas-magic-cookie-0123abcd".into()),
            key_id: Some("4f4910".into()),
            private_key: Some(PEM.into()),
            ..Default::default()
        };
        let p = prepare(&s, "jaas", None, &jaas).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(p.input.base_url, "https://8x8.vc");
        let open = open_server(&s, server_from("jaas", &p)).unwrap();
        let url = open.room_url("room-1", "TOKEN").unwrap();
        assert_eq!(url, "https://8x8.vc/vpaas-magic-cookie-0123abcd/room-1#jwt=TOKEN");
    }
}
