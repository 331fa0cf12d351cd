//! Events posted by jitsi-contrib's `mod_event_sync_component`
//! (`prosody-plugins/event_sync/mod_event_sync_component.lua`).
//!
//! What the module sends, as read in its source:
//! - `POST <api_prefix>/events/room/created | room/destroyed | occupant/joined |
//!   occupant/left`, JSON, with the configured `api_headers`; retried on 5xx and
//!   connection failures, so a delivery may repeat; order is not guaranteed.
//! - Every payload has `event_name` (`muc-room-created`, `muc-room-destroyed`,
//!   `muc-occupant-joined`, `muc-occupant-left`) plus the room attributes
//!   `room_name` (`jid.split()` node of the room, so `[tenant]room` with tenants),
//!   `room_jid`, `is_breakout` and, for breakout rooms, `breakout_room_id` (then
//!   `room_name`/`room_jid` are the main room's). Those attributes are only added
//!   once the room's `event_sync_extra_payload` has been set, so they may be absent.
//! - `room/created`: `created_at`. `room/destroyed`: `created_at`, `destroyed_at`,
//!   `all_occupants` (every occupant since creation; an empty Lua table is encoded by
//!   Prosody's `util.json` as `{}`, not `[]`).
//! - `occupant/*`: `occupant` {`occupant_jid` (the occupant's real full JID: a new
//!   connection gives a new one), `joined_at`, `left_at` (leave only), `name`, `email`,
//!   `id` (from the token's `context.user`, absent without a token; with
//!   `include_user_info` every `context.user` key is copied), and with
//!   `include_speaker_stats` `total_dominant_speaker_time` (ms)} and
//!   `active_occupants_count`. On leave `occupant` is absent if the join was not seen.
//! - Times are `os.time()`: Unix seconds.

use std::fmt;

use serde::{Deserialize, Deserializer};

use crate::key::hex_digit;
use crate::room::{is_valid_room_name, split_tenant};

/// The four event endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// `POST …/events/room/created`
    RoomCreated,
    /// `POST …/events/room/destroyed`
    RoomDestroyed,
    /// `POST …/events/occupant/joined`
    OccupantJoined,
    /// `POST …/events/occupant/left`
    OccupantLeft,
}

impl EventKind {
    /// Every kind, in the order above.
    pub const ALL: [EventKind; 4] = [
        EventKind::RoomCreated,
        EventKind::RoomDestroyed,
        EventKind::OccupantJoined,
        EventKind::OccupantLeft,
    ];

    /// The path after `<api_prefix>/events/`, e.g. `room/created`.
    pub fn path(self) -> &'static str {
        match self {
            EventKind::RoomCreated => "room/created",
            EventKind::RoomDestroyed => "room/destroyed",
            EventKind::OccupantJoined => "occupant/joined",
            EventKind::OccupantLeft => "occupant/left",
        }
    }

    /// The `event_name` Prosody puts in the body, e.g. `muc-room-created`.
    pub fn event_name(self) -> &'static str {
        match self {
            EventKind::RoomCreated => "muc-room-created",
            EventKind::RoomDestroyed => "muc-room-destroyed",
            EventKind::OccupantJoined => "muc-occupant-joined",
            EventKind::OccupantLeft => "muc-occupant-left",
        }
    }

    /// The kind for a path suffix such as `room/created` (a leading `/` or
    /// `events/` and a trailing `/` are tolerated).
    pub fn from_path(path: &str) -> Result<Self, EventError> {
        let trimmed = path.trim_matches('/');
        let trimmed = trimmed.strip_prefix("events/").unwrap_or(trimmed);
        EventKind::ALL
            .into_iter()
            .find(|k| k.path() == trimmed)
            .ok_or_else(|| EventError::UnknownPath(path.to_owned()))
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.event_name())
    }
}

