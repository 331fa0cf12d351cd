//! Login, logout, the first-start setup link, set-password links, the language switch.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Router, routing::get, routing::post};
use domain::{DisplayName, Email, Locale, NewPassword, Role};
use serde::Deserialize;
use store::{NewUser, StoreError, TokenPurpose};

use crate::context::{Ctx, LANG_COOKIE, session_cookie_name, set_cookie, start_session};
use crate::error::{AppError, AppResult, Message};
use crate::forms::{FieldErrors, safe_next};
use crate::page::{Page, html, html_status};
use crate::state::AppState;
use service::crypto::{
    DUMMY_HASH, HashingError, hash_password_bounded, random_token, storage_hash, verify_password_bounded,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/setup/{token}", get(setup_form).post(setup))
        .route("/password/{token}", get(password_form).post(set_password))
        .route("/lang/{code}", get(switch_language).post(switch_language_saved))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: Page,
    email: String,
    next: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

async fn login_form(State(app): State<AppState>, ctx: Ctx, Query(q): Query<NextQuery>) -> AppResult {
    if ctx.user().is_some() {
        return Ok(Redirect::to(&safe_next(q.next.as_deref())).into_response());
    }
    let page = Page::new(&ctx, "login.title", &app.config().default_time_zone);
    html(&LoginPage {
        page,
        email: String::new(),
        next: safe_next(q.next.as_deref()),
        error: None,
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn login(State(app): State<AppState>, ctx: Ctx, Form(form): Form<LoginForm>) -> AppResult {
    let now = app.now();
    let store = app.store();
    let email_norm = form.email.trim().to_lowercase();
    let account_key = format!("acct:{email_norm}");
    let address_key = format!("ip:{}", ctx.ip);
    let again = |status: StatusCode, message: String| {
        let page = Page::new(&ctx, "login.title", &app.config().default_time_zone);
        html_status(
            status,
            &LoginPage {
                page,
                email: form.email.trim().to_owned(),
                next: safe_next(form.next.as_deref()),
                error: Some(message),
            },
        )
    };
    let (account_rule, address_rule) = (&app.config().throttle_account, &app.config().throttle_address);
    // The attempt is counted a failure before the password is checked, in the transaction that
    // checks the locks: parallel guesses cannot all slip under the limit.
    if let Some(until) = store
        .begin_login_attempt((&account_key, account_rule), &address_key, now)
        .await?
    {
        let message = AppError::Service(service::Error::Throttled { until })
            .problem(now)
            .message
            .render(ctx.locale);
        return again(StatusCode::TOO_MANY_REQUESTS, message);
    }
    let candidate = match store.login_credentials(&email_norm).await? {
        Some((user, Some(hash))) if user.active => Some((user, hash)),
        _ => None,
    };
    // Without an account, a hash is still verified, so that timing does not reveal which
    // emails exist.
    let hash = candidate
        .as_ref()
        .map_or_else(|| DUMMY_HASH.clone(), |(_, h)| h.clone());
    let matches = match verify_password_bounded(form.password.clone(), hash).await {
        Ok(matches) => matches,
        Err(HashingError::Busy) => {
            // Not the person's failure: take the provisional one back.
            store.abandon_login_attempt((&account_key, account_rule)).await?;
            let message = AppError::Service(service::Error::Busy)
                .problem(now)
                .message
                .render(ctx.locale);
            return again(StatusCode::SERVICE_UNAVAILABLE, message);
        }
        Err(e) => return Err(AppError::Service(e.into())),
    };
    let user = match candidate {
        Some((user, _)) if matches => user,
        _ => {
            store.record_login_failure(&address_key, now, address_rule).await?;
            let entry = ctx.audit("login.failed").target("email", &email_norm, &email_norm);
            store.audit(&entry, app.now()).await?;
            return again(StatusCode::UNAUTHORIZED, ctx.locale.t("login.error.invalid").to_owned());
        }
    };
    store.login_succeeded(&account_key).await?;
    if let Some(old) = &ctx.auth {
        store.delete_session(&old.session_hash, app.now(), None).await?;
    }
    let (_, session_cookie) = start_session(&app, &ctx, &user, "password").await?;
    let mut response = Redirect::to(&safe_next(form.next.as_deref())).into_response();
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, session_cookie);
    // A new CSRF secret for the new login, too.
    let csrf_name = if app.config().https() {
        "__Host-dialogue_csrf"
    } else {
        "dialogue_csrf"
    };
    headers.append(header::SET_COOKIE, set_cookie(&app, csrf_name, &random_token(), None));
    Ok(response)
}

async fn logout(State(app): State<AppState>, ctx: Ctx) -> AppResult {
    if let Some(auth) = &ctx.auth {
        app.store()
            .delete_session(&auth.session_hash, app.now(), Some(&ctx.audit("logout")))
            .await?;
    }
    let mut response = Redirect::to("/login?notice=logged_out").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&app, session_cookie_name(&app), "", Some(0)),
    );
    Ok(response)
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    page: Page,
    form: SetupForm,
    errors: FieldErrors,
    zones: &'static [String],
    locales: [Locale; 2],
}

#[derive(Deserialize, Default, Clone)]
pub struct SetupForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
    #[serde(default)]
    locale: String,
    #[serde(default)]
    time_zone: String,
}

