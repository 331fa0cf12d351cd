//! OpenID Connect: the authorization code flow with PKCE against one configured provider.
//!
//! [`Provider::discover`] reads the provider's discovery document and keys once; each login is
//! then [`Provider::begin`] (a URL to send the browser to, and a [`PendingLogin`] the caller
//! keeps server-side or sealed in a cookie) and [`Provider::finish`] on the callback.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use domain::Email;
use jiff::{SignedDuration, Timestamp};
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClientAuthMethod, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreRevocableToken, CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AccessToken, AdditionalClaims, AuthType, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, HttpRequest, HttpResponse,
    IdTokenFields, IdTokenVerifier, IssuerUrl, JsonWebKeySet, LogoutRequest, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl,
    RequestTokenError, Scope, SignatureVerificationError, StandardErrorResponse, StandardTokenResponse,
    SubjectIdentifier, TokenResponse,
};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::config::{OidcProviderConfig, Secret};
use crate::{Error, Identity, TokenProblem, mapped_role};

/// How long a login may take between [`Provider::begin`] and [`Provider::finish`].
pub const PENDING_LOGIN_MINUTES: i64 = 10;
/// The keys are fetched again (for a token naming an unknown key) at most this often.
pub const JWKS_REFRESH_SECONDS: i64 = 60;
/// Each request to the provider.
const HTTP_TIMEOUT: Duration = Duration::from_secs(15);
/// The largest response read from the provider.
const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// Claims beyond the standard ones (the groups claim among them), kept as JSON.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct OtherClaims {
    #[serde(flatten)]
    claims: serde_json::Map<String, serde_json::Value>,
}

impl AdditionalClaims for OtherClaims {}

type IdToken =
    openidconnect::IdToken<OtherClaims, CoreGenderClaim, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm>;
type IdTokenClaims = openidconnect::IdTokenClaims<OtherClaims, CoreGenderClaim>;
type TokenResponseFields = IdTokenFields<
    OtherClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Tokens = StandardTokenResponse<TokenResponseFields, CoreTokenType>;
type Client = openidconnect::Client<
    OtherClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// A login between [`Provider::begin`] and [`Provider::finish`]. Keep it where the browser
/// cannot read or change it (server-side, or sealed and authenticated in a cookie): it holds
/// the PKCE verifier. Its `Debug` hides the secrets.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingLogin {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub created_at: Timestamp,
}

impl fmt::Debug for PendingLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingLogin")
            .field("state", &"…")
            .field("nonce", &"…")
            .field("pkce_verifier", &"…")
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// One OpenID provider, discovered. Cheap to clone (shared state).
#[derive(Clone)]
pub struct Provider {
    inner: Arc<Inner>,
}

struct Inner {
    config: OidcProviderConfig,
    secret: Secret,
    redirect_uri: RedirectUrl,
    http: reqwest::Client,
    metadata: ProviderMetadataWithLogout,
    /// Asymmetric algorithms the provider signs ID tokens with (never `none` or HMAC).
    algorithms: Vec<CoreJwsSigningAlgorithm>,
    auth_type: AuthType,
    keys: Mutex<Keys>,
}

struct Keys {
    set: CoreJsonWebKeySet,
    fetched_at: Timestamp,
}

impl fmt::Debug for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Provider")
            .field("name", &self.inner.config.name)
            .field("issuer", &self.inner.config.issuer)
            .finish_non_exhaustive()
    }
}

