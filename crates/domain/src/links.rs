//! Keys that travel in links, and what is kept of them. A personal join link's key is an HMAC
//! of the participant's id and a version under the server's link secret: the server re-derives
//! any key (for mails and reminders), the database keeps only its SHA-256, and a new version
//! revokes the old link. A calendar feed's key is an HMAC of the account's id and a version under
//! the feed secret, prefixed by the id. Nothing secret is stored, and a copy of the database
//! alone derives no key.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::{digest, hmac};

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

/// The SHA-256 of a secret, hexadecimal: what the database keeps instead of a link key, a
/// token or a session id.
pub fn sha256_hex(secret: &str) -> String {
    hex(digest::digest(&digest::SHA256, secret.as_bytes()).as_ref())
}

/// A key derived from one of the server's secrets for one purpose.
#[derive(Clone)]
pub struct LinkSecret {
    key: hmac::Key,
}

impl std::fmt::Debug for LinkSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSecret(…)")
    }
}

impl LinkSecret {
    /// A secret of at least 32 bytes.
    pub fn new(secret: &[u8]) -> LinkSecret {
        LinkSecret {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    fn tag(&self, text: &str) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.key, text.as_bytes()).as_ref())
    }

    /// The key of a participant's personal link at `version` (43 base64url characters).
    pub fn join_key(&self, participant_id: &str, version: i64) -> String {
        self.tag(&format!("participant:{participant_id}:{version}"))
    }

    /// The key of an account's calendar feed at `version`: `<account id>-<43 characters>`.
    pub fn feed_key(&self, user_id: &str, version: i64) -> String {
        format!("{user_id}-{}", self.tag(&format!("feed:{user_id}:{version}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_per_version_and_secret() {
        let a = LinkSecret::new(&[1; 32]);
        let key = a.join_key("p1", 1);
        assert_eq!(key.len(), 43);
        assert_eq!(key, a.join_key("p1", 1));
        assert_ne!(key, a.join_key("p1", 2), "a new version revokes the link");
        assert_ne!(key, a.join_key("p2", 1));
        assert_ne!(key, LinkSecret::new(&[2; 32]).join_key("p1", 1));
        assert!(a.feed_key("u1", 1).starts_with("u1-"));
        assert_ne!(a.feed_key("u1", 1), a.feed_key("u1", 2));
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(format!("{:?}", a), "LinkSecret(…)");
    }
}
