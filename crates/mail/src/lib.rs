//! Dialogue's mail and calendars: how sessions read as iCalendar events, and (to come) the
//! messages, transports and outbox worker.
#![forbid(unsafe_code)]

pub mod calendar;
