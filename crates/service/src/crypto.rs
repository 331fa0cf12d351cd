//! Secrets: random tokens, hashes for storage, keyed MACs, constant-time comparison, passwords.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};

/// A fresh unguessable token: 256 random bits, base64url (43 characters).
pub fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(store::random_bytes::<32>())
}

/// The SHA-256 of a secret, hex: what the database keeps instead of the secret.
pub use domain::links::{hex, sha256_hex as storage_hash};

/// Compares two secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The server's secret key, from which every purpose derives its own key. `Debug` hides it.
#[derive(Clone)]
pub struct SecretKey {
    csrf: hmac::Key,
    links: [u8; 32],
    feeds: [u8; 32],
    jitsi: [u8; 32],
    evidence: [u8; 32],
    logins: [u8; 32],
}

impl SecretKey {
    /// At least 32 bytes of secret.
    pub fn new(secret: &[u8]) -> SecretKey {
        let root = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let derive = |label: &str| hmac::Key::new(hmac::HMAC_SHA256, hmac::sign(&root, label.as_bytes()).as_ref());
        let bytes = |label: &str| {
            let mut out = [0u8; 32];
            out.copy_from_slice(hmac::sign(&root, label.as_bytes()).as_ref());
            out
        };
        SecretKey {
            csrf: derive("dialogue csrf v1"),
            links: bytes("dialogue join links v1"),
            feeds: bytes("dialogue calendar feeds v1"),
            jitsi: bytes("dialogue jitsi secrets v1"),
            evidence: bytes("dialogue attendance evidence v1"),
            logins: bytes("dialogue directory login cookies v1"),
        }
    }

    /// The key from which personal join-link keys derive (given to the store).
    pub fn link_secret(&self) -> &[u8; 32] {
        &self.links
    }

    /// The key from which calendar-feed keys derive.
    pub fn feed_secret(&self) -> &[u8; 32] {
        &self.feeds
    }

    /// The key that seals Jitsi servers' secrets in the database (AES-256-GCM).
    pub fn jitsi_secret(&self) -> &[u8; 32] {
        &self.jitsi
    }

    /// The key that seals each session's signatures (`domain::evidence`).
    pub fn evidence_key(&self) -> domain::evidence::EvidenceKey {
        domain::evidence::EvidenceKey::new(&self.evidence)
    }

    /// The key that seals the cookies of directory logins (a login under way, the ID token
    /// kept for logging out at the provider).
    pub fn login_secret(&self) -> &[u8; 32] {
        &self.logins
    }

    /// The form token bound to a browser's CSRF cookie value.
    pub fn csrf_token(&self, cookie_value: &str) -> String {
        URL_SAFE_NO_PAD.encode(hmac::sign(&self.csrf, cookie_value.as_bytes()).as_ref())
    }

    /// Whether `token` is the form token of `cookie_value` (constant time).
    pub fn csrf_valid(&self, cookie_value: &str, token: &str) -> bool {
        constant_time_eq(self.csrf_token(cookie_value).as_bytes(), token.as_bytes())
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

/// Hashes a password with argon2id (the crate's defaults: 19 MiB, 2 passes, OWASP's minimum).
/// CPU-heavy: call it from `spawn_blocking`.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| argon2::password_hash::Error::Crypto)?;
    Ok(Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)?
        .to_string())
}

/// Checks a password against a stored hash. A malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    Argon2::default().verify_password(password.as_bytes(), hash).is_ok()
}

/// Argon2 runs on its own threads, one per core, and nowhere else. Each hash costs ~19 MiB and
/// a core for tens of milliseconds: a burst of logins on the blocking pool would run dozens at
/// once (up to 512 threads), starving every other request, and each thread's allocator arena
/// would keep its 19 MiB afterwards (hundreds of MiB measured by bench/login). On a few fixed
/// threads the burst queues, and the memory is a few arenas' worth. Process-wide, as the cores
/// are.
struct Hashers {
    /// Turns: one per thread, so that the queue never holds more than the threads can take.
    turns: std::sync::Arc<tokio::sync::Semaphore>,
    jobs: std::sync::mpsc::SyncSender<Job>,
}

type Job = Box<dyn FnOnce() + Send>;

static HASHERS: std::sync::LazyLock<Option<Hashers>> = std::sync::LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let (jobs, queue) = std::sync::mpsc::sync_channel::<Job>(cores);
    let queue = std::sync::Arc::new(std::sync::Mutex::new(queue));
    let mut started = 0;
    for i in 0..cores {
        let queue = queue.clone();
        let spawned = std::thread::Builder::new().name(format!("argon2-{i}")).spawn(move || {
            loop {
                // The lock is held only to take one job; a poisoned lock (a job cannot
                // panic while holding it) still hands out the queue.
                let job = match queue.lock().unwrap_or_else(|p| p.into_inner()).recv() {
                    Ok(job) => job,
                    Err(_) => return,
                };
                // A panicking job loses its answer (the caller sees `Failed`), not the thread.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            }
        });
        match spawned {
            Ok(_) => started += 1,
            Err(e) => tracing::error!(error = %e, "cannot start a password-hashing thread"),
        }
    }
    (started > 0).then(|| Hashers {
        turns: std::sync::Arc::new(tokio::sync::Semaphore::new(started)),
        jobs,
    })
});

