//! The reservation protocol of Prosody's `mod_reservations` (jitsi-meet,
//! `resources/prosody-plugins/mod_reservations.lua`), a port of Jicofo's reservation
//! system.
//!
//! What the module does, as read in its source:
//! - When a conference IQ for a room that does not exist reaches Jicofo's focus
//!   component, it sends `POST <reservations_api_prefix>/conference` with
//!   `http.formencode{name, start_time, mail_owner}`: `name` is `jid.node()` of the
//!   room JID (so `[tenant]room` when `muc_domain_mapper` is used), `start_time` is
//!   `os.time()` formatted by its `to_java_date_string` as
//!   `os.date("!%Y-%m-%dT%H:%M:%S") .. ".000Z"` (UTC; the fraction is `.000` because
//!   `os.time()` is whole seconds), and `mail_owner` is `jid.bare()` of the requester.
//! - On 200/201 it decodes the JSON body and requires: `name` equal to the room node
//!   after `:lower()`; `id` present (any JSON value: it is only concatenated into
//!   `/conference/<id>` URLs; Jicofo used a number, the module comment says "we take
//!   any sensible string"); `mail_owner` present; `duration` accepted by `tonumber`
//!   (seconds, number or numeric string); `start_time` parsed by Prosody's
//!   `util.datetime.parse` (XEP-0082, e.g. `2026-01-01T09:00:00.000Z`). The room then
//!   lives until `start_time + duration`; a periodic check (every 60 s) destroys it
//!   after that, and later joins get error 419.
//! - On 409 it reads `conflict_id` from the JSON body and calls
//!   `GET <prefix>/conference/<conflict_id>`, which must answer 200 with the same shape.
//! - Any other status refuses the room with that code and the body's `message` (or
//!   "Rejected by reservation server"); the refusal is cached about 30 s.
//! - When the room is destroyed it sends `DELETE <prefix>/conference/<id>`.
//! - Newer versions (2022+, options `reservations_enable_max_occupants`,
//!   `reservations_enable_lobby_support`) also read `max_occupants` and `lobby` from
//!   the success body.

use std::num::NonZeroU32;

use serde::Serialize;

use crate::room::{is_valid_room_name, split_tenant};

