//! The mail outbox, for admins: queued, sent, failed and superseded messages with their
//! recipient, subject, kind, attempts, last error and times; failed ones can be retried.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::{Router, routing::get, routing::post};
use domain::UserAction;
use serde::Deserialize;
use store::{MailKind, OutboxCounts, OutboxLine, OutboxStatus};

use crate::http::context::Ctx;
use crate::http::error::{AppError, AppResult};
use crate::http::page::{Page, html};
use crate::http::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/mail", get(list))
        .route("/mail/{id}/retry", post(retry))
}

const PAGE_SIZE: i64 = 100;

/// The tabs of the page: (name in the URL, statuses, catalogue key).
const FILTERS: &[(&str, &[OutboxStatus], &str)] = &[
    ("all", &[], "outbox.filter.all"),
    (
        "queued",
        &[OutboxStatus::Queued, OutboxStatus::Sending],
        "outbox.filter.queued",
    ),
    ("sent", &[OutboxStatus::Sent], "outbox.filter.sent"),
    ("failed", &[OutboxStatus::Failed], "outbox.filter.failed"),
    ("superseded", &[OutboxStatus::Superseded], "outbox.filter.superseded"),
];

/// A tab with its count.
struct Tab {
    name: &'static str,
    label: &'static str,
    count: i64,
    current: bool,
}

#[derive(Template)]
#[template(path = "mail/outbox.html")]
struct OutboxPage {
    page: Page,
    tabs: Vec<Tab>,
    filter: &'static str,
    lines: Vec<OutboxLine>,
    older: Option<i64>,
    newer: Option<i64>,
    transport: String,
}

impl OutboxPage {
    fn kind_key(&self, kind: &MailKind) -> &'static str {
        match kind {
            MailKind::Invitation => "outbox.kind.invitation",
            MailKind::Update => "outbox.kind.update",
            MailKind::Cancellation => "outbox.kind.cancellation",
            MailKind::Reminder => "outbox.kind.reminder",
            MailKind::SignReminder => "outbox.kind.sign_reminder",
            MailKind::Welcome => "outbox.kind.welcome",
        }
    }

    fn status_key(&self, status: &OutboxStatus) -> &'static str {
        match status {
            OutboxStatus::Queued => "outbox.status.queued",
            OutboxStatus::Sending => "outbox.status.sending",
            OutboxStatus::Sent => "outbox.status.sent",
            OutboxStatus::Failed => "outbox.status.failed",
            OutboxStatus::Superseded => "outbox.status.superseded",
        }
    }

    fn badge(&self, status: &OutboxStatus) -> &'static str {
        match status {
            OutboxStatus::Sent => "",
            OutboxStatus::Failed => "danger",
            OutboxStatus::Queued | OutboxStatus::Sending => "warn",
            OutboxStatus::Superseded => "off",
        }
    }

    /// The last error, or for a superseded message why it was not sent, in the reader's words.
    fn detail(&self, line: &OutboxLine) -> String {
        let m = &line.message;
        let Some(text) = &m.last_error else {
            return String::new();
        };
        if m.status == OutboxStatus::Superseded {
            let key = match text.as_str() {
                store::reason::CANCELLED => "outbox.reason.cancelled",
                store::reason::REMOVED => "outbox.reason.removed",
                store::reason::REINVITED => "outbox.reason.reinvited",
                store::reason::UNCHANGED => "outbox.reason.unchanged",
                store::reason::DECLINED => "outbox.reason.declined",
                store::reason::STARTED => "outbox.reason.started",
                store::reason::LINK_SPENT => "outbox.reason.link_spent",
                store::reason::IN_SERIES => "outbox.reason.in_series",
                _ => "outbox.reason.gone",
            };
            return self.page.t(key).to_owned();
        }
        text.clone()
    }

    fn count(&self, n: &i64) -> String {
        n.to_string()
    }

    /// When it left, or when the next attempt is due.
    fn when(&self, line: &OutboxLine) -> String {
        let m = &line.message;
        match (m.sent_at, m.status) {
            (Some(at), _) => self.page.short(&at),
            (None, OutboxStatus::Queued) => self.page.short(&m.next_attempt_at),
            _ => String::new(),
        }
    }

    /// A failed welcome no longer holds its link (wiped when it failed): the admin issues a new
    /// link from the account instead.
    fn retryable(&self, line: &OutboxLine) -> bool {
        line.message.status == OutboxStatus::Failed && line.message.kind != MailKind::Welcome
    }
}

#[derive(Deserialize, Default)]
pub struct OutboxQuery {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    offset: Option<i64>,
}

fn count_of(counts: &OutboxCounts, statuses: &[OutboxStatus]) -> i64 {
    if statuses.is_empty() {
        return counts.queued + counts.sending + counts.sent + counts.failed + counts.superseded;
    }
    statuses
        .iter()
        .map(|s| match s {
            OutboxStatus::Queued => counts.queued,
            OutboxStatus::Sending => counts.sending,
            OutboxStatus::Sent => counts.sent,
            OutboxStatus::Failed => counts.failed,
            OutboxStatus::Superseded => counts.superseded,
        })
        .sum()
}

fn require_admin(ctx: &Ctx) -> Result<(), AppError> {
    if ctx.actor()?.may(UserAction::ManageMail) {
        Ok(())
    } else {
        Err(AppError::FORBIDDEN)
    }
}

async fn list(State(app): State<AppState>, ctx: Ctx, Query(q): Query<OutboxQuery>) -> AppResult {
    require_admin(&ctx)?;
    let wanted = q.status.as_deref().unwrap_or("all");
    let (filter, statuses, _) = FILTERS
        .iter()
        .find(|(name, _, _)| *name == wanted)
        .copied()
        .ok_or(AppError::NOT_FOUND)?;
    let offset = q.offset.unwrap_or(0).max(0);
    let (counts, lines) = service::admin::outbox(app.service(), &ctx.actor()?, statuses, PAGE_SIZE, offset).await?;
    let page = Page::new(&ctx, "outbox.title", &app.config().default_time_zone);
    let tabs = FILTERS
        .iter()
        .map(|(name, statuses, key)| Tab {
            name,
            label: page.t(key),
            count: count_of(&counts, statuses),
            current: *name == filter,
        })
        .collect();
    html(&OutboxPage {
        older: (lines.len() as i64 == PAGE_SIZE).then_some(offset + PAGE_SIZE),
        newer: (offset > 0).then_some((offset - PAGE_SIZE).max(0)),
        page,
        tabs,
        filter,
        lines,
        transport: {
            let (key, place) = &app.http().mail_transport;
            ctx.locale.tf(key, &[("where", place)])
        },
    })
}

async fn retry(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    service::admin::retry_mail(app.service(), &ctx.caller()?, &id).await?;
    Ok(Redirect::to("/mail?status=queued&notice=retried").into_response())
}