/// How long a request waits for its turn at argon2 before it is told the server is busy.
const HASHING_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Why a bounded password computation did not run.
#[derive(Debug, Clone, thiserror::Error)]
pub enum HashingError {
    #[error("too many password checks at once")]
    Busy,
    #[error("password hashing: {0}")]
    Failed(String),
}

/// Runs `work` (argon2) on the hashing threads (see [`Hashers`]), waiting at most
/// [`HASHING_WAIT`] for a turn.
async fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, HashingError> {
    let Some(hashers) = HASHERS.as_ref() else {
        return Err(HashingError::Failed(
            "no password-hashing thread could be started".into(),
        ));
    };
    let turn = tokio::time::timeout(HASHING_WAIT, hashers.turns.clone().acquire_owned())
        .await
        .map_err(|_| HashingError::Busy)?
        // The semaphore is never closed.
        .map_err(|_| HashingError::Busy)?;
    let (answer, answered) = tokio::sync::oneshot::channel();
    // The turn ends with the job, not with the request: one whose client went away still
    // holds its turn until its hash is done.
    let job: Job = Box::new(move || {
        let _ = answer.send(work());
        drop(turn);
    });
    // Never full: a turn is held for each job queued or running, and there are as many turns
    // as threads and as places in the queue.
    hashers
        .jobs
        .try_send(job)
        .map_err(|e| HashingError::Failed(format!("hashing queue: {e}")))?;
    answered
        .await
        .map_err(|_| HashingError::Failed("the hashing job did not answer".into()))
}

/// [`verify_password`], bounded (see [`Hashers`]).
pub async fn verify_password_bounded(password: String, hash: String) -> Result<bool, HashingError> {
    // Only ever on the hashing threads: each keeps its buffer for the next check.
    bounded(move || BLOCKS.with_borrow_mut(|blocks| verify_password_in(&password, &hash, blocks))).await
}

/// [`hash_password`], bounded (see [`Hashers`]).
pub async fn hash_password_bounded(password: String) -> Result<String, HashingError> {
    bounded(move || hash_password(&password))
        .await?
        .map_err(|e| HashingError::Failed(e.to_string()))
}

/// Checks a password as [`verify_password`] does, computing in `blocks` (grown to the hash's
/// memory cost, kept by the caller) instead of allocating 19 MiB for each check: the hashing
/// threads keep one such buffer each, so memory stays at threads × 19 MiB however many logins
/// there are (glibc keeps freed blocks of that size in each thread's arena otherwise).
fn verify_password_in(password: &str, hash: &str, blocks: &mut Vec<argon2::Block>) -> bool {
    let Ok(parsed) = argon2::PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = argon2::Algorithm::try_from(parsed.algorithm.as_str()) else {
        return false;
    };
    let version = match parsed.version.map(argon2::Version::try_from) {
        None => argon2::Version::default(),
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = argon2::Params::try_from(&parsed) else {
        return false;
    };
    let needed = params.block_count();
    if blocks.len() < needed {
        blocks.resize(needed, argon2::Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    let computed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
        password.as_bytes(),
        salt.as_ref(),
        &mut out,
        &mut blocks[..needed],
    );
    computed.is_ok() && constant_time_eq(&out, expected.as_bytes())
}

thread_local! {
    /// The argon2 memory of a hashing thread (see [`verify_password_in`]).
    static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A valid hash of nothing anyone types, verified when the account does not exist so that a
/// wrong email costs as long as a wrong password.
pub static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| hash_password(&random_token()).unwrap_or_default());

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("x", "not a hash"));
        // The same answers computing in a kept buffer, for this hash and for others' shapes.
        let mut blocks = Vec::new();
        assert!(verify_password_in("correct horse battery", &hash, &mut blocks));
        assert!(!verify_password_in("correct horse batterY", &hash, &mut blocks));
        assert!(
            verify_password_in("correct horse battery", &hash, &mut blocks),
            "the buffer is reused"
        );
        assert!(!verify_password_in("x", "not a hash", &mut blocks));
        let small = Argon2::new(
            argon2::Algorithm::Argon2i,
            argon2::Version::V0x10,
            argon2::Params::new(64, 1, 1, Some(16)).unwrap(),
        )
        .hash_password_with_salt(b"pw", b"saltsaltsalt")
        .unwrap()
        .to_string();
        assert!(verify_password("pw", &small));
        assert!(verify_password_in("pw", &small, &mut blocks));
        assert!(!verify_password_in("px", &small, &mut blocks));
    }

    #[test]
    fn csrf_tokens_bind_to_cookie_and_key() {
        let key = SecretKey::new(&[7; 32]);
        let token = key.csrf_token("cookie-a");
        assert!(key.csrf_valid("cookie-a", &token));
        assert!(!key.csrf_valid("cookie-b", &token));
        assert!(!SecretKey::new(&[8; 32]).csrf_valid("cookie-a", &token));
        assert!(!key.csrf_valid("cookie-a", ""));
    }

    #[test]
    fn tokens_and_hashes() {
        assert_eq!(random_token().len(), 43);
        assert_ne!(random_token(), random_token());
        assert_eq!(
            storage_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(
            constant_time_eq(b"abc", b"abc") && !constant_time_eq(b"abc", b"abd") && !constant_time_eq(b"ab", b"abc")
        );
    }
}