/// Why a reservation request from Prosody was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReservationError {
    /// A required form field is absent. Carries the field name.
    #[error("missing field {0:?}")]
    MissingField(&'static str),
    /// A required form field is present but empty. Carries the field name.
    #[error("empty field {0:?}")]
    EmptyField(&'static str),
    /// A field appears more than once. Carries the field name.
    #[error("field {0:?} is given more than once")]
    DuplicateField(&'static str),
    /// The body is not valid `application/x-www-form-urlencoded` UTF-8; carries what
    /// was wrong.
    #[error("malformed form body: {0}")]
    MalformedForm(String),
    /// `start_time` is not `yyyy-MM-ddTHH:mm:ss[.SSS]Z`. Carries the value.
    #[error("malformed start_time {0:?}: expected yyyy-MM-ddTHH:mm:ss.SSSZ (UTC)")]
    MalformedTime(String),
    /// The room part of `name` is not a valid Dialogue room name. Carries `name`.
    #[error("invalid room name {0:?}")]
    InvalidRoomName(String),
    /// The `[tenant]` part of `name` is not a valid tenant. Carries `name`.
    #[error("invalid tenant in room name {0:?}")]
    InvalidTenant(String),
    /// A reservation id that cannot be put in a URL path segment. Carries the id.
    #[error("invalid reservation id {0:?}: use 1 to 64 characters among A-Z a-z 0-9 - _")]
    InvalidReservationId(String),
}

/// A parsed `POST <prefix>/conference` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservationRequest {
    /// `name` exactly as sent (`room` or `[tenant]room`): echo it in the answer.
    pub name: String,
    /// The tenant, when `name` is `[tenant]room`.
    pub tenant: Option<String>,
    /// The room name (valid per [`crate::is_valid_room_name`]).
    pub room: String,
    /// `start_time` as Unix seconds (the time Prosody asked, UTC).
    pub start_time: i64,
    /// `mail_owner`: the bare XMPP JID of the participant who asked for the room.
    pub mail_owner: String,
}

/// Parses the form-encoded body Prosody sends to `POST <prefix>/conference`.
/// Unknown fields are ignored.
pub fn parse_reservation_request(body: &[u8]) -> Result<ReservationRequest, ReservationError> {
    const FIELDS: [&str; 3] = ["name", "start_time", "mail_owner"];
    let mut values: [Option<String>; 3] = [None, None, None];
    for pair in body.split(|b| *b == b'&') {
        if pair.is_empty() {
            continue;
        }
        let (raw_key, raw_value) = match pair.iter().position(|b| *b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let key = form_decode(raw_key)?;
        let Some(index) = FIELDS.iter().position(|f| *f == key) else {
            continue;
        };
        // `index` comes from `position` in FIELDS, which has as many entries as `values`.
        if values[index].is_some() {
            return Err(ReservationError::DuplicateField(FIELDS[index]));
        }
        values[index] = Some(form_decode(raw_value)?);
    }
    let [name, start_time, mail_owner] = values;
    let name = required("name", name)?;
    let start_time = required("start_time", start_time)?;
    let mail_owner = required("mail_owner", mail_owner)?;

    let (tenant, room) = split_tenant(&name);
    if let Some(tenant) = tenant
        && !is_valid_room_name(tenant)
    {
        return Err(ReservationError::InvalidTenant(name));
    }
    if !is_valid_room_name(room) {
        return Err(ReservationError::InvalidRoomName(name));
    }
    let start = parse_java_date(&start_time)?;
    Ok(ReservationRequest {
        tenant: tenant.map(str::to_owned),
        room: room.to_owned(),
        name,
        start_time: start,
        mail_owner,
    })
}

fn required(field: &'static str, value: Option<String>) -> Result<String, ReservationError> {
    match value {
        None => Err(ReservationError::MissingField(field)),
        Some(v) if v.is_empty() => Err(ReservationError::EmptyField(field)),
        Some(v) => Ok(v),
    }
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a space).
fn form_decode(raw: &[u8]) -> Result<String, ReservationError> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        match b {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hi = raw.get(i + 1).copied().and_then(hex_value);
                let lo = raw.get(i + 2).copied().and_then(hex_value);
                let (Some(hi), Some(lo)) = (hi, lo) else {
                    return Err(ReservationError::MalformedForm(format!(
                        "bad percent-escape at byte {i}"
                    )));
                };
                bytes.push(hi << 4 | lo);
                i += 2;
            }
            _ => bytes.push(b),
        }
        i += 1;
    }
    String::from_utf8(bytes).map_err(|_| ReservationError::MalformedForm("not UTF-8".to_owned()))
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Parses `yyyy-MM-ddTHH:mm:ss[.S{1,3}]Z` (UTC) into Unix seconds; milliseconds are
/// dropped, as Prosody does.
pub fn parse_java_date(s: &str) -> Result<i64, ReservationError> {
    let bad = || ReservationError::MalformedTime(s.to_owned());
    let b = s.as_bytes();
    if b.len() < 20 || b.last() != Some(&b'Z') {
        return Err(bad());
    }
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(range)?;
        if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
            return None;
        }
        Some(part.iter().fold(0i64, |n, d| n * 10 + i64::from(d - b'0')))
    };
    let sep = |i: usize, c: u8| b.get(i) == Some(&c);
    if !(sep(4, b'-') && sep(7, b'-') && sep(10, b'T') && sep(13, b':') && sep(16, b':')) {
        return Err(bad());
    }
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        digits(0..4),
        digits(5..7),
        digits(8..10),
        digits(11..13),
        digits(14..16),
        digits(17..19),
    ) else {
        return Err(bad());
    };
    // After the seconds: "Z", or "." + 1 to 3 digits + "Z".
    let tail = &b[19..b.len() - 1];
    if let Some(fraction) = tail.strip_prefix(b".") {
        if fraction.is_empty() || fraction.len() > 3 || !fraction.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
    } else if !tail.is_empty() {
        return Err(bad());
    }
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(bad());
    }
    Ok(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Formats Unix seconds as `yyyy-MM-ddTHH:mm:ss.000Z` (UTC), the form Prosody sends
/// and parses back.
pub fn format_java_date(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.000Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The identifier Prosody keeps for a reservation and puts in
/// `GET`/`DELETE <prefix>/conference/<id>` URLs. Serialised as a JSON string.
///
/// Restricted to `[A-Za-z0-9_-]{1,64}` because Prosody concatenates it into the URL
/// path without escaping.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ReservationId(String);

impl ReservationId {
    /// Checks and wraps an id (also use it on the `<id>` path segment of GET/DELETE).
    pub fn new(id: impl Into<String>) -> Result<Self, ReservationError> {
        let id = id.into();
        let ok =
            !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(id))
        } else {
            Err(ReservationError::InvalidReservationId(id))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Success answer (status 200 or 201, and 200 to `GET <prefix>/conference/<id>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReservationResponse {
    /// The reservation id (JSON string).
    pub id: ReservationId,
    /// The room node exactly as Prosody sent it (`room` or `[tenant]room`).
    pub name: String,
    /// Start of the booked window, `yyyy-MM-ddTHH:mm:ss.000Z` (see [`format_java_date`]).
    pub start_time: String,
    /// Length of the window in seconds from `start_time` (JSON number). Prosody
    /// destroys the room after `start_time + duration`.
    pub duration: u64,
    /// Echo of the request's `mail_owner`.
    pub mail_owner: String,
    /// Per-room occupant limit (needs `reservations_enable_max_occupants` and
    /// `muc_max_occupants`). Omitted when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_occupants: Option<NonZeroU32>,
    /// `Some(true)` turns the lobby on (needs `reservations_enable_lobby_support` and
    /// `persistent_lobby`). Omitted when `None`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lobby: Option<bool>,
}

impl ReservationResponse {
    /// An answer for `request` whose window starts at `start_time` (Unix seconds) and
    /// ends at `end_time`; a window already over gets duration 0.
    pub fn for_request(request: &ReservationRequest, id: ReservationId, start_time: i64, end_time: i64) -> Self {
        Self {
            id,
            name: request.name.clone(),
            start_time: format_java_date(start_time),
            duration: u64::try_from(end_time.saturating_sub(start_time)).unwrap_or(0),
            mail_owner: request.mail_owner.clone(),
            max_occupants: None,
            lobby: None,
        }
    }
}

/// Refusal body (any status but 200, 201 and 409, e.g. 403): the user sees
/// "Reservation system error … message".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReservationRefusal {
    /// Shown to the user by Jitsi Meet.
    pub message: String,
}

/// Body of a 409 answer: Prosody then fetches `GET <prefix>/conference/<conflict_id>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReservationConflict {
    /// The existing reservation's id.
    pub conflict_id: ReservationId,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BODY: &[u8] =
        b"name=formation-rust-1&start_time=2026-03-12T08%3A59%3A07.000Z&mail_owner=7f3a%40meet.example.org";

    #[test]
    fn parses_prosody_body() {
        let req = parse_reservation_request(BODY).unwrap();
        assert_eq!(
            req,
            ReservationRequest {
                name: "formation-rust-1".into(),
                tenant: None,
                room: "formation-rust-1".into(),
                start_time: 1_773_305_947,
                mail_owner: "7f3a@meet.example.org".into(),
            }
        );
    }

    #[test]
    fn field_order_unknown_fields_and_tenant() {
        let body = b"mail_owner=a%40b&extra=1&name=%5Bacme%5Droom-1&start_time=2026-03-12T08:59:07.000Z&";
        let req = parse_reservation_request(body).unwrap();
        assert_eq!(req.name, "[acme]room-1");
        assert_eq!(req.tenant.as_deref(), Some("acme"));
        assert_eq!(req.room, "room-1");
        assert_eq!(req.mail_owner, "a@b");
    }

    #[test]
    fn precise_errors() {
        use ReservationError::*;
        let cases: [(&[u8], ReservationError); 12] = [
            (
                b"start_time=2026-03-12T08:59:07.000Z&mail_owner=a",
                MissingField("name"),
            ),
            (b"name=r&mail_owner=a", MissingField("start_time")),
            (
                b"name=r&start_time=2026-03-12T08:59:07.000Z",
                MissingField("mail_owner"),
            ),
            (
                b"name=&start_time=2026-03-12T08:59:07.000Z&mail_owner=a",
                EmptyField("name"),
            ),
            (b"name=r&name=s&start_time=x&mail_owner=a", DuplicateField("name")),
            (
                b"name=r&start_time=2026-03-12 08:59:07&mail_owner=a",
                MalformedTime("2026-03-12 08:59:07".into()),
            ),
            (
                b"name=r&start_time=2026-02-30T08:59:07.000Z&mail_owner=a",
                MalformedTime("2026-02-30T08:59:07.000Z".into()),
            ),
            (
                b"name=Room&start_time=2026-03-12T08:59:07.000Z&mail_owner=a",
                InvalidRoomName("Room".into()),
            ),
            (
                b"name=caf%25C3%25A9&start_time=2026-03-12T08:59:07.000Z&mail_owner=a",
                InvalidRoomName("caf%C3%A9".into()),
            ),
            (
                b"name=%5BA+B%5Dr&start_time=2026-03-12T08:59:07.000Z&mail_owner=a",
                InvalidTenant("[A B]r".into()),
            ),
            (b"name=r%zz", MalformedForm("bad percent-escape at byte 1".into())),
            (b"name=%ff", MalformedForm("not UTF-8".into())),
        ];
        for (body, expected) in cases {
            assert_eq!(
                parse_reservation_request(body).unwrap_err(),
                expected,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn java_dates() {
        assert_eq!(parse_java_date("1970-01-01T00:00:00.000Z").unwrap(), 0);
        assert_eq!(parse_java_date("2026-03-12T08:59:07Z").unwrap(), 1_773_305_947);
        assert_eq!(parse_java_date("2026-03-12T08:59:07.5Z").unwrap(), 1_773_305_947);
        assert_eq!(parse_java_date("2024-02-29T23:59:59.999Z").unwrap(), 1_709_251_199);
        for bad in [
            "",
            "2026-03-12T08:59:07.000",
            "2026-03-12T08:59:07.0000Z",
            "2026-03-12T08:59:07.Z",
            "2026-03-12T08:59:07+01:00",
            "2026-13-12T08:59:07.000Z",
            "2026-03-12T24:00:00.000Z",
            "2026-03-12T08:60:00.000Z",
            "2025-02-29T08:00:00.000Z",
            "2026-3-12T08:59:07.000Z",
            "+026-03-12T08:59:07.000Z",
        ] {
            assert_eq!(
                parse_java_date(bad).unwrap_err(),
                ReservationError::MalformedTime(bad.into()),
                "{bad}"
            );
        }
        assert_eq!(format_java_date(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_java_date(1_709_251_199), "2024-02-29T23:59:59.000Z");
        assert_eq!(format_java_date(-1), "1969-12-31T23:59:59.000Z");
        for t in [0, 951_782_400, 1_773_305_947, 4_102_444_800, 253_402_300_799] {
            assert_eq!(parse_java_date(&format_java_date(t)).unwrap(), t);
        }
    }

    #[test]
    fn response_shapes() {
        let req = parse_reservation_request(BODY).unwrap();
        let id = ReservationId::new("res_7Yk2-x").unwrap();
        let start = 1_773_306_000;
        let mut resp = ReservationResponse::for_request(&req, id.clone(), start, start + 5400);
        assert_eq!(
            serde_json::to_value(&resp).unwrap(),
            json!({"id": "res_7Yk2-x", "name": "formation-rust-1",
                   "start_time": "2026-03-12T09:00:00.000Z", "duration": 5400,
                   "mail_owner": "7f3a@meet.example.org"})
        );
        resp.max_occupants = NonZeroU32::new(25);
        resp.lobby = Some(true);
        let v = serde_json::to_value(&resp).unwrap();
        assert_eq!(v["max_occupants"], 25);
        assert_eq!(v["lobby"], true);
        let over = ReservationResponse::for_request(&req, id.clone(), start, start - 10);
        assert_eq!(over.duration, 0);

        assert_eq!(
            serde_json::to_value(ReservationRefusal {
                message: "Pas de séance réservée maintenant".into()
            })
            .unwrap(),
            json!({"message": "Pas de séance réservée maintenant"})
        );
        assert_eq!(
            serde_json::to_value(ReservationConflict { conflict_id: id }).unwrap(),
            json!({"conflict_id": "res_7Yk2-x"})
        );
    }

    #[test]
    fn reservation_ids() {
        assert!(ReservationId::new("a").is_ok());
        assert!(ReservationId::new("x".repeat(64)).is_ok());
        for bad in ["", "a/b", "a b", "../x", "é", &"x".repeat(65)] {
            assert_eq!(
                ReservationId::new(bad).unwrap_err(),
                ReservationError::InvalidReservationId(bad.into())
            );
        }
    }
}