/// Why an event body was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    /// The URL path is not one of the four event paths. Carries the path.
    #[error("unknown event path {0:?}")]
    UnknownPath(String),
    /// The body is not JSON of the expected shape; carries serde's message.
    #[error("malformed event body: {0}")]
    MalformedJson(String),
    /// The body's `event_name` is not the one of the URL path.
    #[error("event_name {found:?} does not match the path (expected {expected:?})")]
    EventNameMismatch {
        /// `event_name` of the path's kind.
        expected: &'static str,
        /// `event_name` found in the body.
        found: String,
    },
    /// A field Dialogue needs is absent or null. Carries the field path.
    #[error("missing field {0:?}")]
    MissingField(&'static str),
    /// `room_name` is not `room` or `[tenant]room` with valid names. Carries it.
    #[error("invalid room name {0:?}")]
    InvalidRoomName(String),
    /// A time is negative, fractional-infinite or not a number. Carries the field.
    #[error("invalid time in field {0:?}")]
    InvalidTime(&'static str),
}

/// The room an event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRef {
    /// The tenant, when `room_name` is `[tenant]room`.
    pub tenant: Option<String>,
    /// The (main) room name.
    pub name: String,
    /// `room_jid`, when sent.
    pub jid: Option<String>,
    /// Whether the event comes from a breakout room of `name`.
    pub is_breakout: bool,
    /// The breakout room's node, for breakout events.
    pub breakout_room_id: Option<String>,
}

/// One occupant as reported by the module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occupant {
    /// The occupant's full JID (unique per connection).
    pub occupant_jid: String,
    /// When it joined (Unix seconds).
    pub joined_at: i64,
    /// When it left (Unix seconds), once it has.
    pub left_at: Option<i64>,
    /// `context.user.name` of its token.
    pub name: Option<String>,
    /// `context.user.email` of its token.
    pub email: Option<String>,
    /// `context.user.id` of its token (Dialogue's user id).
    pub id: Option<String>,
    /// Dominant speaker time in milliseconds (`include_speaker_stats`).
    pub total_dominant_speaker_time: Option<u64>,
}

/// A parsed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A room (or breakout room) was created.
    RoomCreated {
        /// The room.
        room: RoomRef,
        /// Creation time (Unix seconds).
        created_at: i64,
    },
    /// A room (or breakout room) was destroyed.
    RoomDestroyed {
        /// The room.
        room: RoomRef,
        /// Creation time, when sent.
        created_at: Option<i64>,
        /// Destruction time (Unix seconds).
        destroyed_at: i64,
        /// Everyone who was in the room since it was created.
        all_occupants: Vec<Occupant>,
    },
    /// Someone joined.
    OccupantJoined {
        /// The room.
        room: RoomRef,
        /// Who.
        occupant: Occupant,
        /// Occupants present, including this one.
        active_occupants_count: Option<u32>,
    },
    /// Someone left.
    OccupantLeft {
        /// The room.
        room: RoomRef,
        /// Who (with `left_at` set).
        occupant: Occupant,
        /// Occupants still present.
        active_occupants_count: Option<u32>,
    },
}

impl Event {
    /// The kind of this event.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::RoomCreated { .. } => EventKind::RoomCreated,
            Event::RoomDestroyed { .. } => EventKind::RoomDestroyed,
            Event::OccupantJoined { .. } => EventKind::OccupantJoined,
            Event::OccupantLeft { .. } => EventKind::OccupantLeft,
        }
    }

    /// The room this event is about.
    pub fn room(&self) -> &RoomRef {
        match self {
            Event::RoomCreated { room, .. }
            | Event::RoomDestroyed { room, .. }
            | Event::OccupantJoined { room, .. }
            | Event::OccupantLeft { room, .. } => room,
        }
    }

    /// A stable key (64 lowercase hex characters) for storing each event once: the
    /// SHA-256 of kind, tenant, room, breakout room, occupant JID and the event's own
    /// time. A repeated delivery gives the same key; a rejoin (new connection, new
    /// occupant JID) or another room gives another.
    pub fn idempotency_key(&self) -> String {
        let room = self.room();
        let (occupant_jid, time) = match self {
            Event::RoomCreated { created_at, .. } => ("", *created_at),
            Event::RoomDestroyed { destroyed_at, .. } => ("", *destroyed_at),
            Event::OccupantJoined { occupant, .. } => (occupant.occupant_jid.as_str(), occupant.joined_at),
            Event::OccupantLeft { occupant, .. } => (
                occupant.occupant_jid.as_str(),
                occupant.left_at.unwrap_or(occupant.joined_at),
            ),
        };
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        let time = time.to_string();
        // Each part is length-prefixed so that no two different tuples collide.
        for part in [
            self.kind().event_name(),
            room.tenant.as_deref().unwrap_or(""),
            &room.name,
            room.breakout_room_id.as_deref().unwrap_or(""),
            occupant_jid,
            &time,
        ] {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part.as_bytes());
        }
        let digest = ctx.finish();
        let mut out = String::with_capacity(64);
        for byte in digest.as_ref() {
            out.push(hex_digit(byte >> 4));
            out.push(hex_digit(byte & 0x0f));
        }
        out
    }
}

