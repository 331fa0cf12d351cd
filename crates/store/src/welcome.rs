//! Welcome messages to new staff accounts: the account, its set-password link and the message
//! that mails it, written in one transaction.
//!
//! The worker renders messages at delivery, but the database keeps only the hash of a
//! set-password token. So the token travels in the outbox row's snapshot sealed (AES-256-GCM,
//! with a key derived from the server's secret and bound to the row by its id), and every way a
//! row finishes (sent, failed, superseded) wipes it: a finished row holds nothing that opens the
//! link, and the link the admin copied stays the same one the mail carries.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hmac;

use crate::audit::{AuditEntry, insert_audit};
use crate::auth::TokenPurpose;
use crate::db::args;
use crate::outbox::{MailKind, MailSnapshot, OutboxMessage, notify};
use crate::users::{NewUser, User, insert_user};
use crate::{Result, Store, StoreError, new_id, random_bytes};

const SEAL_PREFIX: &str = "v1.";

/// The key that seals secrets carried by outbox rows. `Debug` hides it.
pub(crate) struct MailSealer {
    key: LessSafeKey,
}

impl std::fmt::Debug for MailSealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MailSealer(…)")
    }
}

impl MailSealer {
    /// Derived from the server's link secret under a label of its own.
    pub(crate) fn new(secret: &[u8]) -> Result<MailSealer> {
        let root = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let derived = hmac::sign(&root, b"dialogue outbox secrets v1");
        let unbound = UnboundKey::new(&AES_256_GCM, derived.as_ref())
            .map_err(|_| StoreError::Corrupt("cannot derive the outbox key".into()))?;
        Ok(MailSealer {
            key: LessSafeKey::new(unbound),
        })
    }

    fn aad(message_id: &str) -> String {
        format!("dialogue outbox {message_id} set-password token")
    }

    /// `v1.` + base64url(nonce ‖ ciphertext ‖ tag).
    fn seal(&self, message_id: &str, secret: &str) -> Result<String> {
        let nonce = random_bytes::<NONCE_LEN>();
        let mut data = secret.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(Self::aad(message_id).as_bytes()),
                &mut data,
            )
            .map_err(|_| StoreError::Corrupt("sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!("{SEAL_PREFIX}{}", URL_SAFE_NO_PAD.encode(out)))
    }

    fn open(&self, message_id: &str, sealed: &str) -> Result<String> {
        let bad = || StoreError::Corrupt(format!("the sealed token of message {message_id} does not open"));
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
            .open_in_place(nonce, Aad::from(Self::aad(message_id).as_bytes()), &mut data)
            .map_err(|_| bad())?;
        String::from_utf8(plain.to_vec()).map_err(|_| bad())
    }
}

/// The set-password link of a new account, as the service made it.
pub struct WelcomeLink<'a> {
    /// The token itself (sealed into the message, never stored in clear).
    pub token: &'a str,
    /// Its storage hash.
    pub token_hash: &'a str,
    pub expires_at: Timestamp,
    /// The audit line of the link's issue.
    pub audit: &'a AuditEntry,
}

impl Store {
    pub(crate) fn mail_sealer(&self) -> Result<&Arc<MailSealer>> {
        self.sealer
            .as_ref()
            .ok_or_else(|| StoreError::Corrupt("no server secret for sealing outbox secrets".into()))
    }

    /// Whether welcome messages can be written (the server's secret is set).
    pub fn can_seal_mail(&self) -> bool {
        self.sealer.is_some()
    }

    /// Creates an account, its set-password link and the welcome message that mails the link,
    /// in one transaction (the message goes in the account's language; `give_up_after` from the
    /// mail policy).
    pub async fn create_user_welcomed(
        &self,
        new: &NewUser,
        link: &WelcomeLink<'_>,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<User> {
        let sealer = self.mail_sealer()?.clone();
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let user = insert_user(&mut c, new, now).await?;
        insert_audit(&mut c, &audit.clone().target("user", &user.id, &user.email), now).await?;
        c.exec(
            "INSERT INTO one_time_tokens (token_hash, purpose, user_id, created_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            args![
                link.token_hash,
                TokenPurpose::SetPassword.as_str(),
                user.id.as_str(),
                link.audit.actor_id.as_deref(),
                now.as_second(),
                link.expires_at.as_second(),
            ],
        )
        .await?;
        insert_audit(&mut c, &link.audit.clone().target("user", &user.id, &user.email), now).await?;
        let id = new_id();
        let snapshot = MailSnapshot {
            sealed_token: Some(sealer.seal(&id, link.token)?),
            link_expires_at: Some(link.expires_at.as_second()),
            ..MailSnapshot::default()
        };
        let snapshot =
            serde_json::to_string(&snapshot).map_err(|e| StoreError::Corrupt(format!("outbox snapshot: {e}")))?;
        let give_up_at = now + self.mail.policy.give_up_after;
        c.exec(
            "INSERT INTO outbox (id, kind, session_id, participant_id, recipient_email, recipient_norm, recipient_name, \
             locale, time_zone, snapshot, status, attempts, next_attempt_at, give_up_at, created_at, updated_at) \
             VALUES ($1, $2, NULL, $3, $4, $5, $6, $7, $8, $9, 'queued', 0, $10, $11, $10, $10)",
            args![
                id.as_str(),
                MailKind::Welcome.as_str(),
                user.id.as_str(),
                user.email.as_str(),
                user.email.to_lowercase().as_str(),
                user.display_name.as_str(),
                user.locale.as_str(),
                user.time_zone.as_str(),
                snapshot.as_str(),
                now.as_second(),
                give_up_at.as_second(),
            ],
        )
        .await?;
        notify(&mut c, &self.mail).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// The set-password token a welcome message carries, opened, while it still sets a
    /// password at `now`; `None` once wiped, or when the link was used, replaced by a newer one
    /// or expired before the message left (the message is then pointless).
    pub async fn welcome_token(&self, m: &OutboxMessage, now: Timestamp) -> Result<Option<String>> {
        let Some(sealed) = &m.snapshot.sealed_token else {
            return Ok(None);
        };
        let token = self.mail_sealer()?.open(&m.id, sealed)?;
        let live = self
            .one_time_token(&domain::links::sha256_hex(&token), TokenPurpose::SetPassword, now)
            .await?;
        Ok(live.map(|_| token))
    }
}
