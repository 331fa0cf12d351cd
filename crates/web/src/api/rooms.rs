//! `/api/v1/me/room`: the token holder's personal room (see `service::personal_rooms`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{MethodRouter, get, post};
use serde::{Deserialize, Serialize};
use service::personal_rooms::{self as rooms, RoomInput, RoomView};
use utoipa::ToSchema;

use super::{ApiCaller, ApiError, BadRequest, ForCaller, Invalid, NotFound, Unauthorized};
use crate::http::error::AppError;
use crate::http::state::AppState;

pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/me/room", get(read).put(save).delete(remove)),
        ("/me/room/link", post(regenerate)),
    ]
}

/// Who may enter without waiting.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Guests {
    /// Guests wait in Jitsi's lobby until a moderator admits them.
    Wait,
    /// Guests enter directly.
    Direct,
}

/// One person's visits over the last 30 days.
#[derive(Debug, Serialize, ToSchema)]
pub struct VisitOut {
    pub name: String,
    #[schema(required = true)]
    pub email: Option<String>,
    /// The room's owner.
    pub owner: bool,
    #[schema(format = DateTime)]
    pub first_join: String,
    #[schema(required = true, format = DateTime)]
    pub last_leave: Option<String>,
    /// Minutes in the room, overlapping connections counted once.
    pub minutes: i64,
    /// In the room now.
    pub present: bool,
}

/// A personal room.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoomOut {
    pub id: String,
    /// The Jitsi room name.
    pub room: String,
    /// The Jitsi server (`null` once it was removed: choose another with PUT).
    #[schema(required = true)]
    pub jitsi_server_id: Option<String>,
    pub guests: Guests,
    /// Secret: anyone with it may ask to enter under the name they give.
    #[schema(format = "uri")]
    pub guest_url: String,
    /// Where the owner enters as moderator (from a browser logged in to Dialogue).
    #[schema(format = "uri")]
    pub join_url: String,
    /// Recent visits (30 days), latest arrivals first.
    pub visits: Vec<VisitOut>,
}

/// What the owner chooses.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoomBody {
    /// A server the caller's role may use; absent keeps the current one (a new room gets the
    /// default server when allowed, else the first allowed one).
    #[serde(default)]
    pub jitsi_server_id: Option<String>,
    /// `wait` (the default) or `direct`.
    #[serde(default)]
    pub guests: Option<Guests>,
}

fn out(app: &AppState, v: RoomView) -> RoomOut {
    RoomOut {
        id: v.room.id,
        room: v.room.room,
        jitsi_server_id: v.room.server_id,
        guests: if v.room.guests_wait {
            Guests::Wait
        } else {
            Guests::Direct
        },
        guest_url: v.guest_url,
        join_url: app.service().url("/room/join"),
        visits: v
            .visits
            .into_iter()
            .map(|visit| VisitOut {
                name: visit.name,
                email: visit.email.filter(|e| !e.is_empty()),
                owner: visit.owner,
                first_join: visit.first_join.to_string(),
                last_leave: visit.last_leave.map(|t| t.to_string()),
                minutes: visit.minutes,
                present: visit.present,
            })
            .collect(),
    }
}

async fn current(app: &AppState, caller: &ApiCaller) -> Result<RoomOut, ApiError> {
    let view = rooms::view(app.service(), &caller.caller())
        .await
        .api(caller)?
        .ok_or_else(|| caller.fail(AppError::NOT_FOUND))?;
    Ok(out(app, view))
}

/// The token holder's personal room
#[utoipa::path(
    get,
    path = "/me/room",
    operation_id = "getMyRoom",
    tag = "me",
    responses(
        (status = 200, description = "The room, its guest link and recent visits", body = RoomOut),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub async fn read(State(app): State<AppState>, caller: ApiCaller) -> Result<Json<RoomOut>, ApiError> {
    Ok(Json(current(&app, &caller).await?))
}

/// Create the token holder's personal room, or change its server and lobby choice
#[utoipa::path(
    put,
    path = "/me/room",
    operation_id = "saveMyRoom",
    tag = "me",
    request_body(content = Option<RoomBody>, description = "What changes (optional: an empty body keeps the current choices, or makes a room with the defaults)"),
    responses(
        (status = 200, description = "The room as it now is", body = RoomOut),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, description = "No Jitsi server this role may use exists", body = super::ProblemJson,
            content_type = "application/problem+json"),
        (status = 422, response = Invalid),
    )
)]
pub async fn save(State(app): State<AppState>, caller: ApiCaller, body: Bytes) -> Result<Json<RoomOut>, ApiError> {
    let body: RoomBody = super::json::body(&caller, &body)?;
    let existing = rooms::view(app.service(), &caller.caller()).await.api(&caller)?;
    let guests_wait = match body.guests {
        Some(g) => g == Guests::Wait,
        None => existing.as_ref().is_none_or(|v| v.room.guests_wait),
    };
    let input = RoomInput {
        server_id: body.jitsi_server_id,
        guests_wait,
    };
    rooms::save(app.service(), &caller.caller(), &input)
        .await
        .api(&caller)?;
    Ok(Json(current(&app, &caller).await?))
}

/// Delete the token holder's personal room (with its guest link and visits)
#[utoipa::path(
    delete,
    path = "/me/room",
    operation_id = "deleteMyRoom",
    tag = "me",
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub async fn remove(State(app): State<AppState>, caller: ApiCaller) -> Result<StatusCode, ApiError> {
    rooms::delete(app.service(), &caller.caller()).await.api(&caller)?;
    Ok(StatusCode::NO_CONTENT)
}

/// A new guest link for the token holder's room (the old one stops working)
#[utoipa::path(
    post,
    path = "/me/room/link",
    operation_id = "reissueMyRoomLink",
    tag = "me",
    responses(
        (status = 200, description = "The room with its new guest link", body = RoomOut),
        (status = 401, response = Unauthorized),
        (status = 409, description = "The token holder has no room yet", body = super::ProblemJson,
            content_type = "application/problem+json"),
    )
)]
pub async fn regenerate(State(app): State<AppState>, caller: ApiCaller) -> Result<Json<RoomOut>, ApiError> {
    rooms::regenerate(app.service(), &caller.caller()).await.api(&caller)?;
    Ok(Json(current(&app, &caller).await?))
}
