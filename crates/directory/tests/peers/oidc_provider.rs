//! OpenID Connect logins against a real provider: npm `oidc-provider` run by
//! `tests/oidc/server.mjs` on a free port, driven like a browser would (following its redirects,
//! submitting its login step).

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use base64::Engine;
use directory::{Error, ErrorKind, OidcProviderConfig, PendingLogin, Provider, Secret, TokenProblem};
use domain::Role;
use jiff::{SignedDuration, Timestamp};
use reqwest::Url;
use reqwest::header::LOCATION;
use serde_json::{Value, json};

use crate::support::{TempDir, free_port, make_authority, make_server_certificate, wait_for_port};

const REDIRECT_URI: &str = "http://127.0.0.1:9/login/oidc/company/callback";
const POST_LOGOUT: &str = "http://127.0.0.1:9/login";
const ID_TOKEN_TTL: i64 = 120;

fn install() -> String {
    format!(
        "The oidc_provider suite needs Node.js and the provider's packages: on Debian \
         `apt-get install -y nodejs npm`, then `npm ci --prefix {}` (or run `bash .ci/peers`).",
        script_dir().display()
    )
}

fn script_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oidc")
}

struct Options {
    alg: &'static str,
    claims_in_id_token: bool,
    logout: bool,
    /// HTTPS with a certificate from a throwaway authority (`authority.pem` in the peer's
    /// directory).
    tls: bool,
}

const DEFAULT: Options = Options {
    alg: "RS256",
    claims_in_id_token: true,
    logout: true,
    tls: false,
};

/// A running provider, stopped when dropped. Each start signs with a freshly made key.
struct Peer {
    child: Child,
    port: u16,
    dir: TempDir,
    settings: Value,
}

impl Peer {
    async fn start(options: Options) -> Peer {
        let dir = TempDir::new("oidc");
        let tls = options.tls.then(|| {
            make_authority(dir.path(), "authority");
            make_server_certificate(dir.path(), "authority")
        });
        let mut failures = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            let mut settings = settings(port, &options);
            if let Some((cert, key)) = &tls {
                settings["tls"] = json!({ "cert": cert, "key": key });
            }
            let mut child = spawn(&settings, &dir);
            match wait_for_port(&mut child, port, "oidc-provider", &dir.join("provider.log")).await {
                Ok(()) => {
                    return Peer {
                        child,
                        port,
                        dir,
                        settings,
                    };
                }
                Err(e) => failures.push(e),
            }
        }
        panic!("oidc-provider did not start: {failures:#?}");
    }

    /// Stops the provider and starts it again on the same port with a new key named `kid`.
    async fn restart_with_key(&mut self, kid: &str) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.settings["kid"] = json!(kid);
        self.child = spawn(&self.settings, &self.dir);
        let log = self.dir.join("provider.log");
        if let Err(e) = wait_for_port(&mut self.child, self.port, "oidc-provider", &log).await {
            panic!("oidc-provider did not restart: {e}");
        }
    }

    fn issuer(&self) -> String {
        self.settings["issuer"].as_str().expect("the issuer").to_owned()
    }

    fn config(&self, client_id: &str, secret: &str) -> OidcProviderConfig {
        OidcProviderConfig {
            name: "company".into(),
            issuer: self.issuer(),
            client_id: client_id.into(),
            client_secret: Secret::new(secret),
            groups_claim: "groups".into(),
            default_role: Role::Trainer,
            role_map: vec![
                ("staff".into(), Role::Manager),
                ("it".into(), Role::Admin),
                ("teachers".into(), Role::Trainer),
            ],
            clock_skew_seconds: 60,
            ..OidcProviderConfig::default()
        }
    }

    async fn provider(&self) -> Provider {
        self.provider_for(self.config("dialogue", "dialogue-secret")).await
    }

    async fn provider_for(&self, config: OidcProviderConfig) -> Provider {
        Provider::discover(config, REDIRECT_URI, http())
            .await
            .expect("discovery")
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn settings(port: u16, options: &Options) -> Value {
    json!({
        "port": port,
        "issuer": format!("{}://127.0.0.1:{port}", if options.tls { "https" } else { "http" }),
        "redirect_uri": REDIRECT_URI,
        "post_logout_redirect_uri": POST_LOGOUT,
        "alg": options.alg,
        "kid": "key-1",
        "id_token_ttl": ID_TOKEN_TTL,
        "claims_in_id_token": options.claims_in_id_token,
        "logout": options.logout,
        "accounts": {
            "alice": {
                "email": "alice@example.org",
                "email_verified": true,
                "name": "Alice Martin",
                "groups": ["staff", "it", "unmapped"],
            },
            "bob": {
                "email": "bob@example.org",
                "email_verified": false,
                "name": "Bob Durand",
                "groups": "teachers,other",
            },
        },
    })
}

fn spawn(settings: &Value, dir: &TempDir) -> Child {
    let script = script_dir();
    assert!(
        script.join("node_modules/oidc-provider").is_dir(),
        "oidc-provider is not installed. {}",
        install()
    );
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("provider.log"))
        .expect("the provider's log");
    match Command::new("node")
        .current_dir(&script)
        .arg("server.mjs")
        .arg(settings.to_string())
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log handle"))
        .stderr(log)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => panic!("cannot start node ({e}). {}", install()),
    }
}

