//! Signing material: the HS256 shared secret and RSA private keys read from PEM.
//!
//! RSA keys are accepted as PKCS#8 (`-----BEGIN PRIVATE KEY-----`, what
//! `openssl genpkey` writes) or PKCS#1 (`-----BEGIN RSA PRIVATE KEY-----`, what
//! `openssl rsa -traditional` writes). Anything else (EC keys, passphrase-encrypted
//! keys, certificates, public keys, garbage) is refused with a [`KeyError`] that says
//! what was found.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};

/// Why a secret or a private key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The HS256 secret is empty.
    #[error("the HS256 app secret is empty")]
    EmptySecret,
    /// No `-----BEGIN ...-----` line was found.
    #[error(
        "no PEM block found: expected a line \"-----BEGIN PRIVATE KEY-----\" or \"-----BEGIN RSA PRIVATE KEY-----\""
    )]
    NotPem,
    /// The PEM block holds something other than an unencrypted RSA private key
    /// (for example `EC PRIVATE KEY`, `PUBLIC KEY` or `CERTIFICATE`). Carries the label.
    #[error("unsupported PEM block \"{0}\": an RSA private key is needed (\"PRIVATE KEY\" or \"RSA PRIVATE KEY\")")]
    UnsupportedPemLabel(String),
    /// The key is protected by a passphrase.
    #[error(
        "the private key is encrypted with a passphrase; decrypt it first (openssl pkey -in key.pem -out plain.pem)"
    )]
    EncryptedKey,
    /// The `-----END ...-----` line matching the BEGIN line is missing. Carries the label.
    #[error("the PEM block \"{0}\" has no matching END line")]
    MissingPemEnd(String),
    /// A PEM header line (`Name: value`) other than an encryption marker. Carries the line.
    #[error("unexpected PEM header line {0:?}")]
    UnexpectedPemHeader(String),
    /// The text between BEGIN and END is not valid base64.
    #[error("the PEM body is not valid base64")]
    InvalidBase64,
    /// The key is a valid private key, but not an RSA one (e.g. an EC key in PKCS#8).
    #[error("the private key is not an RSA key")]
    NotRsa,
    /// The RSA key is shorter than 2048 bits.
    #[error("the RSA key is too small: at least 2048 bits are required")]
    TooSmall,
    /// The RSA key is longer than 8192 bits.
    #[error("the RSA key is too large: at most 8192 bits are supported")]
    TooLarge,
    /// The DER structure was refused for another reason; carries ring's reason.
    #[error("the RSA private key was rejected: {0}")]
    Rejected(String),
}

/// The shared secret of an HS256 deployment (Prosody's `app_secret`).
///
/// The HMAC key is prepared once, so minting does not redo that work. `Debug` never
/// shows the secret.
#[derive(Clone)]
pub struct HmacSecret {
    value: String,
    key: hmac::Key,
}

impl HmacSecret {
    /// Wraps a secret; refuses an empty one.
    pub fn new(secret: impl Into<String>) -> Result<Self, KeyError> {
        let value = secret.into();
        if value.is_empty() {
            return Err(KeyError::EmptySecret);
        }
        let key = hmac::Key::new(hmac::HMAC_SHA256, value.as_bytes());
        Ok(Self { value, key })
    }

    /// The secret itself, for printing Prosody's `app_secret`. Handle with care.
    pub fn expose(&self) -> &str {
        &self.value
    }

    pub(crate) fn key(&self) -> &hmac::Key {
        &self.key
    }
}

impl fmt::Debug for HmacSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HmacSecret(<redacted>)")
    }
}

/// An RSA private key used for RS256 and JaaS tokens.
///
/// Cheap to clone (shared). `Debug` shows only the key size, never the key.
#[derive(Clone)]
pub struct SigningKey {
    inner: Arc<Inner>,
}

struct Inner {
    pair: RsaKeyPair,
    rng: SystemRandom,
    public_pem: String,
}

/// Largest RSA modulus ring accepts (8192 bits), hence the largest signature.
pub(crate) const MAX_SIGNATURE_LEN: usize = 8192 / 8;

