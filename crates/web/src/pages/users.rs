//! Accounts: admins manage everyone, managers manage trainers (DESIGN.md's matrix, asked of
//! `domain::perm` on every request). An account the actor may not see answers 404, like one
//! that does not exist.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::{Form, Router, routing::get, routing::post};
use domain::{Actor, Locale, NewPassword, Role, UserAction};
use serde::Deserialize;
use service::accounts::{self, PasswordLink};
use service::{Error, Problem};
use store::User;

use crate::http::context::Ctx;
use crate::http::error::{AppError, AppResult, Message};
use crate::http::forms::FieldErrors;
use crate::http::page::{Page, html, html_status};
use crate::http::state::AppState;
use crate::pages::profile::AccountForm;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/users", get(list).post(create))
        .route("/users/new", get(new_form))
        .route("/users/{id}", get(show).post(update))
        .route("/users/{id}/role", post(change_role))
        .route("/users/{id}/disable", post(disable))
        .route("/users/{id}/enable", post(enable))
        .route("/users/{id}/password-link", post(password_link))
}

#[derive(Template)]
#[template(path = "users/list.html")]
struct ListPage {
    page: Page,
    users: Vec<User>,
    show_all: bool,
    can_create: bool,
}

#[derive(Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    all: Option<String>,
}

async fn list(State(app): State<AppState>, ctx: Ctx, Query(q): Query<ListQuery>) -> AppResult {
    let actor = ctx.actor()?;
    let show_all = q.all.is_some();
    let users = accounts::list(app.service(), &actor, show_all).await?;
    html(&ListPage {
        page: Page::new(&ctx, "users.title", &app.config().default_time_zone),
        users,
        show_all,
        can_create: !actor.assignable_roles().is_empty(),
    })
}

#[derive(Template)]
#[template(path = "users/new.html")]
struct NewPage {
    page: Page,
    form: AccountForm,
    role: String,
    roles: Vec<Role>,
    errors: FieldErrors,
    zones: &'static [String],
    locales: [Locale; 2],
}

async fn new_form(State(app): State<AppState>, ctx: Ctx) -> AppResult {
    let actor = ctx.actor()?;
    let roles = actor.assignable_roles();
    if roles.is_empty() {
        return Err(AppError::FORBIDDEN);
    }
    let form = AccountForm {
        locale: app.config().default_locale.as_str().to_owned(),
        time_zone: app.config().default_time_zone.clone(),
        ..Default::default()
    };
    html(&new_page(
        &app,
        &ctx,
        form,
        Role::Trainer.as_str().to_owned(),
        roles,
        FieldErrors::default(),
    ))
}

