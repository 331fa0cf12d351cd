//! `/healthz` (the process answers) and `/readyz` (the database answers), as JSON.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::http::state::AppState;

pub async fn healthz() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

pub async fn readyz(State(app): State<AppState>) -> Response {
    match service::admin::database_ready(app.service(), std::time::Duration::from_secs(5)).await {
        (backend, Ok(())) => {
            Json(json!({ "status": "ready", "database": { "status": "ok", "backend": backend } })).into_response()
        }
        (backend, Err(why)) => unready(backend, why),
    }
}

fn unready(backend: &str, why: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "unavailable", "database": { "status": why, "backend": backend } })),
    )
        .into_response()
}
