//! Joining a session's Jitsi room: personal links `/j/{key}` (learners, guests, external
//! moderators, trainers), `/sessions/{id}/join` for logged-in staff, the booked window, the
//! waiting page and its calendar file, and the redirect into the room with a token.
//!
//! Who moderates: trainers and moderators of the session, and — from their account — admins and
//! managers (they run the training company and may have to step in); learners and guests never.
//! Everyone enters within the window of their role (`[join]` settings): before it a waiting
//! page, after it or when the session is cancelled a page that says so (410), never a redirect
//! into the room. An unknown or revoked key is a plain 404.
//!
//! The hot path (a personal link inside its window) is one indexed query (none when the store
//! has it cached), a token minted from the cached server settings, and a redirect: nothing is
//! written, no login is looked up, no cookie is made. Personal links have their own light
//! request context for that ([`link_context`]); their pages get a CSRF cookie like any other.

use std::net::SocketAddr;

use askama::Template;
use axum::Router;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use domain::Locale;
use domain::window::JoinWindow;
use jiff::SignedDuration;
use service::join::{self, Decision, Joiner};
use store::{ParticipantRole, Session};

use crate::http::context::{Ctx, LANG_COOKIE, cookie};
use crate::http::error::AppResult;
use crate::http::i18n::format_datetime;
use crate::http::page::{Page, html, html_status};
use crate::http::state::AppState;

/// Personal links, with their own light context (see [`link_context`]).
pub fn link_routes(app: AppState) -> Router<AppState> {
    Router::new()
        .route("/j/{key}", get(personal))
        .route("/j/{key}/calendar.ics", get(calendar))
        .layer(axum::middleware::from_fn_with_state(app, link_context))
}

/// The request context of personal links: the client's address and language, no login (the
/// key is the credential), no CSRF cookie until a page is rendered; errors rendered as pages.
pub async fn link_context(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut req: Request,
    next: Next,
) -> Response {
    let headers = req.headers();
    let ip = crate::http::context::client_ip(peer.ip(), headers, &app.http().trusted_proxies);
    let locale = cookie(headers, LANG_COOKIE)
        .and_then(|v| v.parse::<Locale>().ok())
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Locale::from_accept_language)
        })
        .unwrap_or(app.config().default_locale);
    let ctx = Ctx {
        ip,
        locale,
        auth: None,
        csrf: String::new(),
        // The page's own address (its language switch comes back to it); only logs redact it.
        path: req.uri().path_and_query().map_or("/", |p| p.as_str()).to_owned(),
        user_agent: None,
    };
    req.extensions_mut().insert(ctx.clone());
    let mut response = next.run(req).await;
    if let Some(crate::http::error::ErrorMarker(error)) =
        response.extensions_mut().remove::<crate::http::error::ErrorMarker>()
    {
        response = crate::pages::error::render(&app, &ctx, &error);
    }
    let h = response.headers_mut();
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    h.append(header::VARY, HeaderValue::from_static("Cookie, Accept-Language"));
    response
}

/// The CSRF token of this browser for a page's forms, and the cookie to set when it had none
/// (what the pages' context does for every page).
fn page_csrf(app: &AppState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    let name = crate::http::context::csrf_cookie_name(app);
    match cookie(headers, name).filter(|v| v.len() == 43) {
        Some(value) => (app.secret().csrf_token(value), None),
        None => {
            let fresh = service::crypto::random_token();
            let set = crate::http::context::set_cookie(app, name, &fresh, None);
            (app.secret().csrf_token(&fresh), Some(set))
        }
    }
}

/// Who looks at a join's pages: the context, and for personal links the request headers (to
/// give pages their CSRF token; staff pages already have one).
struct Viewer<'a> {
    ctx: Ctx,
    headers: Option<&'a HeaderMap>,
}

impl Viewer<'_> {
    /// The context to render a page with, and a cookie to set with it.
    fn for_page(&self, app: &AppState) -> (Ctx, Option<HeaderValue>) {
        match self.headers {
            Some(headers) => {
                let (csrf, cookie) = page_csrf(app, headers);
                (
                    Ctx {
                        csrf,
                        ..self.ctx.clone()
                    },
                    cookie,
                )
            }
            None => (self.ctx.clone(), None),
        }
    }
}

