//! Dialogue's Jitsi integration, without I/O: Jitsi JWTs for self-hosted Prosody
//! (HS256, RS256) and 8x8 JaaS, join URLs, room-name rules, the reservation protocol
//! of Prosody's `mod_reservations`, the events of jitsi-contrib's
//! `mod_event_sync_component`, 8x8 JaaS's signed webhooks (mapped to the attendance
//! rules' connection events), and the configuration printed by `dialogue jitsi-config`.
//!
//! The facts this crate relies on are listed in `shared/JITSI.md` and were checked
//! against Jitsi's Lua sources; each module says what it read.
//!
//! ```
//! use std::collections::BTreeMap;
//! use jitsi::{HmacSecret, TokenMode, TokenRequest, UserInfo, join_url, mint};
//!
//! let mode = TokenMode::Hs256 { app_id: "dialogue".into(), secret: HmacSecret::new("s3cret")? };
//! let features = BTreeMap::from([("recording".to_owned(), false)]);
//! let token = mint(&mode, &TokenRequest {
//!     room: "formation-rust-1",
//!     domain: "meet.example.org",
//!     tenant: None,
//!     user: UserInfo { id: "u-1", name: "Zoé", email: "zoe@example.org", avatar: None, moderator: false },
//!     features: &features,
//!     lobby_bypass: false,
//!     now: 1_767_258_000,
//!     expires_at: 1_767_265_200,
//! })?;
//! let url = join_url("https://meet.example.org", None, "formation-rust-1", &token);
//! assert!(url.starts_with("https://meet.example.org/formation-rust-1#jwt=eyJ"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod config;
mod events;
mod key;
mod reservation;
mod room;
mod token;
mod webhook;

pub use config::{
    ASAP_PATH, ASSUMED_VERSIONS, ConfigInput, ConfigSection, ConfigSyntax, EVENTS_PATH, RESERVATIONS_PATH,
    SECURE_DOMAIN_ASSUMED_VERSIONS, SecureDomainInput, asap_key_server_url, config_sections, events_api_prefix,
    guest_domain, prosody_config, reservations_api_prefix, secure_domain_config, secure_domain_sections,
};
pub use events::{Event, EventError, EventKind, Occupant, RoomRef, parse_event};
pub use key::{HmacSecret, KeyError, SigningKey, asap_key_path};
pub use reservation::{
    ReservationConflict, ReservationError, ReservationId, ReservationRefusal, ReservationRequest, ReservationResponse,
    format_java_date, parse_java_date, parse_reservation_request,
};
pub use room::{JAAS_BASE_URL, MAX_ROOM_NAME_LEN, is_valid_room_name, is_valid_tenant, jaas_join_url, join_url};
pub use token::{
    JAAS_APP_ID_PREFIX, JAAS_BASE_FEATURES, NOT_BEFORE_LEEWAY_SECS, TokenError, TokenMode, TokenRequest, UserInfo,
    jaas_full_app_id, mint,
};
pub use webhook::{
    JAAS_SIGNATURE_HEADER, JAAS_WEBHOOK_TOLERANCE_SECS, JaasEventType, JaasParticipant, JaasWebhook, WebhookError,
    WebhookSecret, verify_jaas_webhook,
};
