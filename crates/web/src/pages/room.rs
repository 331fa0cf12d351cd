//! A session's room page for staff: where they join, the server in use (and a choice of
//! another, for planners), the participants' personal links (re-issued here), and who is in the
//! room and who came. The session page shows the links and the presence too, from here.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use domain::Locale;
use domain::window::JoinWindow;
use serde::Deserialize;
use service::{booking, jitsi_servers, links};
use store::{ParticipantRole, Session, SessionDetail};

use crate::http::context::Ctx;
use crate::http::error::{AppError, AppResult, Message};
use crate::http::i18n::format_short;
use crate::http::page::{Page, html_status};
use crate::http::state::AppState;
use crate::links::join::staff_join_path;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/room", get(room_page))
        .route("/sessions/{id}/jitsi-server", post(choose_server))
        .route("/sessions/{id}/participants/{pid}/link", post(reissue))
}

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
        return_to: crate::http::forms::safe_next(Some(return_to)),
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
    let next = crate::http::forms::safe_next(form.next.as_deref().or(Some(&format!("/sessions/{id}/room"))));
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
    fn durations() {
        assert_eq!(format_duration(3 * 3600 + 5 * 60 + 59, Locale::Fr), "3 h 05 min");
        assert_eq!(format_duration(59, Locale::En), "0 min");
    }
}