impl Provider {
    /// Validates the configuration, reads the provider's discovery document (whose issuer must
    /// be the configured one) and its keys. `redirect_uri` is the callback registered at the
    /// provider ([`OidcProviderConfig::redirect_uri`]). `http` should not follow redirects.
    pub async fn discover(
        config: OidcProviderConfig,
        redirect_uri: &str,
        http: reqwest::Client,
    ) -> Result<Provider, Error> {
        config.validate()?;
        let secret = config.resolve_secret()?;
        let redirect_uri = RedirectUrl::new(redirect_uri.to_owned())
            .map_err(|e| Error::config("oidc", "redirect_uri", format!("{redirect_uri:?}: {e}")))?;
        let metadata = fetch_metadata(&config, &http).await?;
        let algorithms: Vec<CoreJwsSigningAlgorithm> = metadata
            .id_token_signing_alg_values_supported()
            .iter()
            .filter(|alg| is_asymmetric(alg))
            .cloned()
            .collect();
        if algorithms.is_empty() {
            return Err(provider_error(
                &config,
                "the provider signs ID tokens with no algorithm we accept (RS*, PS*, ES*, EdDSA)",
            ));
        }
        let auth_type = match metadata.token_endpoint_auth_methods_supported() {
            // The specification's default is client_secret_basic.
            None => AuthType::BasicAuth,
            Some(methods) if methods.contains(&CoreClientAuthMethod::ClientSecretBasic) => AuthType::BasicAuth,
            Some(methods) if methods.contains(&CoreClientAuthMethod::ClientSecretPost) => AuthType::RequestBody,
            Some(_) => {
                return Err(provider_error(
                    &config,
                    "the token endpoint accepts neither client_secret_basic nor client_secret_post",
                ));
            }
        };
        if metadata.token_endpoint().is_none() {
            return Err(provider_error(
                &config,
                "the discovery document names no token endpoint",
            ));
        }
        let keys = Keys {
            set: metadata.jwks().clone(),
            fetched_at: Timestamp::now(),
        };
        Ok(Provider {
            inner: Arc::new(Inner {
                config,
                secret,
                redirect_uri,
                http,
                metadata,
                algorithms,
                auth_type,
                keys: Mutex::new(keys),
            }),
        })
    }

    /// For `dialogue check`: the discovery document and the keys are reachable again, and the
    /// issuer is still the configured one.
    pub async fn check(&self) -> Result<(), Error> {
        let metadata = fetch_metadata(&self.inner.config, &self.inner.http).await?;
        if metadata.jwks().keys().is_empty() {
            return Err(provider_error(&self.inner.config, "the provider publishes no key"));
        }
        Ok(())
    }

    pub fn config(&self) -> &OidcProviderConfig {
        &self.inner.config
    }

    /// Starts a login: the provider's URL to send the browser to, and what [`Provider::finish`]
    /// needs to check the browser's return.
    pub fn begin(&self) -> (String, PendingLogin) {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let client = self.client();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .set_pkce_challenge(challenge);
        // The library asks for `openid` itself.
        for scope in self.inner.config.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.url();
        let pending = PendingLogin {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            created_at: Timestamp::now(),
        };
        (url.into(), pending)
    }

