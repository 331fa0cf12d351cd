//! Dialogue's integration tests: the real application on an ephemeral port, driven over HTTP,
//! on SQLite and on PostgreSQL. One test binary, modules by area.

mod helpers;

mod access;
mod accessibility;
mod accounts;
mod api;
mod api_limits;
mod attendance;
mod attendance_browser;
mod auth;
mod backup;
mod behind_nginx;
mod binary;
mod booking_api;
mod booking_matrix;
mod booking_pages;
mod booking_support;
mod browser;
mod calendar;
mod contacts;
mod course_attendance;
mod edges;
mod feeds;
mod fuzz_api;
mod gdpr;
mod http_basics;
mod import;
mod jaas_webhook;
mod jitsi_browser;
mod jitsi_config;
mod jitsi_servers;
mod jitsi_support;
mod join;
mod join_instances;
mod ldap;
mod mail;
mod mail_faults;
mod mailkit;
mod matrix;
mod metrics;
mod oidc;
mod ops;
mod participant_prefs;
mod personal_rooms;
mod prosody;
mod prosody_accounts;
mod proxy;
mod reverse_proxy_examples;
mod review_findings;
mod series;
mod session_room;
mod sign_reminders;
mod tokens;
mod welcome;

/// The ISO week of a date, as the calendar's `week` parameter writes it (`2026-W43`).
pub fn calendar_week(date: jiff::civil::Date) -> String {
    let w = date.iso_week_date();
    format!("{}-W{:02}", w.year(), w.week())
}
