//! The request context of browser pages, built once per request by [`context`]: the client's
//! address, the logged-in account (session cookie or trusted proxy headers), the language, and
//! the CSRF token. The same middleware refuses cross-site form posts and renders errors.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, Uri, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use domain::Locale;
use store::User;

use crate::http::error::{AppError, ErrorMarker};
use crate::http::proxy_auth;
use crate::http::state::AppState;
use crate::pages;
use service::crypto::random_token;

/// A logged-in account.
#[derive(Debug, Clone)]
pub struct Authed {
    pub user: User,
    /// The hash of the session id (what the database stores).
    pub session_hash: String,
}

/// What every browser handler knows about its request.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The client's address (through trusted proxies).
    pub ip: IpAddr,
    pub locale: Locale,
    pub auth: Option<Arc<Authed>>,
    /// The token forms carry in `_csrf`.
    pub csrf: String,
    /// The path and query of this request (to come back after logging in).
    pub path: String,
    pub user_agent: Option<String>,
}

impl Ctx {
    /// The zone the viewer reads times in: their account's, else the configured default.
    pub fn zone<'a>(&'a self, app: &'a AppState) -> &'a str {
        self.user()
            .map_or(app.config().default_time_zone.as_str(), |u| u.time_zone.as_str())
    }

    pub fn user(&self) -> Option<&User> {
        self.auth.as_deref().map(|a| &a.user)
    }

    /// The logged-in account, or [`AppError::LOGIN_REQUIRED`].
    pub fn require_user(&self) -> Result<&User, AppError> {
        self.user().ok_or(AppError::LOGIN_REQUIRED)
    }

    /// The actor of the permission matrix.
    pub fn actor(&self) -> Result<domain::Actor, AppError> {
        let user = self.require_user()?;
        Ok(domain::Actor::new(user.id.clone(), user.role))
    }

    /// The logged-in person as the caller of the service's use cases.
    pub fn caller(&self) -> Result<service::Caller, AppError> {
        Ok(service::Caller::of(self.require_user()?, Some(self.ip.to_string())))
    }

    /// An audit entry by this request's account, from its address.
    pub fn audit(&self, action: &str) -> store::AuditEntry {
        let ip = self.ip.to_string();
        match self.user() {
            Some(u) => store::AuditEntry::new(action, Some(&u.id), &u.email, Some(&ip)),
            None => store::AuditEntry::new(action, None, "anonymous", Some(&ip)),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Ctx>()
            .cloned()
            .ok_or_else(|| AppError::internal("page route without the context middleware"))
    }
}

pub const LANG_COOKIE: &str = "dialogue_lang";

/// Cookie names: with `__Host-` (which browsers accept only from HTTPS, without Domain, for
/// Path=/) when the public URL is HTTPS.
pub fn session_cookie_name(app: &AppState) -> &'static str {
    if app.config().https() {
        "__Host-dialogue_session"
    } else {
        "dialogue_session"
    }
}

pub fn csrf_cookie_name(app: &AppState) -> &'static str {
    if app.config().https() {
        "__Host-dialogue_csrf"
    } else {
        "dialogue_csrf"
    }
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Path=/, Secure under HTTPS. `max_age` 0 deletes.
pub fn set_cookie(app: &AppState, name: &str, value: &str, max_age: Option<i64>) -> HeaderValue {
    let secure = if app.config().https() { "; Secure" } else { "" };
    let age = max_age.map(|s| format!("; Max-Age={s}")).unwrap_or_default();
    let text = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax{secure}{age}");
    // Names are constants and values are base64url or fixed words: always a valid header value.
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("invalid=1"))
}

/// The value of a cookie in the request.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

/// A new login session for `user` (a fresh id, never the one the browser had) and the cookie
/// that carries it. Returns the session's hash and the cookie to set.
pub async fn start_session(
    app: &AppState,
    ctx: &Ctx,
    user: &User,
    via: &str,
) -> Result<(String, HeaderValue), AppError> {
    let session =
        service::accounts::start_session(app.service(), user, via, &ctx.ip.to_string(), ctx.user_agent.as_deref())
            .await?;
    let cookie = set_cookie(app, session_cookie_name(app), &session.id, Some(session.max_age_secs));
    Ok((session.hash, cookie))
}

