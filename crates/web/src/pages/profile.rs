//! Everyone's own profile: name, email, language, time zone, password.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::{Form, Router, routing::get, routing::post};
use domain::Locale;
use serde::Deserialize;
use service::accounts::{self, AccountFields};
use store::User;

use crate::http::context::Ctx;
use crate::http::error::{AppError, AppResult};
use crate::http::forms::FieldErrors;
use crate::http::page::{Page, html, html_status};
use crate::http::state::AppState;
use crate::pages::tokens::ApiTokensSection;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/profile", get(show).post(update))
        .route("/profile/password", post(change_password))
        .route("/profile/jitsi-logins/{server_id}/password", post(renew_jitsi_login))
}

/// The editable fields of an account, as typed.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct AccountForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub locale: String,
    #[serde(default)]
    pub time_zone: String,
}

impl AccountForm {
    pub fn of(user: &User) -> AccountForm {
        AccountForm {
            email: user.email.clone(),
            display_name: user.display_name.clone(),
            locale: user.locale.as_str().to_owned(),
            time_zone: user.time_zone.clone(),
        }
    }

    /// The fields as the accounts service takes them.
    pub fn fields(&self) -> AccountFields {
        AccountFields {
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            locale: self.locale.clone(),
            time_zone: self.time_zone.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "profile.html")]
pub struct ProfilePage {
    page: Page,
    user: User,
    form: AccountForm,
    errors: FieldErrors,
    password_errors: FieldErrors,
    zones: &'static [String],
    locales: [Locale; 2],
    /// The account's calendar feed (`_feed.html`).
    feed_url: String,
    /// The API tokens section (`_api_tokens.html`).
    pub api_tokens: ApiTokensSection,
    /// Host logins on secure-domain Jitsi servers (`_jitsi_logins.html`).
    jitsi_logins: Vec<service::prosody_accounts::HostLogin>,
}

async fn page_for(
    app: &AppState,
    ctx: &Ctx,
    user: &User,
    form: AccountForm,
    errors: FieldErrors,
    password_errors: FieldErrors,
) -> Result<ProfilePage, AppError> {
    Ok(ProfilePage {
        page: Page::new(ctx, "profile.title", &app.config().default_time_zone),
        user: user.clone(),
        form,
        errors,
        password_errors,
        zones: crate::http::i18n::time_zone_names(),
        locales: Locale::ALL,
        feed_url: service::feeds::feed_url(app.service(), user).await?,
        api_tokens: ApiTokensSection::load(app, ctx).await?,
        jitsi_logins: service::prosody_accounts::my_logins(app.service(), &ctx.caller()?).await?,
    })
}

/// The profile page as first shown (for sections that answer their own forms on it).
pub async fn profile_page(app: &AppState, ctx: &Ctx, user: &User) -> Result<ProfilePage, AppError> {
    page_for(
        app,
        ctx,
        user,
        AccountForm::of(user),
        FieldErrors::default(),
        FieldErrors::default(),
    )
    .await
}

async fn show(State(app): State<AppState>, ctx: Ctx) -> AppResult {
    let user = ctx.require_user()?;
    html(&profile_page(&app, &ctx, user).await?)
}

async fn update(State(app): State<AppState>, ctx: Ctx, Form(form): Form<AccountForm>) -> AppResult {
    let user = ctx.require_user()?;
    match accounts::update(app.service(), &ctx.caller()?, &user.id, &form.fields()).await {
        Ok(_) => Ok(Redirect::to("/profile?notice=saved").into_response()),
        Err(e) if !e.problems().is_empty() => {
            let mut errors = FieldErrors::default();
            let status = errors.record(&e, ctx.locale, &user.time_zone, |f| f);
            html_status(
                status,
                &page_for(&app, &ctx, user, form, errors, FieldErrors::default()).await?,
            )
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct PasswordChange {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

async fn change_password(State(app): State<AppState>, ctx: Ctx, Form(form): Form<PasswordChange>) -> AppResult {
    let user = ctx.require_user()?;
    let auth = ctx.auth.as_deref().ok_or(AppError::LOGIN_REQUIRED)?;
    let password = accounts::new_password(&form.password, &form.password_confirm);
    match accounts::change_own_password(
        app.service(),
        &ctx.caller()?,
        &auth.session_hash,
        &form.current_password,
        password,
    )
    .await
    {
        Ok(()) => Ok(Redirect::to("/profile?notice=password_changed").into_response()),
        Err(e) if !e.problems().is_empty() => {
            let mut errors = FieldErrors::default();
            let status = errors.record(&e, ctx.locale, &user.time_zone, |f| f);
            html_status(
                status,
                &page_for(&app, &ctx, user, AccountForm::of(user), FieldErrors::default(), errors).await?,
            )
        }
        Err(e) => Err(e.into()),
    }
}

/// A new password for the caller's host login on a secure-domain server.
async fn renew_jitsi_login(State(app): State<AppState>, ctx: Ctx, Path(server_id): Path<String>) -> AppResult {
    ctx.require_user()?;
    service::prosody_accounts::new_password(app.service(), &ctx.caller()?, &server_id).await?;
    Ok(Redirect::to("/profile?notice=jitsi_login_renewed#jitsi-logins-h").into_response())
}
