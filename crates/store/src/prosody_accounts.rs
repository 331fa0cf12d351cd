//! The Prosody accounts of secure-domain Jitsi servers' hosts: what Dialogue wants each
//! server's Prosody to hold, what it last applied there, and the single-row lease that lets
//! one instance at a time reconcile the two.
//!
//! Passwords arrive sealed by the service; this crate never sees one in clear.

use jiff::Timestamp;

use crate::audit::{AuditEntry, insert_audit};
use crate::db::{Row, args, is_unique_violation};
use crate::{Result, Store, ts};

/// One host's account on one server's Prosody.
#[derive(Clone, PartialEq, Eq)]
pub struct ProsodyAccount {
    pub server_id: String,
    pub user_id: String,
    /// The JID's localpart (`node@<domain>`).
    pub node: String,
    pub password_enc: String,
    /// Bumped at each new password.
    pub generation: i64,
    /// The generation Prosody holds; `None` while the account is not created.
    pub applied: Option<i64>,
    /// `false`: to be deleted from Prosody (then the row).
    pub wanted: bool,
    pub attempts: i64,
    pub next_attempt_at: Timestamp,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl std::fmt::Debug for ProsodyAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProsodyAccount")
            .field("server_id", &self.server_id)
            .field("user_id", &self.user_id)
            .field("node", &self.node)
            .field("generation", &self.generation)
            .field("applied", &self.applied)
            .field("wanted", &self.wanted)
            .field("attempts", &self.attempts)
            .field("last_error", &self.last_error)
            .finish_non_exhaustive()
    }
}

impl ProsodyAccount {
    /// Whether Prosody holds what Dialogue wants.
    pub fn in_sync(&self) -> bool {
        self.wanted && self.applied == Some(self.generation)
    }
}

macro_rules! account_cols {
    () => {
        "server_id, user_id, node, password_enc, generation, applied, wanted, attempts, next_attempt_at, \
         last_error, created_at, updated_at"
    };
}

fn account_row(r: &dyn Row) -> Result<ProsodyAccount> {
    Ok(ProsodyAccount {
        server_id: r.text("server_id")?,
        user_id: r.text("user_id")?,
        node: r.text("node")?,
        password_enc: r.text("password_enc")?,
        generation: r.i64("generation")?,
        applied: r.opt_i64("applied")?,
        wanted: r.bool("wanted")?,
        attempts: r.i64("attempts")?,
        next_attempt_at: ts(r.i64("next_attempt_at")?)?,
        last_error: r.opt_text("last_error")?,
        created_at: ts(r.i64("created_at")?)?,
        updated_at: ts(r.i64("updated_at")?)?,
    })
}

fn audit_of(audit: &AuditEntry, action: &str, a: (&str, &str, &str), detail: serde_json::Value) -> AuditEntry {
    let (server_id, user_id, node) = a;
    audit
        .with_action(action)
        .target("prosody_account", user_id, node)
        .detail(serde_json::json!({ "server_id": server_id, "node": node, "detail": detail }))
}

