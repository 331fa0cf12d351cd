//! Minting Jitsi JWTs (compact JWS) for self-hosted Prosody (HS256, RS256) and JaaS.
//!
//! Claims follow what Prosody's `mod_auth_token` / `token/util.lib.lua` and
//! `luajwtjitsi` check (see `shared/JITSI.md`): a refused token only shows the user
//! "not allowed to join", so everything is validated here before a token is signed.

use std::borrow::Cow;
use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use crate::key::{HmacSecret, MAX_SIGNATURE_LEN, SigningKey};
use crate::room::is_valid_room_name;

/// `nbf` is put this many seconds before `now`: Prosody allows no clock skew.
pub const NOT_BEFORE_LEEWAY_SECS: i64 = 60;

/// Prefix of every full JaaS app id.
pub const JAAS_APP_ID_PREFIX: &str = "vpaas-magic-cookie-";

/// Feature keys always present in a JaaS token (`"false"` unless the request says
/// otherwise), as listed in 8x8's "The Jitsi JSON Web Token (JWT)" page.
pub const JAAS_BASE_FEATURES: [&str; 4] = ["livestreaming", "recording", "transcription", "outbound-call"];

/// How tokens are signed and shaped for one Jitsi server.
///
/// `Debug` never shows the secret or the private key.
#[derive(Debug, Clone)]
pub enum TokenMode {
    /// Self-hosted Prosody with `app_secret` (HS256).
    Hs256 {
        /// Prosody's `app_id`; becomes `iss`.
        app_id: String,
        /// Prosody's `app_secret`.
        secret: HmacSecret,
    },
    /// Self-hosted Prosody with `asap_key_server` (RS256); the public key is served
    /// by Dialogue at `<asap_key_server>/<`[`crate::asap_key_path`]`(key_id)>`.
    Rs256 {
        /// Prosody's `app_id`; becomes `iss`.
        app_id: String,
        /// The header's `kid`.
        key_id: String,
        /// The private key.
        key: SigningKey,
    },
    /// 8x8 JaaS (`8x8.vc`), RS256 with the key registered in the JaaS console.
    Jaas {
        /// The JaaS app id, with or without its `vpaas-magic-cookie-` prefix.
        app_id: String,
        /// The API key id from the JaaS console, either bare (`4f4910`) or in full
        /// (`vpaas-magic-cookie-…/4f4910`).
        key_id: String,
        /// The private key whose public half was uploaded to JaaS.
        key: SigningKey,
    },
}

impl TokenMode {
    /// The JWS `alg` this mode signs with.
    pub fn algorithm(&self) -> &'static str {
        match self {
            TokenMode::Hs256 { .. } => "HS256",
            TokenMode::Rs256 { .. } | TokenMode::Jaas { .. } => "RS256",
        }
    }

    /// The RSA key, for RS256 and JaaS.
    pub fn signing_key(&self) -> Option<&SigningKey> {
        match self {
            TokenMode::Hs256 { .. } => None,
            TokenMode::Rs256 { key, .. } | TokenMode::Jaas { key, .. } => Some(key),
        }
    }

    /// The `kid` header this mode puts in tokens (`None` for HS256). For JaaS it is
    /// `<full app id>/<key id>`.
    pub fn kid(&self) -> Result<Option<String>, TokenError> {
        match self {
            TokenMode::Hs256 { .. } => Ok(None),
            TokenMode::Rs256 { key_id, .. } => {
                check_key_id(key_id)?;
                Ok(Some(key_id.clone()))
            }
            TokenMode::Jaas { app_id, key_id, .. } => {
                let app = jaas_full_app_id(app_id)?;
                let key = jaas_key_part(&app, key_id)?;
                Ok(Some(format!("{app}/{key}")))
            }
        }
    }
}

