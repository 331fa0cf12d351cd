//! Browser pages, one module per area.

pub mod attendance;
pub mod audit;
pub mod auth;
pub mod calendar;
pub mod contacts;
pub mod course_attendance;
pub mod courses;
pub mod dashboard;
pub mod error;
pub mod gdpr;
pub mod import;
pub mod jitsi_servers;
pub mod mail;
pub mod oidc;
pub mod personal_room;
pub mod profile;
pub mod room;
pub mod session_form;
pub mod sessions;
pub mod tokens;
pub mod users;
pub mod views;
