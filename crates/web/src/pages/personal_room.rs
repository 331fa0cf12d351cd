//! "Ma salle" / "My room": a staff account's permanent Jitsi room (`/room`: create, choose the
//! server and the lobby, enter as moderator, copy or re-issue the guest link, delete, recent
//! visits), and the guests' side (`/r/{key}`: a small form for their name, then into the room).
//! The rules are the service's (`service::personal_rooms`).

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderValue};
use axum::response::{IntoResponse, Redirect};
use axum::{Router, routing::get, routing::post};
use service::join::Decision;
use service::personal_rooms::{self as rooms, RoomInput, RoomView};

use crate::http::context::Ctx;
use crate::http::error::{AppError, AppResult};
use crate::http::forms::FieldErrors;
use crate::http::page::{Page, html_status};
use crate::http::state::AppState;
use crate::pages::sessions::body;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/room", get(show).post(save))
        .route("/room/join", get(join))
        .route("/room/link", post(regenerate))
        .route("/room/delete", post(delete))
        .route("/r/{key}", get(guest).post(guest_enter))
}

#[derive(Template)]
#[template(path = "rooms/room.html")]
struct RoomPage {
    page: Page,
    view: Option<RoomView>,
    servers: Vec<(String, String)>,
    /// The server selected in the form.
    server_id: String,
    guests_wait: bool,
    errors: FieldErrors,
}

async fn room_page(app: &AppState, ctx: &Ctx, errors: FieldErrors, status: StatusCode) -> AppResult {
    let caller = ctx.caller()?;
    let view = rooms::view(app.service(), &caller).await?;
    let servers = rooms::servers(app.service(), &caller).await?;
    let mut page = Page::new(ctx, "room.title", &app.config().default_time_zone);
    page.time_zone = ctx.zone(app).to_owned();
    html_status(
        status,
        &RoomPage {
            server_id: view.as_ref().and_then(|v| v.room.server_id.clone()).unwrap_or_default(),
            guests_wait: view.as_ref().is_none_or(|v| v.room.guests_wait),
            view,
            servers,
            errors,
            page,
        },
    )
}

async fn show(State(app): State<AppState>, ctx: Ctx) -> AppResult {
    ctx.require_user()?;
    room_page(&app, &ctx, FieldErrors::default(), StatusCode::OK).await
}

