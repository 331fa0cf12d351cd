//! What every surface shares: the request context of browser pages (address, login, language,
//! CSRF), the edge every request passes (NUL characters, the body limit), the one mapping of
//! failures to HTTP, security headers, static assets, health checks,
//! the shared state, forms, the page frame and the language helpers.

pub mod assets;
pub mod context;
pub mod edge;
pub mod error;
pub mod forms;
pub mod health;
pub mod i18n;
pub mod metrics;
pub mod multipart;
pub mod page;
pub mod proxy_auth;
pub mod security;
pub mod state;
