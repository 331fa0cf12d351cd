//! Webhooks of 8x8 JaaS (Jitsi as a Service), which sends no `event_sync` events: who joined
//! and left a room of a JaaS app reaches Dialogue as signed HTTP `POST`s.
//!
//! What JaaS documents, as read in its developer pages (developer.8x8.com, 2026):
//!
//! - *Check the webhook signatures* (`/jaas/docs/webhooks-signatures`): each delivery carries
//!   `X-Jaas-Signature: t=1632490060,v1=xlzqEojlh4qb21sQpXYsWgyK8x9HVpz+RQldsv18rV0=`, a
//!   timestamp (`t=`, Unix seconds) and one or more signatures, each prefixed by its scheme
//!   (`v` and an integer). Only `v1` is live; the others are to be ignored, against downgrade
//!   attacks. The signature is an HMAC-SHA256 keyed with the endpoint's secret (one per
//!   endpoint, shown by *Reveal secret* in the JaaS console). The header is split on `,`, each
//!   element at its first `=`.
//!   The signed string is the header's timestamp, a `.`, and the raw request body; the
//!   signature is its base64 (standard alphabet, padded: the documented example is 44
//!   characters with `+` and a trailing `=`). The copy of the page at hand stops after the
//!   first verification step, so this last point rests on the example's shape and on several
//!   independent public JaaS receivers that verify `base64(HMAC-SHA256(secret, t + "." +
//!   body))`; it is the scheme the page's wording follows. The tests pin it with signatures
//!   computed by Python's `hmac`.
//! - *Payload structure* (`/jaas/docs/webhooks-payload`): a JSON object with `idempotencyKey`
//!   (a GUID; two requests with the same key are the same event, the latter to be ignored),
//!   `customerId`, `appId`, `eventType`, `sessionId` (the meeting session), `timestamp` (Unix
//!   **milliseconds** of the event: deliveries are not in order, this is the source of truth),
//!   `fqn` (`<appId>/<room name>`) and `data`. For `ROOM_CREATED` and `ROOM_DESTROYED`,
//!   `data` has `conference` (the full room JID), `isBreakout` and `breakoutRoomId`; for
//!   `PARTICIPANT_JOINED` and `PARTICIPANT_LEFT`, `moderator` (a boolean or `"true"`/
//!   `"false"`), `name`, `group`, `email`, `id` (the token's `context.user.id`),
//!   `participantJid`, `participantId`, `avatar`, `isBreakout`, `breakoutRoomId`, and on leave
//!   `disconnectReason`.
//! - *Webhooks reference* (`/jaas/docs/webhooks-reference`): a delivery is retried with
//!   exponential back-off until the endpoint answers 2xx, and may arrive more than once.
//!
//! [`verify_jaas_webhook`] checks the signature on the raw bytes (constant-time, every `v1`
//! candidate compared), refuses a signing time more than the tolerance away from now
//! (default [`JAAS_WEBHOOK_TOLERANCE_SECS`]), then parses the body. A replay inside the
//! tolerance passes the signature check: [`JaasWebhook::storage_key`] is what the caller stores
//! under a uniqueness constraint, so the replay (like JaaS's own repeated deliveries) is
//! recorded once. [`JaasWebhook::connection_event`] maps joins, leaves and destroyed rooms to
//! the attendance rules' [`ConnectionEvent`]s.

use std::fmt;

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use domain::attendance::{ConnectionEvent, Occupant};
use domain::evidence::constant_time_eq;
use ring::{digest, hmac};
use serde::{Deserialize, Deserializer};

use crate::events::LenientString;
use crate::key::hex_digit;
use crate::room::is_valid_room_name;
use crate::token::jaas_full_app_id;

/// The header that carries the signature.
pub const JAAS_SIGNATURE_HEADER: &str = "X-Jaas-Signature";

/// How far the signing time may be from now, either way: five minutes.
pub const JAAS_WEBHOOK_TOLERANCE_SECS: u64 = 300;

/// Standard base64, with or without padding (the documented example is padded).
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A JaaS webhook endpoint's secret. `Debug` does not show it.
#[derive(Clone)]
pub struct WebhookSecret(hmac::Key);

