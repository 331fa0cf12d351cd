//! Login through a trusted reverse proxy's identity headers (how Apache's CAS, Shibboleth, SAML
//! or LDAP modules, or nginx `auth_basic`, hand a person over). The headers are believed only
//! from the configured proxy addresses; the context middleware refuses them from anywhere else.

use axum::http::{HeaderMap, HeaderValue};
use domain::{DisplayName, Email, Role};
use store::{NewUser, StoreError};

use crate::context::{Authed, Ctx, start_session};
use crate::error::{AppError, Message};
use crate::state::AppState;
use service::ProxyAuthConfig;

pub const SOURCE: &str = "proxy";

/// Who the proxy says is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub external_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub groups: Vec<String>,
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The identity in the request's headers, if the user header is present.
pub fn identity(config: &ProxyAuthConfig, headers: &HeaderMap) -> Option<Identity> {
    let external_id = header(headers, &config.user_header)?;
    let groups = config
        .groups_header
        .as_deref()
        .and_then(|name| header(headers, name))
        .map(|v| {
            v.split([',', ';', '|'])
                .map(str::trim)
                .filter(|g| !g.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Some(Identity {
        email: config.email_header.as_deref().and_then(|name| header(headers, name)),
        name: config.name_header.as_deref().and_then(|name| header(headers, name)),
        external_id,
        groups,
    })
}

/// The highest role any of `groups` maps to.
pub fn mapped_role(config: &ProxyAuthConfig, groups: &[String]) -> Option<Role> {
    config
        .role_map
        .iter()
        .filter(|(group, _)| groups.iter().any(|g| g == group))
        .map(|(_, role)| *role)
        .max()
}

/// Logs the identity in: reuses the browser's session when it is already theirs, otherwise
/// finds or creates the account (linking an existing account by email), applies the group
/// mapping, and starts a session.
pub async fn login(
    app: &AppState,
    ctx: &Ctx,
    config: &ProxyAuthConfig,
    identity: Identity,
    session: Option<Authed>,
    set_cookies: &mut Vec<HeaderValue>,
) -> Result<Authed, AppError> {
    if let Some(current) = &session
        && current.user.auth_source == SOURCE
        && current.user.external_id.as_deref() == Some(identity.external_id.as_str())
    {
        return Ok(current.clone());
    }
    let store = app.store();
    let ip = ctx.ip.to_string();
    let system = |action: &str| store::AuditEntry::new(action, None, "proxy login", Some(&ip));
    let email = identity
        .email
        .as_deref()
        .or(Some(identity.external_id.as_str()))
        .and_then(|e| Email::parse(e).ok());
    let mapped = mapped_role(config, &identity.groups);

    let mut user = match store.user_by_external_id(SOURCE, &identity.external_id).await? {
        Some(user) => user,
        None => {
            let Some(email) = email else {
                return Err(AppError::invalid(
                    Message::new("proxy.no_email").arg("user", &identity.external_id),
                ));
            };
            match store.user_by_email(email.as_str()).await? {
                Some(existing) => match store
                    .link_external_id(
                        &existing.id,
                        SOURCE,
                        &identity.external_id,
                        app.now(),
                        &system("user.link_identity"),
                    )
                    .await
                {
                    Ok(user) => user,
                    // Two first requests at once: the other one linked it, to this identity.
                    Err(StoreError::EmailTaken)
                        if let Some(linked) = store.user_by_external_id(SOURCE, &identity.external_id).await? =>
                    {
                        linked
                    }
                    // The address belongs to an account someone already logs in to (with a
                    // password, or another identity): an admin decides, not the first login.
                    Err(StoreError::EmailTaken) => {
                        tracing::warn!(
                            external_id = %identity.external_id,
                            account = %existing.id,
                            "a proxy identity names the address of an account with its own login: not linked"
                        );
                        return Err(AppError::conflict(
                            Message::new("proxy.account_exists").arg("email", &existing.email),
                        ));
                    }
                    Err(e) => return Err(e.into()),
                },
                None => {
                    let name = identity
                        .name
                        .as_deref()
                        .and_then(|n| DisplayName::parse(n).ok())
                        .or_else(|| DisplayName::parse(&identity.external_id).ok())
                        .ok_or_else(|| AppError::invalid(Message::new("input.name_empty")))?;
                    let new = NewUser {
                        email,
                        display_name: name,
                        role: mapped.unwrap_or(config.default_role),
                        locale: ctx.locale,
                        time_zone: app.config().default_time_zone.clone(),
                        password_hash: None,
                        auth_source: SOURCE.into(),
                        external_id: Some(identity.external_id.clone()),
                    };
                    match store.create_user(&new, app.now(), &system("user.create")).await {
                        Ok(user) => user,
                        // Two first requests at once: the other one created it.
                        Err(StoreError::EmailTaken) => store
                            .user_by_external_id(SOURCE, &identity.external_id)
                            .await?
                            .ok_or(AppError::conflict(Message::new("user.error.email_taken")))?,
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
    };
    if !user.active {
        return Err(AppError::FORBIDDEN);
    }
    if let Some(role) = mapped
        && role != user.role
    {
        match store.set_role(&user.id, role, app.now(), &system("user.role")).await {
            Ok(updated) => user = updated,
            // The last admin keeps their role even if the directory says otherwise.
            Err(StoreError::LastAdmin) => {
                tracing::warn!(user = %user.email, "group mapping would demote the last admin; kept")
            }
            Err(e) => return Err(e.into()),
        }
    }
    if let Some(old) = session {
        store.delete_session(&old.session_hash, app.now(), None).await?;
    }
    let (hash, cookie) = start_session(app, ctx, &user, SOURCE).await?;
    set_cookies.push(cookie);
    Ok(Authed {
        user,
        session_hash: hash,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ProxyAuthConfig {
        ProxyAuthConfig {
            user_header: "x-remote-user".into(),
            email_header: Some("x-remote-email".into()),
            name_header: None,
            groups_header: Some("x-remote-groups".into()),
            default_role: Role::Trainer,
            role_map: vec![("staff".into(), Role::Manager), ("it".into(), Role::Admin)],
        }
    }

    #[test]
    fn identity_reads_the_configured_headers() {
        let mut h = HeaderMap::new();
        assert_eq!(identity(&config(), &h), None);
        h.insert("x-remote-user", " alice ".parse().unwrap());
        h.insert("x-remote-email", "alice@example.org".parse().unwrap());
        h.insert("x-remote-groups", "staff; it,, other".parse().unwrap());
        let id = identity(&config(), &h).unwrap();
        assert_eq!(id.external_id, "alice");
        assert_eq!(id.email.as_deref(), Some("alice@example.org"));
        assert_eq!(id.groups, vec!["staff", "it", "other"]);
        assert_eq!(mapped_role(&config(), &id.groups), Some(Role::Admin));
        assert_eq!(mapped_role(&config(), &["staff".into()]), Some(Role::Manager));
        assert_eq!(mapped_role(&config(), &["other".into()]), None);
    }
}
