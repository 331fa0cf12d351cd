//! The audit log, for admins.

use askama::Template;
use axum::extract::{Query, State};
use axum::{Router, routing::get};
use serde::Deserialize;
use store::AuditRecord;

use crate::http::context::Ctx;
use crate::http::error::AppResult;
use crate::http::page::{Page, html};
use crate::http::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/audit", get(audit))
}

const PAGE_SIZE: i64 = 100;

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    page: Page,
    entries: Vec<AuditRecord>,
    older: Option<i64>,
}

#[derive(Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
}

async fn audit(State(app): State<AppState>, ctx: Ctx, Query(q): Query<AuditQuery>) -> AppResult {
    let entries = service::admin::audit_log(app.service(), &ctx.actor()?, PAGE_SIZE, q.before).await?;
    let older = if entries.len() as i64 == PAGE_SIZE {
        entries.last().map(|e| e.seq)
    } else {
        None
    };
    html(&AuditPage {
        page: Page::new(&ctx, "audit.title", &app.config().default_time_zone),
        entries,
        older,
    })
}
