//! Dialogue's integration tests: the real application on an ephemeral port, driven over HTTP,
//! on SQLite and on PostgreSQL. One test binary, modules by area.

mod helpers;

mod accounts;
mod api;
mod auth;
mod binary;
mod browser;
mod feeds;
mod http_basics;
mod jitsi_browser;
mod jitsi_config;
mod jitsi_servers;
mod jitsi_support;
mod join;
mod mail;
mod mail_faults;
mod mailkit;
mod matrix;
mod prosody;
mod proxy;