    /// Finishes a login on the callback: checks the returned `state` against the pending one
    /// (in constant time), exchanges the code (with the PKCE verifier and the client secret),
    /// checks the ID token (signature, issuer, audience, expiry and issue time within the
    /// configured skew of `now`, nonce) and reads who it is about. When the ID token has no
    /// email, the userinfo endpoint is asked.
    pub async fn finish(
        &self,
        pending: &PendingLogin,
        returned_state: &str,
        code: &str,
        now: Timestamp,
    ) -> Result<Identity, Error> {
        if !bool::from(pending.state.as_bytes().ct_eq(returned_state.as_bytes())) || pending.state.is_empty() {
            return Err(Error::StateMismatch);
        }
        let age = now.duration_since(pending.created_at);
        if age > SignedDuration::from_mins(PENDING_LOGIN_MINUTES) || age < -SignedDuration::from_mins(1) {
            return Err(Error::LoginExpired);
        }
        let client = self.client();
        let http = Http(&self.inner.http);
        let request = client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| provider_error(&self.inner.config, format!("token request: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()));
        let tokens = request.request_async(&http).await.map_err(|e| match e {
            RequestTokenError::ServerResponse(response) => Error::CodeRefused {
                error: response.error().as_ref().to_owned(),
                description: response.error_description().cloned(),
            },
            other => provider_error(&self.inner.config, format!("token endpoint: {}", chain(&other))),
        })?;
        let id_token = tokens.id_token().ok_or(TokenProblem::Missing)?;
        let claims = self.verify_id_token(id_token, &pending.nonce, now).await?;
        let raw = id_token.to_string();
        let mut identity = self.identity(&claims, Some(raw));
        if identity.email.is_none() && self.inner.metadata.userinfo_endpoint().is_some() {
            self.complete_from_userinfo(&mut identity, tokens.access_token())
                .await?;
        }
        Ok(identity)
    }

    /// Checks an ID token as [`Provider::finish`] does (signature with the provider's keys,
    /// fetched again once if the token names a key we do not know; issuer; this client as its
    /// audience; `exp` and `iat` within the configured skew of `now`; the nonce) and returns
    /// who it is about. For tokens obtained some other way than [`Provider::finish`].
    pub async fn verify(&self, id_token: &str, nonce: &str, now: Timestamp) -> Result<Identity, Error> {
        let token: IdToken = id_token
            .parse()
            .map_err(|e: serde_json::Error| TokenProblem::Other(format!("not a JWT: {e}")))?;
        let claims = self.verify_id_token(&token, nonce, now).await?;
        Ok(self.identity(&claims, Some(id_token.to_owned())))
    }

    /// The provider's end-session URL for RP-initiated logout, when it offers one:
    /// `id_token_hint` is the ID token of the login ([`Identity::id_token`]), and
    /// `post_logout_redirect` must be registered at the provider.
    pub fn logout_url(&self, id_token_hint: Option<&str>, post_logout_redirect: &str) -> Option<String> {
        let endpoint = self.inner.metadata.additional_metadata().end_session_endpoint.clone()?;
        let mut request =
            LogoutRequest::from(endpoint).set_client_id(ClientId::new(self.inner.config.client_id.clone()));
        if let Some(hint) = id_token_hint.and_then(|t| t.parse::<IdToken>().ok()) {
            request = request.set_id_token_hint(&hint);
        }
        if let Ok(redirect) = PostLogoutRedirectUrl::new(post_logout_redirect.to_owned()) {
            request = request.set_post_logout_redirect_uri(redirect);
        }
        Some(request.http_get_url().into())
    }

    fn client(&self) -> Client {
        let inner = &self.inner;
        let secret = (!inner.secret.is_empty()).then(|| ClientSecret::new(inner.secret.expose().to_owned()));
        Client::from_provider_metadata(
            inner.metadata.clone(),
            ClientId::new(inner.config.client_id.clone()),
            secret,
        )
        .set_redirect_uri(inner.redirect_uri.clone())
        .set_auth_type(inner.auth_type.clone())
    }

    async fn verify_id_token(&self, token: &IdToken, nonce: &str, now: Timestamp) -> Result<IdTokenClaims, Error> {
        let nonce = Nonce::new(nonce.to_owned());
        let keys = self.keys().set;
        match self.check_claims(token, &nonce, now, keys) {
            Err(ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey)) => {
                // The provider may have rotated its keys since we read them.
                let kid = token_kid(token);
                let Some(keys) = self.refresh_keys(now).await? else {
                    return Err(TokenProblem::UnknownKey { kid }.into());
                };
                self.check_claims(token, &nonce, now, keys)
                    .map_err(|e| problem(e, kid).into())
            }
            other => other.map_err(|e| problem(e, token_kid(token)).into()),
        }
    }

    fn check_claims(
        &self,
        token: &IdToken,
        nonce: &Nonce,
        now: Timestamp,
        keys: CoreJsonWebKeySet,
    ) -> Result<IdTokenClaims, ClaimsVerificationError> {
        let inner = &self.inner;
        let skew = inner.config.clock_skew_seconds as i64;
        let now = chrono_time(now);
        let verifier = IdTokenVerifier::new_public_client(
            ClientId::new(inner.config.client_id.clone()),
            inner.metadata.issuer().clone(),
            keys,
        )
        .set_allowed_algs(inner.algorithms.iter().cloned())
        // `exp` is compared with this: a token is accepted up to `skew` after it expired.
        .set_time_fn(move || now - chrono::Duration::seconds(skew));
        let claims = token.claims(&verifier, nonce)?;
        // Checked here rather than by the library, which would report it as expiry.
        if claims.issue_time() > now + chrono::Duration::seconds(skew) {
            return Err(ClaimsVerificationError::Other(format!(
                "{IAT_MARK}issued at {}, now is {now}",
                claims.issue_time()
            )));
        }
        Ok(claims.clone())
    }

    fn keys(&self) -> Keys {
        let keys = self.inner.keys.lock().unwrap_or_else(PoisonError::into_inner);
        Keys {
            set: keys.set.clone(),
            fetched_at: keys.fetched_at,
        }
    }

    /// Fetches the keys again unless that was done less than a minute (of `now`) ago. `None`
    /// when it is too soon.
    async fn refresh_keys(&self, now: Timestamp) -> Result<Option<CoreJsonWebKeySet>, Error> {
        {
            let mut keys = self.inner.keys.lock().unwrap_or_else(PoisonError::into_inner);
            if now.duration_since(keys.fetched_at) < SignedDuration::from_secs(JWKS_REFRESH_SECONDS) {
                return Ok(None);
            }
            // Taken now, so that concurrent logins and failed fetches do not hammer the provider.
            keys.fetched_at = now;
        }
        let set = JsonWebKeySet::fetch_async(self.inner.metadata.jwks_uri(), &Http(&self.inner.http))
            .await
            .map_err(|e| provider_error(&self.inner.config, format!("keys: {}", chain(&e))))?;
        tracing::info!(provider = %self.inner.config.name, keys = set.keys().len(), "OpenID provider keys fetched again");
        let mut keys = self.inner.keys.lock().unwrap_or_else(PoisonError::into_inner);
        keys.set = set.clone();
        Ok(Some(set))
    }

    fn identity(&self, claims: &IdTokenClaims, id_token: Option<String>) -> Identity {
        let config = &self.inner.config;
        let groups = claims
            .additional_claims()
            .claims
            .get(&config.groups_claim)
            .map(groups_from_claim)
            .unwrap_or_default();
        let email = claims.email().and_then(|e| parse_email(e.as_str(), config));
        Identity {
            subject: claims.subject().as_str().to_owned(),
            email_verified: email.is_some() && claims.email_verified().unwrap_or(false),
            email,
            name: claims
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().trim().to_owned())
                .or_else(|| claims.preferred_username().map(|u| u.as_str().trim().to_owned()))
                .filter(|n| !n.is_empty()),
            mapped_role: mapped_role(&groups, &config.role_map),
            groups,
            source: config.source(),
            default_role: config.default_role,
            id_token,
        }
    }

