//! Tokens minted by this crate, verified by an independent implementation: PyJWT
//! (`tests/pyjwt_verify.py`). Needs `python3` and `python3 -m pip install "pyjwt[crypto]"`
//! (or Debian's `python3-jwt python3-cryptography`); without them the test fails.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use jitsi::{HmacSecret, SigningKey, TokenMode, TokenRequest, UserInfo, mint};
use serde_json::{Value, json};

const INSTALL_HINT: &str = "install PyJWT with: python3 -m pip install \"pyjwt[crypto]\" \
     (Debian: apt-get install -y python3 python3-jwt python3-cryptography)";
const PKCS8: &str = include_str!("fixtures/test-only-rsa-2048-pkcs8.pem");
const PKCS1: &str = include_str!("fixtures/test-only-rsa-2048-pkcs1.pem");
const OTHER: &str = include_str!("fixtures/test-only-rsa-2048-other-pkcs8.pem");
const SECRET: &str = "test-only-secret-of-at-least-32-bytes!";

/// Runs the PyJWT script; `Ok(output)` when it accepts the token, `Err(stderr)` when
/// it refuses it. Panics (never skips) when Python or PyJWT is missing.
fn pyjwt(token: &str, alg: &str, key: &str, issuer: &str) -> Result<Value, String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pyjwt_verify.py");
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run python3 ({e}); {INSTALL_HINT}"));
    let request = json!({"token": token, "alg": alg, "key": key, "issuer": issuer, "audience": "jitsi"});
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(request.to_string().as_bytes())
        .expect("write to python3");
    let out = child.wait_with_output().expect("python3 runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    match out.status.code() {
        Some(0) => Ok(serde_json::from_slice(&out.stdout).expect("script prints JSON")),
        Some(1) => Err(stderr),
        Some(3) => panic!("{stderr}\n{INSTALL_HINT}"),
        other => panic!("pyjwt_verify.py failed ({other:?}): {stderr}\n{INSTALL_HINT}"),
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

fn features() -> BTreeMap<String, bool> {
    BTreeMap::from([
        ("recording".to_owned(), true),
        ("livestreaming".to_owned(), false),
        ("file-upload".to_owned(), true),
    ])
}

fn request<'a>(features: &'a BTreeMap<String, bool>, now: i64) -> TokenRequest<'a> {
    TokenRequest {
        room: "Formation-Rust-1",
        domain: "meet.example.org",
        tenant: Some("acme"),
        user: UserInfo {
            id: "u-42",
            name: "Zoé « Z » Durand",
            email: "zoe@example.org",
            avatar: Some("https://example.org/zoe.png"),
            moderator: true,
        },
        features,
        lobby_bypass: true,
        now,
        expires_at: now + 3600,
    }
}

#[test]
fn hs256_tokens_verify_with_pyjwt() {
    let f = features();
    let now = now();
    let mode = TokenMode::Hs256 {
        app_id: "dialogue".into(),
        secret: HmacSecret::new(SECRET).unwrap(),
    };
    let token = mint(&mode, &request(&f, now)).unwrap();
    let out = pyjwt(&token, "HS256", SECRET, "dialogue").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(out["header"], json!({"alg": "HS256", "typ": "JWT"}));
    assert_eq!(
        out["claims"],
        json!({
            "iss": "dialogue", "aud": "jitsi", "sub": "acme", "room": "formation-rust-1",
            "iat": now, "nbf": now - 60, "exp": now + 3600,
            "context": {
                "user": {"id": "u-42", "name": "Zoé « Z » Durand", "email": "zoe@example.org",
                         "avatar": "https://example.org/zoe.png", "moderator": true,
                         "lobby_bypass": true},
                "features": {"file-upload": true, "livestreaming": false, "recording": true}
            }
        })
    );

    // PyJWT really checks: wrong secret, wrong issuer and expired tokens are refused.
    let err = pyjwt(&token, "HS256", "another-secret-of-at-least-32-bytes", "dialogue").unwrap_err();
    assert!(err.contains("InvalidSignatureError"), "{err}");
    let err = pyjwt(&token, "HS256", SECRET, "someone-else").unwrap_err();
    assert!(err.contains("InvalidIssuerError"), "{err}");
    let mut old = request(&f, now - 7200);
    old.expires_at = now - 10;
    let expired = mint(&mode, &old).unwrap();
    let err = pyjwt(&expired, "HS256", SECRET, "dialogue").unwrap_err();
    assert!(err.contains("ExpiredSignatureError"), "{err}");
}