impl SigningKey {
    /// Reads an RSA private key from PEM text (PKCS#8 or PKCS#1, unencrypted).
    pub fn from_pem(pem: &str) -> Result<Self, KeyError> {
        let block = parse_pem(pem)?;
        match block.label.as_str() {
            "PRIVATE KEY" => Self::from_pkcs8_der(&block.der),
            "RSA PRIVATE KEY" => Self::from_pkcs1_der(&block.der),
            // parse_pem only returns the two labels above.
            other => Err(KeyError::UnsupportedPemLabel(other.to_owned())),
        }
    }

    /// Reads a DER-encoded PKCS#8 `PrivateKeyInfo` holding an RSA key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        RsaKeyPair::from_pkcs8(der).map_err(map_rejection).map(Self::from_pair)
    }

    /// Reads a DER-encoded PKCS#1 `RSAPrivateKey`.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        RsaKeyPair::from_der(der).map_err(map_rejection).map(Self::from_pair)
    }

    fn from_pair(pair: RsaKeyPair) -> Self {
        let spki = subject_public_key_info(pair.public().as_ref());
        let public_pem = to_pem("PUBLIC KEY", &spki);
        Self {
            inner: Arc::new(Inner {
                pair,
                rng: SystemRandom::new(),
                public_pem,
            }),
        }
    }

    /// The public key as a SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`),
    /// the document Prosody fetches from `asap_key_server` (see [`asap_key_path`]) and
    /// the one to upload in the JaaS console.
    pub fn public_key_pem(&self) -> &str {
        &self.inner.public_pem
    }

    /// Size of the RSA modulus in bits.
    pub fn modulus_bits(&self) -> usize {
        self.signature_len() * 8
    }

    pub(crate) fn signature_len(&self) -> usize {
        self.inner.pair.public().modulus_len()
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256 over `msg`, written into `out`, whose length must
    /// be [`Self::signature_len`].
    pub(crate) fn sign_into(&self, msg: &[u8], out: &mut [u8]) -> Result<(), ring::error::Unspecified> {
        self.inner.pair.sign(&RSA_PKCS1_SHA256, &self.inner.rng, msg, out)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("algorithm", &"RSA")
            .field("bits", &self.modulus_bits())
            .finish_non_exhaustive()
    }
}

fn map_rejection(e: ring::error::KeyRejected) -> KeyError {
    // ring's reasons are fixed strings (see ring::error::KeyRejected).
    match e.to_string().as_str() {
        "WrongAlgorithm" => KeyError::NotRsa,
        "TooSmall" => KeyError::TooSmall,
        "TooLarge" => KeyError::TooLarge,
        other => KeyError::Rejected(other.to_owned()),
    }
}

/// Where Prosody looks for the public key of `kid` under `asap_key_server`:
/// the lowercase hex SHA-256 of the key id followed by `.pem`.
///
/// jitsi-meet's `token/util.lib.lua` builds the URL as
/// `asap_key_server .. "/" .. hex(sha256(kid)) .. ".pem"`.
pub fn asap_key_path(kid: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, kid.as_bytes());
    let mut out = String::with_capacity(64 + 4);
    for byte in digest.as_ref() {
        out.push(hex_digit(byte >> 4));
        out.push(hex_digit(byte & 0x0f));
    }
    out.push_str(".pem");
    out
}

pub(crate) fn hex_digit(nibble: u8) -> char {
    char::from(b"0123456789abcdef"[usize::from(nibble & 0x0f)])
}

struct PemBlock {
    label: String,
    der: Vec<u8>,
}

/// Extracts the first PEM block of `text`; text before BEGIN and after END is ignored.
fn parse_pem(text: &str) -> Result<PemBlock, KeyError> {
    let mut lines = text.lines().map(str::trim);
    let label = loop {
        let Some(line) = lines.next() else {
            return Err(KeyError::NotPem);
        };
        if let Some(rest) = line.strip_prefix("-----BEGIN ")
            && let Some(label) = rest.strip_suffix("-----")
        {
            break label.to_owned();
        }
    };
    match label.as_str() {
        "PRIVATE KEY" | "RSA PRIVATE KEY" => {}
        "ENCRYPTED PRIVATE KEY" => return Err(KeyError::EncryptedKey),
        _ => return Err(KeyError::UnsupportedPemLabel(label)),
    }
    let end = format!("-----END {label}-----");
    let mut body = String::new();
    let mut closed = false;
    for line in lines {
        if line == end {
            closed = true;
            break;
        }
        if line.contains(':') {
            // RFC 1421 headers: only old-style encrypted PKCS#1 keys carry them.
            if line.starts_with("Proc-Type:") && line.contains("ENCRYPTED") {
                return Err(KeyError::EncryptedKey);
            }
            return Err(KeyError::UnexpectedPemHeader(line.to_owned()));
        }
        body.push_str(line);
    }
    if !closed {
        return Err(KeyError::MissingPemEnd(label));
    }
    let der = STANDARD.decode(body.as_bytes()).map_err(|_| KeyError::InvalidBase64)?;
    if der.is_empty() {
        return Err(KeyError::InvalidBase64);
    }
    Ok(PemBlock { label, der })
}

