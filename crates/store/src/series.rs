//! A series as its people see it in their calendars: one event with a rule, the occurrences a
//! person is not in (or that were cancelled) excluded, and those moved or changed alone as
//! overrides named by the instant the rule gave them.
//!
//! The rows: `series` keeps its rule, zone, UID, the rule's first instant and the length of its
//! occurrences; each session of a series keeps `occurrence_at`, the instant the rule gave it,
//! however it moves later. An outbox invitation with a `series_id` describes the whole series to
//! its recipient (one mail, one event); that a recipient received one is what makes later
//! updates and cancellations of single occurrences go out as overrides of that event. Someone
//! invited to sessions of the series one by one before (each its own event, its own UID) gets,
//! with their first invitation to the whole series, a cancellation of each of those events
//! (`outbox.rs`, `fold_into_series`): the series' event holds them, so none shows twice.

use jiff::{SignedDuration, Timestamp};

use crate::db::{Conn, Row, args};
use crate::participants::{Participant, participant_cols, participant_row};
use crate::sessions::{Session, session_cols, session_row};
use crate::{Result, Store, StoreError, ts};

/// A series' calendar identity and rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    pub id: String,
    /// The iCalendar UID its events share.
    pub uid: String,
    /// The rule, without `RRULE:`.
    pub rrule: String,
    pub time_zone: String,
    /// The rule's first instant (`DTSTART`).
    pub first_at: Timestamp,
    /// How long its occurrences last unless changed alone.
    pub duration: SignedDuration,
}

/// A session of a series with the instant the rule gave it.
#[derive(Debug, Clone)]
pub struct Occurrence {
    pub session: Session,
    /// The rule's instant for this session (its `RECURRENCE-ID`).
    pub occurrence_at: Timestamp,
}

/// A series with every one of its sessions (whatever their status, in the rule's order) and one
/// person's participations in them.
#[derive(Debug, Clone)]
pub struct SeriesView {
    pub series: Series,
    pub occurrences: Vec<Occurrence>,
    pub mine: Vec<Participant>,
}

impl SeriesView {
    /// The rule instant of one of its sessions.
    pub fn occurrence(&self, session_id: &str) -> Option<&Occurrence> {
        self.occurrences.iter().find(|o| o.session.id == session_id)
    }

    /// The sessions the person is in, in order, with their participation.
    pub fn theirs(&self) -> impl Iterator<Item = (&Occurrence, &Participant)> {
        self.occurrences
            .iter()
            .filter_map(|o| Some((o, self.mine.iter().find(|p| p.session_id == o.session.id)?)))
    }
}

fn series_row(r: &dyn Row) -> Result<Series> {
    let id = r.text("id")?;
    let missing = || StoreError::Corrupt(format!("series {id}: no first instant"));
    let first_at = ts(r.opt_i64("first_at")?.ok_or_else(missing)?)?;
    let duration = r.opt_i64("duration_seconds")?.ok_or_else(missing)?;
    Ok(Series {
        uid: r.text("uid")?,
        rrule: r.text("rrule")?,
        time_zone: r.text("time_zone")?,
        first_at,
        duration: SignedDuration::from_secs(duration),
        id,
    })
}

pub(crate) async fn series_by_id(c: &mut Conn<'_>, id: &str) -> Result<Option<Series>> {
    c.opt(
        "SELECT id, uid, rrule, time_zone, first_at, duration_seconds FROM series WHERE id = $1",
        args![id],
        series_row,
    )
    .await
}

/// Every session of a series with its rule instant, in the rule's order.
pub(crate) async fn occurrences(c: &mut Conn<'_>, series_id: &str) -> Result<Vec<Occurrence>> {
    c.all(
        concat!(
            "SELECT ",
            session_cols!(),
            ", s.occurrence_at FROM sessions s WHERE s.series_id = $1 \
             ORDER BY COALESCE(s.occurrence_at, s.starts_at), s.id"
        ),
        args![series_id],
        |r| {
            let session = session_row(r)?;
            let occurrence_at = match r.opt_i64("occurrence_at")? {
                Some(at) => ts(at)?,
                None => session.starts_at,
            };
            Ok(Occurrence { session, occurrence_at })
        },
    )
    .await
}

/// Whether this recipient was sent (or is being sent) an invitation describing the whole
/// series: their calendar then holds one event for it.
pub(crate) async fn heard_as_series(c: &mut Conn<'_>, series_id: &str, norm: &str) -> Result<bool> {
    let n = c
        .count(
            "SELECT COUNT(*) AS n FROM outbox WHERE series_id = $1 AND recipient_norm = $2 \
             AND kind = 'invitation' AND status <> 'superseded'",
            args![series_id, norm],
        )
        .await?;
    Ok(n > 0)
}

impl Store {
    /// A series by id.
    pub async fn series(&self, id: &str) -> Result<Option<Series>> {
        series_by_id(&mut self.pool.read().await?.conn(), id).await
    }

    /// The series and every one of its sessions, with the instants the rule gave them.
    pub async fn series_occurrences(&self, id: &str) -> Result<Option<(Series, Vec<Occurrence>)>> {
        let mut c = self.pool.read().await?;
        let mut c = c.conn();
        let Some(series) = series_by_id(&mut c, id).await? else {
            return Ok(None);
        };
        let all = occurrences(&mut c, id).await?;
        Ok(Some((series, all)))
    }

    /// The part of a series that concerns one recipient: the sessions where the participant
    /// `participant_id` takes part under the same account, or the address `norm` (lower-case)
    /// does. `None` when the series is gone.
    pub async fn series_view(&self, series_id: &str, participant_id: &str, norm: &str) -> Result<Option<SeriesView>> {
        let mut c = self.pool.read().await?;
        let mut c = c.conn();
        let Some(series) = series_by_id(&mut c, series_id).await? else {
            return Ok(None);
        };
        let people = c
            .all(
                concat!(
                    "SELECT ",
                    participant_cols!(),
                    " FROM session_participants p LEFT JOIN users u ON u.id = p.user_id \
                     JOIN sessions s ON s.id = p.session_id WHERE s.series_id = $1 \
                     AND (LOWER(COALESCE(u.email, p.email)) = $3 OR p.email_norm = $3 OR p.id = $2 \
                          OR (p.user_id IS NOT NULL AND p.user_id = \
                              (SELECT a.user_id FROM session_participants a WHERE a.id = $2)))"
                ),
                args![series_id, participant_id, norm],
                participant_row,
            )
            .await?;
        let occurrences = occurrences(&mut c, series_id).await?;
        Ok(Some(SeriesView {
            series,
            occurrences,
            mine: people,
        }))
    }

    /// Whether the recipient `norm` holds the series as one event (see [`heard_as_series`]).
    pub async fn heard_as_series(&self, series_id: &str, norm: &str) -> Result<bool> {
        heard_as_series(&mut self.pool.read().await?.conn(), series_id, norm).await
    }
}
