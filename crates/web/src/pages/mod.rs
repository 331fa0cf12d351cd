//! Browser pages, one module per area.

pub mod audit;
pub mod auth;
pub mod dashboard;
pub mod error;
pub mod jitsi_servers;
pub mod profile;
pub mod users;
