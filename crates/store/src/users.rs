//! Accounts.

use domain::{DisplayName, Email, Locale, Role};
use jiff::Timestamp;

use crate::audit::{AuditEntry, insert_audit};
use crate::db::{Conn, Row, args, is_unique_violation};
use crate::{Result, Store, StoreError, new_id, ts};

/// An account (admin, manager or trainer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub locale: Locale,
    pub time_zone: String,
    pub active: bool,
    /// Whether a local password is set (accounts from an identity provider may have none).
    pub has_password: bool,
    /// `local`, `proxy`, `oidc`, `ldap`: where the account logs in.
    pub auth_source: String,
    /// The identity provider's id for this person, when any.
    pub external_id: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A new account, from validated input.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub display_name: DisplayName,
    pub role: Role,
    pub locale: Locale,
    pub time_zone: String,
    /// An argon2id PHC string, or `None` (the person sets it through a one-time link).
    pub password_hash: Option<String>,
    pub auth_source: String,
    pub external_id: Option<String>,
}

/// What a person may change about an account (their own profile, or an admin's edit).
#[derive(Debug, Clone)]
pub struct ProfileUpdate {
    pub email: Email,
    pub display_name: DisplayName,
    pub locale: Locale,
    pub time_zone: String,
}

/// Which accounts to list.
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Only these roles (all when empty).
    pub roles: Vec<Role>,
    /// Include disabled accounts.
    pub include_inactive: bool,
}

macro_rules! user_cols {
    () => {
        "id, email, display_name, role, locale, time_zone, active, \
         password_hash IS NOT NULL AS has_password, auth_source, external_id, created_at, updated_at"
    };
}

pub(crate) fn user_row(r: &dyn Row) -> Result<User> {
    let role = r.text("role")?;
    let locale = r.text("locale")?;
    Ok(User {
        id: r.text("id")?,
        email: r.text("email")?,
        display_name: r.text("display_name")?,
        role: role
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("role {role:?}")))?,
        locale: locale
            .parse()
            .map_err(|_| StoreError::Corrupt(format!("locale {locale:?}")))?,
        time_zone: r.text("time_zone")?,
        active: r.bool("active")?,
        has_password: r.bool("has_password")?,
        auth_source: r.text("auth_source")?,
        external_id: r.opt_text("external_id")?,
        created_at: ts(r.i64("created_at")?)?,
        updated_at: ts(r.i64("updated_at")?)?,
    })
}

pub(crate) async fn user_by_id(c: &mut Conn<'_>, id: &str) -> Result<Option<User>> {
    c.opt(
        concat!("SELECT ", user_cols!(), " FROM users WHERE id = $1"),
        args![id],
        user_row,
    )
    .await
}

/// Refuses a change that would leave no active admin. On PostgreSQL the active admins' rows are
/// locked first, so two concurrent demotions cannot both pass the count.
async fn ensure_other_admin(c: &mut Conn<'_>, user: &User) -> Result<()> {
    if user.role != Role::Admin || !user.active {
        return Ok(());
    }
    if c.is_postgres() {
        c.all(
            "SELECT id FROM users WHERE role = 'admin' AND active ORDER BY id FOR UPDATE",
            &[],
            |r| r.text("id"),
        )
        .await?;
    }
    let admins = c
        .count("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND active", &[])
        .await?;
    if admins <= 1 {
        Err(StoreError::LastAdmin)
    } else {
        Ok(())
    }
}

impl Store {
    /// Creates an account and writes `audit` in the same transaction.
    pub async fn create_user(&self, new: &NewUser, now: Timestamp, audit: &AuditEntry) -> Result<User> {
        let mut tx = self.pool.write().await?;
        let user = insert_user(&mut tx.conn(), new, now).await?;
        insert_audit(
            &mut tx.conn(),
            &audit.clone().target("user", &user.id, &user.email),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    pub async fn user(&self, id: &str) -> Result<Option<User>> {
        user_by_id(&mut self.pool.read().await?.conn(), id).await
    }

    /// Looks an account up by email, case-insensitively.
    pub async fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .opt(
                concat!("SELECT ", user_cols!(), " FROM users WHERE email_norm = $1"),
                args![email.trim().to_lowercase().as_str()],
                user_row,
            )
            .await
    }

    /// The account and its password hash, for a login attempt.
    pub async fn login_credentials(&self, email: &str) -> Result<Option<(User, Option<String>)>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .opt(
                concat!(
                    "SELECT ",
                    user_cols!(),
                    ", password_hash FROM users WHERE email_norm = $1"
                ),
                args![email.trim().to_lowercase().as_str()],
                |r| Ok((user_row(r)?, r.opt_text("password_hash")?)),
            )
            .await
    }

