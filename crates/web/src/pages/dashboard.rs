//! The home page: what this role can do next.

use askama::Template;
use axum::extract::State;
use axum::{Router, routing::get};
use domain::Role;
use store::UserFilter;

use crate::context::Ctx;
use crate::error::AppResult;
use crate::page::{Page, html};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/", get(dashboard))
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    page: Page,
    role: Role,
    admins: usize,
    managers: usize,
    trainers: usize,
    needs_password: usize,
}

async fn dashboard(State(app): State<AppState>, ctx: Ctx) -> AppResult {
    let user = ctx.require_user()?;
    let role = user.role;
    let actor = ctx.actor()?;
    let visible = actor.visible_roles().to_vec();
    let users = if visible.is_empty() {
        Vec::new()
    } else {
        app.store()
            .list_users(&UserFilter {
                roles: visible,
                include_inactive: false,
            })
            .await?
    };
    let count = |r: Role| users.iter().filter(|u| u.role == r).count();
    let page = Page::new(&ctx, "dashboard.title", &app.config().default_time_zone);
    html(&DashboardPage {
        page,
        role,
        admins: count(Role::Admin),
        managers: count(Role::Manager),
        trainers: count(Role::Trainer),
        needs_password: users
            .iter()
            .filter(|u| !u.has_password && u.auth_source == "local")
            .count(),
    })
}
