//! Dialogue's mail and calendars: sessions as iCalendar events ([`calendar`]), the messages
//! rendered from outbox rows in each recipient's language ([`message`], [`doc`]), the transports
//! (SMTP or `.eml` files, [`transport`]) and the outbox worker ([`worker`]).
#![forbid(unsafe_code)]

pub mod calendar;
pub mod doc;
pub mod message;
pub mod smtp;
pub mod transport;
pub mod worker;

pub use lettre::message::Mailbox;
pub use message::{MailSettings, Outcome, Rendered, render};
pub use transport::{SendError, SmtpSecurity, SmtpSettings, Transport};
pub use worker::{ClaimError, Clock, Pass, Worker, WorkerOptions, holder_alive, host_name};
