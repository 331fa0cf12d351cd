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
mod mail;
mod mail_faults;
mod mailkit;
mod matrix;
mod proxy;