/// Parses the JSON body of an event whose kind comes from the URL path.
///
/// Lenient where Prosody may omit or vary fields (unknown fields are ignored,
/// `null` counts as absent, user fields may be numbers, `all_occupants` may be `{}`,
/// times may be floats), strict where Dialogue needs them (`room_name` must be a
/// valid room, times and occupant JIDs must be there).
pub fn parse_event(kind: EventKind, body: &[u8]) -> Result<Event, EventError> {
    let raw: RawEvent = serde_json::from_slice(body).map_err(|e| EventError::MalformedJson(e.to_string()))?;
    if let Some(found) = raw.event_name
        && found != kind.event_name()
    {
        return Err(EventError::EventNameMismatch {
            expected: kind.event_name(),
            found,
        });
    }
    let room = room_ref(raw.room_name, raw.room_jid, raw.is_breakout, raw.breakout_room_id)?;
    Ok(match kind {
        EventKind::RoomCreated => Event::RoomCreated {
            room,
            created_at: time(raw.created_at, "created_at")?.ok_or(EventError::MissingField("created_at"))?,
        },
        EventKind::RoomDestroyed => Event::RoomDestroyed {
            room,
            created_at: time(raw.created_at, "created_at")?,
            destroyed_at: time(raw.destroyed_at, "destroyed_at")?.ok_or(EventError::MissingField("destroyed_at"))?,
            all_occupants: raw
                .all_occupants
                .map(|list| list.0)
                .unwrap_or_default()
                .into_iter()
                .map(|o| occupant(o, "all_occupants[].occupant_jid", "all_occupants[].joined_at"))
                .collect::<Result<_, _>>()?,
        },
        EventKind::OccupantJoined => Event::OccupantJoined {
            room,
            occupant: occupant(
                raw.occupant.ok_or(EventError::MissingField("occupant"))?,
                "occupant.occupant_jid",
                "occupant.joined_at",
            )?,
            active_occupants_count: raw.active_occupants_count,
        },
        EventKind::OccupantLeft => {
            let occupant = occupant(
                raw.occupant.ok_or(EventError::MissingField("occupant"))?,
                "occupant.occupant_jid",
                "occupant.joined_at",
            )?;
            if occupant.left_at.is_none() {
                return Err(EventError::MissingField("occupant.left_at"));
            }
            Event::OccupantLeft {
                room,
                occupant,
                active_occupants_count: raw.active_occupants_count,
            }
        }
    })
}

fn room_ref(
    room_name: Option<String>,
    room_jid: Option<String>,
    is_breakout: Option<bool>,
    breakout_room_id: Option<LenientString>,
) -> Result<RoomRef, EventError> {
    let node = room_name.ok_or(EventError::MissingField("room_name"))?;
    let (tenant, name) = split_tenant(&node);
    if !is_valid_room_name(name) || tenant.is_some_and(|t| !is_valid_room_name(t)) {
        return Err(EventError::InvalidRoomName(node));
    }
    Ok(RoomRef {
        tenant: tenant.map(str::to_owned),
        name: name.to_owned(),
        jid: room_jid,
        is_breakout: is_breakout.unwrap_or(false),
        breakout_room_id: breakout_room_id.map(|s| s.0),
    })
}

fn occupant(raw: RawOccupant, jid_field: &'static str, joined_field: &'static str) -> Result<Occupant, EventError> {
    let occupant_jid = raw
        .occupant_jid
        .filter(|j| !j.is_empty())
        .ok_or(EventError::MissingField(jid_field))?;
    let joined_at = time(raw.joined_at, joined_field)?.ok_or(EventError::MissingField(joined_field))?;
    Ok(Occupant {
        occupant_jid,
        joined_at,
        left_at: time(raw.left_at, "occupant.left_at")?,
        name: raw.name.map(|s| s.0),
        email: raw.email.map(|s| s.0),
        id: raw.id.map(|s| s.0),
        total_dominant_speaker_time: raw
            .total_dominant_speaker_time
            .and_then(|t| (t.is_finite() && t >= 0.0).then_some(t as u64)),
    })
}

