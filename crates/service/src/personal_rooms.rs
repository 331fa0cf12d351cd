//! Personal rooms: each trainer, manager and admin may keep one permanent Jitsi room (the older
//! booking tool's "private room"), entered as moderator from their account at any time, and
//! shared with a guest link that they can re-issue (the old one then stops working).
//!
//! - The room lives on a server the owner's role may use (`[access] jitsi_servers_by_role`),
//!   chosen when it is made (the default server when allowed, else the first allowed one).
//! - The owner's token makes them moderator and lets them past the lobby; guests get a
//!   participant token, with the lobby bypass only when the owner lets guests in directly.
//! - On a secure-domain server there are no tokens, as for sessions: everyone goes to the
//!   room's address; the owner logs in at Jitsi's prompt with their Prosody account (shown to
//!   them before they go in), guests enter the anonymous guest domain (and wait in the lobby
//!   when the owner chose so, the reservation turning it on).
//! - The external join check (`[access] join_check_url`) is asked for every entry, as for
//!   sessions, with `session` = `personal-room:<id>`.
//! - Prosody reserves the room only for its owner: in the minutes after the owner takes their way
//!   in from Dialogue ([`OWNER_ARRIVAL`]), or when the node of `mail_owner` is the owner's
//!   `context.user.id`; anyone else is refused until then.
//! - Prosody's events for the room are stored with it; the owner sees the recent visits.

use domain::Role;
use domain::access::CheckAnswer;
use domain::presence::compute_presence;
use i18n::Message;
use jiff::{SignedDuration, Timestamp};
use jitsi::{ReservationId, ReservationRequest, ReservationResponse};
use std::num::NonZeroU32;
use std::sync::Arc;
use store::{PersonalRoom, RoomReservation, Store, User};

use crate::error::{Error, Result};
use crate::jitsi_servers::ServerRuntime;
use crate::join::{Decision, plausible_key};
use crate::metrics::JoinOutcome;
use crate::prosody::Reserved;
use crate::{Caller, Service, access};

/// How long a token for a personal room is valid (it is checked only when someone connects).
pub const TOKEN_VALIDITY: SignedDuration = SignedDuration::from_hours(12);

/// How long Prosody keeps a personal room once reserved (`duration` of the reservation): the
/// room ends a day after its owner opened it, or earlier when everyone left.
pub const ROOM_DURATION: SignedDuration = SignedDuration::from_hours(24);

/// How far back the owner's page shows visits.
pub const VISITS_SINCE: SignedDuration = SignedDuration::from_hours(24 * 30);

/// The longest guest name accepted, in characters.
pub const MAX_GUEST_NAME: usize = 100;

/// What the owner chooses.
#[derive(Debug, Clone, Default)]
pub struct RoomInput {
    /// The server (by id); `None` keeps the current one, or picks the default for a new room.
    pub server_id: Option<String>,
    /// Guests wait in the lobby until admitted (`true`) or enter directly.
    pub guests_wait: bool,
}

/// One person's visits to a room over [`VISITS_SINCE`].
#[derive(Debug, Clone)]
pub struct Visit {
    pub name: String,
    pub email: Option<String>,
    /// The owner themself.
    pub owner: bool,
    pub first_join: Timestamp,
    pub last_leave: Option<Timestamp>,
    pub minutes: i64,
    pub present: bool,
}

/// The owner's view of their room.
#[derive(Debug, Clone)]
pub struct RoomView {
    pub room: PersonalRoom,
    /// The guest link (secret: anyone with it may ask to enter).
    pub guest_url: String,
    /// The server's name (`None` once the server was removed).
    pub server_name: Option<String>,
    /// Everyone who came over [`VISITS_SINCE`], latest arrivals first.
    pub visits: Vec<Visit>,
}

fn owner_id(caller: &Caller) -> Result<&str> {
    if caller.is_command_line() {
        return Err(Error::Forbidden);
    }
    // Every account role may have a room; learners and guests have no account.
    match caller.actor.role {
        Role::Trainer | Role::Manager | Role::Admin => Ok(&caller.actor.user_id),
    }
}

/// The servers the caller's role may host a room on, `(id, name)`, the default first.
pub async fn servers(svc: &Service, caller: &Caller) -> Result<Vec<(String, String)>> {
    owner_id(caller)?;
    let mut servers: Vec<_> = svc
        .store()
        .list_jitsi_servers()
        .await?
        .into_iter()
        .filter(|s| svc.config().access.rules.may_use_server(caller.actor.role, &s.name))
        .collect();
    servers.sort_by_key(|s| !s.is_default);
    Ok(servers.into_iter().map(|s| (s.id, s.name)).collect())
}

