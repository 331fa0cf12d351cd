//! Accounts: admins manage everyone, managers manage trainers (DESIGN.md's matrix, asked of
//! `domain::perm` on every request). An account the actor may not see answers 404, like one
//! that does not exist.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::{Form, Router, routing::get, routing::post};
use domain::{Actor, Locale, NewPassword, Role, UserAction};
use jiff::SignedDuration;
use serde::Deserialize;
use store::{NewUser, StoreError, TokenPurpose, User, UserFilter};

use crate::context::Ctx;
use crate::error::{AppError, AppResult, Message};
use crate::forms::FieldErrors;
use crate::page::{Page, html, html_status};
use crate::pages::auth::hash_in_background;
use crate::pages::profile::AccountForm;
use crate::state::AppState;
use service::crypto::{random_token, storage_hash};

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

fn require(actor: &Actor, action: UserAction) -> Result<(), AppError> {
    if actor.may(action) {
        Ok(())
    } else {
        Err(AppError::FORBIDDEN)
    }
}

/// The account `id`, if the actor may see it; otherwise 404 (as if it did not exist).
async fn visible_user(app: &AppState, actor: &Actor, id: &str) -> Result<User, AppError> {
    match app.store().user(id).await? {
        Some(user) if actor.may(UserAction::View { target: user.role }) => Ok(user),
        _ => Err(AppError::NOT_FOUND),
    }
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
    require(&actor, UserAction::List)?;
    let show_all = q.all.is_some();
    let users = app
        .store()
        .list_users(&UserFilter {
            roles: actor.visible_roles().to_vec(),
            include_inactive: show_all,
        })
        .await?;
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
    html(&NewPage {
        page: Page::new(&ctx, "users.new", &app.config().default_time_zone),
        form,
        role: Role::Trainer.as_str().to_owned(),
        roles,
        errors: FieldErrors::default(),
        zones: crate::i18n::time_zone_names(),
        locales: Locale::ALL,
    })
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

/// Makes a set-password link for `user` and the page that shows it once.
async fn link_page(app: &AppState, ctx: &Ctx, user: User, title_key: &str) -> AppResult {
    let token = random_token();
    let now = app.now();
    let ttl =
        SignedDuration::try_from(app.config().password_link_ttl).map_err(|e| AppError::internal(e.to_string()))?;
    let audit = ctx.audit("user.password_link").target("user", &user.id, &user.email);
    app.store()
        .create_one_time_token(
            &storage_hash(&token),
            TokenPurpose::SetPassword,
            Some(&user.id),
            now,
            now + ttl,
            Some(&audit),
        )
        .await?;
    let page = LinkPage {
        page: Page::new(ctx, title_key, &app.config().default_time_zone),
        link: app.url(&format!("/password/{token}")),
        hours: ttl.as_hours(),
        user,
    };
    html(&page)
}

async fn create(State(app): State<AppState>, ctx: Ctx, Form(form): Form<CreateForm>) -> AppResult {
    let actor = ctx.actor()?;
    let roles = actor.assignable_roles();
    if roles.is_empty() {
        return Err(AppError::FORBIDDEN);
    }
    let locale = ctx.locale;
    let mut errors = FieldErrors::default();
    let fields = form.account.parse(&mut errors, locale);
    let role = match form.role.parse::<Role>() {
        Ok(role) if actor.may(UserAction::Create { role }) => Some(role),
        Ok(_) => return Err(AppError::FORBIDDEN),
        Err(_) => {
            errors.add("role", locale.t("input.role_unknown").to_owned());
            None
        }
    };
    let password = if form.password.is_empty() {
        Some(None)
    } else {
        errors
            .check("password", locale, NewPassword::parse(&form.password))
            .map(Some)
    };
    let (Some(fields), Some(role), Some(password)) = (fields, role, password) else {
        return html_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &NewPage {
                page: Page::new(&ctx, "users.new", &app.config().default_time_zone),
                form: form.account,
                role: form.role,
                roles,
                errors,
                zones: crate::i18n::time_zone_names(),
                locales: Locale::ALL,
            },
        );
    };
    let password_hash = match password {
        Some(p) => Some(hash_in_background(p).await?),
        None => None,
    };
    let new = NewUser {
        email: fields.email,
        display_name: fields.display_name,
        role,
        locale: fields.locale,
        time_zone: fields.time_zone,
        password_hash,
        auth_source: "local".into(),
        external_id: None,
    };
    let audit = ctx
        .audit("user.create")
        .detail(serde_json::json!({ "role": role.as_str() }));
    match app.store().create_user(&new, app.now(), &audit).await {
        Ok(user) if user.has_password => {
            Ok(Redirect::to(&format!("/users/{}?notice=created", user.id)).into_response())
        }
        Ok(user) => link_page(&app, &ctx, user, "users.created").await,
        Err(StoreError::EmailTaken) => {
            errors.add("email", locale.t("user.error.email_taken").to_owned());
            html_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &NewPage {
                    page: Page::new(&ctx, "users.new", &app.config().default_time_zone),
                    form: form.account,
                    role: form.role,
                    roles,
                    errors,
                    zones: crate::i18n::time_zone_names(),
                    locales: Locale::ALL,
                },
            )
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
        zones: crate::i18n::time_zone_names(),
        locales: Locale::ALL,
        role_error: None,
        user,
        form,
        errors,
    }
}

