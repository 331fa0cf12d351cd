//! `GET /api/v1/me`: who the token belongs to.

use axum::Json;
use axum::extract::{Path, State};
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApiCaller, ApiError, ForCaller};
use crate::http::state::AppState;

/// The role of an account.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Manager,
    Trainer,
}

impl From<domain::Role> for Role {
    fn from(r: domain::Role) -> Self {
        match r {
            domain::Role::Admin => Role::Admin,
            domain::Role::Manager => Role::Manager,
            domain::Role::Trainer => Role::Trainer,
        }
    }
}

/// A language Dialogue speaks.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    Fr,
    En,
}

impl From<domain::Locale> for Language {
    fn from(l: domain::Locale) -> Self {
        match l {
            domain::Locale::Fr => Language::Fr,
            domain::Locale::En => Language::En,
        }
    }
}

/// The account a token belongs to.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub id: String,
    #[schema(format = Email)]
    pub email: String,
    pub name: String,
    pub role: Role,
    #[schema(inline)]
    pub locale: Language,
    pub time_zone: String,
    /// The account's iCalendar feed: the sessions it teaches (and for managers and admins those
    /// it booked) from 30 days back to a year ahead. Secret: anyone with the URL can read it;
    /// reset it from the profile page.
    #[schema(format = "uri")]
    pub ical_url: String,
}

/// The account the token belongs to
#[utoipa::path(
    get,
    path = "/me",
    operation_id = "me",
    responses(
        (status = 200, description = "The account", body = Me),
        (status = 401, response = super::Unauthorized),
    )
)]
pub async fn me(State(app): State<AppState>, caller: ApiCaller) -> Result<Json<Me>, ApiError> {
    let ical_url = service::feeds::feed_url(app.service(), &caller.user)
        .await
        .api(&caller)?;
    let u = caller.user;
    Ok(Json(Me {
        id: u.id,
        email: u.email,
        name: u.display_name,
        role: u.role.into(),
        locale: u.locale.into(),
        time_zone: u.time_zone,
        ical_url,
    }))
}

/// A host login on a secure-domain Jitsi server: the Prosody account Dialogue keeps for the
/// caller there, typed into Jitsi's login prompt to open rooms as host.
#[derive(Debug, Serialize, ToSchema)]
pub struct JitsiLogin {
    pub server_id: String,
    pub server_name: String,
    /// The user name (a bare JID, `name@domain`).
    pub jid: String,
    pub password: String,
    /// Whether the Jitsi server holds this password now (else Dialogue is applying it).
    pub ready: bool,
    /// Why the last attempt to apply it failed (retried), while not ready.
    #[schema(required = true)]
    pub last_error: Option<String>,
}

impl From<service::prosody_accounts::HostLogin> for JitsiLogin {
    fn from(l: service::prosody_accounts::HostLogin) -> Self {
        JitsiLogin {
            server_id: l.server_id,
            server_name: l.server_name,
            jid: l.jid,
            password: l.password,
            ready: l.ready,
            last_error: l.last_error,
        }
    }
}

/// The caller's host logins on secure-domain Jitsi servers
#[utoipa::path(
    get,
    path = "/me/jitsi-logins",
    operation_id = "myJitsiLogins",
    tag = "me",
    responses(
        (status = 200, description = "One per secure-domain server the caller may host on (none when there is no such server)", body = Vec<JitsiLogin>),
        (status = 401, response = super::Unauthorized),
    )
)]
pub async fn jitsi_logins(State(app): State<AppState>, caller: ApiCaller) -> Result<Json<Vec<JitsiLogin>>, ApiError> {
    let logins = service::prosody_accounts::my_logins(app.service(), &caller.caller())
        .await
        .api(&caller)?;
    Ok(Json(logins.into_iter().map(JitsiLogin::from).collect()))
}

/// A new password for the caller's host login on one server
///
/// The new password is stored at once and set on the server's Prosody right away (the old one
/// stops working then); `ready` says when it is done.
#[utoipa::path(
    post,
    path = "/me/jitsi-logins/{server_id}/password",
    operation_id = "renewJitsiLoginPassword",
    tag = "me",
    params(("server_id" = String, Path, description = "The secure-domain server")),
    responses(
        (status = 200, description = "The login with its new password", body = JitsiLogin),
        (status = 401, response = super::Unauthorized),
        (status = 404, response = super::NotFound),
        (status = 409, response = super::Conflict),
    )
)]
pub async fn renew_jitsi_login(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(server_id): Path<String>,
) -> Result<Json<JitsiLogin>, ApiError> {
    let login = service::prosody_accounts::new_password(app.service(), &caller.caller(), &server_id)
        .await
        .api(&caller)?;
    Ok(Json(login.into()))
}