    /// Fills the email (and the name and groups when the ID token had none) from the userinfo
    /// endpoint, which must be about the same subject.
    async fn complete_from_userinfo(&self, identity: &mut Identity, access_token: &AccessToken) -> Result<(), Error> {
        let config = &self.inner.config;
        let client = self.client();
        let request = client
            .user_info(
                access_token.clone(),
                Some(SubjectIdentifier::new(identity.subject.clone())),
            )
            .map_err(|e| provider_error(config, format!("userinfo: {e}")))?;
        let info: openidconnect::UserInfoClaims<OtherClaims, CoreGenderClaim> = request
            .request_async(&Http(&self.inner.http))
            .await
            .map_err(|e| provider_error(config, format!("userinfo: {}", chain(&e))))?;
        if let Some(email) = info.email().and_then(|e| parse_email(e.as_str(), config)) {
            identity.email_verified = info.email_verified().unwrap_or(false);
            identity.email = Some(email);
        }
        if identity.name.is_none() {
            identity.name = info
                .name()
                .and_then(|n| n.get(None))
                .map(|n| n.as_str().trim().to_owned())
                .filter(|n| !n.is_empty());
        }
        if identity.groups.is_empty()
            && let Some(value) = info.additional_claims().claims.get(&config.groups_claim)
        {
            identity.groups = groups_from_claim(value);
            identity.mapped_role = mapped_role(&identity.groups, &config.role_map);
        }
        Ok(())
    }
}

