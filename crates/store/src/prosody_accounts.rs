//! The Prosody accounts of secure-domain Jitsi servers' hosts: what Dialogue wants each
//! server's Prosody to hold, what it last applied there, and the single-row lease that lets
//! one instance at a time reconcile the two.
//!
//! Passwords arrive sealed by the service; this crate never sees one in clear.

use jiff::Timestamp;

use crate::audit::{AuditEntry, insert_audit};
use crate::db::{Conn, Row, args, is_unique_violation};
use crate::jitsi_servers::JitsiServer;
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
    /// Prosody was asked to create the account and the answer is not recorded yet: an
    /// account of this name found there is Dialogue's (after a crash), not someone else's.
    pub creating: bool,
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
            .field("creating", &self.creating)
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
         last_error, created_at, updated_at, creating"
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
        creating: r.bool("creating")?,
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
            "UPDATE prosody_accounts SET applied = $3, creating = $5, attempts = 0, last_error = NULL, \
             updated_at = $4 WHERE server_id = $1 AND user_id = $2",
            args![
                account.server_id.as_str(),
                account.user_id.as_str(),
                generation,
                now.as_second(),
                false
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

    /// Prosody is about to be asked to create the account: recorded first, so that after a
    /// crash before [`Store::prosody_applied`] the account found there is adopted, not
    /// mistaken for someone else's.
    pub async fn prosody_creating(&self, account: &ProsodyAccount, now: Timestamp) -> Result<()> {
        let mut tx = self.pool.write().await?;
        tx.conn()
            .exec(
                "UPDATE prosody_accounts SET creating = $3, updated_at = $4 WHERE server_id = $1 AND user_id = $2 \
                 AND node = $5",
                args![
                    account.server_id.as_str(),
                    account.user_id.as_str(),
                    true,
                    now.as_second(),
                    account.node.as_str()
                ],
            )
            .await?;
        tx.commit().await
    }

    /// The accounts left to delete on a Prosody Dialogue no longer manages.
    pub async fn prosody_orphans(&self) -> Result<Vec<ProsodyOrphan>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .all(
                "SELECT server_id, node, server_name, domain, xmpp_host, xmpp_port, admin_jid, admin_password_enc, \
                 xmpp_ca_pem, attempts, next_attempt_at, last_error FROM prosody_orphans ORDER BY server_id, node",
                &[],
                orphan_row,
            )
            .await
    }

    /// The orphan account is gone from Prosody: its row goes.
    pub async fn prosody_orphan_removed(
        &self,
        orphan: &ProsodyOrphan,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        c.exec(
            "DELETE FROM prosody_orphans WHERE server_id = $1 AND node = $2",
            args![orphan.server_id.as_str(), orphan.node.as_str()],
        )
        .await?;
        let entry = audit
            .with_action("prosody_account.delete")
            .target("prosody_account", &orphan.server_id, &orphan.node)
            .detail(serde_json::json!({
                "server_id": orphan.server_id,
                "server": orphan.server_name,
                "node": orphan.node,
                "detail": "deleted on Prosody (server no longer managed)",
            }));
        insert_audit(&mut c, &entry, now).await?;
        tx.commit().await
    }

    /// A failed cleanup attempt: counted, retried at `retry_at`.
    pub async fn prosody_orphan_failed(&self, orphan: &ProsodyOrphan, error: &str, retry_at: Timestamp) -> Result<()> {
        let mut tx = self.pool.write().await?;
        tx.conn()
            .exec(
                "UPDATE prosody_orphans SET attempts = attempts + 1, last_error = $3, next_attempt_at = $4 \
                 WHERE server_id = $1 AND node = $2",
                args![
                    orphan.server_id.as_str(),
                    orphan.node.as_str(),
                    error,
                    retry_at.as_second()
                ],
            )
            .await?;
        tx.commit().await
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
                "UPDATE prosody_accounts SET node = $3, creating = $5, updated_at = $4 WHERE server_id = $1 \
                 AND user_id = $2 AND applied IS NULL",
                args![
                    account.server_id.as_str(),
                    account.user_id.as_str(),
                    node,
                    now.as_second(),
                    false
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

/// An account Dialogue created on a Prosody it no longer manages (its server was deleted or
/// became another kind), with the admin login of that Prosody: to delete there.
#[derive(Clone, PartialEq, Eq)]
pub struct ProsodyOrphan {
    /// The server it was made for (which may be gone); binds the sealed admin password.
    pub server_id: String,
    pub node: String,
    pub server_name: String,
    pub domain: String,
    pub xmpp_host: String,
    pub xmpp_port: u16,
    pub admin_jid: String,
    pub admin_password_enc: String,
    pub ca_pem: Option<String>,
    pub attempts: i64,
    pub next_attempt_at: Timestamp,
    pub last_error: Option<String>,
}

impl std::fmt::Debug for ProsodyOrphan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProsodyOrphan")
            .field("server_id", &self.server_id)
            .field("node", &self.node)
            .field("xmpp_host", &self.xmpp_host)
            .field("xmpp_port", &self.xmpp_port)
            .field("admin_jid", &self.admin_jid)
            .field("attempts", &self.attempts)
            .field("last_error", &self.last_error)
            .finish_non_exhaustive()
    }
}

fn orphan_row(r: &dyn Row) -> Result<ProsodyOrphan> {
    let port = r.i64("xmpp_port")?;
    Ok(ProsodyOrphan {
        server_id: r.text("server_id")?,
        node: r.text("node")?,
        server_name: r.text("server_name")?,
        domain: r.text("domain")?,
        xmpp_host: r.text("xmpp_host")?,
        xmpp_port: u16::try_from(port).map_err(|_| crate::StoreError::Corrupt(format!("xmpp port {port}")))?,
        admin_jid: r.text("admin_jid")?,
        admin_password_enc: r.text("admin_password_enc")?,
        ca_pem: r.opt_text("xmpp_ca_pem")?,
        attempts: r.i64("attempts")?,
        next_attempt_at: ts(r.i64("next_attempt_at")?)?,
        last_error: r.opt_text("last_error")?,
    })
}

/// Within the transaction that deletes `server` or changes its kind or XMPP domain: the
/// accounts Dialogue created (or may have created) on its Prosody become orphans, kept with
/// the server's current admin login so that the reconciler deletes them there; the server's
/// account rows go.
pub(crate) async fn orphan_accounts(c: &mut Conn<'_>, server: &JitsiServer, now: Timestamp) -> Result<()> {
    if let Some(x) = &server.xmpp {
        c.exec(
            "INSERT INTO prosody_orphans (server_id, node, server_name, domain, xmpp_host, xmpp_port, admin_jid, \
             admin_password_enc, xmpp_ca_pem, next_attempt_at, created_at) \
             SELECT server_id, node, $2, $3, $4, $5, $6, $7, $8, $9, $9 FROM prosody_accounts \
             WHERE server_id = $1 AND (applied IS NOT NULL OR creating) \
             ON CONFLICT (server_id, node) DO NOTHING",
            args![
                server.id.as_str(),
                server.name.as_str(),
                server.domain.as_str(),
                x.host.as_str(),
                i64::from(x.port),
                x.admin_jid.as_str(),
                x.admin_password_enc.as_str(),
                x.ca_pem.as_deref(),
                now.as_second()
            ],
        )
        .await?;
    }
    c.exec(
        "DELETE FROM prosody_accounts WHERE server_id = $1",
        args![server.id.as_str()],
    )
    .await?;
    Ok(())
}
