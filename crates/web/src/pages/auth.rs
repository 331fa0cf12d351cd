//! Login, logout, the first-start setup link, set-password links, the language switch.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Router, routing::get, routing::post};
use domain::Locale;
use serde::Deserialize;
use service::Error;
use service::accounts::{self, AccountFields};
use service::crypto::random_token;

use crate::http::context::{Ctx, LANG_COOKIE, csrf_cookie_name, session_cookie_name, set_cookie, start_session};
use crate::http::error::{AppError, AppResult};
use crate::http::forms::{FieldErrors, safe_next};
use crate::http::page::{Page, html, html_status};
use crate::http::state::AppState;

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
    let user = match accounts::login(app.service(), &form.email, &form.password, &ctx.ip.to_string()).await {
        Ok(user) => user,
        // The form again, with what went wrong (wrong credentials, too many failures, busy).
        Err(e @ (Error::BadCredentials | Error::Throttled { .. } | Error::Busy)) => {
            let problem = AppError::Service(e).problem(app.now());
            let page = Page::new(&ctx, "login.title", &app.config().default_time_zone);
            return html_status(
                problem.status,
                &LoginPage {
                    error: Some(problem.message.render_in(ctx.locale, &page.time_zone)),
                    page,
                    email: form.email.trim().to_owned(),
                    next: safe_next(form.next.as_deref()),
                },
            );
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(old) = &ctx.auth {
        accounts::end_session(app.service(), &old.session_hash, None).await?;
    }
    let (_, session_cookie) = start_session(&app, &ctx, &user, "password").await?;
    let mut response = Redirect::to(&safe_next(form.next.as_deref())).into_response();
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, session_cookie);
    // A new CSRF secret for the new login, too.
    headers.append(
        header::SET_COOKIE,
        set_cookie(&app, csrf_cookie_name(&app), &random_token(), None),
    );
    Ok(response)
}

async fn logout(State(app): State<AppState>, ctx: Ctx) -> AppResult {
    if let Some(auth) = &ctx.auth {
        accounts::end_session(app.service(), &auth.session_hash, Some(&ctx.caller()?)).await?;
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

fn setup_page(app: &AppState, ctx: &Ctx, form: SetupForm, errors: FieldErrors) -> SetupPage {
    SetupPage {
        page: Page::new(ctx, "setup.title", &app.config().default_time_zone),
        form,
        errors,
        zones: crate::http::i18n::time_zone_names(),
        locales: Locale::ALL,
    }
}

async fn setup_form(State(app): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> AppResult {
    accounts::setup_link(app.service(), &token).await?;
    let form = SetupForm {
        locale: ctx.locale.as_str().to_owned(),
        time_zone: app.config().default_time_zone.clone(),
        ..Default::default()
    };
    html(&setup_page(&app, &ctx, form, FieldErrors::default()))
}

async fn setup(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    Form(form): Form<SetupForm>,
) -> AppResult {
    let fields = AccountFields {
        email: form.email.clone(),
        display_name: form.display_name.clone(),
        locale: form.locale.clone(),
        time_zone: form.time_zone.clone(),
    };
    let password = accounts::new_password(&form.password, &form.password_confirm);
    let user = match accounts::complete_setup(app.service(), &token, &fields, password, &ctx.ip.to_string()).await {
        Ok(user) => user,
        Err(e @ Error::Invalid(_)) if !e.problems().iter().all(|p| p.field.is_empty()) => {
            let mut errors = FieldErrors::default();
            let status = errors.record(&e, ctx.locale, &app.config().default_time_zone, |f| f);
            let form = SetupForm {
                password: String::new(),
                password_confirm: String::new(),
                ..form
            };
            return html_status(status, &setup_page(&app, &ctx, form, errors));
        }
        Err(e) => return Err(e.into()),
    };
    let (_, cookie) = start_session(&app, &ctx, &user, "password").await?;
    let mut response = Redirect::to("/?notice=created").into_response();
    response.headers_mut().append(header::SET_COOKIE, cookie);
    Ok(response)
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

async fn password_form(State(app): State<AppState>, ctx: Ctx, Path(token): Path<String>) -> AppResult {
    let user = accounts::password_link_owner(app.service(), &token).await?;
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
    let user = accounts::password_link_owner(app.service(), &token).await?;
    let password = match accounts::new_password(&form.password, &form.password_confirm) {
        Ok(p) => p,
        Err(e) => {
            let mut errors = FieldErrors::default();
            let status = errors.record(&e, ctx.locale, &app.config().default_time_zone, |f| f);
            return html_status(
                status,
                &PasswordPage {
                    page: Page::new(&ctx, "password.title", &app.config().default_time_zone),
                    email: user.email,
                    errors,
                },
            );
        }
    };
    accounts::complete_password_link(app.service(), &token, &password, &ctx.ip.to_string()).await?;
    Ok(Redirect::to("/login?notice=password_set").into_response())
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
    if ctx.user().is_some() {
        accounts::set_own_locale(app.service(), &ctx.caller()?, locale).await?;
    }
    set_location(&mut response, &safe_next(q.next.as_deref()));
    Ok(response)
}

fn set_location(response: &mut Response, to: &str) {
    if let Ok(value) = to.parse() {
        response.headers_mut().insert(header::LOCATION, value);
    }
}
