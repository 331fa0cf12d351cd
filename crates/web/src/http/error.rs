//! Errors reach HTTP here, in one place. A handler returns an [`AppError`] — the service's
//! refusal, or the HTTP layer's own (a forged form, an unreadable body) — and [`AppError::problem`]
//! turns it into one [`Problem`]: a status, a kind, a message and the fields it is about. Each
//! surface renders that problem its way: browser pages as an HTML page in the person's language
//! (`pages::error`), the JSON API as RFC 9457 `application/problem+json` (`api`), the endpoints
//! Prosody calls as the `{"message": …}` Jitsi shows (`prosody`).

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;

pub use i18n::Message;
pub use service::{Error, Problem as FieldProblem};

/// Why a request failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Service(#[from] Error),
    /// A form post without the token of this browser's session.
    #[error("CSRF check failed")]
    Csrf,
    /// Identity headers from an address that is not a trusted proxy.
    #[error("identity headers from an untrusted address")]
    UntrustedProxy,
    /// A machine credential (API token, Prosody's bearer) is missing or unknown.
    #[error("unauthorized")]
    Unauthorized(Message),
    /// The body or the query cannot be read at all.
    #[error("bad request: {0:?}")]
    BadRequest(Message),
    /// The body is not of the type this address takes.
    #[error("unsupported media type")]
    UnsupportedMediaType(Message),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request body too large")]
    PayloadTooLarge,
}

/// A failure as every surface renders it.
#[derive(Debug, Clone)]
pub struct Problem {
    pub status: StatusCode,
    /// A short slug naming the kind of problem (the API's `type` is `/api/v1/problems/<kind>`).
    pub kind: &'static str,
    /// What the person reads.
    pub message: Message,
    /// Each field's own problem, when there are any.
    pub fields: Vec<FieldProblem>,
}

impl AppError {
    pub const NOT_FOUND: AppError = AppError::Service(Error::NotFound);
    pub const FORBIDDEN: AppError = AppError::Service(Error::Forbidden);
    pub const LOGIN_REQUIRED: AppError = AppError::Service(Error::Unauthenticated);

    /// Invalid input, explained by `message`.
    pub fn invalid(message: Message) -> AppError {
        AppError::Service(Error::invalid("", message))
    }

    /// A conflict with the state of things, explained by `message`.
    pub fn conflict(message: Message) -> AppError {
        AppError::Service(Error::conflict("", message))
    }

    /// A fault of ours; `detail` goes to the log only.
    pub fn internal(detail: impl Into<String>) -> AppError {
        AppError::Service(Error::Internal(detail.into()))
    }

    /// The status, kind, message and fields of this failure: the one mapping to HTTP.
    pub fn problem(&self, now: Timestamp) -> Problem {
        let (status, kind, message, fields) = match self {
            AppError::Service(e) => match e {
                Error::NotFound => (
                    StatusCode::NOT_FOUND,
                    "not-found",
                    Message::new("error.not_found"),
                    vec![],
                ),
                Error::Forbidden => (
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    Message::new("error.forbidden"),
                    vec![],
                ),
                Error::Refused(p) => (
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    first(p, "error.forbidden"),
                    p.clone(),
                ),
                Error::Unauthenticated => (
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    Message::new("error.login_required"),
                    vec![],
                ),
                Error::BadCredentials => (
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    Message::new("login.error.invalid"),
                    vec![],
                ),
                Error::Invalid(p) => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid",
                    first(p, "api.error.invalid"),
                    p.clone(),
                ),
                Error::Conflict(p) => (
                    StatusCode::CONFLICT,
                    "conflict",
                    first(p, "api.title.conflict"),
                    p.clone(),
                ),
                Error::TooMany(p) => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "too-many",
                    first(p, "error.title.429"),
                    p.clone(),
                ),
                Error::Throttled { until } => {
                    let minutes = ((until.as_second() - now.as_second()) + 59) / 60;
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        "throttled",
                        Message::new("error.throttled").arg("minutes", minutes.max(1)),
                        vec![],
                    )
                }
                Error::Busy => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    Message::new("error.busy"),
                    vec![],
                ),
                Error::Unavailable(m) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", m.clone(), vec![]),
                Error::Internal(_) => (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    Message::new("error.internal"),
                    vec![],
                ),
            },
            AppError::Csrf => (StatusCode::FORBIDDEN, "csrf", Message::new("error.csrf"), vec![]),
            AppError::UntrustedProxy => (
                StatusCode::FORBIDDEN,
                "untrusted-proxy",
                Message::new("error.untrusted_proxy"),
                vec![],
            ),
            AppError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, "unauthorized", m.clone(), vec![]),
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad-request", m.clone(), vec![]),
            AppError::UnsupportedMediaType(m) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                m.clone(),
                vec![],
            ),
            AppError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                Message::new("api.error.method"),
                vec![],
            ),
            AppError::PayloadTooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                Message::new("error.body_too_large"),
                vec![],
            ),
        };
        Problem {
            status,
            kind,
            message,
            fields,
        }
    }

    pub fn status(&self) -> StatusCode {
        self.problem(Timestamp::UNIX_EPOCH).status
    }

    /// Logs a fault of ours once, where it is turned into a response.
    fn log(&self) {
        if let AppError::Service(Error::Internal(detail)) = self {
            tracing::error!(%detail, "request failed");
        }
    }
}

/// The first problem's message (a page shows one line), or the generic `key`.
fn first(problems: &[FieldProblem], key: &'static str) -> Message {
    match problems {
        [only] => only.message.clone(),
        _ => Message::new(key),
    }
}

/// Carries the error from the handler to the middleware that renders it as a page.
#[derive(Debug, Clone)]
pub struct ErrorMarker(pub Arc<AppError>);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        self.log();
        let status = self.status();
        let mut response = (status, status.canonical_reason().unwrap_or("error")).into_response();
        response.extensions_mut().insert(ErrorMarker(Arc::new(self)));
        response
    }
}

impl From<store::StoreError> for AppError {
    fn from(e: store::StoreError) -> Self {
        AppError::Service(e.into())
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::internal(format!("template: {e}"))
    }
}

impl From<domain::UserInputError> for AppError {
    fn from(e: domain::UserInputError) -> Self {
        AppError::Service(e.into())
    }
}

pub type AppResult<T = Response> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_refusals_are_the_persons_to_read_not_500s() {
        let cases: Vec<(store::StoreError, StatusCode, &str)> = vec![
            (
                store::StoreError::Booking(store::BookingRefusal::Ended),
                StatusCode::CONFLICT,
                "booking.error.ended",
            ),
            (
                store::StoreError::Booking(store::BookingRefusal::UnknownTrainer {
                    email: "x@example.org".into(),
                }),
                StatusCode::UNPROCESSABLE_ENTITY,
                "booking.error.unknown_trainer",
            ),
            (
                store::StoreError::Jitsi(store::JitsiRefusal::InUse { sessions: 2 }),
                StatusCode::CONFLICT,
                "jitsi.error.in_use",
            ),
            (
                store::StoreError::Jitsi(store::JitsiRefusal::UnknownServer),
                StatusCode::UNPROCESSABLE_ENTITY,
                "jitsi.error.unknown_server",
            ),
            (store::StoreError::NotFound, StatusCode::NOT_FOUND, "error.not_found"),
        ];
        for (error, status, key) in cases {
            let p = AppError::from(error).problem(Timestamp::UNIX_EPOCH);
            assert_eq!((p.status, p.message.key), (status, key));
        }
        let busy = AppError::Service(service::crypto::HashingError::Busy.into());
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(AppError::PayloadTooLarge.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
