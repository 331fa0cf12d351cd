//! `/healthz` (the process answers) and `/readyz` (the database answers), as JSON.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::state::AppState;

pub async fn healthz() -> Response {
    Json(json!({ "status": "ok" })).into_response()
}

pub async fn readyz(State(app): State<AppState>) -> Response {
    let backend = match app.store().backend() {
        store::Backend::Sqlite => "sqlite",
        store::Backend::Postgres => "postgres",
    };
    match tokio::time::timeout(std::time::Duration::from_secs(5), app.store().ping()).await {
        Ok(Ok(())) => {
            Json(json!({ "status": "ready", "database": { "status": "ok", "backend": backend } })).into_response()
        }
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check: database unreachable");
            unready(backend, "unreachable")
        }
        Err(_) => unready(backend, "timeout"),
    }
}

fn unready(backend: &str, why: &str) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "unavailable", "database": { "status": why, "backend": backend } })),
    )
        .into_response()
}
