//! OpenID Connect logins: `GET /login/oidc/{name}` sends the browser to the provider with a
//! fresh `state`, `nonce` and PKCE challenge (kept in a sealed, short-lived, HttpOnly,
//! SameSite=Lax cookie), and `GET /login/oidc/{name}/callback` finishes the login when it comes
//! back. The rules (which account, which role) are the service's (`service::logins`).

use axum::extract::{Path, Query, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Router, routing::get};
use serde::Deserialize;
use service::Error;
use service::accounts;
use service::crypto::random_token;
use service::logins::{self, OidcCallback};

use crate::http::context::{Ctx, cookie, csrf_cookie_name, set_cookie, start_session};
use crate::http::error::{AppError, AppResult};
use crate::http::forms::safe_next;
use crate::http::page::html_status;
use crate::http::state::AppState;
use crate::pages::auth::{LoginPage, NextQuery};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login/oidc/{name}", get(start))
        .route("/login/oidc/{name}/callback", get(callback))
}

/// The cookie of a login under way.
fn pending_cookie_name(app: &AppState) -> &'static str {
    if app.config().https() {
        "__Host-dialogue_oidc"
    } else {
        "dialogue_oidc"
    }
}

/// The cookie that remembers the ID token of the login, for the provider's logout.
fn logout_cookie_name(app: &AppState) -> &'static str {
    if app.config().https() {
        "__Host-dialogue_oidc_logout"
    } else {
        "dialogue_oidc_logout"
    }
}

/// Deletes the cookie of the provider's logout (another login, a logout).
pub fn clear_logout_cookie(app: &AppState) -> HeaderValue {
    set_cookie(app, logout_cookie_name(app), "", Some(0))
}

/// Where to send a person logging out, when their login came from a provider that offers
/// RP-initiated logout: back to our login page afterwards.
pub async fn logout_redirect(app: &AppState, user_id: &str, headers: &HeaderMap) -> Option<String> {
    let sealed = cookie(headers, logout_cookie_name(app))?;
    let post_logout = app.url("/login?notice=logged_out");
    logins::oidc_logout_url(app.service(), user_id, Some(sealed), &post_logout).await
}

/// The login page again, with what went wrong.
fn login_failure(app: &AppState, ctx: &Ctx, next: String, e: Error) -> AppResult {
    let problem = AppError::Service(e).problem(app.now());
    let mut page = LoginPage::new(app, ctx, String::new(), next, None);
    page.error = Some(page.message(&problem.message));
    html_status(problem.status, &page)
}

async fn start(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(name): Path<String>,
    Query(q): Query<NextQuery>,
) -> AppResult {
    let next = safe_next(q.next.as_deref());
    let started = match logins::oidc_begin(app.service(), &name, &next).await {
        Ok(started) => started,
        Err(e @ Error::Unavailable(_)) => return login_failure(&app, &ctx, next, e),
        Err(e) => return Err(e.into()),
    };
    let mut response = Redirect::to(&started.authorize_url).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            &app,
            pending_cookie_name(&app),
            &started.cookie,
            Some(logins::PENDING_COOKIE_SECONDS),
        ),
    );
    Ok(response)
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(
    State(app): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(name): Path<String>,
    Query(q): Query<CallbackQuery>,
) -> AppResult {
    let returned = OidcCallback {
        code: q.code,
        state: q.state,
        error: q.error,
    };
    let sealed = cookie(&headers, pending_cookie_name(&app));
    let result = logins::oidc_finish(app.service(), &name, sealed, &returned, ctx.locale, &ctx.ip.to_string()).await;
    // Whatever happened, this login is over: its cookie goes.
    let clear = set_cookie(&app, pending_cookie_name(&app), "", Some(0));
    let done = match result {
        Ok(done) => done,
        Err(
            e @ (Error::Refused(_) | Error::Unavailable(_) | Error::Conflict(_) | Error::Invalid(_) | Error::Forbidden),
        ) => {
            let mut response = login_failure(&app, &ctx, "/".into(), e)?;
            response.headers_mut().append(header::SET_COOKIE, clear);
            return Ok(response);
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(old) = &ctx.auth {
        accounts::end_session(app.service(), &old.session_hash, None).await?;
    }
    let (_, session_cookie) = start_session(&app, &ctx, &done.user, &format!("oidc:{name}")).await?;
    let mut response: Response = Redirect::to(&safe_next(Some(&done.next))).into_response();
    let max_age = app.config().session_absolute.as_secs() as i64;
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, session_cookie);
    headers.append(header::SET_COOKIE, clear);
    headers.append(
        header::SET_COOKIE,
        set_cookie(&app, logout_cookie_name(&app), &done.logout_cookie, Some(max_age)),
    );
    // A new CSRF secret for the new login, too.
    headers.append(
        header::SET_COOKIE,
        set_cookie(&app, csrf_cookie_name(&app), &random_token(), None),
    );
    Ok(response)
}
