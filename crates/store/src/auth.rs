//! Login sessions, one-time links and login throttling. Secrets (session ids, link keys) are
//! stored only as SHA-256 hashes computed by the caller: a copy of the database opens nothing.

use jiff::Timestamp;

use crate::audit::{AuditEntry, insert_audit};
use crate::db::{Row, args};
use crate::users::{NewUser, User, insert_user, set_password, user_by_id, user_row};
use crate::{Backend, Result, Store, StoreError, ts};

/// A browser's login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginSession {
    pub id_hash: String,
    pub user_id: String,
    /// How the person logged in: `password`, `proxy`, `oidc`, `ldap`.
    pub via: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
}

/// What a one-time link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPurpose {
    /// Creates the first admin.
    Setup,
    /// Lets an account set its password.
    SetPassword,
}

impl TokenPurpose {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            TokenPurpose::Setup => "setup",
            TokenPurpose::SetPassword => "set_password",
        }
    }
}

/// A live one-time link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTimeToken {
    pub user_id: Option<String>,
    pub expires_at: Timestamp,
}

/// Failed-login throttling for one kind of key (an account, an address).
#[derive(Debug, Clone, Copy)]
pub struct Throttle {
    /// Failures allowed within `window_secs` before a lock.
    pub max_failures: i64,
    pub window_secs: i64,
    /// The first lock's length; each further failure while over the limit doubles it, up to an hour.
    pub lockout_secs: i64,
}

/// The count and window after one more failure: a quiet window (and no lock in force) starts
/// the count again.
fn next_failure(failures: i64, start: i64, locked: i64, now_s: i64, rule: &Throttle) -> (i64, i64) {
    if now_s - start > rule.window_secs && locked <= now_s {
        (1, now_s)
    } else {
        (failures + 1, start)
    }
}

/// When a key with `failures` is locked until (0: not locked): from the limit on, the lock
/// doubles with each further failure, up to an hour.
fn lock_end(failures: i64, now_s: i64, rule: &Throttle) -> i64 {
    if failures >= rule.max_failures {
        let doublings = (failures - rule.max_failures).clamp(0, 12) as u32;
        now_s + (rule.lockout_secs.saturating_mul(1 << doublings)).min(3600)
    } else {
        0
    }
}

fn session_row(r: &dyn Row) -> Result<LoginSession> {
    Ok(LoginSession {
        id_hash: r.text("s_id_hash")?,
        user_id: r.text("s_user_id")?,
        via: r.text("s_via")?,
        created_at: ts(r.i64("s_created_at")?)?,
        last_seen_at: ts(r.i64("s_last_seen_at")?)?,
        expires_at: ts(r.i64("s_expires_at")?)?,
    })
}