async fn show(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    let actor = ctx.actor()?;
    let user = visible_user(&app, &actor, &id).await?;
    let form = AccountForm::of(&user);
    html(&show_page(&app, &ctx, &actor, user, form, FieldErrors::default()))
}

async fn update(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<AccountForm>,
) -> AppResult {
    let actor = ctx.actor()?;
    let user = visible_user(&app, &actor, &id).await?;
    require(&actor, UserAction::Edit { target: user.role })?;
    let mut errors = FieldErrors::default();
    let Some(update) = form.parse(&mut errors, ctx.locale) else {
        return html_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &show_page(&app, &ctx, &actor, user, form, errors),
        );
    };
    match app
        .store()
        .update_profile(&user.id, &update, app.now(), &ctx.audit("user.update"))
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/users/{id}?notice=saved")).into_response()),
        Err(StoreError::EmailTaken) => {
            errors.add("email", ctx.locale.t("user.error.email_taken").to_owned());
            html_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                &show_page(&app, &ctx, &actor, user, form, errors),
            )
        }
        Err(e) => Err(e.into()),
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
    let user = visible_user(&app, &actor, &id).await?;
    let Ok(to) = form.role.parse::<Role>() else {
        return Err(AppError::invalid(Message::new("input.role_unknown")));
    };
    require(&actor, UserAction::ChangeRole { target: user.role, to })?;
    match app
        .store()
        .set_role(&user.id, to, app.now(), &ctx.audit("user.role"))
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/users/{id}?notice=role_changed")).into_response()),
        Err(StoreError::LastAdmin) => {
            let form = AccountForm::of(&user);
            let mut page = show_page(&app, &ctx, &actor, user, form, FieldErrors::default());
            page.role_error = Some(ctx.locale.t("user.error.last_admin").to_owned());
            html_status(StatusCode::CONFLICT, &page)
        }
        Err(e) => Err(e.into()),
    }
}

async fn set_active(app: AppState, ctx: Ctx, id: String, active: bool) -> AppResult {
    let actor = ctx.actor()?;
    let user = visible_user(&app, &actor, &id).await?;
    require(
        &actor,
        UserAction::Disable {
            target: user.role,
            is_self: user.id == actor.user_id,
        },
    )?;
    let action = if active { "user.enable" } else { "user.disable" };
    match app
        .store()
        .set_active(&user.id, active, app.now(), &ctx.audit(action))
        .await
    {
        Ok(_) => {
            let notice = if active { "enabled" } else { "disabled" };
            Ok(Redirect::to(&format!("/users/{id}?notice={notice}")).into_response())
        }
        Err(StoreError::LastAdmin) => {
            let form = AccountForm::of(&user);
            let mut page = show_page(&app, &ctx, &actor, user, form, FieldErrors::default());
            page.role_error = Some(ctx.locale.t("user.error.last_admin").to_owned());
            html_status(StatusCode::CONFLICT, &page)
        }
        Err(e) => Err(e.into()),
    }
}

async fn disable(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    set_active(app, ctx, id, false).await
}

async fn enable(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    set_active(app, ctx, id, true).await
}

async fn password_link(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    let actor = ctx.actor()?;
    let user = visible_user(&app, &actor, &id).await?;
    require(&actor, UserAction::IssuePasswordLink { target: user.role })?;
    if !user.active {
        return Err(AppError::conflict(Message::new("users.link_disabled")));
    }
    link_page(&app, &ctx, user, "users.link_title").await
}
