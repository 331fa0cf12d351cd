//! Errors of the browser pages, mapped to HTTP in one place. A handler returns an [`AppError`];
//! the response carries it as an extension, and the context middleware, which knows the
//! person's language, renders the page that explains it.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use store::StoreError;

/// A message from the catalogues with its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub key: &'static str,
    pub args: Vec<(&'static str, String)>,
}

impl Message {
    pub fn new(key: &'static str) -> Message {
        Message { key, args: Vec::new() }
    }

    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Message {
        self.args.push((name, value.to_string()));
        self
    }

    /// The message in `locale`.
    pub fn render(&self, locale: domain::Locale) -> String {
        let args: Vec<(&str, &dyn std::fmt::Display)> = self
            .args
            .iter()
            .map(|(n, v)| (*n, v as &dyn std::fmt::Display))
            .collect();
        locale.tf(self.key, &args)
    }
}

/// Why a request failed, as a person should learn it.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("login required")]
    LoginRequired,
    #[error("CSRF check failed")]
    Csrf,
    #[error("too many failed logins")]
    Throttled { until: Timestamp },
    #[error("invalid input: {0:?}")]
    Invalid(Message),
    #[error("conflict: {0:?}")]
    Conflict(Message),
    #[error("identity headers from an untrusted address")]
    UntrustedProxy,
    #[error("too busy")]
    Busy,
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn status(&self) -> StatusCode {
        match self {
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::Forbidden | AppError::Csrf | AppError::UntrustedProxy => StatusCode::FORBIDDEN,
            AppError::LoginRequired => StatusCode::UNAUTHORIZED,
            AppError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            AppError::Busy => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The explanation shown to the person.
    pub fn message(&self, now: Timestamp) -> Message {
        match self {
            AppError::NotFound => Message::new("error.not_found"),
            AppError::Forbidden => Message::new("error.forbidden"),
            AppError::LoginRequired => Message::new("error.login_required"),
            AppError::Csrf => Message::new("error.csrf"),
            AppError::Throttled { until } => {
                let minutes = ((until.as_second() - now.as_second()) + 59) / 60;
                Message::new("error.throttled").arg("minutes", minutes.max(1))
            }
            AppError::Invalid(m) | AppError::Conflict(m) => m.clone(),
            AppError::UntrustedProxy => Message::new("error.untrusted_proxy"),
            AppError::Internal(_) => Message::new("error.internal"),
            AppError::Busy => Message::new("error.busy"),
        }
    }
}

/// Carries the error from the handler to the middleware that renders it.
#[derive(Debug, Clone)]
pub struct ErrorMarker(pub Arc<AppError>);

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(detail) = &self {
            tracing::error!(%detail, "request failed");
        }
        let status = self.status();
        let mut response = (status, status.canonical_reason().unwrap_or("error")).into_response();
        response.extensions_mut().insert(ErrorMarker(Arc::new(self)));
        response
    }
}

impl From<crate::crypto::HashingError> for AppError {
    fn from(e: crate::crypto::HashingError) -> Self {
        match e {
            crate::crypto::HashingError::Busy => AppError::Busy,
            crate::crypto::HashingError::Failed(detail) => AppError::Internal(detail),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::EmailTaken => AppError::Invalid(Message::new("user.error.email_taken")),
            StoreError::LastAdmin => AppError::Conflict(Message::new("user.error.last_admin")),
            // A refusal that reaches a page without its handler's own explanation is still the
            // person's to read (409/422), never a 500. Times in a conflict are shown in UTC here;
            // the booking handlers pass the viewer's zone themselves.
            StoreError::Booking(r) => crate::booking::BookingFailure::Refused(r).into(),
            StoreError::Jitsi(r) => match r {
                store::JitsiRefusal::NameTaken { .. }
                | store::JitsiRefusal::DefaultInUse
                | store::JitsiRefusal::InUse { .. } => AppError::Conflict(crate::jitsi::refusal_message(&r)),
                store::JitsiRefusal::UnknownServer => AppError::Invalid(crate::jitsi::refusal_message(&r)),
            },
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<askama::Error> for AppError {
    fn from(e: askama::Error) -> Self {
        AppError::Internal(format!("template: {e}"))
    }
}

impl From<domain::UserInputError> for AppError {
    fn from(e: domain::UserInputError) -> Self {
        AppError::Invalid(crate::i18n::user_input_message(&e))
    }
}

pub type AppResult<T = Response> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_refusals_are_the_persons_to_read_not_500s() {
        let cases: Vec<(StoreError, StatusCode, &str)> = vec![
            (
                StoreError::Booking(store::BookingRefusal::Ended),
                StatusCode::CONFLICT,
                "booking.error.ended",
            ),
            (
                StoreError::Booking(store::BookingRefusal::UnknownTrainer {
                    email: "x@example.org".into(),
                }),
                StatusCode::UNPROCESSABLE_ENTITY,
                "booking.error.unknown_trainer",
            ),
            (
                StoreError::Jitsi(store::JitsiRefusal::InUse { sessions: 2 }),
                StatusCode::CONFLICT,
                "jitsi.error.in_use",
            ),
            (
                StoreError::Jitsi(store::JitsiRefusal::UnknownServer),
                StatusCode::UNPROCESSABLE_ENTITY,
                "jitsi.error.unknown_server",
            ),
            (StoreError::NotFound, StatusCode::NOT_FOUND, "error.not_found"),
        ];
        for (error, status, key) in cases {
            let e = AppError::from(error);
            assert_eq!((e.status(), e.message(Timestamp::UNIX_EPOCH).key), (status, key));
        }
        let busy = AppError::from(crate::crypto::HashingError::Busy);
        assert_eq!(busy.status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
