//! Login through a trusted reverse proxy's identity headers (how Apache's CAS, Shibboleth, SAML
//! or LDAP modules, or nginx `auth_basic`, hand a person over). The headers are believed only
//! from the configured proxy addresses; the context middleware refuses them from anywhere else.

use axum::http::{HeaderMap, HeaderValue};
use service::ProxyAuthConfig;
use service::accounts::{self, ExternalIdentity};

use crate::http::context::{Authed, Ctx, start_session};
use crate::http::error::AppError;
use crate::http::state::AppState;

pub const SOURCE: &str = "proxy";

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// The identity in the request's headers, if the user header is present.
pub fn identity(config: &ProxyAuthConfig, headers: &HeaderMap) -> Option<ExternalIdentity> {
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
    Some(ExternalIdentity {
        source: SOURCE.to_owned(),
        email: config.email_header.as_deref().and_then(|name| header(headers, name)),
        name: config.name_header.as_deref().and_then(|name| header(headers, name)),
        external_id,
        groups,
    })
}

/// Logs the identity in: reuses the browser's session when it is already theirs, otherwise
/// finds, links or creates the account (the accounts service's rules) and starts a session.
pub async fn login(
    app: &AppState,
    ctx: &Ctx,
    config: &ProxyAuthConfig,
    identity: ExternalIdentity,
    session: Option<Authed>,
    set_cookies: &mut Vec<HeaderValue>,
) -> Result<Authed, AppError> {
    if let Some(current) = &session
        && current.user.auth_source == SOURCE
        && current.user.external_id.as_deref() == Some(identity.external_id.as_str())
    {
        return Ok(current.clone());
    }
    let user = accounts::external_login(
        app.service(),
        &identity,
        config.default_role,
        &config.role_map,
        ctx.locale,
        &ctx.ip.to_string(),
    )
    .await?;
    if let Some(old) = session {
        accounts::end_session(app.service(), &old.session_hash, None).await?;
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
    use domain::Role;

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
        assert_eq!(id.source, SOURCE);
    }
}
