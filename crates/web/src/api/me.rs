//! `GET /api/v1/me`: who the token belongs to.

use axum::Json;
use serde::Serialize;

use super::ApiCaller;

#[derive(Debug, Serialize)]
pub struct Me {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: domain::Role,
    pub locale: &'static str,
    pub time_zone: String,
}

pub async fn me(caller: ApiCaller) -> Json<Me> {
    let u = caller.user;
    Json(Me {
        id: u.id,
        email: u.email,
        name: u.display_name,
        role: u.role,
        locale: u.locale.as_str(),
        time_zone: u.time_zone,
    })
}
