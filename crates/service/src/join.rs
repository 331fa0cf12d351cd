//! The join decision: who may enter a session's Jitsi room, when, and with which token.
//!
//! Who moderates: trainers and moderators of the session, and — from their account — admins and
//! managers (they run the training company and may have to step in); learners and guests never.
//! Everyone enters within the window of their role (`[join]` settings): before it they wait,
//! after it or when the session is cancelled they are told so, never sent into the room. An
//! unknown or revoked personal link is not found.
//!
//! When an external join check is configured (`[access] join_check_url`), it is asked last,
//! once everything else says "in": a refusal (or a failure, under `join_check_failure =
//! "deny"`) keeps the person out, and no token is minted.
//!
//! The hot path (a personal link inside its window) is one indexed query (none when the store
//! has it cached), a token minted from the cached server settings, and nothing written.

use domain::access::CheckAnswer;
use domain::window::{Admission, JoinWindow};
use jiff::SignedDuration;
use store::{JoinTarget, ParticipantRole, Session, SessionStatus, Store, User};

use crate::error::{Error, Result};
use crate::metrics::JoinOutcome;
use crate::{Caller, Service, access, booking};

/// Who is entering, as the token will say.
#[derive(Debug, Clone)]
pub struct Joiner {
    /// `context.user.id`: the participant id (or the account id of staff who are not one), so
    /// Jitsi's events name them.
    pub id: String,
    pub name: String,
    pub email: String,
    pub moderator: bool,
    /// The zone times are shown in.
    pub zone: String,
    /// What the external join check is told about them.
    pub kind: PersonKind,
}

/// Who someone entering is, for the external join check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonKind {
    /// Someone with a Dialogue account (staff, or a trainer from their link).
    User,
    /// A learner or an external moderator, from their personal link.
    Participant,
    /// A guest, from their personal link.
    Guest,
}

impl PersonKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PersonKind::User => "user",
            PersonKind::Participant => "participant",
            PersonKind::Guest => "guest",
        }
    }
}

/// What happens to someone who asks to enter.
#[derive(Debug, Clone)]
pub enum Decision {
    /// The session was cancelled.
    Cancelled,
    /// Their window has closed.
    Over,
    /// Too early: their window opens in `opens_in`.
    Waiting {
        window: JoinWindow,
        opens_in: SignedDuration,
    },
    /// Inside the window, but no Jitsi server is configured (or it vanished).
    Unavailable,
    /// The external join check said no (with its message for the person, if any), or could
    /// not answer and `join_check_failure` is `deny` (no message).
    Refused { message: Option<String> },
    /// In: the room's address with its token.
    Enter { url: String },
}

/// A personal link's session and participant, with what happens to them now.
#[derive(Debug, Clone)]
pub struct LinkEntry {
    pub target: std::sync::Arc<JoinTarget>,
    pub joiner: Joiner,
    pub decision: Decision,
}