/// Unix seconds from a JSON number (Lua may encode integers as floats).
fn time(value: Option<f64>, field: &'static str) -> Result<Option<i64>, EventError> {
    match value {
        None => Ok(None),
        // 1e13 s is year 318857: anything larger is garbage, not a time.
        Some(t) if t.is_finite() && (0.0..1e13).contains(&t) => Ok(Some(t as i64)),
        Some(_) => Err(EventError::InvalidTime(field)),
    }
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(default)]
    event_name: Option<String>,
    #[serde(default)]
    room_name: Option<String>,
    #[serde(default)]
    room_jid: Option<String>,
    #[serde(default)]
    is_breakout: Option<bool>,
    #[serde(default)]
    breakout_room_id: Option<LenientString>,
    #[serde(default)]
    created_at: Option<f64>,
    #[serde(default)]
    destroyed_at: Option<f64>,
    #[serde(default)]
    all_occupants: Option<OccupantList>,
    #[serde(default)]
    occupant: Option<RawOccupant>,
    #[serde(default)]
    active_occupants_count: Option<u32>,
}

#[derive(Deserialize)]
struct RawOccupant {
    #[serde(default)]
    occupant_jid: Option<String>,
    #[serde(default)]
    joined_at: Option<f64>,
    #[serde(default)]
    left_at: Option<f64>,
    #[serde(default)]
    name: Option<LenientString>,
    #[serde(default)]
    email: Option<LenientString>,
    #[serde(default)]
    id: Option<LenientString>,
    #[serde(default)]
    total_dominant_speaker_time: Option<f64>,
}

/// A list that Prosody's `util.json` writes as `{}` when empty.
struct OccupantList(Vec<RawOccupant>);

impl<'de> Deserialize<'de> for OccupantList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Shape {
            List(Vec<RawOccupant>),
            Map(std::collections::BTreeMap<String, RawOccupant>),
        }
        Ok(OccupantList(match Shape::deserialize(d)? {
            Shape::List(list) => list,
            Shape::Map(map) => map.into_values().collect(),
        }))
    }
}

/// A string that may arrive as a JSON number or boolean (token claims are free-form).
pub(crate) struct LenientString(pub(crate) String);