/// The guest link of a room.
pub fn guest_url(svc: &Service, room: &PersonalRoom) -> Result<String> {
    let key = svc
        .store()
        .room_guest_key(&room.id, room.link_version)
        .map_err(|e| Error::Internal(format!("guest link of room {}: {e}", room.id)))?;
    Ok(svc.url(&format!("/r/{key}")))
}

/// The caller's room, with its guest link and recent visits (`None` when they have none).
pub async fn view(svc: &Service, caller: &Caller) -> Result<Option<RoomView>> {
    let owner = owner_id(caller)?;
    let Some(room) = svc.store().personal_room_of(owner).await? else {
        return Ok(None);
    };
    let server_name = match &room.server_id {
        Some(id) => svc.store().jitsi_server(id).await?.map(|s| s.name),
        None => None,
    };
    let now = svc.now();
    let since = now.checked_sub(VISITS_SINCE).unwrap_or(now).as_second();
    let events = svc.store().personal_room_events(&room.id, since).await?;
    let mut visits: Vec<Visit> = compute_presence(&events, now)
        .attendees
        .into_iter()
        .map(|a| Visit {
            owner: a.occupant_id.as_deref() == Some(room.owner_id.as_str()),
            name: a.name.clone().unwrap_or_else(|| "?".into()),
            email: a.email.clone(),
            first_join: a.first_join,
            last_leave: a.last_leave,
            minutes: (a.total_seconds + 59) / 60,
            present: a.present,
        })
        .collect();
    visits.sort_by_key(|v| std::cmp::Reverse(v.first_join));
    Ok(Some(RoomView {
        guest_url: guest_url(svc, &room)?,
        room,
        server_name,
        visits,
    }))
}

/// Creates the caller's room, or changes its server and lobby choice.
pub async fn save(svc: &Service, caller: &Caller, input: &RoomInput) -> Result<PersonalRoom> {
    let owner = owner_id(caller)?;
    let allowed = servers(svc, caller).await?;
    let current = svc.store().personal_room_of(owner).await?;
    let server_id = match (&input.server_id, &current) {
        (Some(id), _) => {
            if !allowed.iter().any(|(sid, _)| sid == id) {
                // Unknown, or not one this role may use: the same answer (no probing of ids).
                return Err(Error::invalid(
                    "jitsi_server",
                    Message::new("access.error.server_not_allowed"),
                ));
            }
            id.clone()
        }
        (
            None,
            Some(PersonalRoom {
                server_id: Some(id), ..
            }),
        ) if allowed.iter().any(|(sid, _)| sid == id) => id.clone(),
        (None, _) => match allowed.first() {
            Some((id, _)) => id.clone(),
            None => {
                return Err(Error::refused(
                    "jitsi_server",
                    Message::new("access.error.no_server_for_role"),
                ));
            }
        },
    };
    let room = svc
        .store()
        .save_personal_room(owner, &server_id, input.guests_wait, svc.now())
        .await?;
    let action = if current.is_some() {
        "personal_room.update"
    } else {
        "personal_room.create"
    };
    svc.store()
        .audit(
            &caller.audit(action).target("personal_room", &room.id, &room.room),
            svc.now(),
        )
        .await?;
    Ok(room)
}

/// Deletes the caller's room (its guest link, reservations and visits go with it).
pub async fn delete(svc: &Service, caller: &Caller) -> Result<()> {
    let owner = owner_id(caller)?;
    let room = svc.store().personal_room_of(owner).await?.ok_or(Error::NotFound)?;
    if svc.store().delete_personal_room(owner).await? {
        svc.store()
            .audit(
                &caller
                    .audit("personal_room.delete")
                    .target("personal_room", &room.id, &room.room),
                svc.now(),
            )
            .await?;
    }
    Ok(())
}

/// A new guest link for the caller's room; the old one is refused from now on.
pub async fn regenerate(svc: &Service, caller: &Caller) -> Result<PersonalRoom> {
    let owner = owner_id(caller)?;
    if svc.store().personal_room_of(owner).await?.is_none() {
        // A link of no room: the state is wrong, not the address (the route exists for all).
        return Err(Error::conflict("", Message::new("room.error.none")));
    }
    let room = svc.store().reissue_room_link(owner, svc.now()).await?;
    svc.store()
        .audit(
            &caller
                .audit("personal_room.link")
                .target("personal_room", &room.id, &room.room),
            svc.now(),
        )
        .await?;
    Ok(room)
}

