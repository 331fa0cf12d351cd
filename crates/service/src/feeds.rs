//! Calendars people subscribe to: each account's feed, the sessions from 30 days back to a year
//! ahead, cancelled ones marked so. Trainers see the sessions they teach; managers and admins
//! those they teach and those they booked (the whole company's calendar would be of no use in a
//! personal agenda, and would reach every address-book entry). The key is `<account
//! id>-<HMAC of the account id and a version>`, derived from the server's feed secret: nothing
//! secret is stored, and resetting it moves the version on so the old URL is not found.
//!
//! Feeds list the trainers of each session, not its learners: a subscribed feed is fetched by
//! calendar services, which have no business with learners' addresses.

use std::collections::{HashMap, HashSet};

use domain::window::JoinWindow;
use jiff::SignedDuration;
use mail::calendar::{JoinInfo, SeriesItem, calendar, series_events, session_event_in};
use store::{ParticipantRole, SessionDetail, User};

use crate::crypto::constant_time_eq;
use crate::error::{Error, Result};
use crate::{Caller, Service};

/// How far back and ahead a feed reaches.
const BACK: SignedDuration = SignedDuration::from_hours(30 * 24);
const AHEAD: SignedDuration = SignedDuration::from_hours(365 * 24);

/// The feed key of an account at a version.
pub fn feed_key(svc: &Service, user_id: &str, version: i64) -> String {
    domain::links::LinkSecret::new(svc.secret().feed_secret()).feed_key(user_id, version)
}

/// The current feed URL of an account.
pub async fn feed_url(svc: &Service, user: &User) -> Result<String> {
    let version = svc.store().feed_version(&user.id).await?;
    Ok(svc.url(&format!("/ical/{}.ics", feed_key(svc, &user.id, version))))
}

/// The active account a feed key belongs to, if the key is current.
async fn feed_owner(svc: &Service, key: &str) -> Result<User> {
    let Some((user_id, _)) = key.split_once('-') else {
        return Err(Error::NotFound);
    };
    if user_id.is_empty() || user_id.len() > 64 || !user_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(Error::NotFound);
    }
    let user = svc
        .store()
        .user(user_id)
        .await?
        .filter(|u| u.active)
        .ok_or(Error::NotFound)?;
    let version = svc.store().feed_version(&user.id).await?;
    let expected = feed_key(svc, &user.id, version);
    if constant_time_eq(expected.as_bytes(), key.as_bytes()) {
        Ok(user)
    } else {
        Err(Error::NotFound)
    }
}

/// The series of the sessions a feed shows, each with every one of its sessions.
pub type FeedSeries = HashMap<String, (store::Series, Vec<store::Occurrence>)>;

/// The calendar of a feed, rendered deterministically (each event stamped with its session's
/// last change, not the time of the request) so that its hash can serve as the `ETag`. The
/// sessions of a series in `series` are one event, as in invitations: the rule, the sessions
/// outside the feed or cancelled excluded, those changed alone as overrides.
pub fn render_feed(svc: &Service, user: &User, sessions: &[SessionDetail], series: &FeedSeries) -> String {
    let locale = user.locale;
    let event = |detail: &SessionDetail| {
        let s = &detail.session;
        let me = detail
            .participants
            .iter()
            .find(|p| p.user_id.as_deref() == Some(user.id.as_str()) && p.role.is_moderator());
        let join = me.and_then(|p| {
            let key = svc.store().join_key(&p.id, p.link_version).ok()?;
            let window = JoinWindow::for_participant(s.starts_at, s.ends_at, true, &svc.config().join);
            Some(JoinInfo {
                url: svc.url(&format!("/j/{key}")),
                opens_at: window.opens,
            })
        });
        let trainers: Vec<store::Participant> = detail
            .participants
            .iter()
            .filter(|p| p.role == ParticipantRole::Trainer)
            .cloned()
            .collect();
        session_event_in(s, &trainers, join.as_ref(), None, locale, s.updated_at, &user.time_zone)
    };
    let mut events = Vec::new();
    let mut done: HashSet<&str> = HashSet::new();
    for detail in sessions {
        let Some((series, occurrences)) = detail.session.series_id.as_ref().and_then(|id| series.get(id)) else {
            events.push(event(detail));
            continue;
        };
        if !done.insert(series.id.as_str()) {
            continue;
        }
        let items = sessions
            .iter()
            .filter(|d| d.session.series_id.as_deref() == Some(series.id.as_str()))
            .map(|d| SeriesItem {
                occurrence_at: occurrences
                    .iter()
                    .find(|o| o.session.id == d.session.id)
                    .map_or(d.session.starts_at, |o| o.occurrence_at),
                session: &d.session,
                event: event(d),
            })
            .collect();
        let group = series_events(series, items);
        if group.is_empty() {
            // Every session of it in the feed is cancelled: shown as such, one by one.
            let cancelled = sessions
                .iter()
                .filter(|d| d.session.series_id.as_deref() == Some(series.id.as_str()))
                .map(event);
            events.extend(cancelled);
        } else {
            events.extend(group);
        }
    }
    let name = locale.tf("feed.name", &[("name", &user.display_name)]);
    calendar(None, Some(name), events).render()
}

/// The series of `sessions`, read once each.
pub async fn feed_series(svc: &Service, sessions: &[SessionDetail]) -> Result<FeedSeries> {
    let mut out = FeedSeries::new();
    for id in sessions.iter().filter_map(|d| d.session.series_id.as_deref()) {
        if out.contains_key(id) {
            continue;
        }
        if let Some(found) = svc.store().series_occurrences(id).await? {
            out.insert(id.to_owned(), found);
        }
    }
    Ok(out)
}

/// The feed of the key `key` (without `.ics`), as a calendar file.
pub async fn feed(svc: &Service, key: &str) -> Result<String> {
    let user = feed_owner(svc, key).await?;
    let now = svc.now();
    let include_booked = user.role >= domain::Role::Manager;
    let sessions = svc
        .store()
        .feed_sessions(&user.id, include_booked, now - BACK, now + AHEAD)
        .await?;
    let series = feed_series(svc, &sessions).await?;
    Ok(render_feed(svc, &user, &sessions, &series))
}

/// A new feed address for the caller; the old one is not found from now on.
pub async fn reset(svc: &Service, caller: &Caller) -> Result<()> {
    svc.store()
        .reset_feed(&caller.actor.user_id, svc.now(), &caller.audit("calendar_feed.reset"))
        .await?;
    Ok(())
}
