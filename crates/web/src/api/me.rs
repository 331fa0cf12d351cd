//! `GET /api/v1/me`: who the token belongs to.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::{ApiCaller, ApiError, ForCaller};
use crate::http::state::AppState;

#[derive(Debug, Serialize)]
pub struct Me {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: domain::Role,
    pub locale: &'static str,
    pub time_zone: String,
    /// The account's calendar feed (subscribe to it in a calendar application).
    pub ical_url: String,
}

pub async fn me(State(app): State<AppState>, caller: ApiCaller) -> Result<Json<Me>, ApiError> {
    let ical_url = service::feeds::feed_url(app.service(), &caller.user)
        .await
        .api(&caller)?;
    let u = caller.user;
    Ok(Json(Me {
        id: u.id,
        email: u.email,
        name: u.display_name,
        role: u.role,
        locale: u.locale.as_str(),
        time_zone: u.time_zone,
        ical_url,
    }))
}