    /// The account an identity provider knows as `external_id`.
    pub async fn user_by_external_id(&self, source: &str, external_id: &str) -> Result<Option<User>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .opt(
                concat!(
                    "SELECT ",
                    user_cols!(),
                    " FROM users WHERE auth_source = $1 AND external_id = $2"
                ),
                args![source, external_id],
                user_row,
            )
            .await
    }

    /// Accounts, by name.
    pub async fn list_users(&self, filter: &UserFilter) -> Result<Vec<User>> {
        let mut c = self.pool.read().await?;
        let users = c
            .conn()
            .all(
                concat!(
                    "SELECT ",
                    user_cols!(),
                    " FROM users WHERE active OR $1 ORDER BY display_name, email"
                ),
                args![filter.include_inactive],
                user_row,
            )
            .await?;
        Ok(users
            .into_iter()
            .filter(|u| filter.roles.is_empty() || filter.roles.contains(&u.role))
            .collect())
    }

    /// How many active admins exist.
    pub async fn count_active_admins(&self) -> Result<i64> {
        let mut c = self.pool.read().await?;
        c.conn()
            .count("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND active", &[])
            .await
    }

    /// Changes name, email, language and time zone.
    pub async fn update_profile(
        &self,
        id: &str,
        update: &ProfileUpdate,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<User> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let before = user_by_id(&mut c, id).await?.ok_or(StoreError::NotFound)?;
        let changed = c
            .exec(
                "UPDATE users SET email = $2, email_norm = $3, display_name = $4, locale = $5, time_zone = $6, \
                 updated_at = $7 WHERE id = $1",
                args![
                    id,
                    update.email.as_str(),
                    update.email.normalized().as_str(),
                    update.display_name.as_str(),
                    update.locale.as_str(),
                    update.time_zone.as_str(),
                    now.as_second(),
                ],
            )
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::EmailTaken
                } else {
                    e
                }
            })?;
        if changed == 0 {
            return Err(StoreError::NotFound);
        }
        let user = user_by_id(&mut c, id).await?.ok_or(StoreError::NotFound)?;
        if user.email != before.email {
            // A link may have been sent to the old address.
            revoke_password_links(&mut c, id).await?;
        }
        let mut detail = serde_json::Map::new();
        for (field, old, new) in [
            ("email", &before.email, &user.email),
            ("display_name", &before.display_name, &user.display_name),
            ("time_zone", &before.time_zone, &user.time_zone),
        ] {
            if old != new {
                detail.insert(field.into(), serde_json::json!({"from": old, "to": new}));
            }
        }
        if before.locale != user.locale {
            detail.insert(
                "locale".into(),
                serde_json::json!({"from": before.locale.as_str(), "to": user.locale.as_str()}),
            );
        }
        let entry = audit
            .clone()
            .target("user", &user.id, &user.email)
            .detail(detail.into());
        insert_audit(&mut c, &entry, now).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Changes an account's role. Refuses to demote the last active admin.
    pub async fn set_role(&self, id: &str, role: Role, now: Timestamp, audit: &AuditEntry) -> Result<User> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let before = user_by_id(&mut c, id).await?.ok_or(StoreError::NotFound)?;
        if before.role == role {
            return Ok(before);
        }
        if role != Role::Admin {
            ensure_other_admin(&mut c, &before).await?;
        }
        c.exec(
            "UPDATE users SET role = $2, updated_at = $3 WHERE id = $1",
            args![id, role.as_str(), now.as_second()],
        )
        .await?;
        revoke_password_links(&mut c, id).await?;
        let entry = audit
            .clone()
            .target("user", id, &before.email)
            .detail(serde_json::json!({"from": before.role.as_str(), "to": role.as_str()}));
        insert_audit(&mut c, &entry, now).await?;
        let user = user_by_id(&mut c, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(user)
    }

    /// Disables or re-enables an account. Disabling ends its login sessions and refuses the last
    /// active admin.
    pub async fn set_active(&self, id: &str, active: bool, now: Timestamp, audit: &AuditEntry) -> Result<User> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let before = user_by_id(&mut c, id).await?.ok_or(StoreError::NotFound)?;
        if before.active == active {
            return Ok(before);
        }
        if !active {
            ensure_other_admin(&mut c, &before).await?;
            c.exec("DELETE FROM login_sessions WHERE user_id = $1", args![id])
                .await?;
            revoke_password_links(&mut c, id).await?;
        }
        c.exec(
            "UPDATE users SET active = $2, updated_at = $3 WHERE id = $1",
            args![id, active, now.as_second()],
        )
        .await?;
        insert_audit(&mut c, &audit.clone().target("user", id, &before.email), now).await?;
        let user = user_by_id(&mut c, id).await?.ok_or(StoreError::NotFound)?;
        tx.commit().await?;
        Ok(user)
    }

    /// Sets a new password hash, ends the account's other login sessions (all of them when
    /// `keep_session` is `None`) and revokes its API tokens.
    pub async fn set_password_hash(
        &self,
        id: &str,
        hash: &str,
        keep_session: Option<&str>,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        let user = user_by_id(&mut c, id).await?.ok_or(StoreError::NotFound)?;
        set_password(&mut c, id, hash, keep_session, now).await?;
        insert_audit(&mut c, &audit.clone().target("user", id, &user.email), now).await?;
        tx.commit().await
    }
}