/// DER `AlgorithmIdentifier` for rsaEncryption (OID 1.2.840.113549.1.1.1, NULL params).
const RSA_ALGORITHM_ID: &[u8] = &[
    0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
];

/// Wraps a PKCS#1 `RSAPublicKey` into an X.509 `SubjectPublicKeyInfo` (RFC 5280 §4.1).
fn subject_public_key_info(rsa_public_key: &[u8]) -> Vec<u8> {
    let mut bit_string = Vec::with_capacity(rsa_public_key.len() + 6);
    bit_string.push(0x03);
    der_length(rsa_public_key.len() + 1, &mut bit_string);
    bit_string.push(0x00); // no unused bits
    bit_string.extend_from_slice(rsa_public_key);

    let content_len = RSA_ALGORITHM_ID.len() + bit_string.len();
    let mut out = Vec::with_capacity(content_len + 6);
    out.push(0x30);
    der_length(content_len, &mut out);
    out.extend_from_slice(RSA_ALGORITHM_ID);
    out.extend_from_slice(&bit_string);
    out
}

/// DER definite length (X.690 §8.1.3).
fn der_length(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        // Checked just above: fits in 7 bits.
        out.push(len as u8);
        return;
    }
    let bytes = len.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let significant = &bytes[skip..];
    // At most size_of::<usize>() (8) bytes, so the count fits in 7 bits.
    out.push(0x80 | significant.len() as u8);
    out.extend_from_slice(significant);
}

