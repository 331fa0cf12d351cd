//! API tokens: personal bearer credentials for the JSON API. Each person creates, sees and
//! revokes their own (the command line's `dialogue token create` makes one for any account).
//! The secret is shown once and only its SHA-256 is stored. A password change or reset ends
//! them with the account's login sessions: a token made by whoever learned the old password
//! must not outlive it.

use i18n::Message;
use jiff::SignedDuration;
use store::{ApiToken, User};

use crate::crypto::{random_token, storage_hash};
use crate::error::{Error, Result};
use crate::{Caller, Service};

/// Longest token name.
pub const MAX_NAME_CHARS: usize = 100;

/// A token's name: trimmed, 1 to 100 characters without control characters.
pub fn parse_name(input: &str) -> Result<String> {
    let name = input.trim();
    if name.is_empty() {
        return Err(Error::invalid("token_name", Message::new("token.error.name_empty")));
    }
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "token_name",
            Message::new("token.error.name_invalid").arg("max", MAX_NAME_CHARS),
        ));
    }
    Ok(name.to_owned())
}

/// The caller's live tokens, newest first.
pub async fn list(svc: &Service, caller: &Caller) -> Result<Vec<ApiToken>> {
    Ok(svc
        .store()
        .api_tokens(&caller.actor.user_id)
        .await?
        .into_iter()
        .filter(|t| !t.revoked)
        .collect())
}

/// A new token for `owner` (the caller themself, or any account from the command line); its
/// secret comes back, this once.
pub async fn create(svc: &Service, caller: &Caller, owner: &User, name: &str) -> Result<String> {
    if owner.id != caller.actor.user_id && !caller.is_command_line() {
        return Err(Error::Forbidden);
    }
    let name = parse_name(name)?;
    let token = random_token();
    svc.store()
        .create_api_token(
            &owner.id,
            &name,
            &storage_hash(&token),
            svc.now(),
            &caller.audit("api_token.create"),
        )
        .await?;
    Ok(token)
}

/// Revokes one of the caller's tokens (another account's token id is unknown here).
pub async fn revoke(svc: &Service, caller: &Caller, id: &str) -> Result<()> {
    Ok(svc
        .store()
        .revoke_api_token(&caller.actor.user_id, id, svc.now(), &caller.audit("api_token.revoke"))
        .await?)
}

/// The active account and token id a bearer secret belongs to. Its use is recorded at most once
/// a minute.
pub async fn authenticate(svc: &Service, bearer: &str) -> Result<(User, String)> {
    let (token_id, last_used, user) = svc
        .store()
        .api_token_user(&storage_hash(bearer))
        .await?
        .ok_or(Error::Unauthenticated)?;
    let now = svc.now();
    if last_used.is_none_or(|t| now.duration_since(t) > SignedDuration::from_secs(60))
        && let Err(e) = svc.store().touch_api_token(&token_id, now).await
    {
        tracing::warn!(error = %e, "could not record an API token's use");
    }
    Ok((user, token_id))
}
