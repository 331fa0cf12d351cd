//! API tokens: bearer credentials of an account for the JSON API, stored as their SHA-256.

use jiff::Timestamp;

use crate::audit::{AuditEntry, insert_audit};
use crate::db::args;
use crate::users::{User, user_row};
use crate::{Result, Store, new_id, ts};

/// An API token as its owner sees it (never the secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked: bool,
}

impl Store {
    /// Stores a new API token (its hash) for `user_id`; returns its id.
    pub async fn create_api_token(
        &self,
        user_id: &str,
        name: &str,
        token_hash: &str,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<String> {
        let id = new_id();
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        c.exec(
            "INSERT INTO api_tokens (id, user_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
            args![id.as_str(), user_id, name, token_hash, now.as_second()],
        )
        .await?;
        insert_audit(&mut c, &audit.clone().target("api_token", &id, name), now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// The active account holding the live token with this hash: (token id, last use, account).
    pub async fn api_token_user(&self, token_hash: &str) -> Result<Option<(String, Option<Timestamp>, User)>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .opt(
                "SELECT t.id AS token_id, t.last_used_at AS token_used, u.id, u.email, u.display_name, u.role, u.locale, u.time_zone, u.active, \
                 u.password_hash IS NOT NULL AS has_password, u.auth_source, u.external_id, u.created_at, u.updated_at \
                 FROM api_tokens t JOIN users u ON u.id = t.user_id \
                 WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND u.active",
                args![token_hash],
                |r| Ok((r.text("token_id")?, r.opt_i64("token_used")?.map(ts).transpose()?, user_row(r)?)),
            )
            .await
    }

    /// Records a token's use (callers do it at most once a minute).
    pub async fn touch_api_token(&self, token_id: &str, now: Timestamp) -> Result<()> {
        let mut tx = self.pool.write().await?;
        tx.conn()
            .exec(
                "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1",
                args![token_id, now.as_second()],
            )
            .await?;
        tx.commit().await
    }

    /// A user's tokens: (id, name, created, last used, revoked).
    pub async fn api_tokens(&self, user_id: &str) -> Result<Vec<ApiToken>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .all(
                "SELECT id, name, created_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = $1 \
                 ORDER BY created_at DESC, id",
                args![user_id],
                |r| {
                    Ok(ApiToken {
                        id: r.text("id")?,
                        name: r.text("name")?,
                        created_at: ts(r.i64("created_at")?)?,
                        last_used_at: r.opt_i64("last_used_at")?.map(ts).transpose()?,
                        revoked: r.opt_i64("revoked_at")?.is_some(),
                    })
                },
            )
            .await
    }

    /// Revokes one of `user_id`'s tokens.
    pub async fn revoke_api_token(
        &self,
        user_id: &str,
        token_id: &str,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<()> {
        self.update_one_audited(
            "UPDATE api_tokens SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
            args![token_id, user_id, now.as_second()],
            &audit.clone().target("api_token", token_id, ""),
            now,
        )
        .await
    }
}