/// The person a token is for; copied into `context.user`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserInfo<'a> {
    /// Stable identifier (shown back in event payloads as `occupant.id`).
    pub id: &'a str,
    /// Display name.
    pub name: &'a str,
    /// E-mail address.
    pub email: &'a str,
    /// Public URL of an avatar picture.
    pub avatar: Option<&'a str>,
    /// Whether `mod_token_affiliation` should make this user a moderator (owner).
    pub moderator: bool,
}

/// Everything a token says. Borrowed, so building one costs nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenRequest<'a> {
    /// The room; ASCII letters are lowercased, then it must be `[a-z0-9-]`, at most
    /// 200 characters.
    pub room: &'a str,
    /// The XMPP domain (`sub` when there is no tenant). Ignored for JaaS.
    pub domain: &'a str,
    /// The tenant of `https://host/<tenant>/<room>` URLs (becomes `sub`). Ignored for JaaS.
    pub tenant: Option<&'a str>,
    /// Who joins.
    pub user: UserInfo<'a>,
    /// `context.features`, always sent: when present, Prosody treats every missing
    /// key as false (even for moderators). JaaS also gets [`JAAS_BASE_FEATURES`].
    pub features: &'a BTreeMap<String, bool>,
    /// Sets `context.user.lobby_bypass: true` (jitsi-contrib `token_lobby_bypass`).
    /// Self-hosted only.
    pub lobby_bypass: bool,
    /// Current time, Unix seconds: `iat`, and `nbf` = now − 60.
    pub now: i64,
    /// End of validity, Unix seconds (`exp`); must be after `nbf`.
    pub expires_at: i64,
}

/// Why a token was not minted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The room name is empty.
    #[error("the room name is empty")]
    EmptyRoom,
    /// The room name (as given) has characters outside `[a-z0-9-]` (after lowercasing
    /// ASCII letters) or is too long.
    #[error("invalid room name {0:?}: only a-z, 0-9 and '-' are allowed, at most 200 characters")]
    InvalidRoomName(String),
    /// The tenant has characters outside `[a-z0-9-]` or is too long.
    #[error("invalid tenant {0:?}: only a-z, 0-9 and '-' are allowed, at most 200 characters")]
    InvalidTenant(String),
    /// The XMPP domain is empty or not a lowercase host name.
    #[error("invalid XMPP domain {0:?}: expected a lowercase host name such as meet.example.org")]
    InvalidDomain(String),
    /// The app id (`iss`) is empty.
    #[error("the app id is empty")]
    EmptyAppId,
    /// The key id is empty or contains characters that cannot appear in a `kid`.
    #[error("invalid key id {0:?}")]
    InvalidKeyId(String),
    /// The JaaS app id is not `[vpaas-magic-cookie-]<lowercase letters and digits>`.
    #[error("invalid JaaS app id {0:?}: expected vpaas-magic-cookie-<id> as shown in the JaaS console")]
    InvalidJaasAppId(String),
    /// A full JaaS key id names another app than the configured one.
    #[error("the JaaS key id {key_id:?} does not belong to app {app_id:?}")]
    JaasKeyIdMismatch {
        /// The key id as configured.
        key_id: String,
        /// The full app id it should start with.
        app_id: String,
    },
    /// `exp` is not after `nbf` (= now − 60): the token could never be used.
    #[error("the token would expire at {exp}, not after its not-before time {nbf}")]
    ExpiryNotAfterNotBefore {
        /// The computed `nbf`.
        nbf: i64,
        /// The requested `exp`.
        exp: i64,
    },
    /// The RSA signature could not be computed.
    #[error("RSA signing failed")]
    Signing,
    /// The claims could not be serialised (should not happen).
    #[error("could not serialise the token: {0}")]
    Json(String),
}