impl<'de> Deserialize<'de> for LenientString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Shape {
            Text(String),
            Int(i64),
            Float(f64),
            Bool(bool),
        }
        Ok(LenientString(match Shape::deserialize(d)? {
            Shape::Text(s) => s,
            Shape::Int(n) => n.to_string(),
            Shape::Float(n) => n.to_string(),
            Shape::Bool(b) => b.to_string(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Payloads shaped like the module's README examples and Lua source.
    const CREATED: &str = r#"{"event_name":"muc-room-created","room_name":"catchup",
        "room_jid":"catchup@conference.meet.mydomain.com","is_breakout":false,"created_at":1625823996}"#;
    const DESTROYED: &str = r#"{"event_name":"muc-room-destroyed","room_name":"catchup",
        "room_jid":"catchup@conference.meet.mydomain.com","is_breakout":false,
        "created_at":1625823996,"destroyed_at":1625824035,"all_occupants":[{"name":"James Barrow",
        "email":"j.barrow@domain.com","id":"00380324-a840-400d-880f-7ee0933b7556",
        "occupant_jid":"14f01c40-5195-4a4d-8efb-f58b49d18741@meet.mydomain.com/OWhl8jSh",
        "joined_at":1625823996,"left_at":1625824035}]}"#;
    const JOINED: &str = r#"{"event_name":"muc-occupant-joined","room_name":"catchup",
        "room_jid":"catchup@conference.meet.mydomain.com","is_breakout":false,"active_occupants_count":4,
        "occupant":{"name":"James Barrow","email":"j.barrow@domain.com",
        "id":"00380324-a840-400d-880f-7ee0933b7556",
        "occupant_jid":"14f01c40-5195-4a4d-8efb-f58b49d18741@meet.mydomain.com/OWhl8jSh",
        "joined_at":1625823996}}"#;
    const LEFT: &str = r#"{"event_name":"muc-occupant-left","room_name":"catchup",
        "room_jid":"catchup@conference.meet.mydomain.com","is_breakout":false,"active_occupants_count":3,
        "occupant":{"name":"James Barrow","email":"j.barrow@domain.com",
        "id":"00380324-a840-400d-880f-7ee0933b7556",
        "occupant_jid":"14f01c40-5195-4a4d-8efb-f58b49d18741@meet.mydomain.com/OWhl8jSh",
        "joined_at":1625823996,"left_at":1625824035,"total_dominant_speaker_time":12000}}"#;

    const JID: &str = "14f01c40-5195-4a4d-8efb-f58b49d18741@meet.mydomain.com/OWhl8jSh";

    fn room() -> RoomRef {
        RoomRef {
            tenant: None,
            name: "catchup".into(),
            jid: Some("catchup@conference.meet.mydomain.com".into()),
            is_breakout: false,
            breakout_room_id: None,
        }
    }

    fn james(left_at: Option<i64>) -> Occupant {
        Occupant {
            occupant_jid: JID.into(),
            joined_at: 1625823996,
            left_at,
            name: Some("James Barrow".into()),
            email: Some("j.barrow@domain.com".into()),
            id: Some("00380324-a840-400d-880f-7ee0933b7556".into()),
            total_dominant_speaker_time: None,
        }
    }

    #[test]
    fn parses_the_four_events() {
        assert_eq!(
            parse_event(EventKind::RoomCreated, CREATED.as_bytes()).unwrap(),
            Event::RoomCreated {
                room: room(),
                created_at: 1625823996
            }
        );
        assert_eq!(
            parse_event(EventKind::RoomDestroyed, DESTROYED.as_bytes()).unwrap(),
            Event::RoomDestroyed {
                room: room(),
                created_at: Some(1625823996),
                destroyed_at: 1625824035,
                all_occupants: vec![james(Some(1625824035))],
            }
        );
        assert_eq!(
            parse_event(EventKind::OccupantJoined, JOINED.as_bytes()).unwrap(),
            Event::OccupantJoined {
                room: room(),
                occupant: james(None),
                active_occupants_count: Some(4)
            }
        );
        let mut left = james(Some(1625824035));
        left.total_dominant_speaker_time = Some(12000);
        assert_eq!(
            parse_event(EventKind::OccupantLeft, LEFT.as_bytes()).unwrap(),
            Event::OccupantLeft {
                room: room(),
                occupant: left,
                active_occupants_count: Some(3)
            }
        );
    }

    #[test]
    fn kinds_and_paths() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::from_path(kind.path()).unwrap(), kind);
            assert_eq!(
                EventKind::from_path(&format!("/events/{}/", kind.path())).unwrap(),
                kind
            );
            assert_eq!(kind.to_string(), kind.event_name());
        }
        assert_eq!(
            EventKind::from_path("room/updated").unwrap_err(),
            EventError::UnknownPath("room/updated".into())
        );
    }

    #[test]
    fn lenient_where_prosody_varies() {
        // No token: no name/email/id; extra keys from include_user_info; empty list as {}.
        let body = r#"{"room_name":"[acme]r-1","breakout_room_id":"b1234","is_breakout":true,
            "occupant":{"occupant_jid":"x@meet/abc","joined_at":1.7e9,"moderator":"true",
            "id":42,"name":null,"avatar":"https://a"},"extra":{"k":[1,2]}}"#;
        let Event::OccupantJoined {
            room,
            occupant,
            active_occupants_count,
        } = parse_event(EventKind::OccupantJoined, body.as_bytes()).unwrap()
        else {
            panic!("wrong kind")
        };
        assert_eq!(room.tenant.as_deref(), Some("acme"));
        assert_eq!(room.name, "r-1");
        assert!(room.is_breakout);
        assert_eq!(room.breakout_room_id.as_deref(), Some("b1234"));
        assert_eq!(room.jid, None);
        assert_eq!(occupant.joined_at, 1_700_000_000);
        assert_eq!(occupant.id.as_deref(), Some("42"));
        assert_eq!(occupant.name, None);
        assert_eq!(active_occupants_count, None);

        let destroyed = r#"{"room_name":"r","destroyed_at":10,"all_occupants":{}}"#;
        let Event::RoomDestroyed {
            all_occupants,
            created_at,
            ..
        } = parse_event(EventKind::RoomDestroyed, destroyed.as_bytes()).unwrap()
        else {
            panic!("wrong kind")
        };
        assert!(all_occupants.is_empty());
        assert_eq!(created_at, None);
        let destroyed = r#"{"room_name":"r","destroyed_at":10}"#;
        assert!(parse_event(EventKind::RoomDestroyed, destroyed.as_bytes()).is_ok());
    }

    #[test]
    fn strict_where_dialogue_needs_it() {
        use EventError::*;
        let cases: [(EventKind, &str, EventError); 11] = [
            (EventKind::RoomCreated, r#"{"created_at":1}"#, MissingField("room_name")),
            (
                EventKind::RoomCreated,
                r#"{"room_name":"r"}"#,
                MissingField("created_at"),
            ),
            (
                EventKind::RoomCreated,
                r#"{"room_name":"Bad Room","created_at":1}"#,
                InvalidRoomName("Bad Room".into()),
            ),
            (
                EventKind::RoomCreated,
                r#"{"room_name":"[a b]r","created_at":1}"#,
                InvalidRoomName("[a b]r".into()),
            ),
            (
                EventKind::RoomCreated,
                r#"{"room_name":"r","created_at":-5}"#,
                InvalidTime("created_at"),
            ),
            (
                EventKind::RoomCreated,
                r#"{"event_name":"muc-room-destroyed","room_name":"r","created_at":1}"#,
                EventNameMismatch {
                    expected: "muc-room-created",
                    found: "muc-room-destroyed".into(),
                },
            ),
            (
                EventKind::RoomDestroyed,
                r#"{"room_name":"r","created_at":1}"#,
                MissingField("destroyed_at"),
            ),
            (
                EventKind::OccupantJoined,
                r#"{"room_name":"r"}"#,
                MissingField("occupant"),
            ),
            (
                EventKind::OccupantJoined,
                r#"{"room_name":"r","occupant":{"joined_at":1}}"#,
                MissingField("occupant.occupant_jid"),
            ),
            (
                EventKind::OccupantJoined,
                r#"{"room_name":"r","occupant":{"occupant_jid":"j"}}"#,
                MissingField("occupant.joined_at"),
            ),
            (
                EventKind::OccupantLeft,
                r#"{"room_name":"r","occupant":{"occupant_jid":"j","joined_at":1}}"#,
                MissingField("occupant.left_at"),
            ),
        ];
        for (kind, body, expected) in cases {
            assert_eq!(parse_event(kind, body.as_bytes()).unwrap_err(), expected, "{body}");
        }
        assert!(matches!(
            parse_event(EventKind::RoomCreated, b"not json"),
            Err(MalformedJson(_))
        ));
        assert!(matches!(
            parse_event(EventKind::RoomCreated, br#"{"room_name":5,"created_at":1}"#),
            Err(MalformedJson(_))
        ));
    }

    #[test]
    fn idempotency_keys() {
        let joined = parse_event(EventKind::OccupantJoined, JOINED.as_bytes()).unwrap();
        let again = parse_event(EventKind::OccupantJoined, JOINED.as_bytes()).unwrap();
        let key = joined.idempotency_key();
        assert_eq!(key.len(), 64);
        assert!(key.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_eq!(key, again.idempotency_key(), "a repeated delivery has the same key");

        let rejoin = JOINED.replace("/OWhl8jSh", "/NewConn1");
        let rejoin = parse_event(EventKind::OccupantJoined, rejoin.as_bytes()).unwrap();
        let left = parse_event(EventKind::OccupantLeft, LEFT.as_bytes()).unwrap();
        let created = parse_event(EventKind::RoomCreated, CREATED.as_bytes()).unwrap();
        let destroyed = parse_event(EventKind::RoomDestroyed, DESTROYED.as_bytes()).unwrap();
        let other_room = JOINED.replace("\"room_name\":\"catchup\"", "\"room_name\":\"other\"");
        let other_room = parse_event(EventKind::OccupantJoined, other_room.as_bytes()).unwrap();
        let keys = [
            key,
            rejoin.idempotency_key(),
            left.idempotency_key(),
            created.idempotency_key(),
            destroyed.idempotency_key(),
            other_room.idempotency_key(),
        ];
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
        assert_eq!(joined.kind(), EventKind::OccupantJoined);
        assert_eq!(joined.room().name, "catchup");
    }
}
