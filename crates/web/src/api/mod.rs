//! The JSON API under `/api/v1`: authenticated by per-user bearer tokens (no cookies, so no
//! CSRF), answering errors as RFC 9457 `application/problem+json` in the caller's language,
//! described by the OpenAPI document at `/api/v1/openapi.json`.

pub mod attendance;
pub mod contacts;
pub mod course_attendance;
pub mod courses;
pub mod gdpr;
pub mod import;
pub mod jitsi;
pub mod json;
pub mod me;
pub mod openapi;
pub mod rooms;
pub mod sessions;

use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::header::{self, HeaderValue};
use axum::http::{StatusCode, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post, put};
use domain::{Actor, Locale};
use jiff::Timestamp;
use serde::Serialize;
use store::User;
use utoipa::{ToResponse, ToSchema};

use crate::http::error::{AppError, Message};
use crate::http::state::AppState;

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
    let mut routes = vec![
        ("/me", get(me::me)),
        ("/me/jitsi-logins", get(me::jitsi_logins)),
        ("/me/jitsi-logins/{server_id}/password", post(me::renew_jitsi_login)),
    ];
    routes.extend(booking_routes());
    routes.extend(jitsi::routes());
    routes.extend(attendance::routes());
    routes.extend(course_attendance::routes());
    routes.extend(contacts::routes());
    routes.extend(gdpr::routes());
    routes.extend(import::routes());
    routes.extend(rooms::routes());
    routes
}

/// Every `/api/v1` route.
pub fn routes() -> Router<AppState> {
    let mut v1 = Router::new().route("/openapi.json", get(openapi::serve));
    for (path, route) in documented_routes() {
        // A method the path does not have: 405 as problem details too.
        v1 = v1.route(path, route.fallback(method_not_allowed));
    }
    let v1 = v1.fallback(|parts: Parts| async move { ApiError::bare(AppError::NOT_FOUND, &parts) });
    Router::new().nest("/api/v1", v1)
}

async fn method_not_allowed(parts: Parts) -> ApiError {
    ApiError::bare(AppError::MethodNotAllowed, &parts)
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
    /// When the request arrived (for messages that count time).
    pub now: Timestamp,
}

impl ApiCaller {
    pub fn actor(&self) -> Actor {
        Actor::new(self.user.id.clone(), self.user.role)
    }

    /// The caller of the service's use cases.
    pub fn caller(&self) -> service::Caller {
        service::Caller::of(&self.user, None)
    }

    /// `error` as problem details in this caller's language, times in their zone.
    pub fn fail(&self, error: impl Into<AppError>) -> ApiError {
        ApiError {
            error: error.into(),
            locale: self.locale,
            zone: self.user.time_zone.clone(),
            now: self.now,
            field_names: api_field,
        }
    }
}

/// `result`'s error as problem details for `caller`.
pub trait ForCaller<T> {
    fn api(self, caller: &ApiCaller) -> Result<T, ApiError>;

    /// The same, with the resource's own names for the rules' fields.
    fn api_named(self, caller: &ApiCaller, names: fn(&str) -> &str) -> Result<T, ApiError>;
}

impl<T, E: Into<AppError>> ForCaller<T> for Result<T, E> {
    fn api(self, caller: &ApiCaller) -> Result<T, ApiError> {
        self.map_err(|e| caller.fail(e))
    }