/// The client Dialogue would use: no redirects followed, the public authorities trusted.
fn http() -> reqwest::Client {
    directory::tls::http_client("oidc", "ca_file", None).expect("an HTTP client")
}

/// What the provider sends the browser back to the callback with.
struct Callback {
    code: String,
    state: String,
}

/// Plays the browser: follows the provider's redirects from the authorization URL, logs in as
/// `account` on its login step, and returns what reaches the callback.
async fn authorize(url: &str, account: &str) -> Callback {
    directory::tls::install_default_provider();
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a browser");
    authorize_in(&browser, url, account).await
}

/// [`authorize`] in a given browser.
async fn authorize_in(browser: &reqwest::Client, url: &str, account: &str) -> Callback {
    let mut url = Url::parse(url).expect("an authorization URL");
    for _ in 0..10 {
        let response = browser.get(url.clone()).send().await.expect("the provider answers");
        let status = response.status();
        let Some(location) = response.headers().get(LOCATION).cloned() else {
            panic!("{url} answered {status}: {}", response.text().await.unwrap_or_default());
        };
        let next = url.join(location.to_str().expect("a Location")).expect("a URL");
        if next.as_str().starts_with(REDIRECT_URI) {
            let params: HashMap<String, String> = next.query_pairs().into_owned().collect();
            let code = params
                .get("code")
                .unwrap_or_else(|| panic!("no code in the callback: {next}"));
            return Callback {
                code: code.clone(),
                state: params["state"].clone(),
            };
        }
        url = next;
        if url.path().starts_with("/interaction/") {
            url.query_pairs_mut().append_pair("login", account);
        }
    }
    panic!("the provider never came back to the callback");
}

/// A whole login up to the callback.
async fn login(provider: &Provider, account: &str) -> (PendingLogin, Callback) {
    let (url, pending) = provider.begin();
    let callback = authorize(&url, account).await;
    (pending, callback)
}

fn after(t: Timestamp, seconds: i64) -> Timestamp {
    t.checked_add(SignedDuration::from_secs(seconds)).expect("a timestamp")
}