/// The room's server, when it still exists and the owner's role may still use it.
async fn room_server(svc: &Service, room: &PersonalRoom, owner_role: Role) -> Result<Option<Arc<ServerRuntime>>> {
    let Some(id) = &room.server_id else {
        return Ok(None);
    };
    Ok(svc
        .jitsi()
        .all(svc.store())
        .await?
        .into_iter()
        .find(|s| s.server.id == *id)
        .filter(|s| svc.config().access.rules.may_use_server(owner_role, &s.server.name)))
}

/// Who enters a personal room, as the token and the join check will say.
struct Entrant<'a> {
    id: &'a str,
    name: &'a str,
    email: &'a str,
    moderator: bool,
    lobby_bypass: bool,
    kind: &'static str,
}

async fn enter(svc: &Service, room: &PersonalRoom, owner_role: Role, who: &Entrant<'_>) -> Result<Decision> {
    let (decision, minted) = enter_uncounted(svc, room, owner_role, who).await?;
    let metrics = svc.metrics();
    metrics.join(match &decision {
        Decision::Enter { .. } => {
            if minted {
                metrics.token_minted();
            }
            JoinOutcome::Entered
        }
        Decision::Refused { .. } => JoinOutcome::Refused,
        _ => JoinOutcome::Unavailable,
    });
    Ok(decision)
}

/// The decision, and whether a token was minted for it (a secure-domain server takes none).
async fn enter_uncounted(
    svc: &Service,
    room: &PersonalRoom,
    owner_role: Role,
    who: &Entrant<'_>,
) -> Result<(Decision, bool)> {
    let Some(server) = room_server(svc, room, owner_role).await? else {
        return Ok((Decision::Unavailable, false));
    };
    let now = svc.now();
    if let Some(check) = svc.join_check() {
        let session = format!("personal-room:{}", room.id);
        let request = access::CheckRequest {
            session: &session,
            title: &room.owner_name,
            course: None,
            room: &room.room,
            role: if who.moderator { "moderator" } else { "participant" },
            person: access::CheckPerson {
                kind: who.kind,
                email: who.email,
                name: who.name,
            },
            server: &server.server.name,
            at: Timestamp::from_second(now.as_second()).unwrap_or(now).to_string(),
            probe: false,
        };
        let answer = check.ask(&request).await;
        svc.metrics().join_check(&answer);
        if !answer.admits(check.on_failure()) {
            let refused = Decision::Refused {
                message: match answer {
                    CheckAnswer::Deny(message) => message,
                    _ => None,
                },
            };
            return Ok((refused, false));
        }
    }
    if server.is_secure_domain() {
        let url = server.guest_url(&room.room);
        return Ok((Decision::Enter { url }, false));
    }
    let user = jitsi::UserInfo {
        id: who.id,
        name: who.name,
        email: who.email,
        avatar: None,
        moderator: who.moderator,
    };
    let expires = now.checked_add(TOKEN_VALIDITY).unwrap_or(now).as_second();
    let token = server
        .mint_with_bypass(&room.room, user, now.as_second(), expires, who.lobby_bypass)
        .map_err(|e| Error::Internal(format!("token for personal room {}: {e}", room.id)))?;
    let url = server
        .room_url(&room.room, &token)
        .map_err(|e| Error::Internal(format!("room URL for personal room {}: {e}", room.id)))?;
    Ok((Decision::Enter { url }, true))
}

/// The owner enters their own room, as moderator. Nobody enters another's room this way.
pub async fn owner_join(svc: &Service, caller: &Caller, user: &User) -> Result<Decision> {
    let owner = owner_id(caller)?;
    let room = svc.store().personal_room_of(owner).await?.ok_or(Error::NotFound)?;
    let decision = enter(
        svc,
        &room,
        user.role,
        &Entrant {
            id: &user.id,
            name: &user.display_name,
            email: &user.email,
            moderator: true,
            lobby_bypass: true,
            kind: "user",
        },
    )
    .await?;
    if matches!(decision, Decision::Enter { .. }) {
        // Opens the reservation window for the owner's arrival (see `reserve`).
        svc.store().note_room_owner_entered(&room.id, svc.now()).await?;
    }
    Ok(decision)
}

/// The owner's Prosody login for their room, when it lives on a secure-domain server they host
/// on (to type at Jitsi's prompt; no token carries them in).
pub async fn owner_login(svc: &Service, caller: &Caller) -> Result<Option<crate::prosody_accounts::HostLogin>> {
    let owner = owner_id(caller)?;
    let Some(room) = svc.store().personal_room_of(owner).await? else {
        return Ok(None);
    };
    match &room.server_id {
        Some(server_id) => crate::prosody_accounts::my_login_on(svc, caller, server_id).await,
        None => Ok(None),
    }
}

