//! The JSON API under `/api/v1`: authenticated by per-user bearer tokens (no cookies, so no
//! CSRF), answering errors as RFC 9457 `application/problem+json` in the caller's language,
//! described by the OpenAPI document at `/api/v1/openapi.json`.

pub mod courses;
pub mod jitsi;
pub mod json;
pub mod me;
pub mod openapi;
pub mod sessions;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::header::{self, HeaderValue};
use axum::http::{StatusCode, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post, put};
use domain::{Actor, Locale};
use jiff::SignedDuration;
use serde::Serialize;
use store::User;

use crate::crypto::storage_hash;
use crate::error::Message;
use crate::state::AppState;

/// The booking API's routes under `/api/v1` (part of [`documented_routes`]).
pub fn booking_routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/courses", get(courses::list).post(courses::create)),
        ("/courses/{id}", get(courses::read).patch(courses::update)),
        ("/sessions", get(sessions::list).post(sessions::create)),
        ("/sessions/{id}", get(sessions::read).patch(sessions::update)),
        ("/sessions/{id}/participants", put(sessions::replace_people)),
        ("/sessions/{id}/cancel", post(sessions::cancel)),
    ]
}

/// Every route of the API but the document itself: one table, from which the router is built
/// and which a test compares with the OpenAPI document in both directions.
pub fn documented_routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    let mut routes = vec![("/me", get(me::me))];
    routes.extend(booking_routes());
    routes.extend(jitsi::routes());
    routes
}

/// Every `/api/v1` route.
pub fn routes() -> Router<AppState> {
    let mut v1 = Router::new().route("/openapi.json", get(openapi::document));
    for (path, route) in documented_routes() {
        // A method the path does not have: 405 as problem details too.
        v1 = v1.route(path, route.fallback(method_not_allowed));
    }
    let v1 = v1.fallback(|parts: Parts| async move {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not-found",
            Message::new("error.not_found"),
            request_locale(&parts),
        )
    });
    Router::new().nest("/api/v1", v1)
}

async fn method_not_allowed(parts: Parts) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        Message::new("api.error.method"),
        request_locale(&parts),
    )
}

/// The language of an API answer: `Accept-Language` when it names one we speak, else the
/// token holder's, else French.
fn request_locale(parts: &Parts) -> Locale {
    parts
        .headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Locale::from_accept_language)
        .unwrap_or_default()
}

/// The holder of a valid API token.
#[derive(Debug, Clone)]
pub struct ApiCaller {
    pub user: User,
    pub token_id: String,
    pub locale: Locale,
}

impl ApiCaller {
    pub fn actor(&self) -> Actor {
        Actor::new(self.user.id.clone(), self.user.role)
    }

    /// A booking caller for the shared booking service.
    pub fn caller(&self) -> crate::booking::Caller {
        crate::booking::Caller {
            actor: self.actor(),
            email: self.user.email.clone(),
            ip: None,
        }
    }

    /// An error in this caller's language.
    pub fn error(&self, status: StatusCode, kind: &'static str, message: Message) -> ApiError {
        ApiError::new(status, kind, message, self.locale)
    }
}

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, Self::Rejection> {
        let locale = parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Locale::from_accept_language);
        let unauthorized = || {
            ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                Message::new("api.error.unauthorized"),
                locale.unwrap_or_default(),
            )
        };
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(unauthorized)?;
        let (token_id, last_used, user) = app
            .store()
            .api_token_user(&storage_hash(token))
            .await
            .map_err(|e| ApiError::internal(e.to_string(), locale.unwrap_or_default()))?
            .ok_or_else(unauthorized)?;
        let now = app.now();
        if last_used.is_none_or(|t| now.duration_since(t) > SignedDuration::from_secs(60))
            && let Err(e) = app.store().touch_api_token(&token_id, now).await
        {
            tracing::warn!(error = %e, "could not record an API token's use");
        }
        Ok(ApiCaller {
            locale: locale.unwrap_or(user.locale),
            user,
            token_id,
        })
    }
}

/// A problem detail (RFC 9457), with the fields that were wrong when there were any.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    /// A short slug; the `type` URI is `/api/v1/problems/<kind>`.
    pub kind: &'static str,
    pub locale: Locale,
    pub detail: Message,
    /// `(field, message)` pairs, already in the caller's language.
    pub errors: Vec<(String, String)>,
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: String,
    title: &'a str,
    status: u16,
    detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<FieldProblem<'a>>,
}

#[derive(Serialize)]
struct FieldProblem<'a> {
    field: &'a str,
    message: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, detail: Message, locale: Locale) -> ApiError {
        ApiError {
            status,
            kind,
            locale,
            detail,
            errors: Vec::new(),
        }
    }

    pub fn internal(detail: String, locale: Locale) -> ApiError {
        tracing::error!(%detail, "API request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            Message::new("error.internal"),
            locale,
        )
    }

    pub fn with_errors(mut self, errors: Vec<(String, String)>) -> ApiError {
        self.errors = errors;
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let title = self.locale.t(match self.status.as_u16() {
            400 | 422 => "api.title.invalid",
            401 => "api.title.unauthorized",
            403 => "error.title.403",
            404 => "error.title.404",
            409 => "api.title.conflict",
            500..=599 => "error.title.500",
            _ => "error.title.400",
        });
        let problem = Problem {
            kind: format!("/api/v1/problems/{}", self.kind),
            title,
            status: self.status.as_u16(),
            detail: self.detail.render(self.locale),
            errors: self
                .errors
                .iter()
                .map(|(field, message)| FieldProblem { field, message })
                .collect(),
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(self.locale.as_str()));
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"dialogue\""),
            );
        }
        response
    }
}