fn payload(id_token: &str) -> Value {
    let part = id_token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

#[tokio::test]
async fn a_good_login_reads_the_claims_and_maps_groups() {
    let peer = Peer::start(DEFAULT).await;
    let provider = peer.provider().await;
    let (url, pending) = provider.begin();
    let url = Url::parse(&url).unwrap();
    let params: HashMap<String, String> = url.query_pairs().into_owned().collect();
    assert_eq!(
        url.as_str().split('?').next(),
        Some(format!("{}/auth", peer.issuer()).as_str())
    );
    assert_eq!(params["response_type"], "code");
    assert_eq!(params["client_id"], "dialogue");
    assert_eq!(params["redirect_uri"], REDIRECT_URI);
    assert_eq!(params["code_challenge_method"], "S256");
    assert_eq!(params["state"], pending.state);
    assert_eq!(params["nonce"], pending.nonce);
    assert_eq!(params["scope"], "openid email profile");
    assert!(!params["code_challenge"].is_empty() && params["code_challenge"] != pending.pkce_verifier);

    let callback = authorize(url.as_str(), "alice").await;
    let alice = provider
        .finish(&pending, &callback.state, &callback.code, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(alice.subject, "alice");
    assert_eq!(alice.email.as_ref().map(|e| e.as_str()), Some("alice@example.org"));
    assert!(alice.email_verified);
    assert_eq!(alice.name.as_deref(), Some("Alice Martin"));
    assert_eq!(alice.groups, vec!["staff", "it", "unmapped"]);
    assert_eq!(alice.mapped_role, Some(Role::Admin), "the highest mapped group wins");
    assert_eq!(alice.source, "oidc:company");
    let id_token = alice.id_token.as_deref().expect("the raw ID token");
    assert_eq!(payload(id_token)["aud"], "dialogue");

    // Groups as one comma-separated string; an address the provider does not vouch for.
    let (pending, callback) = login(&provider, "bob").await;
    let bob = provider
        .finish(&pending, &callback.state, &callback.code, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(bob.groups, vec!["teachers", "other"]);
    assert_eq!(bob.mapped_role, Some(Role::Trainer));
    assert!(!bob.email_verified);

    // The pending login survives a trip through JSON (a sealed cookie, a session row).
    let (url, pending) = provider.begin();
    let pending: PendingLogin = serde_json::from_str(&serde_json::to_string(&pending).unwrap()).unwrap();
    let callback = authorize(&url, "alice").await;
    provider
        .finish(&pending, &callback.state, &callback.code, Timestamp::now())
        .await
        .unwrap();
}

#[tokio::test]
async fn userinfo_fills_what_the_id_token_lacks() {
    let peer = Peer::start(Options {
        claims_in_id_token: false,
        ..DEFAULT
    })
    .await;
    let provider = peer.provider().await;
    let (pending, callback) = login(&provider, "alice").await;
    let alice = provider
        .finish(&pending, &callback.state, &callback.code, Timestamp::now())
        .await
        .unwrap();
    let claims = payload(alice.id_token.as_deref().unwrap());
    assert!(
        claims.get("email").is_none() && claims.get("groups").is_none(),
        "{claims}"
    );
    assert_eq!(alice.email.as_ref().map(|e| e.as_str()), Some("alice@example.org"));
    assert!(alice.email_verified);
    assert_eq!(alice.name.as_deref(), Some("Alice Martin"));
    assert_eq!(alice.groups, vec!["staff", "it", "unmapped"]);
    assert_eq!(alice.mapped_role, Some(Role::Admin));
}

#[tokio::test]
async fn a_bad_state_is_refused_before_the_code_is_used() {
    let peer = Peer::start(DEFAULT).await;
    let provider = peer.provider().await;
    let (pending, callback) = login(&provider, "alice").await;
    for forged in ["forged", "", &callback.state[1..]] {
        let e = provider
            .finish(&pending, forged, &callback.code, Timestamp::now())
            .await
            .unwrap_err();
        assert!(matches!(e, Error::StateMismatch), "{e:?}");
        assert_eq!(e.kind(), ErrorKind::Rejected);
    }
    // The code was not spent by the refusals.
    provider
        .finish(&pending, &callback.state, &callback.code, Timestamp::now())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_replayed_code_is_refused() {
    let peer = Peer::start(DEFAULT).await;
    let provider = peer.provider().await;
    let (pending, callback) = login(&provider, "alice").await;
    provider
        .finish(&pending, &callback.state, &callback.code, Timestamp::now())
        .await
        .unwrap();
    let e = provider
        .finish(&pending, &callback.state, &callback.code, Timestamp::now())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::CodeRefused { error, .. } if error == "invalid_grant"),
        "{e:?}"
    );
    assert_eq!(e.kind(), ErrorKind::Rejected);
}

#[tokio::test]
async fn a_token_for_another_client_is_refused() {
    let peer = Peer::start(DEFAULT).await;
    let ours = peer.provider().await;
    let theirs = peer.provider_for(peer.config("other", "other-secret")).await;
    let (pending, callback) = login(&theirs, "alice").await;
    // The other client's code cannot be exchanged by us.
    let e = ours
        .finish(&pending, &callback.state, &callback.code, Timestamp::now())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::CodeRefused { error, .. } if error == "invalid_grant"),
        "{e:?}"
    );

    // And its ID token, signed by the same provider with the right nonce, is not for us.
    let (pending, callback) = login(&theirs, "alice").await;
    let identity = theirs
        .finish(&pending, &callback.state, &callback.code, Timestamp::now())
        .await
        .unwrap();
    let token = identity.id_token.unwrap();
    assert_eq!(payload(&token)["aud"], "other");
    let e = ours.verify(&token, &pending.nonce, Timestamp::now()).await.unwrap_err();
    assert!(matches!(e, Error::IdToken(TokenProblem::Audience(_))), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::Rejected);
    // The same token passes for its own client: the audience was the only fault.
    theirs.verify(&token, &pending.nonce, Timestamp::now()).await.unwrap();
}