impl Store {
    /// Starts a login session (the caller has rotated the id) and audits the login.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_login_session(
        &self,
        id_hash: &str,
        user_id: &str,
        via: &str,
        now: Timestamp,
        expires_at: Timestamp,
        user_agent: Option<&str>,
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        c.exec(
            "INSERT INTO login_sessions (id_hash, user_id, via, created_at, last_seen_at, expires_at, ip, user_agent) \
             VALUES ($1, $2, $3, $4, $4, $5, $6, $7)",
            args![
                id_hash,
                user_id,
                via,
                now.as_second(),
                expires_at.as_second(),
                audit.ip.as_deref(),
                user_agent,
            ],
        )
        .await?;
        insert_audit(&mut c, audit, now).await?;
        tx.commit().await
    }

    /// The live session with this id hash and its (active) account: not past its absolute expiry,
    /// and seen within `idle_secs`.
    pub async fn session_user(
        &self,
        id_hash: &str,
        now: Timestamp,
        idle_secs: i64,
    ) -> Result<Option<(LoginSession, User)>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .opt(
                "SELECT s.id_hash AS s_id_hash, s.user_id AS s_user_id, s.via AS s_via, s.created_at AS s_created_at, \
                 s.last_seen_at AS s_last_seen_at, s.expires_at AS s_expires_at, \
                 u.id, u.email, u.display_name, u.role, u.locale, u.time_zone, u.active, \
                 u.password_hash IS NOT NULL AS has_password, u.auth_source, u.external_id, u.created_at, u.updated_at \
                 FROM login_sessions s JOIN users u ON u.id = s.user_id \
                 WHERE s.id_hash = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 AND u.active",
                args![id_hash, now.as_second(), now.as_second() - idle_secs],
                |r| Ok((session_row(r)?, user_row(r)?)),
            )
            .await
    }

    /// Records activity on a session (callers do it at most once a minute).
    pub async fn touch_session(&self, id_hash: &str, now: Timestamp) -> Result<()> {
        let mut tx = self.pool.write().await?;
        tx.conn()
            .exec(
                "UPDATE login_sessions SET last_seen_at = $2 WHERE id_hash = $1",
                args![id_hash, now.as_second()],
            )
            .await?;
        tx.commit().await
    }

    /// Ends a session (logout), auditing it when an entry is given.
    pub async fn delete_session(&self, id_hash: &str, now: Timestamp, audit: Option<&AuditEntry>) -> Result<()> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        c.exec("DELETE FROM login_sessions WHERE id_hash = $1", args![id_hash])
            .await?;
        if let Some(entry) = audit {
            insert_audit(&mut c, entry, now).await?;
        }
        tx.commit().await
    }

    /// Deletes sessions past their absolute expiry or idle for longer than `idle_secs`, and
    /// one-time links and throttle rows that no longer matter. Returns the sessions removed.
    pub async fn purge_expired(&self, now: Timestamp, idle_secs: i64) -> Result<u64> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let removed = c
            .exec(
                "DELETE FROM login_sessions WHERE expires_at <= $1 OR last_seen_at <= $2",
                args![now.as_second(), now.as_second() - idle_secs],
            )
            .await?;
        c.exec(
            "DELETE FROM one_time_tokens WHERE expires_at <= $1 OR used_at IS NOT NULL",
            args![now.as_second() - 86_400],
        )
        .await?;
        c.exec(
            "DELETE FROM login_throttle WHERE locked_until <= $1 AND window_start <= $2",
            args![now.as_second(), now.as_second() - 86_400],
        )
        .await?;
        tx.commit().await?;
        Ok(removed)
    }

    /// Stores a one-time link (its hash).
    pub async fn create_one_time_token(
        &self,
        token_hash: &str,
        purpose: TokenPurpose,
        user_id: Option<&str>,
        now: Timestamp,
        expires_at: Timestamp,
        audit: Option<&AuditEntry>,
    ) -> Result<()> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        if let (TokenPurpose::SetPassword, Some(user_id)) = (purpose, user_id) {
            // The newest link replaces the ones before it.
            crate::users::revoke_password_links(&mut c, user_id).await?;
        }
        c.exec(
            "INSERT INTO one_time_tokens (token_hash, purpose, user_id, created_by, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            args![
                token_hash,
                purpose.as_str(),
                user_id,
                audit.and_then(|a| a.actor_id.as_deref()),
                now.as_second(),
                expires_at.as_second(),
            ],
        )
        .await?;
        if let Some(entry) = audit {
            insert_audit(&mut c, entry, now).await?;
        }
        tx.commit().await
    }

    /// The unused, unexpired link with this hash, without using it (to show its form).
    pub async fn one_time_token(
        &self,
        token_hash: &str,
        purpose: TokenPurpose,
        now: Timestamp,
    ) -> Result<Option<OneTimeToken>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .opt(
                "SELECT user_id, expires_at FROM one_time_tokens \
                 WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
                args![token_hash, purpose.as_str(), now.as_second()],
                |r| {
                    Ok(OneTimeToken {
                        user_id: r.opt_text("user_id")?,
                        expires_at: ts(r.i64("expires_at")?)?,
                    })
                },
            )
            .await
    }

    /// Uses a setup link: creates the first admin, in one transaction with marking the link used.
    /// `NotFound` when the link is unknown, used or expired, or when an active admin exists.
    pub async fn complete_setup(
        &self,
        token_hash: &str,
        new: &NewUser,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<User> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let used = c
            .exec(
                "UPDATE one_time_tokens SET used_at = $3 WHERE token_hash = $1 AND purpose = $2 \
                 AND used_at IS NULL AND expires_at > $3",
                args![token_hash, TokenPurpose::Setup.as_str(), now.as_second()],
            )
            .await?;
        let admins = c
            .count("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND active", &[])
            .await?;
        if used == 0 || admins > 0 {
            return Err(StoreError::NotFound);
        }
        let user = insert_user(&mut c, new, now).await?;
        insert_audit(&mut c, &audit.clone().target("user", &user.id, &user.email), now).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Uses a set-password link: sets the hash and ends the account's sessions, in one transaction.
    pub async fn complete_password_link(
        &self,
        token_hash: &str,
        hash: &str,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<User> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let user_id = c
            .opt(
                "UPDATE one_time_tokens SET used_at = $3 WHERE token_hash = $1 AND purpose = $2 \
                 AND used_at IS NULL AND expires_at > $3 RETURNING user_id",
                args![token_hash, TokenPurpose::SetPassword.as_str(), now.as_second()],
                |r| r.opt_text("user_id"),
            )
            .await?
            .flatten()
            .ok_or(StoreError::NotFound)?;
        let user = user_by_id(&mut c, &user_id).await?.ok_or(StoreError::NotFound)?;
        if !user.active {
            return Err(StoreError::NotFound);
        }
        set_password(&mut c, &user_id, hash, None, now).await?;
        insert_audit(&mut c, &audit.clone().target("user", &user.id, &user.email), now).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// The latest lock among `keys` that is still in force, if any.
    pub async fn throttled_until(&self, keys: &[&str], now: Timestamp) -> Result<Option<Timestamp>> {
        let mut c = self.pool.read().await?;
        let mut latest: Option<i64> = None;
        for key in keys {
            let until = c
                .conn()
                .opt(
                    "SELECT locked_until FROM login_throttle WHERE key = $1 AND locked_until > $2",
                    args![*key, now.as_second()],
                    |r| r.i64("locked_until"),
                )
                .await?;
            latest = latest.max(until);
        }
        latest.map(ts).transpose()
    }

    /// Counts a failed login against `key`; returns the lock's end when this failure locks it.
    pub async fn record_login_failure(&self, key: &str, now: Timestamp, rule: &Throttle) -> Result<Option<Timestamp>> {
        let now_s = now.as_second();
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let current = c
            .opt(
                "SELECT failures, window_start, locked_until FROM login_throttle WHERE key = $1",
                args![key],
                |r| Ok((r.i64("failures")?, r.i64("window_start")?, r.i64("locked_until")?)),
            )
            .await?;
        let (failures, window_start) = match current {
            Some((failures, start, locked)) => next_failure(failures, start, locked, now_s, rule),
            None => (1, now_s),
        };
        let locked_until = lock_end(failures, now_s, rule);
        c.exec(
            "INSERT INTO login_throttle (key, failures, window_start, locked_until) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (key) DO UPDATE SET failures = $2, window_start = $3, locked_until = $4",
            args![key, failures, window_start, locked_until],
        )
        .await?;
        tx.commit().await?;
        if locked_until > 0 {
            Ok(Some(ts(locked_until)?))
        } else {
            Ok(None)
        }
    }

    /// Opens a login attempt, atomically: if the account's key or the address's key is locked,
    /// nothing changes and the latest lock's end is returned; otherwise the account is counted
    /// a failure *before* its password is checked, in the transaction that checked the locks.
    /// So parallel guesses at one account cannot all pass a check made before any of them
    /// failed: at most `max_failures` of them are ever verified. The address is counted after
    /// the check ([`Store::record_login_failure`] on a failure): many people behind one office
    /// address logging in at the start of a class must not lock each other out.
    /// A success calls [`Store::login_succeeded`], an undecided attempt
    /// [`Store::abandon_login_attempt`].
    pub async fn begin_login_attempt(
        &self,
        account: (&str, &Throttle),
        address_key: &str,
        now: Timestamp,
    ) -> Result<Option<Timestamp>> {
        let now_s = now.as_second();
        let (account_key, rule) = account;
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        // SQLite's writer is already alone (BEGIN IMMEDIATE behind the process's writer lock);
        // on PostgreSQL the account's row is created if need be and locked until the commit,
        // so two first attempts serialize too.
        c.exec(
            "INSERT INTO login_throttle (key, failures, window_start, locked_until) VALUES ($1, 0, $2, 0) \
             ON CONFLICT (key) DO NOTHING",
            args![account_key, now_s],
        )
        .await?;
        let sql = if self.backend() == Backend::Postgres {
            "SELECT failures, window_start, locked_until FROM login_throttle WHERE key = $1 FOR UPDATE"
        } else {
            "SELECT failures, window_start, locked_until FROM login_throttle WHERE key = $1"
        };
        let (failures, start, locked) = c
            .opt(sql, args![account_key], |r| {
                Ok((r.i64("failures")?, r.i64("window_start")?, r.i64("locked_until")?))
            })
            .await?
            .unwrap_or((0, now_s, 0));
        let address_lock = c
            .opt(
                "SELECT locked_until FROM login_throttle WHERE key = $1",
                args![address_key],
                |r| r.i64("locked_until"),
            )
            .await?
            .unwrap_or(0);
        let latest_lock = locked.max(address_lock);
        if latest_lock > now_s {
            drop(tx); // rolls back: a locked key changes nothing
            return Ok(Some(ts(latest_lock)?));
        }
        let (failures, window_start) = next_failure(failures, start, locked, now_s, rule);
        c.exec(
            "UPDATE login_throttle SET failures = $2, window_start = $3, locked_until = $4 WHERE key = $1",
            args![account_key, failures, window_start, lock_end(failures, now_s, rule)],
        )
        .await?;
        tx.commit().await?;
        Ok(None)
    }

    /// A login attempt opened by [`Store::begin_login_attempt`] succeeded: the account's
    /// failures are forgotten.
    pub async fn login_succeeded(&self, account_key: &str) -> Result<()> {
        self.clear_login_failures(account_key).await
    }

    /// A login attempt opened by [`Store::begin_login_attempt`] was not decided (the server
    /// was too busy to check the password): the account's provisional failure is taken back,
    /// with any lock it set (the attempt began only because no lock was in force).
    pub async fn abandon_login_attempt(&self, account: (&str, &Throttle)) -> Result<()> {
        let (key, _) = account;
        let mut tx = self.pool.write().await?;
        tx.conn()
            .exec(
                "UPDATE login_throttle SET failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END, \
                 locked_until = 0 WHERE key = $1",
                args![key],
            )
            .await?;
        tx.commit().await
    }

    /// Forgets the failures of `key` (after a successful login).
    pub async fn clear_login_failures(&self, key: &str) -> Result<()> {
        let mut tx = self.pool.write().await?;
        tx.conn()
            .exec("DELETE FROM login_throttle WHERE key = $1", args![key])
            .await?;
        tx.commit().await
    }
}
