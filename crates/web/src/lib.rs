//! Dialogue's HTTP side: server-rendered pages, the JSON API and the endpoints Jitsi calls.
//!
//! A handler reads its input, asks `domain` whether the actor may act, calls one `store`
//! function and renders. Errors map to HTTP in [`error`]; the language, the login and the CSRF
//! check are settled once per request in [`context`].
#![forbid(unsafe_code)]

pub mod api;
pub mod assets;
pub mod context;
pub mod error;
pub mod feeds;
pub mod forms;
pub mod health;
pub mod i18n;
pub mod jitsi_endpoints;
pub mod join;
pub mod outbox;
pub mod page;
pub mod pages;
pub mod proxy_auth;
pub mod rsvp;
pub mod security;
pub mod state;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use axum::middleware;
use axum::routing::get;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use service::{BookingSettings, Clock, ProxyAuthConfig, SecretKey, Service};
pub use state::{AppState, WebConfig};

use crate::error::AppError;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Every route of Dialogue.
pub fn router(app: AppState) -> Router {
    let pages = Router::new()
        .merge(pages::auth::routes())
        .merge(pages::dashboard::routes())
        .merge(pages::profile::routes())
        .merge(pages::users::routes())
        .merge(pages::audit::routes())
        .merge(pages::jitsi_servers::routes())
        .merge(join::routes())
        .merge(rsvp::routes())
        .merge(outbox::routes())
        .merge(feeds::page_routes())
        .merge(pages::sessions::routes())
        .merge(pages::calendar::routes())
        .merge(pages::courses::routes())
        .merge(pages::tokens::routes())
        .fallback(|| async { AppError::NOT_FOUND })
        .layer(middleware::from_fn_with_state(app.clone(), context::context));

    let machines = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/static/{name}", get(assets::serve))
        .merge(jitsi_endpoints::routes())
        .merge(feeds::routes())
        .merge(api::routes());

    let body_limit = app.http().body_limit;
    Router::new()
        .merge(machines)
        .merge(join::link_routes(app.clone()))
        .merge(pages)
        .layer(middleware::from_fn_with_state(app.clone(), security::headers))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(RequestBodyLimitLayer::new(body_limit))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request<_>| {
                    let id = req
                        .extensions()
                        .get::<RequestId>()
                        .and_then(|id| id.header_value().to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("request", id = %id, method = %req.method(), path = %security::log_path(req.uri().path()))
                })
                .on_response(
                    |res: &axum::http::Response<_>, latency: Duration, _span: &tracing::Span| {
                        tracing::info!(
                            status = res.status().as_u16(),
                            ms = latency.as_secs_f64() * 1000.0,
                            "served"
                        );
                    },
                ),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, security::RandomRequestId))
        // Outside the layer that sets the id: an implausible one from the client is gone first.
        .layer(axum::middleware::map_request(security::sanitize_request_id))
        .with_state(app)
}
