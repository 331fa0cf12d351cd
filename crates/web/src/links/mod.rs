//! What people reach from a link rather than a login: their personal join link `/j/{key}` (the
//! waiting page, the redirect into the room, the session as a calendar file), its answer page
//! `/j/{key}/rsvp`, and calendar feeds `/ical/{key}.ics`. The key in the address is the
//! credential; logs never show it.

pub mod feeds;
pub mod join;
pub mod rsvp;
