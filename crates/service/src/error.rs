//! The service's refusals. They name what went wrong and explain it with catalogue messages, but
//! know nothing of HTTP: the web crate maps them to statuses in one place.

use std::borrow::Cow;

use i18n::Message;
use jiff::Timestamp;
use store::StoreError;

/// One problem, with the field it is about (`""` for the request as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// A name of ours (`&'static`), or one the request used (the HTTP edge names the field of
    /// a query or a body that holds a NUL character).
    pub field: Cow<'static, str>,
    pub message: Message,
}

impl Problem {
    pub fn new(field: impl Into<Cow<'static, str>>, message: Message) -> Problem {
        Problem {
            field: field.into(),
            message,
        }
    }
}

/// Why a use case did not do what was asked.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// Unknown, or not the caller's to see (the two are not told apart).
    #[error("not found")]
    NotFound,
    /// The caller may not do this.
    #[error("forbidden")]
    Forbidden,
    /// The caller may not do this, and is told why.
    #[error("refused: {0:?}")]
    Refused(Vec<Problem>),
    /// Nobody is logged in (or the credential is not valid).
    #[error("authentication required")]
    Unauthenticated,
    /// The email and password do not match an active account (which one is not said).
    #[error("bad credentials")]
    BadCredentials,
    /// What was sent is not acceptable: every problem, each with its field.
    #[error("invalid input: {0:?}")]
    Invalid(Vec<Problem>),
    /// The state of things does not allow it (a conflict, a taken name, a session over).
    #[error("conflict: {0:?}")]
    Conflict(Vec<Problem>),
    /// Too much asked of one account for now (its hourly budget): try again later.
    #[error("too many requests: {0:?}")]
    TooMany(Vec<Problem>),
    /// Too many failed logins: wait until then.
    #[error("too many failed logins")]
    Throttled { until: Timestamp },
    /// Too busy right now: try again shortly.
    #[error("too busy")]
    Busy,
    /// A service we depend on (an identity provider, the directory) cannot be used right now;
    /// the detail goes to the log, the message to the person.
    #[error("unavailable: {0:?}")]
    Unavailable(Message),
    /// A fault of ours or of a peer; the detail goes to the log, never to the person.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// One invalid field.
    pub fn invalid(field: impl Into<Cow<'static, str>>, message: Message) -> Error {
        Error::Invalid(vec![Problem::new(field, message)])
    }

    /// One conflict, about `field`.
    pub fn conflict(field: &'static str, message: Message) -> Error {
        Error::Conflict(vec![Problem::new(field, message)])
    }

    /// A refusal with its reason.
    pub fn refused(field: &'static str, message: Message) -> Error {
        Error::Refused(vec![Problem::new(field, message)])
    }

    /// The problems this error explains, if it carries any.
    pub fn problems(&self) -> &[Problem] {
        match self {
            Error::Invalid(p) | Error::Conflict(p) | Error::Refused(p) | Error::TooMany(p) => p,
            _ => &[],
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Error::NotFound,
            StoreError::EmailTaken => Error::invalid("email", Message::new("user.error.email_taken")),
            StoreError::LastAdmin => Error::conflict("role", Message::new("user.error.last_admin")),
            // A refusal that reaches a caller without its use case's own explanation is still
            // the person's to read, never an internal error.
            StoreError::Booking(r) => crate::booking::refusal(&r),
            StoreError::Jitsi(r) => crate::jitsi_servers::refusal(&r),
            other => Error::Internal(other.to_string()),
        }
    }
}

impl From<crate::crypto::HashingError> for Error {
    fn from(e: crate::crypto::HashingError) -> Self {
        match e {
            crate::crypto::HashingError::Busy => Error::Busy,
            crate::crypto::HashingError::Failed(detail) => Error::Internal(detail),
        }
    }
}

impl From<domain::UserInputError> for Error {
    fn from(e: domain::UserInputError) -> Self {
        Error::invalid(crate::messages::user_input_field(&e), crate::messages::user_input(&e))
    }
}
