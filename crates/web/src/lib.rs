//! Dialogue's HTTP side: routing, extractors, templates and rendering. Its folders name its
//! surfaces:
//!
//! - [`pages`]: the browser pages of staff (server-rendered, CSRF-checked forms);
//! - [`api`]: the JSON API under `/api/v1` (bearer tokens, problem details, OpenAPI);
//! - [`links`]: what people reach from a link rather than a login (`/j/{key}`, its answer page,
//!   calendar feeds);
//! - [`prosody`]: the endpoints Jitsi's Prosody calls (reservations, events, public keys);
//! - [`http`]: what they share (request context, the one mapping of failures to HTTP, security
//!   headers, assets, health checks, state, forms, the page frame).
//!
//! A handler reads its input, calls the service (`service`: every use case and permission) and
//! renders; failures reach HTTP in [`http::error`].
#![forbid(unsafe_code)]

pub mod api;
pub mod http;
pub mod links;
pub mod pages;
pub mod prosody;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Request;
use axum::middleware;
use axum::routing::get;
use tower_http::request_id::{PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use http::state::{AppState, WebConfig};
pub use service::{BookingSettings, Clock, ProxyAuthConfig, SecretKey, Service};

use crate::http::error::AppError;
use crate::http::security::REQUEST_ID;
use crate::http::{assets, context, edge, health, metrics, security};

/// Every route of Dialogue.
pub fn router(app: AppState) -> Router {
    let pages = Router::new()
        .merge(pages::auth::routes())
        .merge(pages::oidc::routes())
        .merge(pages::dashboard::routes())
        .merge(pages::profile::routes())
        .merge(pages::users::routes())
        .merge(pages::audit::routes())
        .merge(pages::jitsi_servers::routes())
        .merge(links::join::routes())
        .merge(pages::room::routes())
        .merge(links::rsvp::routes())
        .merge(pages::mail::routes())
        .merge(links::feeds::page_routes())
        .merge(pages::sessions::routes())
        .merge(pages::calendar::routes())
        .merge(pages::courses::routes())
        .merge(pages::import::routes())
        .merge(pages::contacts::routes())
        .merge(pages::gdpr::routes())
        .merge(pages::tokens::routes())
        .merge(pages::attendance::routes())
        .merge(pages::course_attendance::routes())
        .merge(pages::personal_room::routes())
        .fallback(|| async { AppError::NOT_FOUND })
        .layer(middleware::from_fn_with_state(app.clone(), context::context));

    let machines = Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .route("/static/{name}", get(assets::serve))
        .merge(prosody::routes())
        .merge(links::feeds::routes())
        .merge(api::routes());

    let body_limit = app.http().body_limit;
    Router::new()
        .merge(machines)
        .merge(links::join::link_routes(app.clone()))
        .merge(pages)
        // Each matched route names its template for the request count (`http::metrics`).
        .route_layer(middleware::from_fn(metrics::mark_route))
        // Around every route: NUL characters and the body limit, refused in the format of the
        // surface (see `http::edge`), with the security headers and a request id like any answer.
        .layer(middleware::from_fn_with_state(app.clone(), edge::guard))
        .layer(middleware::from_fn_with_state(app.clone(), security::headers))
        // Counts and times every answer, refusals at the edge included.
        .layer(middleware::from_fn_with_state(app.clone(), metrics::track))
        // The limit the extractors apply to bodies the edge has already read within it (their
        // own default, 2 MiB, would refuse bodies a larger `body_limit_kib` allows).
        .layer(DefaultBodyLimit::max(body_limit))
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
        // Outside the layer that sets the id: one that is not a trusted proxy's is gone first.
        .layer(middleware::from_fn_with_state(app.clone(), security::sanitize_request_id))
        .with_state(app)
}