/// base64url of `{"alg":"HS256","typ":"JWT"}` (checked by a unit test).
const HS256_HEADER_B64: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// Mints a signed token for `req` in `mode`.
///
/// Self-hosted (HS256 / RS256) header `{alg, typ:"JWT"[, kid]}` and claims `iss` = app
/// id, `aud` = `"jitsi"`, `sub` = tenant or XMPP domain, `room` (lowercased), `iat`,
/// `nbf` = now − 60, `exp`, `context.user {id, name, email, avatar?, moderator,
/// lobby_bypass?}`, `context.features` (booleans).
///
/// JaaS: header `{alg:"RS256", typ:"JWT", kid:"<full app id>/<key id>"}`, claims
/// `aud:"jitsi"`, `iss:"chat"`, `sub` = full app id, `room`, `exp`, `nbf`,
/// `context.user` with `moderator` as `"true"`/`"false"`, `context.features` as
/// `"true"`/`"false"` strings including [`JAAS_BASE_FEATURES`].
pub fn mint(mode: &TokenMode, req: &TokenRequest<'_>) -> Result<String, TokenError> {
    let room = normalise_room(req.room)?;
    let nbf = req.now.saturating_sub(NOT_BEFORE_LEEWAY_SECS);
    if req.expires_at <= nbf {
        return Err(TokenError::ExpiryNotAfterNotBefore {
            nbf,
            exp: req.expires_at,
        });
    }
    let mut out = String::with_capacity(1024);
    let mut scratch = Vec::with_capacity(512);
    match mode {
        TokenMode::Hs256 { app_id, secret } => {
            let claims = self_hosted_claims(app_id, req, &room, nbf)?;
            out.push_str(HS256_HEADER_B64);
            out.push('.');
            push_segment(&mut out, &mut scratch, &claims)?;
            let tag = ring::hmac::sign(secret.key(), out.as_bytes());
            out.push('.');
            URL_SAFE_NO_PAD.encode_string(tag.as_ref(), &mut out);
        }
        TokenMode::Rs256 { app_id, key_id, key } => {
            check_key_id(key_id)?;
            let claims = self_hosted_claims(app_id, req, &room, nbf)?;
            let header = Header {
                alg: "RS256",
                typ: "JWT",
                kid: Some(Kid::Plain(key_id)),
            };
            push_segment(&mut out, &mut scratch, &header)?;
            out.push('.');
            push_segment(&mut out, &mut scratch, &claims)?;
            push_rsa_signature(&mut out, key)?;
        }
        TokenMode::Jaas { app_id, key_id, key } => {
            let app = jaas_full_app_id(app_id)?;
            let key_part = jaas_key_part(&app, key_id)?;
            let header = Header {
                alg: "RS256",
                typ: "JWT",
                kid: Some(Kid::Jaas {
                    app: &app,
                    key: key_part,
                }),
            };
            let claims = JaasClaims {
                aud: "jitsi",
                iss: "chat",
                sub: &app,
                room: &room,
                exp: req.expires_at,
                nbf,
                context: JaasContext {
                    user: JaasUser {
                        id: req.user.id,
                        name: req.user.name,
                        email: req.user.email,
                        avatar: req.user.avatar,
                        moderator: if req.user.moderator { "true" } else { "false" },
                    },
                    features: JaasFeatures(req.features),
                },
            };
            push_segment(&mut out, &mut scratch, &header)?;
            out.push('.');
            push_segment(&mut out, &mut scratch, &claims)?;
            push_rsa_signature(&mut out, key)?;
        }
    }
    Ok(out)
}

fn self_hosted_claims<'a>(
    app_id: &'a str,
    req: &'a TokenRequest<'a>,
    room: &'a str,
    nbf: i64,
) -> Result<SelfHostedClaims<'a>, TokenError> {
    if app_id.is_empty() {
        return Err(TokenError::EmptyAppId);
    }
    if !is_valid_domain(req.domain) {
        return Err(TokenError::InvalidDomain(req.domain.to_owned()));
    }
    let sub = match req.tenant.filter(|t| !t.is_empty()) {
        Some(tenant) if is_valid_room_name(tenant) => tenant,
        Some(tenant) => return Err(TokenError::InvalidTenant(tenant.to_owned())),
        None => req.domain,
    };
    Ok(SelfHostedClaims {
        iss: app_id,
        aud: "jitsi",
        sub,
        room,
        iat: req.now,
        nbf,
        exp: req.expires_at,
        context: SelfHostedContext {
            user: SelfHostedUser {
                id: req.user.id,
                name: req.user.name,
                email: req.user.email,
                avatar: req.user.avatar,
                moderator: req.user.moderator,
                lobby_bypass: req.lobby_bypass,
            },
            features: req.features,
        },
    })
}