/// Whether `mail_owner` is the owner's own Prosody account on a secure-domain server (how a host
/// who logged in at Jitsi's prompt asks for the room).
async fn is_owner_account(
    svc: &Service,
    server: &ServerRuntime,
    room: &PersonalRoom,
    mail_owner: &str,
) -> Result<bool> {
    if !server.is_secure_domain() {
        return Ok(false);
    }
    let Some(account) = svc.store().prosody_account(&server.server.id, &room.owner_id).await? else {
        return Ok(false);
    };
    let bare = mail_owner.split('/').next().unwrap_or(mail_owner);
    let own = format!("{}@{}", account.node, server.server.domain);
    Ok(account.wanted && bare.eq_ignore_ascii_case(&own))
}

/// The room a guest link names (not found when unknown or re-issued since).
pub async fn guest_target(svc: &Service, key: &str) -> Result<PersonalRoom> {
    if !plausible_key(key) {
        return Err(Error::NotFound);
    }
    svc.store()
        .personal_room_by_link(&Store::link_hash(key))
        .await?
        .ok_or(Error::NotFound)
}

/// A guest's name, as typed on the form: trimmed, 1 to [`MAX_GUEST_NAME`] characters, no
/// control characters.
pub fn guest_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() {
        return Err(Error::invalid("name", Message::new("room.error.name_missing")));
    }
    if name.chars().count() > MAX_GUEST_NAME || name.chars().any(char::is_control) {
        return Err(Error::invalid(
            "name",
            Message::new("room.error.name_invalid").arg("max", MAX_GUEST_NAME.to_string()),
        ));
    }
    Ok(name.to_owned())
}

/// A guest enters from the link, under the name they gave: a participant token, past the lobby
/// only when the owner chose so.
pub async fn guest_join(svc: &Service, key: &str, name: &str) -> Result<(PersonalRoom, Decision)> {
    let room = guest_target(svc, key).await?;
    let name = guest_name(name)?;
    let owner = svc.store().user(&room.owner_id).await?.ok_or(Error::NotFound)?;
    if !owner.active {
        return Err(Error::NotFound);
    }
    let id = format!("guest-{}", store::new_id());
    let decision = enter(
        svc,
        &room,
        owner.role,
        &Entrant {
            id: &id,
            name: &name,
            email: "",
            moderator: false,
            lobby_bypass: !room.guests_wait,
            kind: "guest",
        },
    )
    .await?;
    Ok((room, decision))
}

/// The personal room `name` names on `server`, if it lives there.
async fn served_room(
    svc: &Service,
    server: &ServerRuntime,
    name: &str,
    tenant: Option<&str>,
) -> Result<Option<PersonalRoom>> {
    Ok(svc
        .store()
        .personal_room_by_name(name)
        .await?
        .filter(|r| r.server_id.as_deref() == Some(server.server.id.as_str()) && tenant == server.tenant()))
}

/// How long after the owner takes their way in from Dialogue Prosody may create their room:
/// the time to pass Jitsi's pre-join screen, with room to spare.
pub const OWNER_ARRIVAL: SignedDuration = SignedDuration::from_mins(10);

/// Whether the owner took their way in from Dialogue within [`OWNER_ARRIVAL`]. This is what
/// recognises them on a stock Jitsi, where a token user's XMPP node (so `mail_owner`) is random:
/// the first person in is then, but for someone arriving in the same minutes, the owner.
pub fn owner_arriving(room: &PersonalRoom, now: Timestamp) -> bool {
    room.owner_entered_at
        .is_some_and(|at| at <= now && now.duration_since(at) <= OWNER_ARRIVAL)
}

/// Whether a reservation's `mail_owner` (the bare JID of the person asking) is the room's owner:
/// its node is the `context.user.id` of the owner's token, their account id (deployments whose
/// Prosody names token users after `context.user.id`).
pub fn is_owner(mail_owner: &str, owner_id: &str) -> bool {
    let node = mail_owner.split_once('@').map_or(mail_owner, |(node, _)| node);
    !owner_id.is_empty() && node.eq_ignore_ascii_case(owner_id)
}