/// The marker of a failed `iat` check among the library's errors.
const IAT_MARK: &str = "iat in the future: ";

fn problem(e: ClaimsVerificationError, kid: Option<String>) -> TokenProblem {
    use ClaimsVerificationError as C;
    match e {
        C::Expired(m) => TokenProblem::Expired(m),
        C::InvalidAudience(m) => TokenProblem::Audience(m),
        C::InvalidIssuer(m) => TokenProblem::Issuer(m),
        C::InvalidNonce(_) => TokenProblem::Nonce,
        C::SignatureVerification(SignatureVerificationError::NoMatchingKey) => TokenProblem::UnknownKey { kid },
        C::SignatureVerification(s) => TokenProblem::Signature(s.to_string()),
        C::Other(m) if m.starts_with(IAT_MARK) => TokenProblem::IssuedInFuture(m[IAT_MARK.len()..].to_owned()),
        other => TokenProblem::Other(other.to_string()),
    }
}

fn token_kid(token: &IdToken) -> Option<String> {
    // The header is the first segment of the compact form.
    let compact = token.to_string();
    let header = compact.split('.').next()?;
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).ok()?;
    let header: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    header.get("kid")?.as_str().map(str::to_owned)
}

/// A group claim: an array of strings, or one string of names separated by spaces, commas or
/// semicolons (LemonLDAP::NG's multi-valued session attributes use "; ").
fn groups_from_claim(value: &serde_json::Value) -> Vec<String> {
    let mut groups: Vec<String> = match value {
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|v| v.as_str())
            .map(str::trim)
            .filter(|g| !g.is_empty())
            .map(str::to_owned)
            .collect(),
        serde_json::Value::String(s) => s
            .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|g| !g.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    };
    let mut seen = BTreeSet::new();
    groups.retain(|g| seen.insert(g.clone()));
    groups
}

fn parse_email(value: &str, config: &OidcProviderConfig) -> Option<Email> {
    match Email::parse(value) {
        Ok(email) => Some(email),
        Err(e) => {
            tracing::warn!(provider = %config.name, "the provider's email claim is not an address: {e}");
            None
        }
    }
}

fn is_asymmetric(alg: &CoreJwsSigningAlgorithm) -> bool {
    use CoreJwsSigningAlgorithm as A;
    matches!(
        alg,
        A::RsaSsaPkcs1V15Sha256
            | A::RsaSsaPkcs1V15Sha384
            | A::RsaSsaPkcs1V15Sha512
            | A::RsaSsaPssSha256
            | A::RsaSsaPssSha384
            | A::RsaSsaPssSha512
            | A::EcdsaP256Sha256
            | A::EcdsaP384Sha384
            | A::EdDsa
    )
}

fn chrono_time(t: Timestamp) -> chrono::DateTime<chrono::Utc> {
    // Every jiff timestamp (years -9999..=9999) is within chrono's range; the fallback is
    // unreachable but keeps this total.
    chrono::DateTime::from_timestamp(t.as_second(), t.subsec_nanosecond().unsigned_abs()).unwrap_or_default()
}

async fn fetch_metadata(
    config: &OidcProviderConfig,
    http: &reqwest::Client,
) -> Result<ProviderMetadataWithLogout, Error> {
    let issuer = IssuerUrl::new(config.issuer.clone()).map_err(|e| Error::config("oidc", "issuer", e.to_string()))?;
    // The library checks that the document's issuer is the configured one.
    ProviderMetadataWithLogout::discover_async(issuer, &Http(http))
        .await
        .map_err(|e| provider_error(config, format!("discovery: {}", chain(&e))))
}