/// Lowercases ASCII letters (borrowing when there are none) and checks the result.
fn normalise_room(room: &str) -> Result<Cow<'_, str>, TokenError> {
    if room.is_empty() {
        return Err(TokenError::EmptyRoom);
    }
    let lowered = if room.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(room.to_ascii_lowercase())
    } else {
        Cow::Borrowed(room)
    };
    if is_valid_room_name(&lowered) {
        Ok(lowered)
    } else {
        Err(TokenError::InvalidRoomName(room.to_owned()))
    }
}

/// A lowercase DNS host name: labels of `[a-z0-9-]` separated by single dots.
fn is_valid_domain(domain: &str) -> bool {
    !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

fn check_key_id(key_id: &str) -> Result<(), TokenError> {
    if key_id.is_empty() || key_id.chars().any(char::is_control) {
        return Err(TokenError::InvalidKeyId(key_id.to_owned()));
    }
    Ok(())
}

/// Normalises a JaaS app id to its full `vpaas-magic-cookie-<id>` form.
pub fn jaas_full_app_id(app_id: &str) -> Result<Cow<'_, str>, TokenError> {
    let (full, id) = match app_id.strip_prefix(JAAS_APP_ID_PREFIX) {
        Some(id) => (Cow::Borrowed(app_id), id),
        None => (Cow::Owned(format!("{JAAS_APP_ID_PREFIX}{app_id}")), app_id),
    };
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
        return Err(TokenError::InvalidJaasAppId(app_id.to_owned()));
    }
    Ok(full)
}

/// The bare key id part of a JaaS key id given bare or as `<full app id>/<key>`.
fn jaas_key_part<'a>(full_app_id: &str, key_id: &'a str) -> Result<&'a str, TokenError> {
    let key = match key_id.split_once('/') {
        Some((app, key)) if app == full_app_id => key,
        Some(_) => {
            return Err(TokenError::JaasKeyIdMismatch {
                key_id: key_id.to_owned(),
                app_id: full_app_id.to_owned(),
            });
        }
        None => key_id,
    };
    if key.is_empty() || key.contains('/') || key.chars().any(char::is_control) {
        return Err(TokenError::InvalidKeyId(key_id.to_owned()));
    }
    Ok(key)
}

/// Serialises `value` as JSON into `scratch` and appends its base64url to `out`.
fn push_segment<T: Serialize>(out: &mut String, scratch: &mut Vec<u8>, value: &T) -> Result<(), TokenError> {
    scratch.clear();
    serde_json::to_writer(&mut *scratch, value).map_err(|e| TokenError::Json(e.to_string()))?;
    URL_SAFE_NO_PAD.encode_string(&scratch[..], out);
    Ok(())
}

/// Signs `out` (header.claims) and appends `.` and the signature.
fn push_rsa_signature(out: &mut String, key: &SigningKey) -> Result<(), TokenError> {
    let mut buf = [0u8; MAX_SIGNATURE_LEN];
    let sig = buf.get_mut(..key.signature_len()).ok_or(TokenError::Signing)?;
    key.sign_into(out.as_bytes(), sig).map_err(|_| TokenError::Signing)?;
    out.push('.');
    URL_SAFE_NO_PAD.encode_string(&*sig, out);
    Ok(())
}

#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<Kid<'a>>,
}