fn answer(server: &ServerRuntime, room: &PersonalRoom, r: &RoomReservation) -> Result<ReservationResponse> {
    let id = ReservationId::new(&r.id).map_err(|e| Error::Internal(format!("reservation id {}: {e}", r.id)))?;
    Ok(ReservationResponse {
        id,
        name: r.name.clone(),
        start_time: jitsi::format_java_date(r.start_time),
        duration: u64::try_from(ROOM_DURATION.as_secs()).unwrap_or(0),
        mail_owner: r.mail_owner.clone(),
        max_occupants: server
            .server
            .max_occupants
            .and_then(|n| u32::try_from(n).ok())
            .and_then(NonZeroU32::new),
        lobby: (room.guests_wait || server.server.lobby).then_some(true),
    })
}

/// Prosody asks to create a personal room: only for its owner (refused for anyone else, so
/// guests wait until the owner is there). `None` when the room is no personal room here.
pub async fn reserve(svc: &Service, server: &ServerRuntime, request: &ReservationRequest) -> Result<Option<Reserved>> {
    let Some(room) = served_room(svc, server, &request.room, request.tenant.as_deref()).await? else {
        return Ok(None);
    };
    if !owner_arriving(&room, svc.now())
        && !is_owner(&request.mail_owner, &room.owner_id)
        && !is_owner_account(svc, server, &room, &request.mail_owner).await?
    {
        return Err(Error::refused("", Message::new("jitsi.api.owner_absent")));
    }
    let owner = svc.store().user(&room.owner_id).await?;
    if !owner.is_some_and(|o| o.active && svc.config().access.rules.may_use_server(o.role, &server.server.name)) {
        return Err(Error::refused("", Message::new("jitsi.api.unknown_room")));
    }
    let (r, created) = svc
        .store()
        .create_room_reservation(
            &room.id,
            &server.server.id,
            &request.name,
            &request.mail_owner,
            request.start_time,
            svc.now(),
        )
        .await?;
    Ok(Some(if created {
        Reserved::Created(answer(server, &room, &r)?)
    } else {
        Reserved::Existing { id: r.id }
    }))
}

async fn own_reservation(svc: &Service, server: &ServerRuntime, id: &str) -> Result<Option<RoomReservation>> {
    if ReservationId::new(id).is_err() {
        return Ok(None);
    }
    Ok(svc
        .store()
        .room_reservation(id)
        .await?
        .filter(|r| r.server_id == server.server.id))
}

/// The reservation Prosody asks for after a conflict, when it is a personal room's (`None`
/// otherwise).
pub async fn reservation(svc: &Service, server: &ServerRuntime, id: &str) -> Result<Option<ReservationResponse>> {
    let Some(r) = own_reservation(svc, server, id).await? else {
        return Ok(None);
    };
    if r.deleted_at.is_some() {
        return Err(Error::NotFound);
    }
    let room = svc
        .store()
        .personal_room_by_id(&r.room_id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(Some(answer(server, &room, &r)?))
}

/// The room was destroyed: its reservation ends. `false` when it is no personal room's.
pub async fn unreserve(svc: &Service, server: &ServerRuntime, id: &str) -> Result<bool> {
    let Some(r) = own_reservation(svc, server, id).await? else {
        return Ok(false);
    };
    svc.store().delete_room_reservation(&r.id, svc.now()).await?;
    Ok(true)
}

/// The personal room an event's room is, on this server (for storing its events with it).
pub async fn event_room(
    svc: &Service,
    server: &ServerRuntime,
    name: &str,
    tenant: Option<&str>,
) -> Result<Option<String>> {
    Ok(served_room(svc, server, name, tenant).await?.map(|r| r.id))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(entered: Option<i64>) -> PersonalRoom {
        PersonalRoom {
            id: "r".into(),
            owner_id: "u1".into(),
            owner_name: "Théo".into(),
            room: "salle-x".into(),
            server_id: None,
            guests_wait: true,
            link_version: 1,
            owner_entered_at: entered.map(|s| Timestamp::from_second(s).unwrap()),
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn the_owner_is_arriving_for_ten_minutes_after_taking_their_way_in() {
        let now = Timestamp::from_second(1_000_000).unwrap();
        assert!(!owner_arriving(&room(None), now), "never entered");
        assert!(owner_arriving(&room(Some(1_000_000)), now));
        assert!(owner_arriving(&room(Some(1_000_000 - 600)), now), "ten minutes: still");
        assert!(!owner_arriving(&room(Some(1_000_000 - 601)), now), "then no more");
        assert!(
            !owner_arriving(&room(Some(1_000_001)), now),
            "a clock ahead opens nothing"
        );
    }

    #[test]
    fn a_mail_owner_named_after_the_account_is_the_owner() {
        assert!(is_owner("u1@meet.example.org", "u1"));
        assert!(!is_owner("8e3f0c1a@meet.example.org", "u1"));
        assert!(!is_owner("@meet.example.org", ""));
    }
}