fn provider_error(config: &OidcProviderConfig, problem: impl Into<String>) -> Error {
    Error::Provider {
        provider: config.name.clone(),
        problem: problem.into(),
    }
}

/// An error and its causes on one line ("error sending request: …: invalid peer certificate:
/// UnknownIssuer"): what an administrator needs from an HTTP or TLS failure.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The library's HTTP client trait over the workspace's reqwest (so no second reqwest is built).
struct Http<'a>(&'a reqwest::Client);

#[derive(Debug, thiserror::Error)]
enum HttpError {
    #[error(transparent)]
    Request(#[from] reqwest::Error),
    #[error("response larger than {MAX_RESPONSE_BYTES} bytes")]
    TooLarge,
    #[error(transparent)]
    Http(#[from] openidconnect::http::Error),
}

impl<'c> openidconnect::AsyncHttpClient<'c> for Http<'_> {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let mut request = reqwest::Request::try_from(request)?;
            *request.timeout_mut() = Some(HTTP_TIMEOUT);
            let mut response = self.0.execute(request).await?;
            let mut builder = openidconnect::http::Response::builder()
                .status(response.status())
                .version(response.version());
            if let Some(headers) = builder.headers_mut() {
                *headers = std::mem::take(response.headers_mut());
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await? {
                if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                    return Err(HttpError::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(builder.body(body)?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::Role;
    use serde_json::json;

    #[test]
    fn groups_claims_as_arrays_or_strings() {
        assert_eq!(
            groups_from_claim(&json!(["staff", " it ", "", 3, "staff"])),
            vec!["staff", "it"]
        );
        assert_eq!(
            groups_from_claim(&json!("staff it,teachers, ,x")),
            vec!["staff", "it", "teachers", "x"]
        );
        assert_eq!(groups_from_claim(&json!({"a": 1})), Vec::<String>::new());
        assert_eq!(groups_from_claim(&json!(null)), Vec::<String>::new());
    }

    #[test]
    fn pending_logins_round_trip_and_hide_their_secrets() {
        let pending = PendingLogin {
            state: "st".into(),
            nonce: "no".into(),
            pkce_verifier: "verifier-secret".into(),
            created_at: Timestamp::from_second(1_800_000_000).unwrap(),
        };
        let json = serde_json::to_string(&pending).unwrap();
        assert_eq!(serde_json::from_str::<PendingLogin>(&json).unwrap(), pending);
        assert!(!format!("{pending:?}").contains("verifier-secret"));
    }

    #[test]
    fn only_asymmetric_algorithms_are_accepted() {
        assert!(is_asymmetric(&CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256));
        assert!(is_asymmetric(&CoreJwsSigningAlgorithm::EdDsa));
        assert!(!is_asymmetric(&CoreJwsSigningAlgorithm::HmacSha256));
        assert!(!is_asymmetric(&CoreJwsSigningAlgorithm::None));
    }

    #[test]
    fn times_convert_to_the_same_instant() {
        let t = Timestamp::from_second(1_800_000_123).unwrap();
        assert_eq!(chrono_time(t).timestamp(), 1_800_000_123);
    }

    #[test]
    fn role_comes_from_mapped_groups() {
        // Shared rule, exercised here through the identity's helper.
        let identity = Identity {
            subject: "s".into(),
            email: None,
            email_verified: false,
            name: None,
            groups: vec!["staff".into()],
            source: "oidc:x".into(),
            mapped_role: mapped_role(&["staff"], &[("staff".into(), Role::Manager)]),
            default_role: Role::Trainer,
            id_token: None,
        };
        assert_eq!(identity.role(), Role::Manager);
        assert_eq!(
            Identity {
                mapped_role: None,
                ..identity
            }
            .role(),
            Role::Trainer
        );
    }
}