fn to_pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    // base64 output is ASCII, so splitting at any byte offset stays on char boundaries.
    let mut rest = b64.as_str();
    while !rest.is_empty() {
        let (line, tail) = rest.split_at(rest.len().min(64));
        out.push_str(line);
        out.push('\n');
        rest = tail;
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const PKCS8: &str = include_str!("../tests/fixtures/test-only-rsa-2048-pkcs8.pem");
    pub(crate) const PKCS1: &str = include_str!("../tests/fixtures/test-only-rsa-2048-pkcs1.pem");
    const PUBLIC: &str = include_str!("../tests/fixtures/test-only-rsa-2048-public.pem");
    const OTHER: &str = include_str!("../tests/fixtures/test-only-rsa-2048-other-pkcs8.pem");
    const SMALL: &str = include_str!("../tests/fixtures/test-only-rsa-1024-pkcs8.pem");
    const ENCRYPTED: &str = include_str!("../tests/fixtures/test-only-rsa-2048-encrypted.pem");
    const ENCRYPTED_PKCS1: &str = include_str!("../tests/fixtures/test-only-rsa-2048-encrypted-pkcs1.pem");
    const EC_PKCS8: &str = include_str!("../tests/fixtures/test-only-ec-p256-pkcs8.pem");
    const EC_SEC1: &str = include_str!("../tests/fixtures/test-only-ec-p256-sec1.pem");

    #[test]
    fn pkcs8_and_pkcs1_give_the_same_public_key_as_openssl() {
        let a = SigningKey::from_pem(PKCS8).unwrap();
        let b = SigningKey::from_pem(PKCS1).unwrap();
        assert_eq!(a.public_key_pem(), PUBLIC, "SPKI must match `openssl pkey -pubout`");
        assert_eq!(b.public_key_pem(), PUBLIC);
        assert_eq!(a.modulus_bits(), 2048);
    }

    #[test]
    fn another_key_gives_another_public_key() {
        let other = SigningKey::from_pem(OTHER).unwrap();
        assert_ne!(other.public_key_pem(), PUBLIC);
        assert!(other.public_key_pem().starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(other.public_key_pem().ends_with("-----END PUBLIC KEY-----\n"));
    }

    #[test]
    fn text_around_the_block_and_crlf_are_tolerated() {
        let wrapped = format!("Key for tests\r\n{}\r\ntrailing words", PKCS8.replace('\n', "\r\n"));
        let key = SigningKey::from_pem(&wrapped).unwrap();
        assert_eq!(key.public_key_pem(), PUBLIC);
    }

    #[test]
    fn refuses_what_is_not_an_unencrypted_rsa_private_key() {
        assert_eq!(SigningKey::from_pem(EC_PKCS8).unwrap_err(), KeyError::NotRsa);
        assert_eq!(
            SigningKey::from_pem(EC_SEC1).unwrap_err(),
            KeyError::UnsupportedPemLabel("EC PRIVATE KEY".into())
        );
        assert_eq!(SigningKey::from_pem(ENCRYPTED).unwrap_err(), KeyError::EncryptedKey);
        assert_eq!(
            SigningKey::from_pem(ENCRYPTED_PKCS1).unwrap_err(),
            KeyError::EncryptedKey
        );
        assert_eq!(
            SigningKey::from_pem(PUBLIC).unwrap_err(),
            KeyError::UnsupportedPemLabel("PUBLIC KEY".into())
        );
        assert_eq!(SigningKey::from_pem(SMALL).unwrap_err(), KeyError::TooSmall);
        assert_eq!(SigningKey::from_pem("").unwrap_err(), KeyError::NotPem);
        assert_eq!(
            SigningKey::from_pem("just some garbage\nlines").unwrap_err(),
            KeyError::NotPem
        );
    }

    #[test]
    fn refuses_broken_pem() {
        let no_end = PKCS8.replace("-----END PRIVATE KEY-----", "");
        assert_eq!(
            SigningKey::from_pem(&no_end).unwrap_err(),
            KeyError::MissingPemEnd("PRIVATE KEY".into())
        );
        let bad_b64 = "-----BEGIN PRIVATE KEY-----\nMII*not base64*\n-----END PRIVATE KEY-----\n";
        assert_eq!(SigningKey::from_pem(bad_b64).unwrap_err(), KeyError::InvalidBase64);
        let empty = "-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n";
        assert_eq!(SigningKey::from_pem(empty).unwrap_err(), KeyError::InvalidBase64);
        let garbage_der = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        assert!(matches!(
            SigningKey::from_pem(garbage_der).unwrap_err(),
            KeyError::Rejected(_)
        ));
        let header = "-----BEGIN RSA PRIVATE KEY-----\nComment: hi\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        assert_eq!(
            SigningKey::from_pem(header).unwrap_err(),
            KeyError::UnexpectedPemHeader("Comment: hi".into())
        );
        // Labels must match: a PKCS#8 body closed by the PKCS#1 END line is incomplete.
        let mismatched = PKCS8.replace("-----END PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----");
        assert_eq!(
            SigningKey::from_pem(&mismatched).unwrap_err(),
            KeyError::MissingPemEnd("PRIVATE KEY".into())
        );
    }

    #[test]
    fn debug_output_hides_secrets() {
        let secret = HmacSecret::new("super-secret-value").unwrap();
        let shown = format!("{secret:?}");
        assert!(!shown.contains("super-secret-value"), "{shown}");
        assert_eq!(secret.expose(), "super-secret-value");

        let key = SigningKey::from_pem(PKCS8).unwrap();
        let shown = format!("{key:?}");
        assert_eq!(shown, "SigningKey { algorithm: \"RSA\", bits: 2048, .. }");
        // No base64 from the private key leaks either.
        let body_line = PKCS8.lines().nth(1).unwrap();
        assert!(!shown.contains(body_line));
    }

    #[test]
    fn empty_secret_is_refused() {
        assert_eq!(HmacSecret::new("").unwrap_err(), KeyError::EmptySecret);
    }

    #[test]
    fn asap_key_path_is_lowercase_hex_sha256_plus_pem() {
        // SHA-256 test vectors (FIPS 180-2).
        assert_eq!(
            asap_key_path("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.pem"
        );
        assert_eq!(
            asap_key_path(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855.pem"
        );
    }

    #[test]
    fn der_lengths() {
        let mut v = Vec::new();
        der_length(0x7f, &mut v);
        assert_eq!(v, [0x7f]);
        v.clear();
        der_length(0x80, &mut v);
        assert_eq!(v, [0x81, 0x80]);
        v.clear();
        der_length(0x010f, &mut v);
        assert_eq!(v, [0x82, 0x01, 0x0f]);
    }
}
