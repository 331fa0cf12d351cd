//! `GET /api/v1/me`: who the token belongs to.

use axum::Json;
use axum::extract::State;
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