impl Store {
    /// Every account row, of every server.
    pub async fn prosody_accounts(&self) -> Result<Vec<ProsodyAccount>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .all(
                concat!(
                    "SELECT ",
                    account_cols!(),
                    " FROM prosody_accounts ORDER BY server_id, node"
                ),
                &[],
                account_row,
            )
            .await
    }

    /// One user's account rows (one per secure-domain server they host on).
    pub async fn prosody_accounts_of_user(&self, user_id: &str) -> Result<Vec<ProsodyAccount>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .all(
                concat!(
                    "SELECT ",
                    account_cols!(),
                    " FROM prosody_accounts WHERE user_id = $1 ORDER BY server_id"
                ),
                args![user_id],
                account_row,
            )
            .await
    }

    pub async fn prosody_account(&self, server_id: &str, user_id: &str) -> Result<Option<ProsodyAccount>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .opt(
                concat!(
                    "SELECT ",
                    account_cols!(),
                    " FROM prosody_accounts WHERE server_id = $1 AND user_id = $2"
                ),
                args![server_id, user_id],
                account_row,
            )
            .await
    }

    /// A new account to create on Prosody. `Ok(false)` when `node` is already another
    /// user's on that server (try another) or the user already has a row.
    pub async fn add_prosody_account(
        &self,
        server_id: &str,
        user_id: &str,
        node: &str,
        password_enc: &str,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<bool> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let inserted = c
            .exec(
                "INSERT INTO prosody_accounts (server_id, user_id, node, password_enc, next_attempt_at, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $5, $5)",
                args![server_id, user_id, node, password_enc, now.as_second()],
            )
            .await;
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Ok(false),
            Err(e) => return Err(e),
        }
        let entry = audit_of(
            audit,
            "prosody_account.want",
            (server_id, user_id, node),
            serde_json::json!("new host"),
        );
        insert_audit(&mut c, &entry, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Marks an account wanted (again) or to be deleted; `false` when nothing changed.
    pub async fn want_prosody_account(
        &self,
        server_id: &str,
        user_id: &str,
        wanted: bool,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<bool> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let node = c
            .opt(
                "SELECT node FROM prosody_accounts WHERE server_id = $1 AND user_id = $2 AND wanted <> $3",
                args![server_id, user_id, wanted],
                |r| r.text("node"),
            )
            .await?;
        let Some(node) = node else {
            return Ok(false);
        };
        c.exec(
            "UPDATE prosody_accounts SET wanted = $3, attempts = 0, next_attempt_at = $4, last_error = NULL, \
             updated_at = $4 WHERE server_id = $1 AND user_id = $2",
            args![server_id, user_id, wanted, now.as_second()],
        )
        .await?;
        let action = if wanted {
            "prosody_account.want"
        } else {
            "prosody_account.unwant"
        };
        let detail = serde_json::json!(if wanted { "host again" } else { "no longer a host" });
        insert_audit(
            &mut c,
            &audit_of(audit, action, (server_id, user_id, &node), detail),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// A new password (sealed) for an account: the next generation, to apply at once.
    pub async fn new_prosody_password(
        &self,
        server_id: &str,
        user_id: &str,
        password_enc: &str,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<bool> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let node = c
            .opt(
                "SELECT node FROM prosody_accounts WHERE server_id = $1 AND user_id = $2 AND wanted",
                args![server_id, user_id],
                |r| r.text("node"),
            )
            .await?;
        let Some(node) = node else {
            return Ok(false);
        };
        c.exec(
            "UPDATE prosody_accounts SET password_enc = $3, generation = generation + 1, attempts = 0, \
             next_attempt_at = $4, last_error = NULL, updated_at = $4 WHERE server_id = $1 AND user_id = $2",
            args![server_id, user_id, password_enc, now.as_second()],
        )
        .await?;
        let entry = audit_of(
            audit,
            "prosody_account.new_password",
            (server_id, user_id, &node),
            serde_json::Value::Null,
        );
        insert_audit(&mut c, &entry, now).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Prosody now holds `generation` of the account (created when `applied` was `None`).
    pub async fn prosody_applied(
        &self,
        account: &ProsodyAccount,
        generation: i64,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        c.exec(
            "UPDATE prosody_accounts SET applied = $3, attempts = 0, last_error = NULL, updated_at = $4 \
             WHERE server_id = $1 AND user_id = $2",
            args![
                account.server_id.as_str(),
                account.user_id.as_str(),
                generation,
                now.as_second()
            ],
        )
        .await?;
        let action = if account.applied.is_none() {
            "prosody_account.create"
        } else {
            "prosody_account.password"
        };
        let key = (
            account.server_id.as_str(),
            account.user_id.as_str(),
            account.node.as_str(),
        );
        insert_audit(
            &mut c,
            &audit_of(audit, action, key, serde_json::json!("applied on Prosody")),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The account is gone from Prosody: its row goes too (unless it was wanted again meanwhile).
    pub async fn prosody_removed(&self, account: &ProsodyAccount, now: Timestamp, audit: &AuditEntry) -> Result<()> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let gone = c
            .exec(
                "DELETE FROM prosody_accounts WHERE server_id = $1 AND user_id = $2 AND NOT wanted",
                args![account.server_id.as_str(), account.user_id.as_str()],
            )
            .await?;
        if gone == 0 {
            // Wanted again meanwhile: the account is to be created anew.
            c.exec(
                "UPDATE prosody_accounts SET applied = NULL, updated_at = $3 WHERE server_id = $1 AND user_id = $2",
                args![account.server_id.as_str(), account.user_id.as_str(), now.as_second()],
            )
            .await?;
        }
        let key = (
            account.server_id.as_str(),
            account.user_id.as_str(),
            account.node.as_str(),
        );
        let entry = audit_of(
            audit,
            "prosody_account.delete",
            key,
            serde_json::json!("deleted on Prosody"),
        );
        insert_audit(&mut c, &entry, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A failed attempt: counted, retried at `retry_at`.
    pub async fn prosody_failed(
        &self,
        account: &ProsodyAccount,
        error: &str,
        retry_at: Timestamp,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.pool.write().await?;
        tx.conn()
            .exec(
                "UPDATE prosody_accounts SET attempts = attempts + 1, last_error = $3, next_attempt_at = $4, \
                 updated_at = $5 WHERE server_id = $1 AND user_id = $2",
                args![
                    account.server_id.as_str(),
                    account.user_id.as_str(),
                    error,
                    retry_at.as_second(),
                    now.as_second()
                ],
            )
            .await?;
        tx.commit().await
    }

    /// Another node for an account not created yet (its name was taken on Prosody by an
    /// account Dialogue did not create). `false` when that node is already used here too.
    pub async fn rename_prosody_account(&self, account: &ProsodyAccount, node: &str, now: Timestamp) -> Result<bool> {
        let mut tx = self.pool.write().await?;
        let renamed = tx
            .conn()
            .exec(
                "UPDATE prosody_accounts SET node = $3, updated_at = $4 WHERE server_id = $1 AND user_id = $2 \
                 AND applied IS NULL",
                args![
                    account.server_id.as_str(),
                    account.user_id.as_str(),
                    node,
                    now.as_second()
                ],
            )
            .await;
        match renamed {
            Ok(_) => {
                tx.commit().await?;
                Ok(true)
            }
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Forgets the rows of servers that are no longer of the secure-domain kind (Dialogue can
    /// no longer reach their Prosody as admin). Returns how many.
    pub async fn forget_prosody_accounts_of_token_servers(&self) -> Result<u64> {
        let mut tx = self.pool.write().await?;
        let n = tx
            .conn()
            .exec(
                "DELETE FROM prosody_accounts WHERE server_id IN \
                 (SELECT id FROM jitsi_servers WHERE kind <> 'secure-domain')",
                &[],
            )
            .await?;
        tx.commit().await?;
        Ok(n)
    }

    /// Takes (or renews) the reconciler's lease for `owner` until `until`; `false` while
    /// another instance holds it.
    pub async fn claim_prosody_lease(&self, owner: &str, now: Timestamp, until: Timestamp) -> Result<bool> {
        let mut tx = self.pool.write().await?;
        let n = tx
            .conn()
            .exec(
                "UPDATE prosody_reconciler SET lease_owner = $1, lease_until = $2 \
                 WHERE id = 1 AND (lease_until <= $3 OR lease_owner = $1)",
                args![owner, until.as_second(), now.as_second()],
            )
            .await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    /// Gives the lease back.
    pub async fn release_prosody_lease(&self, owner: &str) -> Result<()> {
        let mut tx = self.pool.write().await?;
        tx.conn()
            .exec(
                "UPDATE prosody_reconciler SET lease_owner = NULL, lease_until = 0 WHERE id = 1 AND lease_owner = $1",
                args![owner],
            )
            .await?;
        tx.commit().await
    }
}
