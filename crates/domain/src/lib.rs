//! Dialogue's domain: pure types and rules, no I/O.
//!
//! Everything here is tested without a database or a network. Values that exist are valid
//! (parse, don't validate): handlers build them once from input and never re-check.
#![forbid(unsafe_code)]

pub mod access;
pub mod attendance;
pub mod booking;
pub mod contact;
pub mod course;
pub mod evidence;
pub mod import;
pub mod jitsi_server;
pub mod links;
pub mod localtime;
pub mod mail_policy;
pub mod perm;
pub mod presence;
pub mod recurrence;
pub mod repeat;
pub mod role;
pub mod room;
pub mod session;
pub mod user;
pub mod window;

pub use i18n::Locale;
pub use perm::{Actor, SessionAction, SessionFacts, UserAction};
pub use role::Role;
pub use user::{DisplayName, Email, NewPassword, UserInputError};