fn invalid_link() -> AppError {
    AppError::invalid(Message::new("link.invalid"))
}

async fn setup_form(State(app): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> AppResult {
    let hash = storage_hash(&token);
    if app
        .store()
        .one_time_token(&hash, TokenPurpose::Setup, app.now())
        .await?
        .is_none()
    {
        return Err(AppError::NOT_FOUND);
    }
    let form = SetupForm {
        locale: ctx.locale.as_str().to_owned(),
        time_zone: app.config().default_time_zone.clone(),
        ..Default::default()
    };
    html(&SetupPage {
        page: Page::new(&ctx, "setup.title", &app.config().default_time_zone),
        form,
        errors: FieldErrors::default(),
        zones: crate::i18n::time_zone_names(),
        locales: Locale::ALL,
    })
}

/// Validates the password pair; records errors.
pub fn check_new_password(
    errors: &mut FieldErrors,
    locale: Locale,
    password: &str,
    confirm: &str,
) -> Option<NewPassword> {
    let password = errors.check("password", locale, NewPassword::parse(password))?;
    if password.expose() != confirm {
        errors.add("password_confirm", locale.t("input.password_mismatch").to_owned());
        return None;
    }
    Some(password)
}

async fn setup(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    Form(form): Form<SetupForm>,
) -> AppResult {
    let hash = storage_hash(&token);
    let now = app.now();
    if app
        .store()
        .one_time_token(&hash, TokenPurpose::Setup, now)
        .await?
        .is_none()
    {
        return Err(AppError::NOT_FOUND);
    }
    let locale = ctx.locale;
    let mut errors = FieldErrors::default();
    let email = errors.check("email", locale, Email::parse(&form.email));
    let name = errors.check("display_name", locale, DisplayName::parse(&form.display_name));
    let user_locale = errors.check("locale", locale, domain::user::parse_locale(&form.locale));
    let zone = errors.check("time_zone", locale, domain::user::parse_time_zone(&form.time_zone));
    let password = check_new_password(&mut errors, locale, &form.password, &form.password_confirm);
    let (Some(email), Some(name), Some(user_locale), Some(zone), Some(password)) =
        (email, name, user_locale, zone, password)
    else {
        return html_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &SetupPage {
                page: Page::new(&ctx, "setup.title", &app.config().default_time_zone),
                form: SetupForm {
                    password: String::new(),
                    password_confirm: String::new(),
                    ..form
                },
                errors,
                zones: crate::i18n::time_zone_names(),
                locales: Locale::ALL,
            },
        );
    };
    let password_hash = hash_in_background(password).await?;
    let new = NewUser {
        email,
        display_name: name,
        role: Role::Admin,
        locale: user_locale,
        time_zone: zone,
        password_hash: Some(password_hash),
        auth_source: "local".into(),
        external_id: None,
    };
    let audit = store::AuditEntry::new("setup.admin_created", None, "setup link", Some(&ctx.ip.to_string()));
    let user = match app.store().complete_setup(&hash, &new, now, &audit).await {
        Ok(user) => user,
        Err(StoreError::NotFound) => return Err(invalid_link()),
        Err(e) => return Err(e.into()),
    };
    let (_, cookie) = start_session(&app, &ctx, &user, "password").await?;
    let mut response = Redirect::to("/?notice=created").into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
}

