//! The client side of SASL SCRAM (RFC 5802) with SHA-1 and SHA-256 (RFC 7677),
//! without channel binding (GS2 header `n,,`), on `ring`'s PBKDF2 and HMAC.

use std::num::NonZeroU32;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ring::{digest, hmac, pbkdf2};

/// Most PBKDF2 iterations we compute for a server: more is a server making us burn
/// CPU (Prosody uses 10 000 by default, RFC 7677 asks for at least 4 096).
pub(crate) const MAX_ITERATIONS: u32 = 1_000_000;

/// The GS2 header for "no channel binding, no authorisation identity".
const GS2_HEADER: &str = "n,,";

/// The SCRAM variants we speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ScramHash {
    Sha1,
    Sha256,
}

impl ScramHash {
    pub(crate) fn mechanism(self) -> &'static str {
        match self {
            Self::Sha1 => "SCRAM-SHA-1",
            Self::Sha256 => "SCRAM-SHA-256",
        }
    }

    fn pbkdf2(self) -> pbkdf2::Algorithm {
        match self {
            Self::Sha1 => pbkdf2::PBKDF2_HMAC_SHA1,
            Self::Sha256 => pbkdf2::PBKDF2_HMAC_SHA256,
        }
    }

    fn hmac(self) -> hmac::Algorithm {
        match self {
            Self::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha256 => hmac::HMAC_SHA256,
        }
    }

    fn digest(self) -> &'static digest::Algorithm {
        match self {
            Self::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            Self::Sha256 => &digest::SHA256,
        }
    }

    fn len(self) -> usize {
        self.digest().output_len()
    }
}

/// One SCRAM exchange, from the client's first message to the check of the
/// server's signature.
pub(crate) struct Scram {
    hash: ScramHash,
    password: String,
    client_nonce: String,
    client_first_bare: String,
}

/// What the server's first message says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerFirst {
    raw: String,
    nonce: String,
    salt: Vec<u8>,
    iterations: NonZeroU32,
}

/// The client's final message, and what the server must answer to prove it knows
/// the password too.
pub(crate) struct ClientFinal {
    pub(crate) message: String,
    server_key: hmac::Key,
    auth_message: String,
}

impl Scram {
    /// Starts an exchange for `username` (already nodeprep'd) and `password`
    /// (SASLprep'd here), with a fresh `client_nonce` (printable, no comma).
    pub(crate) fn new(hash: ScramHash, username: &str, password: &str, client_nonce: String) -> Result<Self, String> {
        let password = stringprep::saslprep(password)
            .map_err(|e| format!("the password cannot be used with SCRAM (SASLprep: {e})"))?
            .into_owned();
        let mut name = String::with_capacity(username.len());
        for c in username.chars() {
            match c {
                '=' => name.push_str("=3D"),
                ',' => name.push_str("=2C"),
                c => name.push(c),
            }
        }
        let client_first_bare = format!("n={name},r={client_nonce}");
        Ok(Self {
            hash,
            password,
            client_nonce,
            client_first_bare,
        })
    }

    /// The `client-first-message`, to send with `<auth/>`.
    pub(crate) fn client_first(&self) -> String {
        format!("{GS2_HEADER}{}", self.client_first_bare)
    }

    /// Parses and checks the server's first message.
    pub(crate) fn parse_server_first(&self, msg: &str) -> Result<ServerFirst, String> {
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for (i, part) in msg.split(',').enumerate() {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| format!("malformed server message {msg:?}"))?;
            match key {
                "m" if i == 0 => return Err("the server requires an unknown SCRAM extension".to_owned()),
                "e" => return Err(format!("the server reported {value:?}")),
                "r" => nonce = Some(value),
                "s" => salt = Some(B64.decode(value).map_err(|_| "the salt is not base64".to_owned())?),
                "i" => {
                    iterations = Some(
                        value
                            .parse::<u32>()
                            .ok()
                            .and_then(NonZeroU32::new)
                            .ok_or_else(|| format!("iteration count {value:?} is not a positive number"))?,
                    );
                }
                _ => {}
            }
        }
        let nonce = nonce.ok_or("the server sent no nonce")?;
        if !nonce.starts_with(&self.client_nonce) || nonce.len() == self.client_nonce.len() {
            return Err("the server's nonce does not extend ours".to_owned());
        }
        if nonce.chars().any(|c| !c.is_ascii_graphic() || c == ',') {
            return Err("the server's nonce has characters SCRAM forbids".to_owned());
        }
        let salt = salt.ok_or("the server sent no salt")?;
        if salt.is_empty() {
            return Err("the server sent an empty salt".to_owned());
        }
        let iterations = iterations.ok_or("the server sent no iteration count")?;
        if iterations.get() > MAX_ITERATIONS {
            return Err(format!(
                "the server asks for {iterations} PBKDF2 iterations (at most {MAX_ITERATIONS} are computed)"
            ));
        }
        Ok(ServerFirst {
            raw: msg.to_owned(),
            nonce: nonce.to_owned(),
            salt,
            iterations,
        })
    }

    /// Computes the proof (PBKDF2 with the server's salt and count: run it off the
    /// async threads).
    pub(crate) fn client_final(&self, server: &ServerFirst) -> ClientFinal {
        let alg = self.hash;
        let mut salted = vec![0u8; alg.len()];
        pbkdf2::derive(
            alg.pbkdf2(),
            server.iterations,
            &server.salt,
            self.password.as_bytes(),
            &mut salted,
        );
        let salted = hmac::Key::new(alg.hmac(), &salted);
        let client_key = hmac::sign(&salted, b"Client Key");
        let stored_key = digest::digest(alg.digest(), client_key.as_ref());
        let without_proof = format!("c={},r={}", B64.encode(GS2_HEADER), server.nonce);
        let auth_message = format!("{},{},{without_proof}", self.client_first_bare, server.raw);
        let client_signature = hmac::sign(
            &hmac::Key::new(alg.hmac(), stored_key.as_ref()),
            auth_message.as_bytes(),
        );
        let proof: Vec<u8> = client_key
            .as_ref()
            .iter()
            .zip(client_signature.as_ref())
            .map(|(k, s)| k ^ s)
            .collect();
        let server_key = hmac::sign(&salted, b"Server Key");
        ClientFinal {
            message: format!("{without_proof},p={}", B64.encode(proof)),
            server_key: hmac::Key::new(alg.hmac(), server_key.as_ref()),
            auth_message,
        }
    }
}

