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
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use domain::Locale;
use domain::window::JoinWindow;
use jiff::SignedDuration;
use serde::Deserialize;
use service::join::{self, Decision, Joiner};
use service::{booking, jitsi_servers, links};
use store::{ParticipantRole, Session, SessionDetail};

use crate::context::{Ctx, LANG_COOKIE, cookie};
use crate::error::{AppError, AppResult, Message};
use crate::i18n::{format_datetime, format_short};
use crate::page::{Page, html, html_status};
use crate::state::AppState;

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
    let ip = crate::context::client_ip(peer.ip(), headers, &app.http().trusted_proxies);
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
    if let Some(crate::error::ErrorMarker(error)) = response.extensions_mut().remove::<crate::error::ErrorMarker>() {
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
    let name = crate::context::csrf_cookie_name(app);
    match cookie(headers, name).filter(|v| v.len() == 43) {
        Some(value) => (app.secret().csrf_token(value), None),
        None => {
            let fresh = service::crypto::random_token();
            let set = crate::context::set_cookie(app, name, &fresh, None);
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

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/join", get(staff_join))
        .route("/sessions/{id}/room", get(room_page))
        .route("/sessions/{id}/jitsi-server", post(choose_server))
        .route("/sessions/{id}/participants/{pid}/link", post(reissue))
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
    let hrefs = Hrefs {
        refresh: format!("/j/{key}"),
        calendar: Some(format!("/j/{key}/calendar.ics")),
        rsvp: (p.role != ParticipantRole::Trainer).then(|| (format!("/j/{key}/rsvp"), crate::rsvp::answer_key(p.rsvp))),
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
    let (session, joiner, decision) = join::staff(app.service(), &ctx.caller()?, &user, &id).await?;
    let hrefs = Hrefs {
        refresh: staff_join_path(&id),
        calendar: None,
        rsvp: None,
    };
    let viewer = Viewer { ctx, headers: None };
    render(&app, &viewer, &session, &joiner, decision, &hrefs).await
}

/// The page (or redirect) of a join decision: cancelled or over → 410; too early → the waiting
/// page; inside the window → into the room with a token; no server → 503.
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
            "jitsi.cancelled.title",
            "jitsi.cancelled.text",
        ),
        Decision::Over => closed(app, &ctx, session, &joiner.zone, "jitsi.over.title", "jitsi.over.text"),
        Decision::Waiting { window, opens_in } => waiting(app, &ctx, session, &window, opens_in, joiner, hrefs).await,
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
}

fn closed(app: &AppState, ctx: &Ctx, session: &Session, zone: &str, title: &str, text: &str) -> AppResult {
    let mut page = Page::new(ctx, title, &app.config().default_time_zone);
    page.time_zone = zone.to_owned();
    html_status(
        StatusCode::GONE,
        &ClosedPage {
            starts: page.datetime(&session.starts_at),
            message: ctx.locale.t(text).to_owned(),
            session: session.clone(),
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

// ---- The room page: join, server, links, presence ----

/// A participant's link, for the links partial.
#[derive(Debug, Clone)]
pub struct LinkRow {
    pub participant_id: String,
    pub name: String,
    pub email: String,
    pub role_key: &'static str,
    pub url: String,
}

/// What `templates/jitsi/_links.html` shows: include it where `links: LinksView` and `page` are
/// in scope.
#[derive(Debug, Clone)]
pub struct LinksView {
    pub session_id: String,
    /// Where the re-issue form comes back to (a local path).
    pub return_to: String,
    pub rows: Vec<LinkRow>,
}

pub fn role_key(role: ParticipantRole) -> &'static str {
    match role {
        ParticipantRole::Trainer => "jitsi.role.trainer",
        ParticipantRole::Moderator => "jitsi.role.moderator",
        ParticipantRole::Learner => "jitsi.role.learner",
        ParticipantRole::Guest => "jitsi.role.guest",
    }
}

/// The links of a session's participants, for those who manage them (`None` for others).
/// `return_to` is where a re-issue comes back (e.g. the session page).
pub fn links_view(app: &AppState, actor: &domain::Actor, detail: &SessionDetail, return_to: &str) -> Option<LinksView> {
    if !links::may_manage(app.service(), actor, detail) {
        return None;
    }
    Some(LinksView {
        session_id: detail.session.id.clone(),
        return_to: crate::forms::safe_next(Some(return_to)),
        rows: detail
            .participants
            .iter()
            .map(|p| LinkRow {
                participant_id: p.id.clone(),
                name: p.name.clone(),
                email: p.email.clone(),
                role_key: role_key(p.role),
                url: links::join_url(app.service(), p),
            })
            .collect(),
    })
}

/// One person in the presence partial.
#[derive(Debug, Clone)]
pub struct AttendeeRow {
    pub name: String,
    pub role_key: Option<&'static str>,
    pub unattributed: bool,
    pub first_join: String,
    pub last_leave: Option<String>,
    pub total: String,
    pub present: bool,
    pub connections: usize,
}

/// What `templates/jitsi/_presence.html` shows: include it where `presence: PresenceView` and
/// `page` are in scope.
#[derive(Debug, Clone)]
pub struct PresenceView {
    pub in_room: Vec<AttendeeRow>,
    pub attendees: Vec<AttendeeRow>,
    /// The zone of the times shown (named in the table header).
    pub zone: String,
}

/// `1 h 05 min`, `12 min`.
pub fn format_duration(seconds: i64, locale: Locale) -> String {
    let units: Vec<&str> = locale.t("jitsi.countdown.units").split(' ').collect();
    let unit = |i: usize| units.get(i).copied().unwrap_or("");
    let minutes = seconds.max(0) / 60;
    if minutes >= 60 {
        format!("{} {} {:02} {}", minutes / 60, unit(1), minutes % 60, unit(2))
    } else {
        format!("{minutes} {}", unit(2))
    }
}

/// Who is in a session's room now and who came, in `locale` and `zone`, for those who may see
/// the session.
pub async fn presence_view(
    app: &AppState,
    actor: &domain::Actor,
    session_id: &str,
    locale: Locale,
    zone: &str,
) -> Result<PresenceView, AppError> {
    let presence = links::presence(app.service(), actor, session_id).await?;
    let row = |a: &store::Attendee| AttendeeRow {
        name: a
            .name
            .clone()
            .unwrap_or_else(|| locale.t("jitsi.presence.anonymous").to_owned()),
        role_key: a.role.map(role_key),
        unattributed: a.unattributed(),
        first_join: format_short(a.first_join, zone, locale),
        last_leave: a.last_leave.map(|t| format_short(t, zone, locale)),
        total: format_duration(a.total_seconds, locale),
        present: a.present,
        connections: a.connections,
    };
    Ok(PresenceView {
        in_room: presence.in_room().map(row).collect(),
        attendees: presence.attendees.iter().map(row).collect(),
        zone: zone.to_owned(),
    })
}

#[derive(Template)]
#[template(path = "jitsi/room.html")]
struct RoomPage {
    page: Page,
    session: Session,
    starts: String,
    opens: String,
    join_path: String,
    servers: Vec<(String, String)>,
    /// The server in use (its name), and whether it is pinned or the default.
    server_name: Option<String>,
    pinned: Option<String>,
    can_choose_server: bool,
    links: Option<LinksView>,
    presence: PresenceView,
    error: Option<String>,
}

async fn room_page(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    render_room(&app, &ctx, &id, None).await
}

async fn render_room(app: &AppState, ctx: &Ctx, id: &str, error: Option<Message>) -> AppResult {
    let actor = ctx.actor()?;
    let (detail, facts) = service::booking::view(app.service(), &actor, id).await?;
    let room = booking::room(app.service(), &actor, id).await?;
    let pinned = booking::pinned_server(app.service(), &actor, id).await?;
    let servers = jitsi_servers::names(app.service()).await?;
    let server_name = room
        .server
        .as_ref()
        .and_then(|(sid, _)| servers.iter().find(|(i, _)| i == sid).map(|(_, n)| n.clone()));
    let page = Page::new(ctx, "jitsi.room.title", &app.config().default_time_zone).titled(detail.session.title.clone());
    let window = JoinWindow::for_participant(
        detail.session.starts_at,
        detail.session.ends_at,
        true,
        &app.config().join,
    );
    let presence = presence_view(app, &actor, id, ctx.locale, &page.time_zone).await?;
    let return_to = format!("/sessions/{id}/room");
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    html_status(
        status,
        &RoomPage {
            starts: page.datetime(&detail.session.starts_at),
            opens: page.datetime(&window.opens),
            join_path: staff_join_path(id),
            can_choose_server: actor.may_choose_jitsi_server(facts),
            links: links_view(app, &actor, &detail, &return_to),
            presence,
            servers,
            server_name,
            pinned,
            error: error.map(|m| m.render(ctx.locale)),
            session: detail.session,
            page,
        },
    )
}

#[derive(Deserialize)]
struct ServerChoice {
    #[serde(default)]
    server: String,
}

/// Pins a session to a server (or back to the default). Admins and managers, while the session
/// may still be changed.
async fn choose_server(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(form): Form<ServerChoice>,
) -> AppResult {
    let server = Some(form.server.trim()).filter(|s| !s.is_empty());
    match jitsi_servers::pin_session(app.service(), &ctx.caller()?, &id, server).await {
        Ok(()) => Ok(Redirect::to(&format!("/sessions/{id}/room?notice=saved")).into_response()),
        Err(e) if !e.problems().is_empty() => {
            let message = e.problems().first().map(|p| p.message.clone());
            render_room(&app, &ctx, &id, message).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct ReissueForm {
    #[serde(default)]
    next: Option<String>,
}

/// Revokes a participant's link and issues a new one (the old one answers 404 from now on).
async fn reissue(
    State(app): State<AppState>,
    ctx: Ctx,
    Path((id, pid)): Path<(String, String)>,
    Form(form): Form<ReissueForm>,
) -> AppResult {
    links::reissue(app.service(), &ctx.caller()?, &id, &pid).await?;
    let next = crate::forms::safe_next(form.next.as_deref().or(Some(&format!("/sessions/{id}/room"))));
    let (path, fragment) = next.split_once('#').unwrap_or((&next, ""));
    let sep = if path.contains('?') { '&' } else { '?' };
    let anchor = if fragment.is_empty() {
        format!("#link-{pid}")
    } else {
        format!("#{fragment}")
    };
    Ok(Redirect::to(&format!("{path}{sep}notice=link_reissued{anchor}")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn countdowns_and_durations() {
        assert_eq!(format_countdown(12, Locale::Fr), "12 s");
        assert_eq!(format_countdown(299, Locale::Fr), "4 min 59 s");
        assert_eq!(format_countdown(3900, Locale::En), "1 h 05 min");
        assert_eq!(format_countdown(2 * 86_400 + 3 * 3600, Locale::Fr), "2 j 03 h");
        assert_eq!(format_countdown(2 * 86_400 + 3 * 3600, Locale::En), "2 d 03 h");
        assert_eq!(format_countdown(-5, Locale::Fr), "0 s");
        assert_eq!(format_duration(3 * 3600 + 5 * 60 + 59, Locale::Fr), "3 h 05 min");
        assert_eq!(format_duration(59, Locale::En), "0 min");
    }
}