#[test]
fn rs256_tokens_verify_with_pyjwt_and_the_served_public_key() {
    let f = features();
    let now = now();
    for pem in [PKCS8, PKCS1] {
        let key = SigningKey::from_pem(pem).unwrap();
        let public = key.public_key_pem().to_owned();
        let mode = TokenMode::Rs256 {
            app_id: "dialogue".into(),
            key_id: "dialogue-2026-01".into(),
            key,
        };
        let mut req = request(&f, now);
        req.tenant = None;
        req.lobby_bypass = false;
        req.user.moderator = false;
        req.user.avatar = None;
        let token = mint(&mode, &req).unwrap();
        let out = pyjwt(&token, "RS256", &public, "dialogue").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            out["header"],
            json!({"alg": "RS256", "typ": "JWT", "kid": "dialogue-2026-01"})
        );
        assert_eq!(
            out["claims"],
            json!({
                "iss": "dialogue", "aud": "jitsi", "sub": "meet.example.org",
                "room": "formation-rust-1", "iat": now, "nbf": now - 60, "exp": now + 3600,
                "context": {
                    "user": {"id": "u-42", "name": "Zoé « Z » Durand", "email": "zoe@example.org",
                             "moderator": false},
                    "features": {"file-upload": true, "livestreaming": false, "recording": true}
                }
            })
        );
        let other = SigningKey::from_pem(OTHER).unwrap();
        let err = pyjwt(&token, "RS256", other.public_key_pem(), "dialogue").unwrap_err();
        assert!(err.contains("InvalidSignatureError"), "{err}");
        // Algorithm pinned: an RS256 token is not accepted as HS256.
        let err = pyjwt(&token, "HS256", SECRET, "dialogue").unwrap_err();
        assert!(err.contains("header alg"), "{err}");
    }
}

#[test]
fn jaas_tokens_verify_with_pyjwt() {
    let f = features();
    let now = now();
    let key = SigningKey::from_pem(PKCS8).unwrap();
    let public = key.public_key_pem().to_owned();
    let mode = TokenMode::Jaas {
        app_id: "0123456789abcdef0123456789abcdef".into(),
        key_id: "4f4910".into(),
        key,
    };
    let token = mint(&mode, &request(&f, now)).unwrap();
    let out = pyjwt(&token, "RS256", &public, "chat").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out["header"],
        json!({"alg": "RS256", "typ": "JWT",
               "kid": "vpaas-magic-cookie-0123456789abcdef0123456789abcdef/4f4910"})
    );
    assert_eq!(
        out["claims"],
        json!({
            "aud": "jitsi", "iss": "chat",
            "sub": "vpaas-magic-cookie-0123456789abcdef0123456789abcdef",
            "room": "formation-rust-1", "exp": now + 3600, "nbf": now - 60,
            "context": {
                "user": {"id": "u-42", "name": "Zoé « Z » Durand", "email": "zoe@example.org",
                         "avatar": "https://example.org/zoe.png", "moderator": "true"},
                "features": {"file-upload": "true", "livestreaming": "false", "recording": "true",
                             "transcription": "false", "outbound-call": "false"}
            }
        })
    );
    // The kid's app part equals sub, as JaaS requires.
    let kid = out["header"]["kid"].as_str().unwrap();
    assert_eq!(kid.split('/').next(), out["claims"]["sub"].as_str());
}
