//! The home page, "Mes séances" for every role: today's and the next sessions (a trainer's
//! own, everyone's for staff), highlighted when starting soon or in progress, and what this role
//! can do next.

use askama::Template;
use axum::extract::State;
use axum::{Router, routing::get};
use domain::{Role, SessionAction, SessionFacts};
use store::SessionFilter;

use crate::http::context::Ctx;
use crate::http::error::AppResult;
use crate::http::page::{Page, html};
use crate::http::state::AppState;
use crate::pages::views::{self, SessionRow};

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(dashboard))
}

/// Upcoming sessions shown after today's.
const UPCOMING: usize = 10;

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    page: Page,
    role: Role,
    today: Vec<SessionRow>,
    upcoming: Vec<SessionRow>,
    can_book: bool,
    admins: usize,
    managers: usize,
    trainers: usize,
    needs_password: usize,
}

async fn dashboard(State(app): State<AppState>, ctx: Ctx) -> AppResult {
    let user = ctx.require_user()?;
    let role = user.role;
    let actor = ctx.actor()?;
    let zone = user.time_zone.clone();
    let now = app.now();
    let start = views::start_of_day(now, &zone);
    let tomorrow = start.tomorrow().map_or(now, |z| z.timestamp());
    // One query: from the start of today (sessions already over today stay listed), today's
    // sessions and the next ones.
    let found = service::booking::list(
        app.service(),
        &actor,
        SessionFilter {
            from: Some(start.timestamp()),
            limit: 40,
            ..Default::default()
        },
        None,
    )
    .await?;
    let (today, later): (Vec<_>, Vec<_>) = found.iter().partition(|s| s.session.starts_at < tomorrow);
    let rows = |list: Vec<&store::SessionSummary>| {
        list.into_iter()
            .map(|s| SessionRow::of(s, &zone, ctx.locale, now).joinable(&s.session, &app.config().join, now))
            .collect::<Vec<_>>()
    };
    let users = if actor.may(domain::UserAction::List) {
        service::accounts::list(app.service(), &actor, false).await?
    } else {
        Vec::new()
    };
    let count = |r: Role| users.iter().filter(|u| u.role == r).count();
    let page = Page::new(&ctx, "dashboard.title", &app.config().default_time_zone);
    html(&DashboardPage {
        page,
        role,
        today: rows(today),
        upcoming: rows(later.into_iter().take(UPCOMING).collect()),
        can_book: service::booking::may(app.service(), &actor, SessionAction::Book, SessionFacts::default()),
        admins: count(Role::Admin),
        managers: count(Role::Manager),
        trainers: count(Role::Trainer),
        needs_password: users
            .iter()
            .filter(|u| !u.has_password && u.auth_source == "local")
            .count(),
    })
}