impl WebhookSecret {
    /// The secret as the JaaS console shows it (its UTF-8 bytes are the HMAC key).
    pub fn new(secret: &str) -> Result<WebhookSecret, WebhookError> {
        if secret.is_empty() {
            return Err(WebhookError::EmptySecret);
        }
        Ok(WebhookSecret(hmac::Key::new(hmac::HMAC_SHA256, secret.as_bytes())))
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

/// Why a webhook was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// The configured secret is empty.
    #[error("the JaaS webhook secret is empty")]
    EmptySecret,
    /// No `X-Jaas-Signature` header, or an empty one.
    #[error("no X-Jaas-Signature header")]
    MissingSignature,
    /// The header is not `t=<seconds>,v1=<base64>…`. Carries what is wrong.
    #[error("malformed X-Jaas-Signature header: {0}")]
    MalformedSignature(&'static str),
    /// The header has no `v1` signature.
    #[error("no v1 signature in the X-Jaas-Signature header")]
    NoV1Signature,
    /// No `v1` signature matches the body and timestamp under the secret.
    #[error("the X-Jaas-Signature does not match")]
    BadSignature,
    /// The signing time is too far from now (an old delivery replayed, or a clock off).
    #[error("signed at {signed_at}, {} s from now ({now}); the tolerance is {tolerance} s", signed_at.abs_diff(*now))]
    OutsideTolerance {
        /// The header's `t`.
        signed_at: i64,
        /// The server's time.
        now: i64,
        /// The tolerance in seconds.
        tolerance: u64,
    },
    /// The body is not JSON of the expected shape; carries serde's message.
    #[error("malformed webhook body: {0}")]
    MalformedJson(String),
    /// A field Dialogue needs is absent or empty. Carries its path.
    #[error("missing field {0:?}")]
    MissingField(&'static str),
    /// A time is not a plausible integer of milliseconds. Carries the field.
    #[error("invalid time in field {0:?}")]
    InvalidTime(&'static str),
    /// `fqn` is not `<appId>/<room>` with a JaaS app id. Carries it.
    #[error("invalid fqn {0:?}")]
    InvalidFqn(String),
    /// `appId` and the app of `fqn` differ.
    #[error("appId {app_id:?} does not match fqn {fqn:?}")]
    AppIdMismatch {
        /// `appId`.
        app_id: String,
        /// `fqn`.
        fqn: String,
    },
    /// The room of `fqn` is not a valid room name (not one of Dialogue's). Carries it.
    #[error("invalid room name {0:?}")]
    InvalidRoomName(String),
}

/// The kind of event (`eventType`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum JaasEventType {
    /// `ROOM_CREATED`
    RoomCreated,
    /// `ROOM_DESTROYED`
    RoomDestroyed,
    /// `PARTICIPANT_JOINED`
    ParticipantJoined,
    /// `PARTICIPANT_LEFT`
    ParticipantLeft,
    /// Any other type (recordings, transcriptions, lobby, polls…), as sent: verified and
    /// parsed, of no use to attendance.
    Other(String),
}

impl JaasEventType {
    fn parse(s: &str) -> JaasEventType {
        match s {
            "ROOM_CREATED" => JaasEventType::RoomCreated,
            "ROOM_DESTROYED" => JaasEventType::RoomDestroyed,
            "PARTICIPANT_JOINED" => JaasEventType::ParticipantJoined,
            "PARTICIPANT_LEFT" => JaasEventType::ParticipantLeft,
            other => JaasEventType::Other(other.to_owned()),
        }
    }

    /// The name JaaS uses, e.g. `PARTICIPANT_JOINED`.
    pub fn as_str(&self) -> &str {
        match self {
            JaasEventType::RoomCreated => "ROOM_CREATED",
            JaasEventType::RoomDestroyed => "ROOM_DESTROYED",
            JaasEventType::ParticipantJoined => "PARTICIPANT_JOINED",
            JaasEventType::ParticipantLeft => "PARTICIPANT_LEFT",
            JaasEventType::Other(other) => other,
        }
    }

    fn is_participant(&self) -> bool {
        matches!(self, JaasEventType::ParticipantJoined | JaasEventType::ParticipantLeft)
    }
}

impl fmt::Display for JaasEventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The participant of a `PARTICIPANT_*` event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JaasParticipant {
    /// `participantJid`: the occupant's JID.
    pub participant_jid: Option<String>,
    /// `participantId`: the occupant's id in the conference.
    pub participant_id: Option<String>,
    /// `id`: the token's `context.user.id` as JaaS echoes it (Dialogue's participant or
    /// account id).
    pub user_id: Option<String>,
    /// `name`.
    pub name: Option<String>,
    /// `email`.
    pub email: Option<String>,
    /// `group`.
    pub group: Option<String>,
    /// `moderator`.
    pub moderator: Option<bool>,
    /// `disconnectReason` (leaves).
    pub disconnect_reason: Option<String>,
}

impl JaasParticipant {
    /// The JID that identifies the connection: `participantJid`, else `participantId`.
    pub fn connection_jid(&self) -> &str {
        self.participant_jid
            .as_deref()
            .or(self.participant_id.as_deref())
            // Parsing refuses a participant event with neither.
            .unwrap_or_default()
    }
}

/// A verified JaaS webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JaasWebhook {
    /// `idempotencyKey`, as sent.
    pub idempotency_key: String,
    /// `eventType`.
    pub event_type: JaasEventType,
    /// `customerId`.
    pub customer_id: Option<String>,
    /// The app: `vpaas-magic-cookie-…`, from `fqn` (equal to `appId` when both are sent).
    pub app_id: String,
    /// The room name, from `fqn`.
    pub room: String,
    /// `sessionId`: the meeting session.
    pub session_id: String,
    /// `timestamp`: when the event happened, Unix milliseconds.
    pub timestamp_ms: i64,
    /// `data.conference`, for room events.
    pub conference: Option<String>,
    /// `data.breakoutRoomId`, when `data.isBreakout` is true.
    pub breakout_room_id: Option<String>,
    /// The participant, for `PARTICIPANT_JOINED` and `PARTICIPANT_LEFT`.
    pub participant: Option<JaasParticipant>,
}

impl JaasWebhook {
    /// When the event happened, Unix seconds (rounded down).
    pub fn at(&self) -> i64 {
        self.timestamp_ms.div_euclid(1000)
    }

    /// Whether the webhook is for `app_id` (given bare or as `vpaas-magic-cookie-<id>`).
    pub fn is_for_app(&self, app_id: &str) -> bool {
        jaas_full_app_id(app_id).is_ok_and(|full| full == self.app_id)
    }

    /// A stable key (64 lowercase hex characters) for storing the event once: the SHA-256 of
    /// the app id and JaaS's `idempotencyKey`, length-prefixed and apart from the keys of
    /// `event_sync` events. A repeated or replayed delivery gives the same key.
    pub fn storage_key(&self) -> String {
        let mut ctx = digest::Context::new(&digest::SHA256);
        for part in ["jaas-webhook", &self.app_id, &self.idempotency_key] {
            ctx.update(&(part.len() as u64).to_be_bytes());
            ctx.update(part.as_bytes());
        }
        let mut out = String::with_capacity(64);
        for byte in ctx.finish().as_ref() {
            out.push(hex_digit(byte >> 4));
            out.push(hex_digit(byte & 0x0f));
        }
        out
    }

    /// The event for the attendance rules: a join or a leave of the connection
    /// (`participantJid`, else `participantId`) in the room or its breakout room, or the
    /// room's destruction. `None` for the other types. The participant id is left to the
    /// caller, who resolves it from [`JaasParticipant::user_id`] as for `event_sync`. JaaS does
    /// not repeat the join time on a leave, so a leave whose join was not received counts for
    /// nothing.
    pub fn connection_event(&self) -> Option<ConnectionEvent> {
        let occupant = |p: &JaasParticipant| Occupant {
            jid: p.connection_jid().to_owned(),
            breakout_room_id: self.breakout_room_id.clone(),
            participant_id: None,
            user_id: p.user_id.clone(),
            name: p.name.clone(),
        };
        match (&self.event_type, &self.participant) {
            (JaasEventType::ParticipantJoined, Some(p)) => Some(ConnectionEvent::Joined {
                occupant: occupant(p),
                joined_at: self.at(),
            }),
            (JaasEventType::ParticipantLeft, Some(p)) => Some(ConnectionEvent::Left {
                occupant: occupant(p),
                joined_at: None,
                left_at: self.at(),
            }),
            (JaasEventType::RoomDestroyed, _) => Some(ConnectionEvent::RoomDestroyed {
                breakout_room_id: self.breakout_room_id.clone(),
                at: self.at(),
            }),
            _ => None,
        }
    }
}

/// Verifies a delivery and parses it: the `X-Jaas-Signature` header (`None` when absent) and
/// the raw body as received, `now` in Unix seconds, and the tolerance in seconds (usually
/// [`JAAS_WEBHOOK_TOLERANCE_SECS`]).
pub fn verify_jaas_webhook(
    secret: &WebhookSecret,
    signature_header: Option<&str>,
    body: &[u8],
    now: i64,
    tolerance_secs: u64,
) -> Result<JaasWebhook, WebhookError> {
    let header = signature_header
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .ok_or(WebhookError::MissingSignature)?;
    let (timestamp, candidates) = parse_signature_header(header)?;

    let mut ctx = hmac::Context::with_key(&secret.0);
    ctx.update(timestamp.as_bytes());
    ctx.update(b".");
    ctx.update(body);
    let expected = ctx.sign();
    // Every candidate is compared in full, so the time does not tell which one matched.
    let mut matched = false;
    for candidate in &candidates {
        let decoded = BASE64.decode(candidate).unwrap_or_default();
        matched |= constant_time_eq(expected.as_ref(), &decoded);
    }
    if !matched {
        return Err(WebhookError::BadSignature);
    }

    let signed_at: i64 = timestamp
        .parse()
        .map_err(|_| WebhookError::MalformedSignature("the timestamp is not a number"))?;
    if signed_at.abs_diff(now) > tolerance_secs {
        return Err(WebhookError::OutsideTolerance {
            signed_at,
            now,
            tolerance: tolerance_secs,
        });
    }
    parse_body(body)
}

/// The header's timestamp (as sent: it is part of the signed string) and its `v1` values.
fn parse_signature_header(header: &str) -> Result<(&str, Vec<&str>), WebhookError> {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for element in header.split(',') {
        let (prefix, value) = element
            .trim()
            .split_once('=')
            .ok_or(WebhookError::MalformedSignature("an element without '='"))?;
        match prefix {
            "t" => {
                if timestamp.is_some() {
                    return Err(WebhookError::MalformedSignature("more than one timestamp"));
                }
                if value.is_empty() || value.len() > 18 || !value.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(WebhookError::MalformedSignature("the timestamp is not a number"));
                }
                timestamp = Some(value);
            }
            "v1" => candidates.push(value),
            // Other schemes (v0, v2…) and unknown elements are ignored, as JaaS asks.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(WebhookError::MalformedSignature("no timestamp"))?;
    if candidates.is_empty() {
        return Err(WebhookError::NoV1Signature);
    }
    Ok((timestamp, candidates))
}

fn parse_body(body: &[u8]) -> Result<JaasWebhook, WebhookError> {
    let raw: RawWebhook = serde_json::from_slice(body).map_err(|e| WebhookError::MalformedJson(e.to_string()))?;
    let event_type = JaasEventType::parse(&nonempty(raw.event_type).ok_or(WebhookError::MissingField("eventType"))?);
    let idempotency_key = nonempty(raw.idempotency_key).ok_or(WebhookError::MissingField("idempotencyKey"))?;
    let fqn = nonempty(raw.fqn).ok_or(WebhookError::MissingField("fqn"))?;
    let (app_id, room) = match fqn.split_once('/') {
        Some((app, room)) if jaas_full_app_id(app).is_ok_and(|full| full == app) => (app, room),
        _ => return Err(WebhookError::InvalidFqn(fqn)),
    };
    if let Some(declared) = raw.app_id.as_deref().filter(|a| !a.is_empty())
        && declared != app_id
    {
        return Err(WebhookError::AppIdMismatch {
            app_id: declared.to_owned(),
            fqn: fqn.clone(),
        });
    }
    if !is_valid_room_name(room) {
        return Err(WebhookError::InvalidRoomName(room.to_owned()));
    }
    let timestamp_ms = match raw.timestamp {
        Some(t) => millis(&t).ok_or(WebhookError::InvalidTime("timestamp"))?,
        None => return Err(WebhookError::MissingField("timestamp")),
    };
    let session_id = nonempty(raw.session_id.map(|s| s.0)).ok_or(WebhookError::MissingField("sessionId"))?;
    let data = raw.data.unwrap_or_default();
    let breakout_room_id = if data.is_breakout.is_some_and(|b| b.0) {
        Some(nonempty(data.breakout_room_id.map(|s| s.0)).ok_or(WebhookError::MissingField("data.breakoutRoomId"))?)
    } else {
        None
    };
    let participant = if event_type.is_participant() {
        let participant = JaasParticipant {
            participant_jid: nonempty(data.participant_jid.map(|s| s.0)),
            participant_id: nonempty(data.participant_id.map(|s| s.0)),
            user_id: nonempty(data.id.map(|s| s.0)),
            name: nonempty(data.name.map(|s| s.0)),
            email: nonempty(data.email.map(|s| s.0)),
            group: nonempty(data.group.map(|s| s.0)),
            moderator: data.moderator.map(|b| b.0),
            disconnect_reason: nonempty(data.disconnect_reason.map(|s| s.0)),
        };
        if participant.participant_jid.is_none() && participant.participant_id.is_none() {
            return Err(WebhookError::MissingField("data.participantJid"));
        }
        Some(participant)
    } else {
        None
    };
    Ok(JaasWebhook {
        idempotency_key,
        app_id: app_id.to_owned(),
        room: room.to_owned(),
        event_type,
        customer_id: nonempty(raw.customer_id.map(|s| s.0)),
        session_id,
        timestamp_ms,
        conference: nonempty(data.conference),
        breakout_room_id,
        participant,
    })
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

/// Milliseconds from a JSON number: a non-negative integer (or a float with no fraction)
/// before the year 9999.
fn millis(n: &serde_json::Number) -> Option<i64> {
    const MAX: i64 = 253_402_300_799_999;
    let value = match n.as_i64() {
        Some(v) => v,
        None => {
            let f = n.as_f64()?;
            // Exact below 2^53, far above MAX.
            if !f.is_finite() || f.fract() != 0.0 || !(0.0..=MAX as f64).contains(&f) {
                return None;
            }
            f as i64
        }
    };
    (0..=MAX).contains(&value).then_some(value)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawWebhook {
    #[serde(default)]
    idempotency_key: Option<String>,
    #[serde(default)]
    customer_id: Option<LenientString>,
    #[serde(default)]
    app_id: Option<String>,
    #[serde(default)]
    event_type: Option<String>,
    #[serde(default)]
    session_id: Option<LenientString>,
    #[serde(default)]
    timestamp: Option<serde_json::Number>,
    #[serde(default)]
    fqn: Option<String>,
    #[serde(default)]
    data: Option<RawData>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawData {
    #[serde(default)]
    conference: Option<String>,
    #[serde(default)]
    is_breakout: Option<LenientBool>,
    #[serde(default)]
    breakout_room_id: Option<LenientString>,
    #[serde(default)]
    moderator: Option<LenientBool>,
    #[serde(default)]
    name: Option<LenientString>,
    #[serde(default)]
    group: Option<LenientString>,
    #[serde(default)]
    email: Option<LenientString>,
    #[serde(default)]
    id: Option<LenientString>,
    #[serde(default)]
    participant_jid: Option<LenientString>,
    #[serde(default)]
    participant_id: Option<LenientString>,
    #[serde(default)]
    disconnect_reason: Option<LenientString>,
}

/// A boolean that JaaS may send as `true` or `"true"` (as `context.user.moderator`).
struct LenientBool(bool);

impl<'de> Deserialize<'de> for LenientBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Shape {
            Bool(bool),
            Text(String),
        }
        match Shape::deserialize(d)? {
            Shape::Bool(b) => Ok(LenientBool(b)),
            Shape::Text(s) if s.eq_ignore_ascii_case("true") => Ok(LenientBool(true)),
            Shape::Text(s) if s.eq_ignore_ascii_case("false") || s.is_empty() => Ok(LenientBool(false)),
            Shape::Text(s) => Err(serde::de::Error::custom(format!("not a boolean: {s:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "jaas-endpoint-secret-1";
    const APP: &str = "vpaas-magic-cookie-c2824d584eac4489a1e32e4e164d5a3c";
    /// The header's timestamp in the fixtures, and a `now` one second later.
    const T: i64 = 1_774_854_309;
    const NOW: i64 = T + 1;

    // Bodies: `CREATED` is the documented ROOM_CREATED example byte for byte (its spacing
    // included: the raw body is what is signed); the others follow the documented fields of
    // PARTICIPANT_JOINED, PARTICIPANT_LEFT and ROOM_DESTROYED for a Dialogue room.
    const CREATED: &str = r#"{
    "idempotencyKey": "d11f155d-ced5-4a7e-b6d9-aaa135c64f65",
    "customerId": "c2824d584eac4489a1e32e4e164d5a3c",
    "appId": "vpaas-magic-cookie-c2824d584eac4489a1e32e4e164d5a3c",
    "eventType": "ROOM_CREATED",
    "sessionId": "c3348153-1027-4382-afad-5ae91b433c26",
    "timestamp": 1600951800112,
    "fqn": "vpaas-magic-cookie-c2824d584eac4489a1e32e4e164d5a3c/testroom2",
    "data": {
        "conference": "testroom2@conference.vpaas-magic-cookie-c2824d584eac4489a1e32e4e164d5a3c.stage.8x8.vc",
        "isBreakout": true,
        "breakoutRoomId": "e0f49fd5-c3dc-4f36-9612-8cdab4d8ccfd"
    }
}"#;
    const JOINED: &str = r#"{"idempotencyKey":"5b1d3c2e-9a7f-4c1e-8f0a-2d6b7e9c1a34","customerId":"c2824d584eac4489a1e32e4e164d5a3c","appId":"vpaas-magic-cookie-c2824d584eac4489a1e32e4e164d5a3c","eventType":"PARTICIPANT_JOINED","sessionId":"c3348153-1027-4382-afad-5ae91b433c26","timestamp":1774854308123,"fqn":"vpaas-magic-cookie-c2824d584eac4489a1e32e4e164d5a3c/formation-rust-1","data":{"moderator":"false","name":"Zoé Martin","group":"","email":"zoe@example.org","id":"p-42","participantJid":"d3b2c1a0-7e6f-4a5b-9c8d-1e2f3a4b5c6d@8x8.vc/Yq3xN0pR","participantId":"a1b2c3d4","avatar":"","isBreakout":false}}"#;
    const LEFT: &str = r#"{"idempotencyKey":"0c9e4f1a-6b2d-4e8f-a1c3-5d7e9f0b2a46","customerId":"c2824d584eac4489a1e32e4e164d5a3c","appId":"vpaas-magic-cookie-c2824d584eac4489a1e32e4e164d5a3c","eventType":"PARTICIPANT_LEFT","sessionId":"c3348153-1027-4382-afad-5ae91b433c26","timestamp":1774857908456,"fqn":"vpaas-magic-cookie-c2824d584eac4489a1e32e4e164d5a3c/formation-rust-1","data":{"moderator":false,"name":"Zoé Martin","group":"","email":"zoe@example.org","id":"p-42","participantJid":"d3b2c1a0-7e6f-4a5b-9c8d-1e2f3a4b5c6d@8x8.vc/Yq3xN0pR","participantId":"a1b2c3d4","avatar":"","isBreakout":true,"breakoutRoomId":"e0f49fd5-c3dc-4f36-9612-8cdab4d8ccfd","disconnectReason":"left"}}"#;
    const DESTROYED: &str = r#"{"idempotencyKey":"7a6b5c4d-3e2f-4a1b-9c8d-7e6f5a4b3c2d","customerId":"c2824d584eac4489a1e32e4e164d5a3c","appId":"vpaas-magic-cookie-c2824d584eac4489a1e32e4e164d5a3c","eventType":"ROOM_DESTROYED","sessionId":"c3348153-1027-4382-afad-5ae91b433c26","timestamp":1774861200000,"fqn":"vpaas-magic-cookie-c2824d584eac4489a1e32e4e164d5a3c/formation-rust-1","data":{"conference":"formation-rust-1@conference.vpaas-magic-cookie-c2824d584eac4489a1e32e4e164d5a3c.8x8.vc","isBreakout":false}}"#;

    // Signatures computed independently with Python, the bodies above defined as the same
    // Python strings in `bodies.py`:
    // python3 -c 'import hmac,hashlib,base64; from bodies import *; print(base64.b64encode(
    //   hmac.new(b"jaas-endpoint-secret-1", b"1774854309." + JOINED.encode(), hashlib.sha256).digest()).decode())'
    // (and likewise for CREATED, LEFT, DESTROYED; with the key b"another-secret"; and with
    // the timestamp 1774854310).
    const SIG_CREATED: &str = "4/2p9SLfEXYUfiHK4X4vdlQ7T68v1TajtKCmLIGIkuI=";
    const SIG_JOINED: &str = "ebyF3KMBEmUnKuAHQmE8drCrVYuuwtUn7FgL0OelDks=";
    const SIG_LEFT: &str = "XezNYpttff/NNp3gOtViT95rirBg4cyxcXc8AZ3v+TU=";
    const SIG_DESTROYED: &str = "FQmxbExj2TIZEAl1bzlx1mnd0KJ7VxwQ5IKiVVdltBE=";
    const SIG_JOINED_OTHER_SECRET: &str = "F8UhGEBnAMWkiKsMZjJ9V+Xl3ks9QCZhm18I1ufWF6M=";
    const SIG_JOINED_AT_T_PLUS_1: &str = "6jnBPTChrqBlk4lJStx5cAHSqTvYoBJkfZN5u6odWn4=";

    fn secret() -> WebhookSecret {
        WebhookSecret::new(SECRET).unwrap()
    }

    fn header(signature: &str) -> String {
        format!("t={T},v1={signature}")
    }

    fn verify(header: &str, body: &str) -> Result<JaasWebhook, WebhookError> {
        verify_jaas_webhook(
            &secret(),
            Some(header),
            body.as_bytes(),
            NOW,
            JAAS_WEBHOOK_TOLERANCE_SECS,
        )
    }

    #[test]
    fn documented_room_created_example() {
        let w = verify(&header(SIG_CREATED), CREATED).unwrap();
        assert_eq!(w.event_type, JaasEventType::RoomCreated);
        assert_eq!(w.idempotency_key, "d11f155d-ced5-4a7e-b6d9-aaa135c64f65");
        assert_eq!(w.customer_id.as_deref(), Some("c2824d584eac4489a1e32e4e164d5a3c"));
        assert_eq!(w.app_id, APP);
        assert_eq!(w.room, "testroom2");
        assert_eq!(w.session_id, "c3348153-1027-4382-afad-5ae91b433c26");
        assert_eq!(w.timestamp_ms, 1_600_951_800_112);
        assert_eq!(w.at(), 1_600_951_800);
        assert_eq!(
            w.conference.as_deref(),
            Some("testroom2@conference.vpaas-magic-cookie-c2824d584eac4489a1e32e4e164d5a3c.stage.8x8.vc")
        );
        assert_eq!(
            w.breakout_room_id.as_deref(),
            Some("e0f49fd5-c3dc-4f36-9612-8cdab4d8ccfd")
        );
        assert!(w.participant.is_none());
        assert_eq!(
            w.connection_event(),
            None,
            "a created room says nothing about attendance"
        );
        assert!(w.is_for_app(APP));
        assert!(w.is_for_app("c2824d584eac4489a1e32e4e164d5a3c"));
        assert!(!w.is_for_app("vpaas-magic-cookie-0000"));
    }

    #[test]
    fn joins_leaves_and_destroyed_rooms_become_connection_events() {
        let joined = verify(&header(SIG_JOINED), JOINED).unwrap();
        assert_eq!(joined.event_type, JaasEventType::ParticipantJoined);
        assert_eq!(joined.room, "formation-rust-1");
        let p = joined.participant.as_ref().unwrap();
        assert_eq!(p.user_id.as_deref(), Some("p-42"));
        assert_eq!(p.name.as_deref(), Some("Zoé Martin"));
        assert_eq!(p.email.as_deref(), Some("zoe@example.org"));
        assert_eq!(p.moderator, Some(false), "\"false\" as a string");
        assert_eq!(p.group, None, "empty strings are absent");
        assert_eq!(p.participant_id.as_deref(), Some("a1b2c3d4"));
        let jid = "d3b2c1a0-7e6f-4a5b-9c8d-1e2f3a4b5c6d@8x8.vc/Yq3xN0pR";
        let occupant = Occupant {
            jid: jid.into(),
            breakout_room_id: None,
            participant_id: None,
            user_id: Some("p-42".into()),
            name: Some("Zoé Martin".into()),
        };
        assert_eq!(
            joined.connection_event(),
            Some(ConnectionEvent::Joined {
                occupant: occupant.clone(),
                joined_at: 1_774_854_308,
            })
        );

        let left = verify(&header(SIG_LEFT), LEFT).unwrap();
        let p = left.participant.as_ref().unwrap();
        assert_eq!(p.disconnect_reason.as_deref(), Some("left"));
        assert_eq!(p.moderator, Some(false));
        assert_eq!(
            left.connection_event(),
            Some(ConnectionEvent::Left {
                occupant: Occupant {
                    breakout_room_id: Some("e0f49fd5-c3dc-4f36-9612-8cdab4d8ccfd".into()),
                    ..occupant
                },
                joined_at: None,
                left_at: 1_774_857_908,
            })
        );

        let destroyed = verify(&header(SIG_DESTROYED), DESTROYED).unwrap();
        assert_eq!(
            destroyed.connection_event(),
            Some(ConnectionEvent::RoomDestroyed {
                breakout_room_id: None,
                at: 1_774_861_200,
            })
        );
    }

    #[test]
    fn storage_keys_refuse_replays_and_repeats() {
        let joined = verify(&header(SIG_JOINED), JOINED).unwrap();
        let key = joined.storage_key();
        assert_eq!(key.len(), 64);
        assert!(key.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        // The same delivery replayed within the tolerance, or re-signed by JaaS later: same key.
        let again = verify_jaas_webhook(
            &secret(),
            Some(&format!("t={},v1={SIG_JOINED_AT_T_PLUS_1}", T + 1)),
            JOINED.as_bytes(),
            NOW,
            JAAS_WEBHOOK_TOLERANCE_SECS,
        )
        .unwrap();
        assert_eq!(again.storage_key(), key);
        // Other events: other keys.
        let others = [
            verify(&header(SIG_LEFT), LEFT).unwrap().storage_key(),
            verify(&header(SIG_DESTROYED), DESTROYED).unwrap().storage_key(),
            verify(&header(SIG_CREATED), CREATED).unwrap().storage_key(),
        ];
        for other in &others {
            assert_ne!(other, &key);
        }
        // The same idempotency key in another app is another event.
        let mut elsewhere = joined.clone();
        elsewhere.app_id = "vpaas-magic-cookie-ffff".into();
        assert_ne!(elsewhere.storage_key(), key);
    }

    #[test]
    fn signatures_that_do_not_match_are_refused() {
        // Another secret, a changed body, another timestamp, the documented example header.
        assert_eq!(
            verify(&header(SIG_JOINED_OTHER_SECRET), JOINED),
            Err(WebhookError::BadSignature)
        );
        let changed = JOINED.replace("\"id\":\"p-42\"", "\"id\":\"p-43\"");
        assert_eq!(verify(&header(SIG_JOINED), &changed), Err(WebhookError::BadSignature));
        assert_eq!(
            verify(&header(SIG_JOINED), &format!("{JOINED} ")),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify(&format!("t={},v1={SIG_JOINED}", T + 1), JOINED),
            Err(WebhookError::BadSignature)
        );
        assert_eq!(
            verify("t=1632490060,v1=xlzqEojlh4qb21sQpXYsWgyK8x9HVpz+RQldsv18rV0=", JOINED),
            Err(WebhookError::BadSignature)
        );
        // Not base64, or base64 of the wrong length.
        assert_eq!(verify(&header("%%%"), JOINED), Err(WebhookError::BadSignature));
        assert_eq!(
            verify(&header(&SIG_JOINED[..20]), JOINED),
            Err(WebhookError::BadSignature)
        );
        // Hex instead of base64 (another provider's habit) does not pass.
        let hex: String = BASE64
            .decode(SIG_JOINED)
            .unwrap()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(verify(&header(&hex), JOINED), Err(WebhookError::BadSignature));
        // A right signature under another scheme is ignored (no downgrade).
        assert_eq!(
            verify(&format!("t={T},v0={SIG_JOINED}"), JOINED),
            Err(WebhookError::NoV1Signature)
        );
        assert_eq!(
            verify(&format!("t={T},v2={SIG_JOINED},v1={SIG_JOINED_OTHER_SECRET}"), JOINED),
            Err(WebhookError::BadSignature)
        );
    }

    #[test]
    fn header_shapes() {
        // Several v1 (a secret being rolled), other schemes, spaces and unpadded base64 pass.
        let rolled = format!("t={T}, v0=abc, v1={SIG_JOINED_OTHER_SECRET}, v1={SIG_JOINED}");
        assert!(verify(&rolled, JOINED).is_ok());
        let rolled = format!("v1={SIG_JOINED},t={T},v1={SIG_JOINED_OTHER_SECRET}");
        assert!(verify(&rolled, JOINED).is_ok());
        assert!(verify(&header(SIG_JOINED.trim_end_matches('=')), JOINED).is_ok());

        let secret = secret();
        let body = JOINED.as_bytes();
        let check = |h: Option<&str>| verify_jaas_webhook(&secret, h, body, NOW, JAAS_WEBHOOK_TOLERANCE_SECS);
        assert_eq!(check(None), Err(WebhookError::MissingSignature));
        assert_eq!(check(Some("  ")), Err(WebhookError::MissingSignature));
        assert_eq!(
            check(Some(&format!("v1={SIG_JOINED}"))),
            Err(WebhookError::MalformedSignature("no timestamp"))
        );
        assert_eq!(
            check(Some(&format!("t={T},t={T},v1={SIG_JOINED}"))),
            Err(WebhookError::MalformedSignature("more than one timestamp"))
        );
        for bad in ["t=-5", "t=12a", "t=", "t=1e9", "t=9999999999999999999"] {
            assert_eq!(
                check(Some(&format!("{bad},v1={SIG_JOINED}"))),
                Err(WebhookError::MalformedSignature("the timestamp is not a number")),
                "{bad}"
            );
        }
        assert_eq!(
            check(Some(&format!("t={T},v1"))),
            Err(WebhookError::MalformedSignature("an element without '='"))
        );
        assert_eq!(check(Some(&format!("t={T}"))), Err(WebhookError::NoV1Signature));
        assert_eq!(JAAS_SIGNATURE_HEADER, "X-Jaas-Signature");
    }

    #[test]
    fn old_or_future_signing_times_are_refused() {
        let secret = secret();
        let at = |now: i64, tolerance: u64| {
            verify_jaas_webhook(&secret, Some(&header(SIG_JOINED)), JOINED.as_bytes(), now, tolerance)
        };
        assert!(at(T + 300, JAAS_WEBHOOK_TOLERANCE_SECS).is_ok());
        assert!(at(T - 300, JAAS_WEBHOOK_TOLERANCE_SECS).is_ok());
        assert_eq!(
            at(T + 301, JAAS_WEBHOOK_TOLERANCE_SECS),
            Err(WebhookError::OutsideTolerance {
                signed_at: T,
                now: T + 301,
                tolerance: 300
            })
        );
        assert!(matches!(
            at(T - 301, JAAS_WEBHOOK_TOLERANCE_SECS),
            Err(WebhookError::OutsideTolerance { .. })
        ));
        assert!(at(T + 3600, 3600).is_ok());
        assert!(matches!(at(T + 1, 0), Err(WebhookError::OutsideTolerance { .. })));
        assert_eq!(
            at(T + 301, 300).unwrap_err().to_string(),
            "signed at 1774854309, 301 s from now (1774854610); the tolerance is 300 s"
        );
    }

    /// Signs `body` with the test secret at `T`, for payload checks (the signature itself is
    /// checked against Python's above).
    fn signed(body: &str) -> Result<JaasWebhook, WebhookError> {
        let mut ctx = hmac::Context::with_key(&secret().0);
        ctx.update(format!("{T}.").as_bytes());
        ctx.update(body.as_bytes());
        let signature = BASE64.encode(ctx.sign().as_ref());
        verify(&header(&signature), body)
    }

    #[test]
    fn payload_checks() {
        assert_eq!(signed(JOINED).unwrap(), verify(&header(SIG_JOINED), JOINED).unwrap());
        let cases: Vec<(String, WebhookError)> = vec![
            (
                JOINED.replace("\"eventType\":\"PARTICIPANT_JOINED\",", ""),
                WebhookError::MissingField("eventType"),
            ),
            (
                JOINED.replace("5b1d3c2e-9a7f-4c1e-8f0a-2d6b7e9c1a34", ""),
                WebhookError::MissingField("idempotencyKey"),
            ),
            (
                JOINED.replace("\"timestamp\":1774854308123,", ""),
                WebhookError::MissingField("timestamp"),
            ),
            (
                JOINED.replace("1774854308123", "-1"),
                WebhookError::InvalidTime("timestamp"),
            ),
            (
                JOINED.replace("1774854308123", "1774854308123.5"),
                WebhookError::InvalidTime("timestamp"),
            ),
            (
                JOINED.replace("c3348153-1027-4382-afad-5ae91b433c26", ""),
                WebhookError::MissingField("sessionId"),
            ),
            (
                JOINED.replace(&format!("{APP}/formation-rust-1"), "formation-rust-1"),
                WebhookError::InvalidFqn("formation-rust-1".into()),
            ),
            (
                JOINED.replace(&format!("{APP}/formation-rust-1"), "someone-else/formation-rust-1"),
                WebhookError::InvalidFqn("someone-else/formation-rust-1".into()),
            ),
            (
                JOINED.replace(&format!("\"appId\":\"{APP}\""), "\"appId\":\"vpaas-magic-cookie-0000\""),
                WebhookError::AppIdMismatch {
                    app_id: "vpaas-magic-cookie-0000".into(),
                    fqn: format!("{APP}/formation-rust-1"),
                },
            ),
            (
                JOINED.replace("/formation-rust-1", "/Formation Rust"),
                WebhookError::InvalidRoomName("Formation Rust".into()),
            ),
            (
                JOINED
                    .replace(
                        "\"participantJid\":\"d3b2c1a0-7e6f-4a5b-9c8d-1e2f3a4b5c6d@8x8.vc/Yq3xN0pR\",",
                        "",
                    )
                    .replace("\"participantId\":\"a1b2c3d4\",", ""),
                WebhookError::MissingField("data.participantJid"),
            ),
            (
                LEFT.replace(",\"breakoutRoomId\":\"e0f49fd5-c3dc-4f36-9612-8cdab4d8ccfd\"", ""),
                WebhookError::MissingField("data.breakoutRoomId"),
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(signed(&body), Err(expected), "{body}");
        }
        assert!(matches!(signed("not json"), Err(WebhookError::MalformedJson(_))));
        assert!(matches!(
            signed(&JOINED.replace("\"moderator\":\"false\"", "\"moderator\":\"maybe\"")),
            Err(WebhookError::MalformedJson(_))
        ));

        // Lenient where JaaS may vary: no appId, numbers for ids, a float timestamp, a
        // participant known only by participantId, unknown fields, another event type.
        let lenient = JOINED
            .replace(&format!("\"appId\":\"{APP}\","), "")
            .replace("\"id\":\"p-42\"", "\"id\":42")
            .replace("1774854308123", "1774854308123.0")
            .replace(
                "\"participantJid\":\"d3b2c1a0-7e6f-4a5b-9c8d-1e2f3a4b5c6d@8x8.vc/Yq3xN0pR\",",
                "",
            )
            .replace("\"moderator\":\"false\"", "\"moderator\":true,\"extra\":{\"a\":[1]}");
        let w = signed(&lenient).unwrap();
        let p = w.participant.as_ref().unwrap();
        assert_eq!(p.user_id.as_deref(), Some("42"));
        assert_eq!(p.moderator, Some(true));
        assert_eq!(p.connection_jid(), "a1b2c3d4");
        assert_eq!(w.timestamp_ms, 1_774_854_308_123);
        let other = signed(&JOINED.replace("PARTICIPANT_JOINED", "RECORDING_UPLOADED")).unwrap();
        assert_eq!(other.event_type, JaasEventType::Other("RECORDING_UPLOADED".into()));
        assert_eq!(other.event_type.to_string(), "RECORDING_UPLOADED");
        assert!(other.participant.is_none());
        assert_eq!(other.connection_event(), None);
    }

    #[test]
    fn webhooks_feed_the_attendance_rules() {
        use domain::attendance::{AttendanceSettings, BookedSession, PersonKey, compute_attendance};
        use domain::localtime::TimeZoneName;

        let left_main_room = LEFT
            .replace("\"isBreakout\":true", "\"isBreakout\":false")
            .replace(",\"breakoutRoomId\":\"e0f49fd5-c3dc-4f36-9612-8cdab4d8ccfd\"", "");
        // Delivered out of order, the leave twice.
        let events: Vec<ConnectionEvent> = [signed(&left_main_room), signed(JOINED), signed(&left_main_room)]
            .into_iter()
            .map(|w| w.unwrap().connection_event().unwrap())
            .collect();
        let session = BookedSession {
            start: "2026-03-30T07:00:00Z".parse().unwrap(),
            end: "2026-03-30T09:00:00Z".parse().unwrap(),
            zone: TimeZoneName::parse("Europe/Paris").unwrap(),
        };
        let now = "2026-03-30T12:00:00Z".parse().unwrap();
        let a = compute_attendance(&session, &AttendanceSettings::default(), now, &events, &[]).unwrap();
        assert_eq!(a.people.len(), 1);
        let p = &a.people[0];
        assert_eq!(p.key, PersonKey::User("p-42".into()));
        assert_eq!(p.name.as_deref(), Some("Zoé Martin"));
        assert_eq!((p.connections, p.assumed_leaves, p.present), (1, 0, false));
        assert_eq!(p.measured.present_seconds, 3600);
    }

    #[test]
    fn the_secret_is_required_and_not_printed() {
        assert_eq!(WebhookSecret::new("").unwrap_err(), WebhookError::EmptySecret);
        assert_eq!(format!("{:?}", secret()), "WebhookSecret(…)");
    }
}
