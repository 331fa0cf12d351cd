//! The `dialogue` program: command line, configuration, wiring.
#![forbid(unsafe_code)]

pub mod app;
pub mod cli;
pub mod commands;
pub mod config;
pub mod logging;

pub use app::Application;
pub use config::Config;