#[tokio::test]
async fn a_nonce_that_is_not_this_logins_is_refused() {
    let peer = Peer::start(DEFAULT).await;
    let provider = peer.provider().await;
    let (pending, callback) = login(&provider, "alice").await;
    let (_, other) = provider.begin();
    // A pending login whose nonce was swapped (the state and verifier are still right).
    let tampered = PendingLogin {
        nonce: other.nonce,
        ..pending
    };
    let e = provider
        .finish(&tampered, &callback.state, &callback.code, Timestamp::now())
        .await
        .unwrap_err();
    assert!(matches!(e, Error::IdToken(TokenProblem::Nonce)), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::Rejected);
}

#[tokio::test]
async fn expiry_and_issue_time_are_checked_with_the_configured_skew() {
    let peer = Peer::start(DEFAULT).await;
    let provider = peer.provider().await;
    let skew = 60;

    // Well past `exp` (+ the skew): refused.
    let t0 = Timestamp::now();
    let (mut pending, callback) = login(&provider, "alice").await;
    let now = after(t0, ID_TOKEN_TTL + skew + 30);
    pending.created_at = after(now, -60);
    let e = provider
        .finish(&pending, &callback.state, &callback.code, now)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::IdToken(TokenProblem::Expired(_))), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::Rejected);

    // Past `exp` but within the skew: accepted.
    let t0 = Timestamp::now();
    let (mut pending, callback) = login(&provider, "alice").await;
    let now = after(t0, ID_TOKEN_TTL + skew / 2);
    pending.created_at = after(now, -60);
    provider
        .finish(&pending, &callback.state, &callback.code, now)
        .await
        .unwrap();

    // Issued further in the future than the skew allows (our clock is behind): refused.
    let t0 = Timestamp::now();
    let (mut pending, callback) = login(&provider, "alice").await;
    let now = after(t0, -(skew + 60));
    pending.created_at = now;
    let e = provider
        .finish(&pending, &callback.state, &callback.code, now)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::IdToken(TokenProblem::IssuedInFuture(_))), "{e:?}");
}