pub(crate) async fn insert_user(c: &mut Conn<'_>, new: &NewUser, now: Timestamp) -> Result<User> {
    let id = new_id();
    let now = now.as_second();
    c.exec(
        "INSERT INTO users (id, email, email_norm, display_name, role, locale, time_zone, active, \
         password_hash, auth_source, external_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
        args![
            id.as_str(),
            new.email.as_str(),
            new.email.normalized().as_str(),
            new.display_name.as_str(),
            new.role.as_str(),
            new.locale.as_str(),
            new.time_zone.as_str(),
            true,
            new.password_hash.as_deref(),
            new.auth_source.as_str(),
            new.external_id.as_deref(),
            now,
        ],
    )
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::EmailTaken
        } else {
            e
        }
    })?;
    user_by_id(c, &id).await?.ok_or(StoreError::NotFound)
}

pub(crate) async fn set_password(
    c: &mut Conn<'_>,
    id: &str,
    hash: &str,
    keep_session: Option<&str>,
    now: Timestamp,
) -> Result<()> {
    revoke_password_links(c, id).await?;
    c.exec(
        "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1",
        args![id, hash, now.as_second()],
    )
    .await?;
    c.exec(
        "DELETE FROM login_sessions WHERE user_id = $1 AND id_hash <> COALESCE($2, '')",
        args![id, keep_session],
    )
    .await?;
    // API tokens are credentials too: one made by whoever knew the old password must not
    // outlive it.
    c.exec(
        "UPDATE api_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
        args![id, now.as_second()],
    )
    .await?;
    Ok(())
}

/// Makes every unused set-password link of an account useless. A link was issued under the
/// issuer's rights over the account as it was then (a manager may issue one for a trainer):
/// once the account's role, email, activity or password changes, or a newer link is issued,
/// the old link must not let anyone in.
pub(crate) async fn revoke_password_links(c: &mut Conn<'_>, user_id: &str) -> Result<u64> {
    c.exec(
        "DELETE FROM one_time_tokens WHERE user_id = $1 AND purpose = 'set_password' AND used_at IS NULL",
        args![user_id],
    )
    .await
}

impl Store {
    /// Records that an identity provider knows this account as `external_id` (first login
    /// through it of an account that already existed). Refused with [`StoreError::EmailTaken`]
    /// when the account has a local password or another identity.
    pub async fn link_external_id(
        &self,
        id: &str,
        source: &str,
        external_id: &str,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<User> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        // Only an account nobody logs in to yet is handed to an identity provider: one with a
        // local password, or already linked, is someone's (who might have typed any address
        // into their profile), and linking it would give it the newcomer's identity and roles.
        let linked = c
            .exec(
                "UPDATE users SET auth_source = $2, external_id = $3, updated_at = $4 \
                 WHERE id = $1 AND password_hash IS NULL AND external_id IS NULL AND auth_source = 'local'",
                args![id, source, external_id, now.as_second()],
            )
            .await?;
        if linked == 0 {
            return Err(StoreError::EmailTaken);
        }
        // Set-password links of the account die with the link: it logs in through the provider.
        revoke_password_links(&mut c, id).await?;
        let user = user_by_id(&mut c, id).await?.ok_or(StoreError::NotFound)?;
        insert_audit(&mut c, &audit.clone().target("user", id, &user.email), now).await?;
        tx.commit().await?;
        Ok(user)
    }
}