#[derive(Deserialize)]
pub struct CreateForm {
    #[serde(flatten)]
    account: AccountForm,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

#[derive(Template)]
#[template(path = "users/link.html")]
struct LinkPage {
    page: Page,
    user: User,
    link: String,
    hours: i64,
}

/// The page that shows a set-password link, once.
fn link_page(ctx: &Ctx, app: &AppState, user: User, link: PasswordLink, title_key: &str) -> AppResult {
    html(&LinkPage {
        page: Page::new(ctx, title_key, &app.config().default_time_zone),
        link: link.url,
        hours: link.hours,
        user,
    })
}

fn new_page(
    app: &AppState,
    ctx: &Ctx,
    form: AccountForm,
    role: String,
    roles: Vec<Role>,
    errors: FieldErrors,
) -> NewPage {
    NewPage {
        page: Page::new(ctx, "users.new", &app.config().default_time_zone),
        form,
        role,
        roles,
        errors,
        zones: crate::http::i18n::time_zone_names(),
        locales: Locale::ALL,
    }
}

async fn create(State(app): State<AppState>, ctx: Ctx, Form(form): Form<CreateForm>) -> AppResult {
    let actor = ctx.actor()?;
    let roles = actor.assignable_roles();
    if roles.is_empty() {
        return Err(AppError::FORBIDDEN);
    }
    let mut problems = Vec::new();
    let role = match form.role.parse::<Role>() {
        Ok(role) => Some(role),
        Err(_) => {
            problems.push(Problem::new("role", Message::new("input.role_unknown")));
            None
        }
    };
    let password = if form.password.is_empty() {
        None
    } else {
        match NewPassword::parse(&form.password) {
            Ok(p) => Some(p),
            Err(e) => {
                problems.push(Problem::new("password", service::messages::user_input(&e)));
                None
            }
        }
    };
    // Every problem at once: the fields' own, then the role's and the password's.
    if let Err(Error::Invalid(mut more)) = form.account.fields().parse() {
        more.append(&mut problems);
        problems = more;
    }
    let result = match (role, problems.is_empty()) {
        (Some(role), true) => {
            accounts::create(
                app.service(),
                &ctx.caller()?,
                &form.account.fields(),
                role,
                password.as_ref(),
            )
            .await
        }
        _ => Err(Error::Invalid(problems)),
    };
    match result {
        Ok((user, None)) => Ok(Redirect::to(&format!("/users/{}?notice=created", user.id)).into_response()),
        Ok((user, Some(link))) => link_page(&ctx, &app, user, link, "users.created"),
        Err(e) if !e.problems().is_empty() => {
            let mut errors = FieldErrors::default();
            let status = errors.record(&e, ctx.locale, &app.config().default_time_zone, |f| f);
            html_status(status, &new_page(&app, &ctx, form.account, form.role, roles, errors))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "users/show.html")]
struct ShowPage {
    page: Page,
    user: User,
    form: AccountForm,
    errors: FieldErrors,
    zones: &'static [String],
    locales: [Locale; 2],
    roles: Vec<Role>,
    can_edit: bool,
    can_change_role: bool,
    can_disable: bool,
    can_link: bool,
    role_error: Option<String>,
}

fn show_page(app: &AppState, ctx: &Ctx, actor: &Actor, user: User, form: AccountForm, errors: FieldErrors) -> ShowPage {
    let target = user.role;
    let is_self = user.id == actor.user_id;
    ShowPage {
        page: Page::new(ctx, "users.title", &app.config().default_time_zone).titled(user.display_name.clone()),
        can_edit: actor.may(UserAction::Edit { target }),
        can_change_role: actor.may(UserAction::ChangeRole { target, to: target }),
        can_disable: actor.may(UserAction::Disable { target, is_self }),
        can_link: actor.may(UserAction::IssuePasswordLink { target }) && user.active,
        roles: Role::ALL.to_vec(),
        zones: crate::http::i18n::time_zone_names(),
        locales: Locale::ALL,
        role_error: None,
        user,
        form,
        errors,
    }
}

async fn show(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    let actor = ctx.actor()?;
    let user = accounts::visible(app.service(), &actor, &id).await?;
    let form = AccountForm::of(&user);
    html(&show_page(&app, &ctx, &actor, user, form, FieldErrors::default()))
}

/// The account page again, with the error's messages (a refused change of role or activity
/// under the role section), or the error page when it explains nothing.
fn refused(app: &AppState, ctx: &Ctx, actor: &Actor, user: User, form: AccountForm, e: Error) -> AppResult {
    if e.problems().is_empty() {
        return Err(e.into());
    }
    let mut errors = FieldErrors::default();
    let status = errors.record(&e, ctx.locale, &app.config().default_time_zone, |f| f);
    let role_error = errors.get("role").map(str::to_owned);
    let mut page = show_page(app, ctx, actor, user, form, errors);
    page.role_error = role_error;
    html_status(status, &page)
}

async fn update(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<AccountForm>,
) -> AppResult {
    let actor = ctx.actor()?;
    let user = accounts::visible(app.service(), &actor, &id).await?;
    match accounts::update(app.service(), &ctx.caller()?, &id, &form.fields()).await {
        Ok(_) => Ok(Redirect::to(&format!("/users/{id}?notice=saved")).into_response()),
        Err(e) => refused(&app, &ctx, &actor, user, form, e),
    }
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

async fn change_role(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<RoleForm>,
) -> AppResult {
    let actor = ctx.actor()?;
    let user = accounts::visible(app.service(), &actor, &id).await?;
    let Ok(to) = form.role.parse::<Role>() else {
        return Err(AppError::invalid(Message::new("input.role_unknown")));
    };
    match accounts::set_role(app.service(), &ctx.caller()?, &id, to).await {
        Ok(_) => Ok(Redirect::to(&format!("/users/{id}?notice=role_changed")).into_response()),
        Err(e) => {
            let form = AccountForm::of(&user);
            refused(&app, &ctx, &actor, user, form, e)
        }
    }
}

async fn set_active(app: AppState, ctx: Ctx, id: String, active: bool) -> AppResult {
    let actor = ctx.actor()?;
    let user = accounts::visible(app.service(), &actor, &id).await?;
    match accounts::set_active(app.service(), &ctx.caller()?, &id, active).await {
        Ok(_) => {
            let notice = if active { "enabled" } else { "disabled" };
            Ok(Redirect::to(&format!("/users/{id}?notice={notice}")).into_response())
        }
        Err(e) => {
            let form = AccountForm::of(&user);
            refused(&app, &ctx, &actor, user, form, e)
        }
    }
}

async fn disable(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    set_active(app, ctx, id, false).await
}

async fn enable(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    set_active(app, ctx, id, true).await
}

async fn password_link(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    let caller = ctx.caller()?;
    let user = accounts::visible(app.service(), &caller.actor, &id).await?;
    let link = accounts::issue_password_link(app.service(), &caller, &id).await?;
    link_page(&ctx, &app, user, link, "users.link_title")
}