#[tokio::test]
async fn a_login_started_too_long_ago_is_refused() {
    let peer = Peer::start(DEFAULT).await;
    let provider = peer.provider().await;
    let (pending, callback) = login(&provider, "alice").await;
    let late = after(pending.created_at, 11 * 60);
    let e = provider
        .finish(&pending, &callback.state, &callback.code, late)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::LoginExpired), "{e:?}");
    assert_eq!(e.kind(), ErrorKind::Rejected);
}

#[tokio::test]
async fn rotated_keys_are_fetched_again_at_most_once_a_minute() {
    let mut peer = Peer::start(DEFAULT).await;
    let provider = peer.provider().await;
    let (pending, callback) = login(&provider, "alice").await;
    provider
        .finish(&pending, &callback.state, &callback.code, Timestamp::now())
        .await
        .unwrap();

    // The provider comes back with a new key: its tokens name a key we have not seen.
    peer.restart_with_key("key-2").await;
    let start = Timestamp::now();
    let (pending, callback) = login(&provider, "alice").await;
    let now = after(start, 61);
    let alice = provider
        .finish(&pending, &callback.state, &callback.code, now)
        .await
        .unwrap();
    assert_eq!(alice.subject, "alice");

    // Another rotation within the minute: the keys are not fetched again yet.
    peer.restart_with_key("key-3").await;
    let (pending, callback) = login(&provider, "alice").await;
    let e = provider
        .finish(&pending, &callback.state, &callback.code, after(start, 90))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::IdToken(TokenProblem::UnknownKey { kid: Some(kid) }) if kid == "key-3"),
        "{e:?}"
    );
    assert_eq!(e.kind(), ErrorKind::Rejected);
    // A minute later they are.
    let (pending, callback) = login(&provider, "alice").await;
    provider
        .finish(&pending, &callback.state, &callback.code, after(start, 125))
        .await
        .unwrap();
}

#[tokio::test]
async fn other_signing_algorithms_are_verified() {
    for alg in ["ES256", "PS256", "EdDSA"] {
        let peer = Peer::start(Options { alg, ..DEFAULT }).await;
        let provider = peer.provider().await;
        let (pending, callback) = login(&provider, "alice").await;
        let alice = provider
            .finish(&pending, &callback.state, &callback.code, Timestamp::now())
            .await
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        let header = alice.id_token.unwrap();
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header.split('.').next().unwrap())
            .unwrap();
        let header: Value = serde_json::from_slice(&header).unwrap();
        assert_eq!(header["alg"], alg);
    }
}

#[tokio::test]
async fn logout_goes_to_the_providers_end_session_page() {
    let peer = Peer::start(DEFAULT).await;
    let provider = peer.provider().await;
    let (pending, callback) = login(&provider, "alice").await;
    let alice = provider
        .finish(&pending, &callback.state, &callback.code, Timestamp::now())
        .await
        .unwrap();
    let url = provider
        .logout_url(alice.id_token.as_deref(), POST_LOGOUT)
        .expect("an end-session URL");
    let parsed = Url::parse(&url).unwrap();
    let params: HashMap<String, String> = parsed.query_pairs().into_owned().collect();
    assert!(url.starts_with(&format!("{}/session/end?", peer.issuer())), "{url}");
    assert_eq!(params["id_token_hint"], alice.id_token.unwrap());
    assert_eq!(params["post_logout_redirect_uri"], POST_LOGOUT);
    assert_eq!(params["client_id"], "dialogue");
    // The provider accepts it: its sign-out confirmation page, not an error.
    let response = http().get(&url).send().await.unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<form"), "{body}");

    // A provider without RP-initiated logout: no URL.
    let peer = Peer::start(Options {
        logout: false,
        ..DEFAULT
    })
    .await;
    assert_eq!(peer.provider().await.logout_url(None, POST_LOGOUT), None);
}