/// Hashes a password off the async threads.
pub async fn hash_in_background(password: NewPassword) -> Result<String, AppError> {
    hash_password_bounded(password.expose().to_owned())
        .await
        .map_err(|e| AppError::Service(e.into()))
}

#[derive(Template)]
#[template(path = "set_password.html")]
struct PasswordPage {
    page: Page,
    email: String,
    errors: FieldErrors,
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

async fn link_owner(app: &AppState, token: &str) -> Result<store::User, AppError> {
    let hash = storage_hash(token);
    let link = app
        .store()
        .one_time_token(&hash, TokenPurpose::SetPassword, app.now())
        .await?
        .ok_or(AppError::NOT_FOUND)?;
    let user_id = link.user_id.ok_or(AppError::NOT_FOUND)?;
    match app.store().user(&user_id).await? {
        Some(user) if user.active => Ok(user),
        _ => Err(AppError::NOT_FOUND),
    }
}

async fn password_form(State(app): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> AppResult {
    let user = link_owner(&app, &token).await?;
    html(&PasswordPage {
        page: Page::new(&ctx, "password.title", &app.config().default_time_zone),
        email: user.email,
        errors: FieldErrors::default(),
    })
}

async fn set_password(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    Form(form): Form<PasswordForm>,
) -> AppResult {
    let user = link_owner(&app, &token).await?;
    let mut errors = FieldErrors::default();
    let Some(password) = check_new_password(&mut errors, ctx.locale, &form.password, &form.password_confirm) else {
        return html_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &PasswordPage {
                page: Page::new(&ctx, "password.title", &app.config().default_time_zone),
                email: user.email,
                errors,
            },
        );
    };
    let hash = hash_in_background(password).await?;
    let audit = store::AuditEntry::new(
        "user.password_set",
        Some(&user.id),
        &user.email,
        Some(&ctx.ip.to_string()),
    );
    match app
        .store()
        .complete_password_link(&storage_hash(&token), &hash, app.now(), &audit)
        .await
    {
        Ok(_) => Ok(Redirect::to("/login?notice=password_set").into_response()),
        Err(StoreError::NotFound) => Err(invalid_link()),
        Err(e) => Err(e.into()),
    }
}

fn language_cookie(app: &AppState, code: &str) -> Result<(Locale, Response), AppError> {
    let locale: Locale = code.parse().map_err(|_| AppError::NOT_FOUND)?;
    let mut response = Redirect::to("/").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(app, LANG_COOKIE, locale.as_str(), Some(365 * 86_400)),
    );
    Ok((locale, response))
}

/// Anonymous visitors switch language with a cookie.
async fn switch_language(
    State(app): State<AppState>,
    Path(code): Path<String>,
    Query(q): Query<NextQuery>,
) -> AppResult {
    let (_, mut response) = language_cookie(&app, &code)?;
    set_location(&mut response, &safe_next(q.next.as_deref()));
    Ok(response)
}

/// A logged-in person's switch also saves the language in their profile.
async fn switch_language_saved(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    Query(q): Query<NextQuery>,
) -> AppResult {
    let (locale, mut response) = language_cookie(&app, &code)?;
    if let Some(user) = ctx.user() {
        let update = store::ProfileUpdate {
            email: Email::parse(&user.email)?,
            display_name: DisplayName::parse(&user.display_name)?,
            locale,
            time_zone: user.time_zone.clone(),
        };
        app.store()
            .update_profile(&user.id, &update, app.now(), &ctx.audit("user.update"))
            .await?;
    }
    set_location(&mut response, &safe_next(q.next.as_deref()));
    Ok(response)
}

fn set_location(response: &mut Response, to: &str) {
    if let Ok(value) = to.parse() {
        response.headers_mut().insert(header::LOCATION, value);
    }
}