enum Kid<'a> {
    Plain(&'a str),
    Jaas { app: &'a str, key: &'a str },
}

impl Serialize for Kid<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Kid::Plain(kid) => s.serialize_str(kid),
            // Written straight into the JSON output, no intermediate String.
            Kid::Jaas { app, key } => s.collect_str(&format_args!("{app}/{key}")),
        }
    }
}

#[derive(Serialize)]
struct SelfHostedClaims<'a> {
    iss: &'a str,
    aud: &'static str,
    sub: &'a str,
    room: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
    context: SelfHostedContext<'a>,
}

#[derive(Serialize)]
struct SelfHostedContext<'a> {
    user: SelfHostedUser<'a>,
    features: &'a BTreeMap<String, bool>,
}

#[derive(Serialize)]
struct SelfHostedUser<'a> {
    id: &'a str,
    name: &'a str,
    email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    avatar: Option<&'a str>,
    moderator: bool,
    #[serde(skip_serializing_if = "is_false")]
    lobby_bypass: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Serialize)]
struct JaasClaims<'a> {
    aud: &'static str,
    iss: &'static str,
    sub: &'a str,
    room: &'a str,
    exp: i64,
    nbf: i64,
    context: JaasContext<'a>,
}

#[derive(Serialize)]
struct JaasContext<'a> {
    user: JaasUser<'a>,
    features: JaasFeatures<'a>,
}

#[derive(Serialize)]
struct JaasUser<'a> {
    id: &'a str,
    name: &'a str,
    email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    avatar: Option<&'a str>,
    moderator: &'static str,
}

/// The requested features as `"true"`/`"false"`, then the missing base features as
/// `"false"`.
struct JaasFeatures<'a>(&'a BTreeMap<String, bool>);