#[tokio::test]
async fn discovery_and_check_hold_the_provider_to_its_issuer() {
    let peer = Peer::start(DEFAULT).await;
    let provider = peer.provider().await;
    provider.check().await.unwrap();

    // The document names 127.0.0.1, not the configured localhost.
    let config = OidcProviderConfig {
        issuer: format!("http://localhost:{}", peer.port),
        ..peer.config("dialogue", "dialogue-secret")
    };
    let e = Provider::discover(config, REDIRECT_URI, http()).await.unwrap_err();
    assert!(matches!(e, Error::Provider { .. }), "{e:?}");
    assert!(e.to_string().contains("issuer"), "{e}");
    assert_eq!(e.kind(), ErrorKind::Unavailable);

    // A bad configuration never reaches the network.
    let config = OidcProviderConfig {
        name: "Company".into(),
        ..peer.config("dialogue", "dialogue-secret")
    };
    let e = Provider::discover(config, REDIRECT_URI, http()).await.unwrap_err();
    assert!(matches!(e, Error::Config { field: "name", .. }), "{e:?}");

    drop(peer);
    let e = provider.check().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e:?}");
}

#[tokio::test]
async fn a_wrong_client_secret_is_the_configurations_fault() {
    let peer = Peer::start(DEFAULT).await;
    let provider = peer.provider_for(peer.config("dialogue", "not-the-secret")).await;
    let (pending, callback) = login(&provider, "alice").await;
    let e = provider
        .finish(&pending, &callback.state, &callback.code, Timestamp::now())
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::CodeRefused { error, .. } if error == "invalid_client"),
        "{e:?}"
    );
    assert_eq!(e.kind(), ErrorKind::Unavailable);
}

#[tokio::test]
async fn an_https_provider_is_trusted_through_its_configured_authority_only() {
    let peer = Peer::start(Options { tls: true, ..DEFAULT }).await;
    assert!(peer.issuer().starts_with("https://"), "{}", peer.issuer());
    let authority = peer.dir.join("authority.pem");

    // The public authorities do not vouch for a company's own: discovery fails, and says why.
    let config = peer.config("dialogue", "dialogue-secret");
    let e = Provider::discover(config.clone(), REDIRECT_URI, http())
        .await
        .expect_err("a certificate from an unknown authority");
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(e.to_string().contains("certificate"), "{e}");

    // With `ca_file`: the whole login over HTTPS (discovery, keys, token endpoint, userinfo).
    let config = OidcProviderConfig {
        ca_file: Some(authority.clone()),
        ..config
    };
    config.validate().expect("a readable authority");
    let https = directory::tls::http_client("oidc", "ca_file", config.ca_file.as_deref()).expect("a client");
    let provider = Provider::discover(config, REDIRECT_URI, https)
        .await
        .expect("discovery over HTTPS");
    provider.check().await.expect("the keys over HTTPS");
    let (url, pending) = provider.begin();
    assert!(url.starts_with(&format!("{}/auth?", peer.issuer())), "{url}");
    let browser = reqwest::Client::builder()
        .tls_backend_preconfigured(
            directory::tls::client_config("test", "authority", Some(&authority)).expect("the authority"),
        )
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a browser");
    let callback = authorize_in(&browser, &url, "alice").await;
    let alice = provider
        .finish(&pending, &callback.state, &callback.code, Timestamp::now())
        .await
        .expect("a login over HTTPS");
    assert_eq!(alice.email.as_ref().map(|e| e.as_str()), Some("alice@example.org"));
    assert_eq!(alice.mapped_role, Some(Role::Admin));

    // A file that is no authority stops the configuration, naming the field.
    let not_pem = peer.dir.join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let bad = OidcProviderConfig {
        ca_file: Some(not_pem),
        ..peer.config("dialogue", "dialogue-secret")
    };
    let e = bad.validate().expect_err("no certificate in the file");
    assert!(e.to_string().starts_with("oidc.ca_file:"), "{e}");
}