/// Adds a `Set-Cookie` to a rendered page.
fn with_cookie(result: AppResult, cookie: Option<HeaderValue>) -> AppResult {
    let mut response = result?;
    if let Some(c) = cookie {
        response.headers_mut().append(header::SET_COOKIE, c);
    }
    Ok(response)
}

/// Staff enter from their account.
pub fn routes() -> Router<AppState> {
    Router::new().route("/sessions/{id}/join", get(staff_join))
}

/// Where a logged-in trainer, manager or admin enters a session's room.
pub fn staff_join_path(session_id: &str) -> String {
    format!("/sessions/{session_id}/join")
}

/// Links of the waiting page.
struct Hrefs {
    refresh: String,
    calendar: Option<String>,
    /// The answer page of a personal link (`/j/<key>/rsvp`) with the current answer's
    /// catalogue key, for those who were asked (everyone but the trainers).
    rsvp: Option<(String, &'static str)>,
    /// The signing page of a personal link (`/j/<key>/sign`), offered once the room has closed
    /// while the attendance sheet still takes signatures. Staff sign from the session's page.
    sign: Option<String>,
    /// The same person's next session of the series, when this one is over or cancelled: its
    /// personal link and start.
    next: Option<(String, jiff::Timestamp)>,
    /// Staff on a secure-domain server: the Prosody login to type at Jitsi's prompt.
    host_login: Option<service::prosody_accounts::HostLogin>,
}

/// The language of a personal link's pages: a language the visitor chose (cookie) first, then
/// the participant's own, then the browser's (already in `ctx`).
fn with_locale(ctx: &Ctx, headers: &HeaderMap, known: Option<&str>) -> Ctx {
    let chosen = cookie(headers, LANG_COOKIE).and_then(|v| v.parse::<Locale>().ok());
    let locale = chosen
        .or_else(|| known.and_then(|l| l.parse::<Locale>().ok()))
        .unwrap_or(ctx.locale);
    Ctx { locale, ..ctx.clone() }
}

async fn personal(State(app): State<AppState>, ctx: Ctx, headers: HeaderMap, Path(key): Path<String>) -> AppResult {
    let entry = join::by_link(app.service(), &key).await?;
    let viewer = Viewer {
        ctx: with_locale(&ctx, &headers, entry.target.locale.as_deref()),
        headers: Some(&headers),
    };
    let p = &entry.target.participant;
    let mut next = None;
    if matches!(entry.decision, Decision::Over | Decision::Cancelled)
        && let Some((next_key, next_session)) = join::next_in_series(app.service(), &entry.target).await?
    {
        // The link a series' calendar event carries leads on to the next session, unless this
        // one's attendance sheet still waits for a signature (its page offers both).
        let signing = matches!(entry.decision, Decision::Over)
            && service::attendance::signing_open(app.service(), &entry.target.session);
        if matches!(entry.decision, Decision::Over) && !signing {
            return Ok(Redirect::to(&format!("/j/{next_key}")).into_response());
        }
        next = Some((format!("/j/{next_key}"), next_session.starts_at));
    }
    let hrefs = Hrefs {
        refresh: format!("/j/{key}"),
        calendar: Some(format!("/j/{key}/calendar.ics")),
        rsvp: (p.role != ParticipantRole::Trainer)
            .then(|| (format!("/j/{key}/rsvp"), crate::links::rsvp::answer_key(p.rsvp))),
        sign: Some(format!("/j/{key}/sign")),
        next,
        host_login: None,
    };
    render(
        &app,
        &viewer,
        &entry.target.session,
        &entry.joiner,
        entry.decision,
        &hrefs,
    )
    .await
}

async fn staff_join(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    let user = ctx.require_user()?.clone();
    let caller = ctx.caller()?;
    let (session, joiner, decision) = join::staff(app.service(), &caller, &user, &id).await?;
    let host_login = service::prosody_accounts::my_login_for_session(app.service(), &caller, &id).await?;
    if let (Decision::Enter { url }, Some(login)) = (&decision, &host_login) {
        // No token to carry them in as host: they log in at Jitsi's prompt, so they are shown
        // their login first, then go in.
        let mut page =
            Page::new(&ctx, "prosody.enter.title", &app.config().default_time_zone).titled(session.title.clone());
        page.time_zone = joiner.zone.clone();
        return html(&HostEnterPage {
            page,
            url: url.clone(),
            login: login.clone(),
        });
    }
    let hrefs = Hrefs {
        refresh: staff_join_path(&id),
        calendar: None,
        rsvp: None,
        sign: None,
        next: None,
        host_login,
    };
    let viewer = Viewer { ctx, headers: None };
    render(&app, &viewer, &session, &joiner, decision, &hrefs).await
}

/// A host about to enter a secure-domain server's room: their login, then the room.
#[derive(Template)]
#[template(path = "jitsi/host_enter.html")]
struct HostEnterPage {
    page: Page,
    url: String,
    login: service::prosody_accounts::HostLogin,
}

/// The page (or redirect) of a join decision: cancelled or over → 410; too early → the waiting
/// page; inside the window → into the room with a token; no server → 503; refused by the
/// external join check → 403.
async fn render(
    app: &AppState,
    viewer: &Viewer<'_>,
    session: &Session,
    joiner: &Joiner,
    decision: Decision,
    hrefs: &Hrefs,
) -> AppResult {
    if let Decision::Enter { url } = decision {
        // Referrer-Policy (same-origin, from the security headers) keeps the link out of
        // Jitsi's Referer; the token rides in the fragment, out of every log.
        let mut response = Redirect::to(&url).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return Ok(response);
    }
    let (ctx, cookie) = viewer.for_page(app);
    let page = match decision {
        Decision::Cancelled => closed(
            app,
            &ctx,
            session,
            &joiner.zone,
            ("jitsi.cancelled.title", "jitsi.cancelled.text"),
            None,
            hrefs.next.as_ref(),
        ),
        Decision::Over => {
            let sign = hrefs
                .sign
                .clone()
                .filter(|_| service::attendance::signing_open(app.service(), session));
            closed(
                app,
                &ctx,
                session,
                &joiner.zone,
                ("jitsi.over.title", "jitsi.over.text"),
                sign,
                hrefs.next.as_ref(),
            )
        }
        Decision::Waiting { window, opens_in } => waiting(app, &ctx, session, &window, opens_in, joiner, hrefs).await,
        Decision::Refused { message } => refused(app, &ctx, session, &joiner.zone, message),
        Decision::Unavailable | Decision::Enter { .. } => unavailable(app, &ctx, session, &joiner.zone),
    };
    with_cookie(page, cookie)
}

#[derive(Template)]
#[template(path = "jitsi/closed.html")]
struct ClosedPage {
    page: Page,
    message: String,
    session: Session,
    starts: String,
    /// Where to sign the attendance sheet, while it takes signatures.
    sign: Option<String>,
    /// The same person's next session of the series: its link and start, as shown.
    next: Option<(String, String)>,
}

fn closed(
    app: &AppState,
    ctx: &Ctx,
    session: &Session,
    zone: &str,
    (title, text): (&str, &str),
    sign: Option<String>,
    next: Option<&(String, jiff::Timestamp)>,
) -> AppResult {
    let mut page = Page::new(ctx, title, &app.config().default_time_zone);
    page.time_zone = zone.to_owned();
    html_status(
        StatusCode::GONE,
        &ClosedPage {
            starts: page.datetime(&session.starts_at),
            message: ctx.locale.t(text).to_owned(),
            session: session.clone(),
            sign,
            next: next.map(|(href, at)| (href.clone(), page.datetime(at))),
            page,
        },
    )
}

fn unavailable(app: &AppState, ctx: &Ctx, session: &Session, zone: &str) -> AppResult {
    let mut page = Page::new(ctx, "jitsi.unavailable.title", &app.config().default_time_zone);
    page.time_zone = zone.to_owned();
    html_status(
        StatusCode::SERVICE_UNAVAILABLE,
        &ClosedPage {
            starts: page.datetime(&session.starts_at),
            message: ctx.locale.t("jitsi.unavailable.text").to_owned(),
            session: session.clone(),
            sign: None,
            next: None,
            page,
        },
    )
}

#[derive(Template)]
#[template(path = "jitsi/refused.html")]
struct RefusedPage {
    page: Page,
    message: String,
    reason_label: String,
    /// The join check's own message (escaped like every value).
    reason: Option<String>,
    session: Session,
    starts: String,
}

/// The external join check kept them out (403), with its message when it gave one.
fn refused(app: &AppState, ctx: &Ctx, session: &Session, zone: &str, reason: Option<String>) -> AppResult {
    let mut page = Page::new(ctx, "jitsi.refused.title", &app.config().default_time_zone);
    page.time_zone = zone.to_owned();
    html_status(
        StatusCode::FORBIDDEN,
        &RefusedPage {
            starts: page.datetime(&session.starts_at),
            message: ctx.locale.t("jitsi.refused.text").to_owned(),
            reason_label: ctx.locale.t("jitsi.refused.reason").to_owned(),
            reason,
            session: session.clone(),
            page,
        },
    )
}

#[derive(Template)]
#[template(path = "jitsi/waiting.html")]
struct WaitingPage {
    page: Page,
    session: Session,
    starts: String,
    ends: String,
    opens: String,
    /// The session's own local time, when the viewer's zone is another.
    session_local: Option<String>,
    trainers: Vec<String>,
    /// Seconds until the window opens (rounded up, so a reload lands inside it).
    opens_in: i64,
    countdown: String,
    units: &'static str,
    refresh: String,
    calendar: Option<String>,
    rsvp: Option<(String, &'static str)>,
    host_login: Option<String>,
}

/// `2 j 03 h`, `1 h 05 min`, `4 min 59 s`, `12 s` (units from the catalogue).
pub fn format_countdown(seconds: i64, locale: Locale) -> String {
    let units: Vec<&str> = locale.t("jitsi.countdown.units").split(' ').collect();
    let unit = |i: usize| units.get(i).copied().unwrap_or("");
    let s = seconds.max(0);
    let (d, h, m, sec) = (s / 86_400, s % 86_400 / 3600, s % 3600 / 60, s % 60);
    if d > 0 {
        format!("{d} {} {h:02} {}", unit(0), unit(1))
    } else if h > 0 {
        format!("{h} {} {m:02} {}", unit(1), unit(2))
    } else if m > 0 {
        format!("{m} {} {sec:02} {}", unit(2), unit(3))
    } else {
        format!("{sec} {}", unit(3))
    }
}

async fn waiting(
    app: &AppState,
    ctx: &Ctx,
    session: &Session,
    window: &JoinWindow,
    opens_in: SignedDuration,
    joiner: &Joiner,
    hrefs: &Hrefs,
) -> AppResult {
    let trainers = join::trainer_names(app.service(), &session.id).await?;
    let mut page = Page::new(ctx, "jitsi.waiting.title", &app.config().default_time_zone).titled(session.title.clone());
    page.time_zone = joiner.zone.clone();
    let opens_in = (opens_in.as_millis() + 999).div_euclid(1000) as i64;
    let session_local =
        (joiner.zone != session.time_zone).then(|| format_datetime(session.starts_at, &session.time_zone, ctx.locale));
    html(&WaitingPage {
        starts: page.datetime(&session.starts_at),
        ends: page.datetime(&session.ends_at),
        opens: page.datetime(&window.opens),
        session_local,
        trainers,
        countdown: format_countdown(opens_in, ctx.locale),
        units: ctx.locale.t("jitsi.countdown.units"),
        opens_in,
        refresh: hrefs.refresh.clone(),
        calendar: hrefs.calendar.clone(),
        rsvp: hrefs.rsvp.clone(),
        host_login: hrefs.host_login.as_ref().map(|l| l.jid.clone()),
        session: session.clone(),
        page,
    })
}

/// `GET /j/{key}/calendar.ics`: the session as an event in the reader's calendar, with their
/// link.
async fn calendar(State(app): State<AppState>, ctx: Ctx, headers: HeaderMap, Path(key): Path<String>) -> AppResult {
    let target = join::link_target(app.service(), &key).await?;
    let ctx = with_locale(&ctx, &headers, target.locale.as_deref());
    let body = join::link_calendar(app.service(), &key, ctx.locale).await?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/calendar; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"session.ics\""),
            ),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdowns() {
        assert_eq!(format_countdown(12, Locale::Fr), "12 s");
        assert_eq!(format_countdown(299, Locale::Fr), "4 min 59 s");
        assert_eq!(format_countdown(3900, Locale::En), "1 h 05 min");
        assert_eq!(format_countdown(2 * 86_400 + 3 * 3600, Locale::Fr), "2 j 03 h");
        assert_eq!(format_countdown(2 * 86_400 + 3 * 3600, Locale::En), "2 d 03 h");
        assert_eq!(format_countdown(-5, Locale::Fr), "0 s");
    }
}