impl Serialize for JaasFeatures<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for (name, on) in self.0 {
            map.serialize_entry(name, if *on { "true" } else { "false" })?;
        }
        for name in JAAS_BASE_FEATURES {
            if !self.0.contains_key(name) {
                map.serialize_entry(name, "false")?;
            }
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::tests::{PKCS1, PKCS8};
    use serde_json::{Value, json};

    const NOW: i64 = 1_767_258_000; // 2026-01-01T09:00:00Z

    fn features() -> BTreeMap<String, bool> {
        BTreeMap::from([("recording".to_owned(), true), ("livestreaming".to_owned(), false)])
    }

    fn request<'a>(features: &'a BTreeMap<String, bool>) -> TokenRequest<'a> {
        TokenRequest {
            room: "formation-rust-1",
            domain: "meet.example.org",
            tenant: None,
            user: UserInfo {
                id: "u-42",
                name: "Zoé \"Z\" Durand",
                email: "zoe@example.org",
                avatar: None,
                moderator: true,
            },
            features,
            lobby_bypass: false,
            now: NOW,
            expires_at: NOW + 3600,
        }
    }

    fn hs256() -> TokenMode {
        TokenMode::Hs256 {
            app_id: "dialogue".into(),
            secret: HmacSecret::new("s3cret").unwrap(),
        }
    }

    fn rs256() -> TokenMode {
        TokenMode::Rs256 {
            app_id: "dialogue".into(),
            key_id: "dialogue-2026".into(),
            key: SigningKey::from_pem(PKCS8).unwrap(),
        }
    }

    fn jaas(app_id: &str, key_id: &str) -> TokenMode {
        TokenMode::Jaas {
            app_id: app_id.into(),
            key_id: key_id.into(),
            key: SigningKey::from_pem(PKCS1).unwrap(),
        }
    }

    fn decode(segment: &str) -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(segment).unwrap()).unwrap()
    }

    fn parts(token: &str) -> (Value, Value, Vec<u8>) {
        let p: Vec<&str> = token.split('.').collect();
        assert_eq!(p.len(), 3, "compact JWS has three parts: {token}");
        (decode(p[0]), decode(p[1]), URL_SAFE_NO_PAD.decode(p[2]).unwrap())
    }

    #[test]
    fn hs256_header_constant_is_right() {
        assert_eq!(
            URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#),
            HS256_HEADER_B64
        );
    }

    #[test]
    fn hs256_shape_and_signature() {
        let f = features();
        let token = mint(&hs256(), &request(&f)).unwrap();
        let (header, claims, sig) = parts(&token);
        assert_eq!(header, json!({"alg": "HS256", "typ": "JWT"}));
        assert_eq!(
            claims,
            json!({
                "iss": "dialogue", "aud": "jitsi", "sub": "meet.example.org",
                "room": "formation-rust-1", "iat": NOW, "nbf": NOW - 60, "exp": NOW + 3600,
                "context": {
                    "user": {"id": "u-42", "name": "Zoé \"Z\" Durand", "email": "zoe@example.org",
                             "moderator": true},
                    "features": {"livestreaming": false, "recording": true}
                }
            })
        );
        let signed = &token[..token.rfind('.').unwrap()];
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"s3cret");
        ring::hmac::verify(&key, signed.as_bytes(), &sig).expect("valid HMAC");
        let wrong = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, b"other");
        assert!(ring::hmac::verify(&wrong, signed.as_bytes(), &sig).is_err());
    }

    #[test]
    fn tenant_becomes_sub_and_room_is_lowercased() {
        let f = features();
        let mut req = request(&f);
        req.tenant = Some("acme");
        req.room = "Formation-RUST-1";
        req.user.avatar = Some("https://example.org/a.png");
        req.user.moderator = false;
        req.lobby_bypass = true;
        let (_, claims, _) = parts(&mint(&hs256(), &req).unwrap());
        assert_eq!(claims["sub"], "acme");
        assert_eq!(claims["room"], "formation-rust-1");
        assert_eq!(claims["context"]["user"]["avatar"], "https://example.org/a.png");
        assert_eq!(claims["context"]["user"]["moderator"], false);
        assert_eq!(claims["context"]["user"]["lobby_bypass"], true);
        // An empty tenant means none.
        req.tenant = Some("");
        let (_, claims, _) = parts(&mint(&hs256(), &req).unwrap());
        assert_eq!(claims["sub"], "meet.example.org");
        assert!(claims["context"]["user"].get("lobby_bypass").is_some());
    }

    #[test]
    fn lobby_bypass_absent_unless_requested() {
        let f = BTreeMap::new();
        let (_, claims, _) = parts(&mint(&hs256(), &request(&f)).unwrap());
        assert!(claims["context"]["user"].get("lobby_bypass").is_none());
        assert!(claims["context"]["user"].get("avatar").is_none());
        assert_eq!(claims["context"]["features"], json!({}));
    }

    #[test]
    fn rs256_shape_and_signature() {
        let f = features();
        let mode = rs256();
        let token = mint(&mode, &request(&f)).unwrap();
        let (header, claims, sig) = parts(&token);
        assert_eq!(header, json!({"alg": "RS256", "typ": "JWT", "kid": "dialogue-2026"}));
        assert_eq!(claims["iss"], "dialogue");
        assert_eq!(claims["sub"], "meet.example.org");
        assert_eq!(sig.len(), 256);
        assert_eq!(mode.kid().unwrap().as_deref(), Some("dialogue-2026"));
        verify_rsa(&mode, &token, &sig);
    }

    fn verify_rsa(mode: &TokenMode, token: &str, sig: &[u8]) {
        use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
        let pem = mode.signing_key().unwrap().public_key_pem();
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let spki = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
        // SPKI = 24-byte prefix + RSAPublicKey for a 2048-bit key; ring wants the latter.
        let rsa_public = &spki[24..];
        let signed = &token[..token.rfind('.').unwrap()];
        UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, rsa_public)
            .verify(signed.as_bytes(), sig)
            .expect("valid RSA signature");
        let mut tampered = signed.as_bytes().to_vec();
        tampered[10] ^= 1;
        assert!(
            UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, rsa_public)
                .verify(&tampered, sig)
                .is_err()
        );
    }

    #[test]
    fn jaas_shape() {
        let f = features();
        let mut req = request(&f);
        req.user.avatar = Some("https://example.org/a.png");
        req.lobby_bypass = true; // not a JaaS claim: ignored
        req.tenant = Some("ignored");
        for (app, key) in [
            ("0123abcd", "4f4910"),
            ("vpaas-magic-cookie-0123abcd", "4f4910"),
            ("0123abcd", "vpaas-magic-cookie-0123abcd/4f4910"),
        ] {
            let mode = jaas(app, key);
            let token = mint(&mode, &req).unwrap();
            let (header, claims, sig) = parts(&token);
            assert_eq!(
                header,
                json!({"alg": "RS256", "typ": "JWT", "kid": "vpaas-magic-cookie-0123abcd/4f4910"})
            );
            assert_eq!(
                claims,
                json!({
                    "aud": "jitsi", "iss": "chat", "sub": "vpaas-magic-cookie-0123abcd",
                    "room": "formation-rust-1", "exp": NOW + 3600, "nbf": NOW - 60,
                    "context": {
                        "user": {"id": "u-42", "name": "Zoé \"Z\" Durand", "email": "zoe@example.org",
                                 "avatar": "https://example.org/a.png", "moderator": "true"},
                        "features": {"livestreaming": "false", "recording": "true",
                                     "transcription": "false", "outbound-call": "false"}
                    }
                })
            );
            verify_rsa(&mode, &token, &sig);
            assert_eq!(
                mode.kid().unwrap().as_deref(),
                Some("vpaas-magic-cookie-0123abcd/4f4910")
            );
        }
        req.user.moderator = false;
        let (_, claims, _) = parts(&mint(&jaas("0123abcd", "k"), &req).unwrap());
        assert_eq!(claims["context"]["user"]["moderator"], "false");
    }

    #[test]
    fn jaas_features_are_always_present() {
        let empty = BTreeMap::new();
        let (_, claims, _) = parts(&mint(&jaas("abc", "k"), &request(&empty)).unwrap());
        assert_eq!(
            claims["context"]["features"],
            json!({"livestreaming": "false", "recording": "false",
                   "transcription": "false", "outbound-call": "false"})
        );
    }

    #[test]
    fn jaas_errors() {
        let f = features();
        let req = request(&f);
        assert_eq!(
            mint(&jaas("", "k"), &req).unwrap_err(),
            TokenError::InvalidJaasAppId(String::new())
        );
        assert_eq!(
            mint(&jaas("vpaas-magic-cookie-", "k"), &req).unwrap_err(),
            TokenError::InvalidJaasAppId("vpaas-magic-cookie-".into())
        );
        assert_eq!(
            mint(&jaas("ABC", "k"), &req).unwrap_err(),
            TokenError::InvalidJaasAppId("ABC".into())
        );
        assert_eq!(
            mint(&jaas("abc", "vpaas-magic-cookie-other/k"), &req).unwrap_err(),
            TokenError::JaasKeyIdMismatch {
                key_id: "vpaas-magic-cookie-other/k".into(),
                app_id: "vpaas-magic-cookie-abc".into()
            }
        );
        assert_eq!(
            mint(&jaas("abc", ""), &req).unwrap_err(),
            TokenError::InvalidKeyId(String::new())
        );
        assert_eq!(
            mint(&jaas("abc", "vpaas-magic-cookie-abc/"), &req).unwrap_err(),
            TokenError::InvalidKeyId("vpaas-magic-cookie-abc/".into())
        );
    }

    #[test]
    fn refuses_bad_rooms_and_times() {
        let f = features();
        let mode = hs256();
        let mut req = request(&f);
        req.room = "";
        assert_eq!(mint(&mode, &req).unwrap_err(), TokenError::EmptyRoom);
        for bad in ["a b", "caf%C3%A9", "café", "a_b", "a/b", "[t]r"] {
            req.room = bad;
            assert_eq!(
                mint(&mode, &req).unwrap_err(),
                TokenError::InvalidRoomName(bad.into()),
                "{bad}"
            );
        }
        let long = "r".repeat(201);
        req.room = &long;
        assert!(matches!(mint(&mode, &req), Err(TokenError::InvalidRoomName(_))));

        let mut req = request(&f);
        req.expires_at = NOW - 60; // == nbf
        assert_eq!(
            mint(&mode, &req).unwrap_err(),
            TokenError::ExpiryNotAfterNotBefore {
                nbf: NOW - 60,
                exp: NOW - 60
            }
        );
        req.expires_at = NOW - 59;
        assert!(mint(&mode, &req).is_ok());
        req.expires_at = NOW - 3600;
        assert!(matches!(
            mint(&jaas("abc", "k"), &req),
            Err(TokenError::ExpiryNotAfterNotBefore { .. })
        ));
    }

    #[test]
    fn refuses_bad_domain_tenant_app_and_key_ids() {
        let f = features();
        let mut req = request(&f);
        for bad in ["", "Meet.example.org", "meet..org", "meet example.org", "a/b"] {
            req.domain = bad;
            assert_eq!(mint(&hs256(), &req).unwrap_err(), TokenError::InvalidDomain(bad.into()));
        }
        let mut req = request(&f);
        req.tenant = Some("Acme Inc");
        assert_eq!(
            mint(&hs256(), &req).unwrap_err(),
            TokenError::InvalidTenant("Acme Inc".into())
        );
        let req = request(&f);
        let no_app = TokenMode::Hs256 {
            app_id: String::new(),
            secret: HmacSecret::new("x").unwrap(),
        };
        assert_eq!(mint(&no_app, &req).unwrap_err(), TokenError::EmptyAppId);
        let no_kid = TokenMode::Rs256 {
            app_id: "a".into(),
            key_id: String::new(),
            key: SigningKey::from_pem(PKCS8).unwrap(),
        };
        assert_eq!(
            mint(&no_kid, &req).unwrap_err(),
            TokenError::InvalidKeyId(String::new())
        );
    }

    #[test]
    fn special_characters_are_json_escaped() {
        let f = BTreeMap::from([("file-upload".to_owned(), true)]);
        let mut req = request(&f);
        req.user.name = "a\"b\\c\n</script>";
        let mode = TokenMode::Rs256 {
            app_id: "app".into(),
            key_id: "kid\"with-quote".into(),
            key: SigningKey::from_pem(PKCS8).unwrap(),
        };
        let (header, claims, _) = parts(&mint(&mode, &req).unwrap());
        assert_eq!(header["kid"], "kid\"with-quote");
        assert_eq!(claims["context"]["user"]["name"], "a\"b\\c\n</script>");
        assert_eq!(claims["context"]["features"]["file-upload"], true);
    }

    #[test]
    fn mode_debug_hides_secrets() {
        let shown = format!("{:?}", hs256());
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("dialogue"));
        let shown = format!("{:?}", rs256());
        assert!(shown.contains("bits: 2048"), "{shown}");
        assert_eq!(hs256().algorithm(), "HS256");
        assert_eq!(rs256().algorithm(), "RS256");
        assert!(hs256().signing_key().is_none());
        assert_eq!(hs256().kid().unwrap(), None);
    }

    #[test]
    fn full_app_id_normalisation() {
        assert_eq!(jaas_full_app_id("abc").unwrap(), "vpaas-magic-cookie-abc");
        assert!(matches!(
            jaas_full_app_id("vpaas-magic-cookie-abc").unwrap(),
            Cow::Borrowed(_)
        ));
        assert!(jaas_full_app_id("abc-def").is_err());
    }
}