/// The client's address: the peer, or when the peer is a trusted proxy, the nearest address in
/// `X-Forwarded-For` that is not a trusted proxy.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .or(forwarded.first())
        .copied()
        .unwrap_or(peer)
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// What a page request is known by before its login: its context (not logged in yet), the
/// browser's CSRF cookie, and the cookies to set (a new CSRF cookie when it had none).
struct Begun {
    ctx: Ctx,
    csrf_cookie: Option<String>,
    set_cookies: Vec<HeaderValue>,
}

fn begin(app: &AppState, peer: IpAddr, headers: &HeaderMap, uri: &Uri) -> Begun {
    let mut set_cookies: Vec<HeaderValue> = Vec::new();
    let ip = client_ip(peer, headers, &app.http().trusted_proxies);
    let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.chars().take(300).collect());
    let csrf_cookie = cookie(headers, csrf_cookie_name(app))
        .filter(|v| v.len() == 43)
        .map(str::to_owned);
    let csrf_value = match &csrf_cookie {
        Some(v) => v.clone(),
        None => {
            let fresh = random_token();
            set_cookies.push(set_cookie(app, csrf_cookie_name(app), &fresh, None));
            fresh
        }
    };
    let header_locale = cookie(headers, LANG_COOKIE)
        .and_then(|v| v.parse::<Locale>().ok())
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Locale::from_accept_language)
        });
    let ctx = Ctx {
        ip,
        locale: header_locale.unwrap_or(app.config().default_locale),
        auth: None,
        csrf: app.secret().csrf_token(&csrf_value),
        path,
        user_agent,
    };
    Begun {
        ctx,
        csrf_cookie,
        set_cookies,
    }
}

/// The headers every page answer carries: its cookies, no caching unless it says otherwise.
fn finish(response: &mut Response, set_cookies: Vec<HeaderValue>) {
    let headers = response.headers_mut();
    for c in set_cookies {
        headers.append(header::SET_COOKIE, c);
    }
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    headers.append(header::VARY, HeaderValue::from_static("Cookie, Accept-Language"));
}

/// The middleware of every browser route.
pub async fn context(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
    next: Next,
) -> Response {
    let Begun {
        mut ctx,
        csrf_cookie,
        mut set_cookies,
    } = begin(&app, peer.ip(), req.headers(), req.uri());

    let result = async {
        let auth = authenticate(&app, peer.ip(), &ctx, req.headers(), &mut set_cookies).await?;
        if let Some(auth) = &auth {
            ctx.locale = auth.user.locale;
        }
        ctx.auth = auth.map(Arc::new);
        let mut req = req;
        if is_unsafe(req.method()) {
            req = check_csrf(&app, req, csrf_cookie.as_deref()).await?;
        }
        req.extensions_mut().insert(ctx.clone());
        Ok::<_, AppError>(next.run(req).await)
    }
    .await;
    let mut response = match result {
        Ok(response) => response,
        Err(e) => e.into_response(),
    };
    if let Some(ErrorMarker(error)) = response.extensions_mut().remove::<ErrorMarker>() {
        response = render_error(&app, &ctx, &error);
    }
    finish(&mut response, set_cookies);
    response
}

/// The error page for a request refused before it reached its route (`edge`): in the person's
/// language, in the frame of their login when their session cookie is valid. Nothing else of
/// the request is read: no login through the proxy's headers, no CSRF check, no body.
pub async fn refusal(app: &AppState, peer: IpAddr, parts: &Parts, error: &AppError) -> Response {
    let Begun {
        mut ctx, set_cookies, ..
    } = begin(app, peer, &parts.headers, &parts.uri);
    if let Some(id) = cookie(&parts.headers, session_cookie_name(app))
        && let Ok(Some((user, session_hash))) = service::accounts::session(app.service(), id).await
    {
        ctx.locale = user.locale;
        ctx.auth = Some(Arc::new(Authed { user, session_hash }));
    }
    let mut response = render_error(app, &ctx, error);
    finish(&mut response, set_cookies);
    response
}