impl ClientFinal {
    /// Checks the server's final message (`v=<signature>`), in constant time.
    pub(crate) fn verify_server_final(&self, msg: &str) -> Result<(), String> {
        if let Some(e) = msg.strip_prefix("e=") {
            return Err(format!("the server reported {e:?}"));
        }
        let signature = msg
            .split(',')
            .find_map(|p| p.strip_prefix("v="))
            .ok_or("the server's final message has no signature")?;
        let signature = B64
            .decode(signature)
            .map_err(|_| "the server's signature is not base64".to_owned())?;
        hmac::verify(&self.server_key, self.auth_message.as_bytes(), &signature)
            .map_err(|_| "the server did not prove it knows the password (wrong SCRAM signature)".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 5802 §5's example exchange.
    #[test]
    fn rfc5802_sha1_example() {
        let scram = Scram::new(ScramHash::Sha1, "user", "pencil", "fyko+d2lbbFgONRv9qkxdawL".into()).unwrap();
        assert_eq!(scram.client_first(), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
        let first = scram
            .parse_server_first("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096")
            .unwrap();
        let fin = scram.client_final(&first);
        assert_eq!(
            fin.message,
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
        );
        fin.verify_server_final("v=rmF9pqV8S7suAoZWja4dJRkFsKQ=").unwrap();
        assert!(fin.verify_server_final("v=rmF9pqV8S7suAoZWja4dJRkFsKR=").is_err());
        assert!(fin.verify_server_final("e=invalid-proof").is_err());
    }

    /// RFC 7677 §3's example exchange.
    #[test]
    fn rfc7677_sha256_example() {
        let scram = Scram::new(ScramHash::Sha256, "user", "pencil", "rOprNGfwEbeRWgbNEkqO".into()).unwrap();
        let first = scram
            .parse_server_first(
                "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            )
            .unwrap();
        let fin = scram.client_final(&first);
        assert_eq!(
            fin.message,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        fin.verify_server_final("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
    }

    #[test]
    fn username_is_escaped_and_password_saslprepped() {
        let scram = Scram::new(ScramHash::Sha1, "a=b,c", "p", "n0nce".into()).unwrap();
        assert_eq!(scram.client_first(), "n,,n=a=3Db=2Cc,r=n0nce");
        // SASLprep maps the non-ASCII space to a space: the same key as "pen cil".
        let a = Scram::new(ScramHash::Sha1, "u", "pen\u{00A0}cil", "n".into()).unwrap();
        let b = Scram::new(ScramHash::Sha1, "u", "pen cil", "n".into()).unwrap();
        let first = a.parse_server_first("r=nX,s=QSXCR+Q6sek8bf92,i=1").unwrap();
        assert_eq!(a.client_final(&first).message, b.client_final(&first).message);
        assert!(Scram::new(ScramHash::Sha1, "u", "bad\u{0007}", "n".into()).is_err());
    }

    #[test]
    fn hostile_server_first_messages_are_refused() {
        let scram = Scram::new(ScramHash::Sha1, "user", "pencil", "abc".into()).unwrap();
        for bad in [
            "r=abc,s=QSXCR+Q6sek8bf92,i=4096",    // nonce not extended
            "r=xyzdef,s=QSXCR+Q6sek8bf92,i=4096", // not our nonce
            "r=abcdef,s=,i=4096",                 // empty salt
            "r=abcdef,s=***,i=4096",              // salt not base64
            "r=abcdef,s=QSXCR+Q6sek8bf92,i=0",    // no iterations
            "r=abcdef,s=QSXCR+Q6sek8bf92,i=-1",
            "r=abcdef,s=QSXCR+Q6sek8bf92,i=4000000", // CPU burn
            "r=abcdef,s=QSXCR+Q6sek8bf92",           // missing count
            "m=ext,r=abcdef,s=QSXCR+Q6sek8bf92,i=4096",
            "e=other-error",
            "garbage",
        ] {
            assert!(scram.parse_server_first(bad).is_err(), "{bad} accepted");
        }
    }
}
