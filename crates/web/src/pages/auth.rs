//! Login, logout, the first-start setup link, set-password links, the language switch.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, header};
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
use crate::pages::oidc;

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
pub(crate) struct LoginPage {
    page: Page,
    email: String,
    next: String,
    pub(crate) error: Option<String>,
    /// A button per OpenID provider.
    providers: Vec<ProviderButton>,
    /// The LDAP login is on: the login field takes a directory user name too.
    directory: bool,
}

pub(crate) struct ProviderButton {
    href: String,
    label: String,
}

impl LoginPage {
    /// The login page, with `error` when the last attempt failed.
    pub(crate) fn new(app: &AppState, ctx: &Ctx, email: String, next: String, error: Option<String>) -> LoginPage {
        let page = Page::new(ctx, "login.title", &app.config().default_time_zone);
        let logins = app.service().logins();
        let query = if next == "/" {
            String::new()
        } else {
            format!(
                "?next={}",
                form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
            )
        };
        let providers = logins
            .providers()
            .map(|(name, label)| ProviderButton {
                href: format!("/login/oidc/{name}{query}"),
                label: label.to_owned(),
            })
            .collect();
        LoginPage {
            page,
            email,
            next,
            error,
            providers,
            directory: logins.directory_enabled(),
        }
    }

    /// The page's text for a failure, in the person's language.
    pub(crate) fn message(&self, message: &i18n::Message) -> String {
        message.render_in(self.page.locale, &self.page.time_zone)
    }
}

#[derive(Deserialize)]
pub struct NextQuery {
    pub(crate) next: Option<String>,
}

async fn login_form(State(app): State<AppState>, ctx: Ctx, Query(q): Query<NextQuery>) -> AppResult {
    if ctx.user().is_some() {
        return Ok(Redirect::to(&safe_next(q.next.as_deref())).into_response());
    }
    html(&LoginPage::new(
        &app,
        &ctx,
        String::new(),
        safe_next(q.next.as_deref()),
        None,
    ))
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
        // (and, through the directory: unreachable, or an address another account has).
        Err(
            e @ (Error::BadCredentials
            | Error::Throttled { .. }
            | Error::Busy
            | Error::Unavailable(_)
            | Error::Conflict(_)
            | Error::Invalid(_)),
        ) => {
            let problem = AppError::Service(e).problem(app.now());
            let mut page = LoginPage::new(
                &app,
                &ctx,
                form.email.trim().to_owned(),
                safe_next(form.next.as_deref()),
                None,
            );
            page.error = Some(page.message(&problem.message));
            return html_status(problem.status, &page);
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(old) = &ctx.auth {
        accounts::end_session(app.service(), &old.session_hash, None).await?;
    }
    let via = if user.auth_source == "ldap" { "ldap" } else { "password" };
    let (_, session_cookie) = start_session(&app, &ctx, &user, via).await?;
    let mut response = Redirect::to(&safe_next(form.next.as_deref())).into_response();
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, session_cookie);
    // No provider's logout for a login with a password.
    headers.append(header::SET_COOKIE, oidc::clear_logout_cookie(&app));
    // A new CSRF secret for the new login, too.
    headers.append(
        header::SET_COOKIE,
        set_cookie(&app, csrf_cookie_name(&app), &random_token(), None),
    );
    Ok(response)
}

async fn logout(State(app): State<AppState>, ctx: Ctx, headers: HeaderMap) -> AppResult {
    let mut to = "/login?notice=logged_out".to_owned();
    if let Some(auth) = &ctx.auth {
        // Logged in through an OpenID provider that offers it: out there too (RP-initiated
        // logout), which comes back to the login page.
        if let Some(url) = oidc::logout_redirect(&app, &auth.user.id, &headers).await {
            to = url;
        }
        accounts::end_session(app.service(), &auth.session_hash, Some(&ctx.caller()?)).await?;
    }
    let mut response = Redirect::to(&to).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&app, session_cookie_name(&app), "", Some(0)),
    );
    response
        .headers_mut()
        .append(header::SET_COOKIE, oidc::clear_logout_cookie(&app));
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