/// Keys are 43 base64url characters (256 bits): anything else is not worth a query.
pub fn plausible_key(key: &str) -> bool {
    key.len() == 43 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn valid_zone(zone: Option<&str>, fallback: &str) -> String {
    match zone {
        Some(z) if jiff::tz::TimeZone::get(z).is_ok() => z.to_owned(),
        _ => fallback.to_owned(),
    }
}

/// The session and participant a personal-link key names (not found when unknown or revoked).
pub async fn link_target(svc: &Service, key: &str) -> Result<std::sync::Arc<JoinTarget>> {
    if !plausible_key(key) {
        return Err(Error::NotFound);
    }
    svc.store()
        .join_target(&Store::link_hash(key))
        .await?
        .ok_or(Error::NotFound)
}

/// Someone opens their personal link.
pub async fn by_link(svc: &Service, key: &str) -> Result<LinkEntry> {
    let target = match link_target(svc, key).await {
        Ok(target) => target,
        Err(e) => {
            if matches!(e, Error::NotFound) {
                svc.metrics().join(JoinOutcome::UnknownLink);
            }
            return Err(e);
        }
    };
    let p = &target.participant;
    let joiner = Joiner {
        id: p.id.clone(),
        name: p.name.clone(),
        email: p.email.clone(),
        moderator: p.role.is_moderator(),
        zone: valid_zone(target.zone.as_deref(), &target.session.time_zone),
        kind: if p.user_id.is_some() {
            PersonKind::User
        } else if p.role == ParticipantRole::Guest {
            PersonKind::Guest
        } else {
            PersonKind::Participant
        },
    };
    let decision = decide(svc, &target.session, target.server.as_ref(), &joiner).await?;
    Ok(LinkEntry {
        target,
        joiner,
        decision,
    })
}

/// A logged-in trainer, manager or admin enters a session they may see, as moderator.
pub async fn staff(
    svc: &Service,
    caller: &Caller,
    user: &User,
    session_id: &str,
) -> Result<(Session, Joiner, Decision)> {
    let (detail, _) = booking::view(svc, &caller.actor, session_id).await?;
    let room = svc
        .store()
        .room_session_by_id(session_id)
        .await?
        .ok_or(Error::NotFound)?;
    let own = detail
        .participants
        .iter()
        .find(|p| p.role.is_moderator() && p.user_id.as_deref() == Some(user.id.as_str()));
    let joiner = Joiner {
        id: own.map_or(user.id.clone(), |p| p.id.clone()),
        name: user.display_name.clone(),
        email: user.email.clone(),
        moderator: true,
        zone: valid_zone(Some(&user.time_zone), &room.session.time_zone),
        kind: PersonKind::User,
    };
    let decision = decide(svc, &room.session, room.server.as_ref(), &joiner).await?;
    Ok((room.session, joiner, decision))
}

/// The decision of every join: cancelled or over, too early, or in with a token. Counted in
/// `/metrics` by outcome.
pub async fn decide(
    svc: &Service,
    session: &Session,
    server: Option<&(String, String)>,
    joiner: &Joiner,
) -> Result<Decision> {
    let decision = decide_uncounted(svc, session, server, joiner).await?;
    let metrics = svc.metrics();
    metrics.join(match &decision {
        Decision::Cancelled => JoinOutcome::Cancelled,
        Decision::Over => JoinOutcome::Over,
        Decision::Waiting { .. } => JoinOutcome::Waiting,
        Decision::Unavailable => JoinOutcome::Unavailable,
        Decision::Refused { .. } => JoinOutcome::Refused,
        Decision::Enter { url } => {
            // Secure-domain servers' addresses carry no token.
            if url.contains("#jwt=") {
                metrics.token_minted();
            }
            JoinOutcome::Entered
        }
    });
    Ok(decision)
}

async fn decide_uncounted(
    svc: &Service,
    session: &Session,
    server: Option<&(String, String)>,
    joiner: &Joiner,
) -> Result<Decision> {
    let now = svc.now();
    let window = JoinWindow::for_participant(session.starts_at, session.ends_at, joiner.moderator, &svc.config().join);
    match Admission::of(session.status == SessionStatus::Cancelled, &window, now) {
        Admission::Cancelled => Ok(Decision::Cancelled),
        Admission::Over => Ok(Decision::Over),
        Admission::NotYet { opens_in } => Ok(Decision::Waiting { window, opens_in }),
        Admission::Open => {
            let server = match server {
                Some((id, revision)) => svc.jitsi().server(svc.store(), id, revision).await?,
                None => None,
            };
            let Some(server) = server else {
                return Ok(Decision::Unavailable);
            };
            if let Some(check) = svc.join_check() {
                let request = access::CheckRequest {
                    session: &session.id,
                    title: &session.title,
                    course: session.course_id.as_deref(),
                    room: &session.room,
                    role: if joiner.moderator { "moderator" } else { "participant" },
                    person: access::CheckPerson {
                        kind: joiner.kind.as_str(),
                        email: &joiner.email,
                        name: &joiner.name,
                    },
                    server: &server.server.name,
                    // Whole seconds: `2026-12-07T09:00:00Z`.
                    at: jiff::Timestamp::from_second(now.as_second()).unwrap_or(now).to_string(),
                    probe: false,
                };
                let answer = check.ask(&request).await;
                svc.metrics().join_check(&answer);
                if !answer.admits(check.on_failure()) {
                    return Ok(Decision::Refused {
                        message: match answer {
                            CheckAnswer::Deny(message) => message,
                            _ => None,
                        },
                    });
                }
            }
            let user = jitsi::UserInfo {
                id: &joiner.id,
                name: &joiner.name,
                email: &joiner.email,
                avatar: None,
                moderator: joiner.moderator,
            };
            if server.is_secure_domain() {
                // No tokens: guests enter the guest domain anonymously, hosts log in at Jitsi's
                // prompt with their Prosody account (shown on their room page).
                return Ok(Decision::Enter {
                    url: server.guest_url(&session.room),
                });
            }
            let token = server
                .mint(&session.room, user, now.as_second(), window.token_expiry().as_second())
                .map_err(|e| Error::Internal(format!("token for session {}: {e}", session.id)))?;
            let url = server
                .room_url(&session.room, &token)
                .map_err(|e| Error::Internal(format!("room URL for session {}: {e}", session.id)))?;
            Ok(Decision::Enter { url })
        }
    }
}

/// The same person's next session of the series a closed or cancelled session belongs to
/// (scheduled, not over), with their personal link's key to it. The calendar event of a series
/// carries the link of its first session: once that one is over, it leads on to the next.
pub async fn next_in_series(svc: &Service, target: &JoinTarget) -> Result<Option<(String, Session)>> {
    let Some(series_id) = &target.session.series_id else {
        return Ok(None);
    };
    let p = &target.participant;
    let Some(view) = svc
        .store()
        .series_view(series_id, &p.id, &p.email.to_lowercase())
        .await?
    else {
        return Ok(None);
    };
    let now = svc.now();
    let Some((next, q)) = view.theirs().find(|(o, _)| {
        o.session.id != target.session.id && o.session.status == SessionStatus::Scheduled && !o.session.ended(now)
    }) else {
        return Ok(None);
    };
    let key = svc
        .store()
        .join_key(&q.id, q.link_version)
        .map_err(|e| Error::Internal(format!("personal link of participant {}: {e}", q.id)))?;
    Ok(Some((key, next.session.clone())))
}

/// The names of a session's trainers (for the waiting page).
pub async fn trainer_names(svc: &Service, session_id: &str) -> Result<Vec<String>> {
    Ok(match svc.store().session(session_id).await? {
        Some(detail) => detail
            .with_role(ParticipantRole::Trainer)
            .map(|p| p.name.clone())
            .collect(),
        None => Vec::new(),
    })
}

/// One participant's session as a calendar file, with their link and the moment their room
/// opens. Published without attendees (nobody learns the others' addresses).
pub async fn link_calendar(svc: &Service, key: &str, locale: domain::Locale) -> Result<String> {
    let target = link_target(svc, key).await?;
    let detail = svc.store().session(&target.session.id).await?.ok_or(Error::NotFound)?;
    let p = &target.participant;
    let window = JoinWindow::for_participant(
        detail.session.starts_at,
        detail.session.ends_at,
        p.role.is_moderator(),
        &svc.config().join,
    );
    let join = mail::calendar::JoinInfo {
        url: svc.url(&format!("/j/{key}")),
        opens_at: window.opens,
    };
    let mut event = mail::calendar::session_event(
        &detail.session,
        &detail.participants,
        Some(&join),
        None,
        locale,
        svc.now(),
    );
    event.attendees.clear();
    let method = event.organizer.is_some().then_some(ical::Method::Publish);
    let cal = mail::calendar::calendar(method, None, vec![event]);
    cal.validate()
        .map_err(|e| Error::Internal(format!("calendar of session {}: {e}", detail.session.id)))?;
    Ok(cal.render())
}