    fn api_named(self, caller: &ApiCaller, names: fn(&str) -> &str) -> Result<T, ApiError> {
        self.map_err(|e| ApiError {
            field_names: names,
            ..caller.fail(e)
        })
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
        let now = app.now();
        let unauthorized = || {
            ApiError::in_locale(
                AppError::Unauthorized(Message::new("api.error.unauthorized")),
                locale.unwrap_or_default(),
                now,
            )
        };
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            // The scheme is case-insensitive (RFC 9110 § 11.1).
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
            .map(|(_, token)| token.trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(unauthorized)?;
        let (user, token_id) = match service::tokens::authenticate(app.service(), token).await {
            Ok(found) => found,
            Err(service::Error::Unauthenticated) => return Err(unauthorized()),
            Err(e) => return Err(ApiError::in_locale(e.into(), locale.unwrap_or_default(), now)),
        };
        Ok(ApiCaller {
            locale: locale.unwrap_or(user.locale),
            user,
            token_id,
            now,
        })
    }
}

/// A failure of an API request, rendered as problem details (RFC 9457) in the caller's language,
/// with one entry per field that was wrong. What it says comes from [`AppError::problem`].
#[derive(Debug, Clone)]
pub struct ApiError {
    pub error: AppError,
    pub locale: Locale,
    /// The zone instants in messages are shown in.
    pub zone: String,
    pub now: Timestamp,
    /// The API's names for the fields the service names.
    pub field_names: fn(&str) -> &str,
}

/// Problem details (RFC 9457), in the caller's language.
#[derive(Serialize, ToSchema)]
#[schema(as = Problem)]
pub struct ProblemJson {
    /// `/api/v1/problems/<kind>`: `invalid`, `conflict`, `not-found`, `forbidden`,
    /// `unauthorized`, `bad-request`, …
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// One entry per field that was wrong, named as in the request
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldJson>,
}

/// What is wrong with one field.
#[derive(PartialEq, Serialize, ToSchema)]
#[schema(as = FieldProblem)]
pub struct FieldJson {
    pub field: String,
    pub message: String,
}

/// Missing, unknown or revoked token
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Unauthorized(pub ProblemJson);

/// The token holder's role does not allow it
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Forbidden(pub ProblemJson);

/// Unknown, or not visible to the token holder
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct NotFound(pub ProblemJson);

/// Invalid input; `errors` names each field
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Invalid(pub ProblemJson);

/// Conflicts with the current state (an overlapping session, an ended one)
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct Conflict(pub ProblemJson);

/// The body is not the JSON expected
#[derive(ToResponse)]
#[response(content_type = "application/problem+json")]
pub struct BadRequest(pub ProblemJson);

/// The API's name for a field of the service's rules (sessions' names; courses have their own).
pub fn api_field(field: &str) -> &str {
    match field {
        "duration" => "duration_minutes",
        "start" => "starts_at",
        "course" => "course_id",
        "jitsi_server" => "jitsi_server_id",
        other => other,
    }
}

impl ApiError {
    /// Before any caller is known: the language of `Accept-Language`, times in UTC.
    pub fn bare(error: AppError, parts: &Parts) -> ApiError {
        ApiError::in_locale(error, request_locale(parts), Timestamp::now())
    }

    pub fn in_locale(error: AppError, locale: Locale, now: Timestamp) -> ApiError {
        ApiError {
            error,
            locale,
            zone: "UTC".into(),
            now,
            field_names: api_field,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = self.error.problem(self.now);
        if let AppError::Service(service::Error::Internal(detail)) = &self.error {
            tracing::error!(%detail, "API request failed");
        }
        let title = self.locale.t(match problem.status.as_u16() {
            400 | 422 => "api.title.invalid",
            401 => "api.title.unauthorized",
            403 => "error.title.403",
            404 => "error.title.404",
            409 => "api.title.conflict",
            429 => "error.title.429",
            500..=599 => "error.title.500",
            _ => "error.title.400",
        });
        let body = ProblemJson {
            kind: format!("/api/v1/problems/{}", problem.kind),
            title: title.to_owned(),
            status: problem.status.as_u16(),
            detail: problem.message.render_in(self.locale, &self.zone),
            errors: problem
                .fields
                .iter()
                .filter(|p| !p.field.is_empty())
                .map(|p| FieldJson {
                    // Our names are the service's, spelt as the API spells them; a name the
                    // request used (the edge's NUL refusal) is already the API's.
                    field: match &p.field {
                        std::borrow::Cow::Borrowed(field) => (self.field_names)(field).to_owned(),
                        std::borrow::Cow::Owned(field) => field.clone(),
                    },
                    message: p.message.render_in(self.locale, &self.zone),
                })
                // The same problem found twice (by the API and by the rules) is said once.
                .fold(Vec::new(), |mut seen, e| {
                    if !seen.contains(&e) {
                        seen.push(e);
                    }
                    seen
                }),
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (problem.status, bytes).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(self.locale.as_str()));
        if problem.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"dialogue\""),
            );
        }
        response
    }
}
