//! Everyone's own profile: name, email, language, time zone, password.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::{Form, Router, routing::get, routing::post};
use domain::{DisplayName, Email, Locale};
use serde::Deserialize;
use store::{ProfileUpdate, StoreError, User};

use crate::context::Ctx;
use crate::error::{AppError, AppResult};
use crate::forms::FieldErrors;
use crate::page::{Page, html, html_status};
use crate::pages::auth::{check_new_password, hash_in_background};
use crate::pages::tokens::ApiTokensSection;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/profile", get(show).post(update))
        .route("/profile/password", post(change_password))
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

    /// Validates every field, recording each error.
    pub fn parse(&self, errors: &mut FieldErrors, locale: Locale) -> Option<ProfileUpdate> {
        let email = errors.check("email", locale, Email::parse(&self.email));
        let name = errors.check("display_name", locale, DisplayName::parse(&self.display_name));
        let user_locale = errors.check("locale", locale, domain::user::parse_locale(&self.locale));
        let zone = errors.check("time_zone", locale, domain::user::parse_time_zone(&self.time_zone));
        Some(ProfileUpdate {
            email: email?,
            display_name: name?,
            locale: user_locale?,
            time_zone: zone?,
        })
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
        zones: crate::i18n::time_zone_names(),
        locales: Locale::ALL,
        feed_url: crate::feeds::feed_url(app, user).await?,
        api_tokens: ApiTokensSection::load(app, &user.id).await?,
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
    let mut errors = FieldErrors::default();
    let Some(update) = form.parse(&mut errors, ctx.locale) else {
        return html_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page_for(&app, &ctx, user, form, errors, FieldErrors::default()).await?,
        );
    };
    match app
        .store()
        .update_profile(&user.id, &update, app.now(), &ctx.audit("user.update"))
        .await
    {
        Ok(_) => Ok(Redirect::to("/profile?notice=saved").into_response()),
        Err(StoreError::EmailTaken) => {
            errors.add("email", ctx.locale.t("user.error.email_taken").to_owned());
            html_status(
                StatusCode::UNPROCESSABLE_ENTITY,
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
    let mut errors = FieldErrors::default();
    // Someone who has a password proves they know it before changing it.
    if user.has_password {
        let hash = app
            .store()
            .login_credentials(&user.email)
            .await?
            .and_then(|(_, h)| h)
            .unwrap_or_default();
        let current = form.current_password.clone();
        let ok = service::crypto::verify_password_bounded(current, hash)
            .await
            .map_err(|e| AppError::Service(e.into()))?;
        if !ok {
            errors.add(
                "current_password",
                ctx.locale.t("profile.error.current_password").to_owned(),
            );
        }
    }
    let password = check_new_password(&mut errors, ctx.locale, &form.password, &form.password_confirm);
    let Some(password) = password.filter(|_| errors.is_empty()) else {
        return html_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page_for(&app, &ctx, user, AccountForm::of(user), FieldErrors::default(), errors).await?,
        );
    };
    let hash = hash_in_background(password).await?;
    app.store()
        .set_password_hash(
            &user.id,
            &hash,
            Some(&auth.session_hash),
            app.now(),
            &ctx.audit("user.password"),
        )
        .await?;
    Ok(Redirect::to("/profile?notice=password_changed").into_response())
}