async fn save(State(app): State<AppState>, ctx: Ctx, bytes: Bytes) -> AppResult {
    let user = ctx.require_user()?;
    let form = body(&bytes);
    let input = RoomInput {
        server_id: Some(form.get("jitsi_server_id")).filter(|s| !s.is_empty()),
        guests_wait: form.get("guests") != "direct",
    };
    match rooms::save(app.service(), &ctx.caller()?, &input).await {
        Ok(_) => Ok(Redirect::to("/room").into_response()),
        Err(e) if !e.problems().is_empty() => {
            let mut errors = FieldErrors::default();
            let status = errors.record(&e, ctx.locale, &user.time_zone, |f| f);
            room_page(&app, &ctx, errors, status).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn regenerate(State(app): State<AppState>, ctx: Ctx) -> AppResult {
    rooms::regenerate(app.service(), &ctx.caller()?).await?;
    Ok(Redirect::to("/room#guest-link").into_response())
}

async fn delete(State(app): State<AppState>, ctx: Ctx) -> AppResult {
    rooms::delete(app.service(), &ctx.caller()?).await?;
    Ok(Redirect::to("/room").into_response())
}

/// Into the Jitsi room with the token in the fragment (never cached).
fn into_room(url: &str) -> AppResult {
    let mut response = Redirect::to(url).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[derive(Template)]
#[template(path = "rooms/message.html")]
struct MessagePage {
    page: Page,
    message: String,
    reason: Option<String>,
}

fn message(
    app: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    title: &str,
    text: &str,
    reason: Option<String>,
) -> AppResult {
    let page = Page::new(ctx, title, &app.config().default_time_zone);
    html_status(
        status,
        &MessagePage {
            message: ctx.locale.t(text).to_owned(),
            reason,
            page,
        },
    )
}

/// A decision that is not "in": the room's server is missing (503) or the join check said no
/// (403).
fn not_in(app: &AppState, ctx: &Ctx, decision: Decision) -> AppResult {
    match decision {
        Decision::Enter { url } => into_room(&url),
        Decision::Refused { message: reason } => message(
            app,
            ctx,
            StatusCode::FORBIDDEN,
            "jitsi.refused.title",
            "room.refused",
            reason,
        ),
        _ => message(
            app,
            ctx,
            StatusCode::SERVICE_UNAVAILABLE,
            "jitsi.unavailable.title",
            "room.unavailable",
            None,
        ),
    }
}

async fn join(State(app): State<AppState>, ctx: Ctx) -> AppResult {
    let user = ctx.require_user()?.clone();
    let caller = ctx.caller()?;
    let decision = rooms::owner_join(app.service(), &caller, &user).await?;
    if let Decision::Enter { url } = &decision
        && let Some(login) = rooms::owner_login(app.service(), &caller).await?
    {
        // A secure-domain server: no token carries them in as host; they log in at Jitsi's
        // prompt, so they are shown their login first, then go in.
        let page = Page::new(&ctx, "prosody.enter.title", &app.config().default_time_zone);
        return crate::http::page::html(&HostEnterPage {
            page,
            url: url.clone(),
            login,
        });
    }
    not_in(&app, &ctx, decision)
}

/// The owner about to enter their room on a secure-domain server: their login, then the room.
#[derive(Template)]
#[template(path = "jitsi/host_enter.html")]
struct HostEnterPage {
    page: Page,
    url: String,
    login: service::prosody_accounts::HostLogin,
}

#[derive(Template)]
#[template(path = "rooms/guest.html")]
struct GuestPage {
    page: Page,
    owner: String,
    action: String,
    name: String,
    errors: FieldErrors,
}

/// An unknown or re-issued guest link: a page that says so (404).
fn gone(app: &AppState, ctx: &Ctx) -> AppResult {
    message(
        app,
        ctx,
        StatusCode::NOT_FOUND,
        "room.guest.gone_title",
        "room.guest.gone",
        None,
    )
}

async fn guest_form(
    app: &AppState,
    ctx: &Ctx,
    key: &str,
    name: String,
    errors: FieldErrors,
    status: StatusCode,
) -> AppResult {
    let room = match rooms::guest_target(app.service(), key).await {
        Ok(room) => room,
        Err(service::Error::NotFound) => return gone(app, ctx),
        Err(e) => return Err(e.into()),
    };
    let page = Page::new(ctx, "room.guest.title", &app.config().default_time_zone);
    html_status(
        status,
        &GuestPage {
            owner: room.owner_name,
            action: format!("/r/{key}"),
            name,
            errors,
            page,
        },
    )
}

async fn guest(State(app): State<AppState>, ctx: Ctx, Path(key): Path<String>) -> AppResult {
    let name = ctx.user().map(|u| u.display_name.clone()).unwrap_or_default();
    guest_form(&app, &ctx, &key, name, FieldErrors::default(), StatusCode::OK).await
}

async fn guest_enter(State(app): State<AppState>, ctx: Ctx, Path(key): Path<String>, bytes: Bytes) -> AppResult {
    let name = body(&bytes).get("name");
    match rooms::guest_join(app.service(), &key, &name).await {
        Ok((_, decision)) => not_in(&app, &ctx, decision),
        Err(service::Error::NotFound) => gone(&app, &ctx),
        Err(e) if !e.problems().is_empty() => {
            let mut errors = FieldErrors::default();
            let zone = ctx.zone(&app).to_owned();
            let status = errors.record(&e, ctx.locale, &zone, |f| f);
            guest_form(&app, &ctx, &key, name, errors, status).await
        }
        Err(e) => Err(AppError::from(e)),
    }
}