fn render_error(app: &AppState, ctx: &Ctx, error: &AppError) -> Response {
    match error {
        AppError::Service(service::Error::Unauthenticated) => {
            let next = if ctx.path.starts_with("/login") || ctx.path == "/" {
                "/login".to_owned()
            } else {
                format!(
                    "/login?next={}",
                    form_urlencoded::byte_serialize(ctx.path.as_bytes()).collect::<String>()
                )
            };
            Redirect::to(&next).into_response()
        }
        other => pages::error::render(app, ctx, other),
    }
}

async fn authenticate(
    app: &AppState,
    peer: IpAddr,
    ctx: &Ctx,
    headers: &HeaderMap,
    set_cookies: &mut Vec<HeaderValue>,
) -> Result<Option<Authed>, AppError> {
    let session = match cookie(headers, session_cookie_name(app)) {
        Some(id) => service::accounts::session(app.service(), id)
            .await?
            .map(|(user, session_hash)| Authed { user, session_hash }),
        None => None,
    };
    if let Some(proxy) = &app.config().proxy_auth
        && let Some(identity) = proxy_auth::identity(proxy, headers)
    {
        if !app.http().trusted_proxies.iter().any(|net| net.contains(&peer)) {
            tracing::warn!(%peer, header = %proxy.user_header, "identity header from an untrusted address refused");
            return Err(AppError::UntrustedProxy);
        }
        return proxy_auth::login(app, ctx, proxy, identity, session, set_cookies)
            .await
            .map(Some);
    }
    Ok(session)
}

/// Refuses a state-changing request that another site could have caused: a foreign `Origin`,
/// or a missing or wrong CSRF token (form field `_csrf`, in a urlencoded or a multipart form,
/// or header `X-CSRF-Token`).
async fn check_csrf(app: &AppState, req: Request, cookie_value: Option<&str>) -> Result<Request, AppError> {
    if let Some(origin) = req.headers().get(header::ORIGIN) {
        // Hosts are case-insensitive; browsers send them in lower case, as `origin()` is.
        if !origin.as_bytes().eq_ignore_ascii_case(app.config().origin().as_bytes()) {
            tracing::warn!(origin = ?origin, "cross-origin form post refused");
            return Err(AppError::Csrf);
        }
    } else if req.headers().get("sec-fetch-site").is_some_and(|v| v == "cross-site") {
        return Err(AppError::Csrf);
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    let (req, token) = if let Some(_boundary) = crate::http::multipart::boundary(&content_type) {
        // A form with a file: the token is its `_csrf` part.
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, app.http().body_limit)
            .await
            .map_err(|_| AppError::PayloadTooLarge)?;
        let token = crate::http::multipart::parse(&content_type, &bytes).and_then(|fields| {
            fields
                .into_iter()
                .find(|p| p.name == "_csrf" && p.filename.is_none())
                .and_then(|p| std::str::from_utf8(p.data).ok().map(|t| t.trim().to_owned()))
        });
        (Request::from_parts(parts, Body::from(bytes)), token)
    } else if is_form {
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, app.http().body_limit)
            .await
            .map_err(|_| AppError::PayloadTooLarge)?;
        let token = form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == "_csrf")
            .map(|(_, v)| v.into_owned());
        (Request::from_parts(parts, Body::from(bytes)), token)
    } else {
        let token = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (req, token)
    };
    match (cookie_value, token) {
        (Some(cookie), Some(token)) if app.secret().csrf_valid(cookie, &token) => Ok(req),
        _ => Err(AppError::Csrf),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_ip_walks_forwarded_for_through_trusted_proxies() {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap(), "127.0.0.1/32".parse().unwrap()];
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            "203.0.113.9, 198.51.100.7, 10.1.2.3".parse().unwrap(),
        );
        let peer: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(client_ip(peer, &h, &trusted), "198.51.100.7".parse::<IpAddr>().unwrap());
        // An untrusted peer's header is ignored.
        let stranger: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(client_ip(stranger, &h, &trusted), stranger);
        // No header: the peer.
        assert_eq!(client_ip(peer, &HeaderMap::new(), &trusted), peer);
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; dialogue_session=xyz; dialogue_session_x=2".parse().unwrap(),
        );
        assert_eq!(cookie(&h, "dialogue_session"), Some("xyz"));
        assert_eq!(cookie(&h, "b"), None);
    }
}
