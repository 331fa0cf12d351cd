//! Attendance: the corrections trainers and managers enter (kept beside the measured figures,
//! audited), and the signatures of each half-day, appended to the session's evidence chain
//! (`domain::evidence`) in the same transaction as the seal that closes it.

use std::collections::HashMap;
use std::net::IpAddr;

use domain::attendance::{Half, HalfDay};
use domain::evidence::{self, EvidenceKey, Link, Seal, SignatureRecord, Signer, SignerKind, Tampered};
use domain::presence::PresenceEvent;
use jiff::Timestamp;
use jiff::civil::Date;

use crate::audit::{AuditEntry, insert_audit};
use crate::db::{Row, args, is_unique_violation};
use crate::participants::{Participant, participant_cols, participant_row};
use crate::{Result, Store, StoreError, new_id, ts};

/// A correction as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorrectionRow {
    pub id: String,
    pub session_id: String,
    pub participant_id: String,
    pub half_day: HalfDay,
    pub minutes: u32,
    pub reason: String,
    /// The account that entered it (`None` from the command line).
    pub created_by: Option<String>,
    /// Who entered it, as a person reads it (an email).
    pub created_by_label: String,
    pub created_at: Timestamp,
}

/// A correction to store.
#[derive(Debug, Clone)]
pub struct NewCorrection {
    pub session_id: String,
    pub participant_id: String,
    pub half_day: HalfDay,
    pub minutes: u32,
    pub reason: String,
    pub created_by: Option<String>,
    pub created_by_label: String,
}

/// How a signature was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureContent {
    /// The full name, typed.
    Typed(String),
    /// A drawn signature, the PNG the browser sent.
    Png(Vec<u8>),
}

/// A stored signature: the record the chain seals, what was signed, and its stored link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureRow {
    pub id: String,
    pub session_id: String,
    pub seq: i64,
    pub record: SignatureRecord,
    pub content: SignatureContent,
    /// The stored link bytes (`None` when they are not a readable link any more).
    pub link: Option<Link>,
}

/// What [`Store::append_signature`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignOutcome {
    Signed(Seal),
    /// This signer has signed this half-day already.
    AlreadySigned,
}

/// What [`Store::verify_signatures`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainCheck {
    /// Every record is as sealed; the chain ends with this seal (the stored one).
    Intact(Seal),
    /// A record (by its place and id) was altered, moved, removed or added.
    Tampered {
        tampered: Tampered,
        record_id: Option<String>,
    },
    /// The records form a valid chain, but not the one last sealed (records removed at the end,
    /// or the seal row changed).
    SealMismatch { found: Seal, stored: Option<Seal> },
}

fn half_str(h: Half) -> &'static str {
    match h {
        Half::Morning => "morning",
        Half::Afternoon => "afternoon",
    }
}

pub(crate) fn half_day_of(day: &str, half: &str) -> Result<HalfDay> {
    let date: Date = day
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("attendance day {day:?}: {e}")))?;
    match half {
        "morning" => Ok(HalfDay::morning(date)),
        "afternoon" => Ok(HalfDay::afternoon(date)),
        other => Err(StoreError::Corrupt(format!("attendance half {other:?}"))),
    }
}

fn correction_row(r: &dyn Row) -> Result<CorrectionRow> {
    Ok(CorrectionRow {
        id: r.text("id")?,
        session_id: r.text("session_id")?,
        participant_id: r.text("participant_id")?,
        half_day: half_day_of(&r.text("day")?, &r.text("half")?)?,
        minutes: u32::try_from(r.i64("minutes")?).map_err(|e| StoreError::Corrupt(format!("minutes: {e}")))?,
        reason: r.text("reason")?,
        created_by: r.opt_text("created_by")?,
        created_by_label: r.text("created_by_label")?,
        created_at: ts(r.i64("created_at")?)?,
    })
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

/// A stored signature row as the chain reads it. A row whose fields no longer parse (a
/// changed address, a broken hex digest) still gives a record, with a value that cannot match
/// the sealed one, so that verification names it rather than failing as a whole.
pub(crate) fn signature_row(r: &dyn Row) -> Result<SignatureRow> {
    let kind = match r.text("signer_kind")?.as_str() {
        "account" => SignerKind::Account,
        _ => SignerKind::Participant,
    };
    let half_day =
        half_day_of(&r.text("day")?, &r.text("half")?).unwrap_or_else(|_| HalfDay::morning(Date::constant(1, 1, 1)));
    let signed_at = Timestamp::new(r.i64("signed_at")?, r.i64("signed_at_ns")?.clamp(0, 999_999_999) as i32)
        .unwrap_or(Timestamp::UNIX_EPOCH);
    let client_address: IpAddr = r
        .text("client_address")?
        .parse()
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let mut content_sha256 = [0u8; 32];
    if let Some(bytes) = unhex(&r.text("content_sha256")?)
        && bytes.len() == 32
    {
        content_sha256.copy_from_slice(&bytes);
    }
    let content = match r.text("content_kind")?.as_str() {
        "png" => SignatureContent::Png(base64_decode(&r.text("content")?).unwrap_or_default()),
        _ => SignatureContent::Typed(r.text("content")?),
    };
    Ok(SignatureRow {
        id: r.text("id")?,
        session_id: r.text("session_id")?,
        seq: r.i64("seq")?,
        record: SignatureRecord {
            signer: Signer {
                kind,
                id: r.text("signer_id")?,
                display_name: r.text("display_name")?,
            },
            half_day,
            signed_at,
            client_address,
            user_agent: r.text("user_agent")?,
            content_sha256,
        },
        content,
        link: unhex(&r.text("link")?).and_then(|b| Link::from_bytes(&b).ok()),
    })
}

pub(crate) fn seal_of(records: i64, head: &str) -> Option<Seal> {
    let bytes = unhex(head)?;
    let head: [u8; 32] = bytes.try_into().ok()?;
    Some(Seal::new(usize::try_from(records).ok()?, head))
}

/// The columns [`signature_row`] reads, from `attendance_signatures`; the caller adds its
/// `WHERE` and order.
macro_rules! signature_cols {
    () => {
        "SELECT id, session_id, seq, signer_kind, signer_id, display_name, day, half, signed_at, \
         signed_at_ns, client_address, user_agent, content_kind, content, content_sha256, link \
         FROM attendance_signatures"
    };
}

pub(crate) const SIGNATURE_COLUMNS: &str = concat!(signature_cols!(), " WHERE session_id = $1 ORDER BY seq");

/// What a course's attendance is computed from, for the course's sessions that start within a
/// range: read with one query per table (not one per session), grouped by session id. Each
/// group is in the order the per-session reads give it ([`crate::Store::session`]'s
/// participants, [`Store::presence_events`], [`Store::corrections`], [`Store::signatures`]).
#[derive(Debug, Clone, Default)]
pub struct CourseAttendanceRows {
    pub participants: HashMap<String, Vec<Participant>>,
    pub events: HashMap<String, Vec<PresenceEvent>>,
    pub corrections: HashMap<String, Vec<CorrectionRow>>,
    pub signatures: HashMap<String, Vec<SignatureRow>>,
    /// The stored seal of each session's chain (none before its first signature).
    pub seals: HashMap<String, Seal>,
}

/// Groups rows by their session id, keeping their order within each session.
fn group<T>(rows: Vec<(String, T)>) -> HashMap<String, Vec<T>> {
    let mut out: HashMap<String, Vec<T>> = HashMap::new();
    for (session, row) in rows {
        out.entry(session).or_default().push(row);
    }
    out
}

/// The columns of a course's events (no join: names and roles come from the participants read
/// beside them), in the order of [`PackedEvent`].
macro_rules! event_cols {
    () => {
        "e.id, e.kind, e.breakout_room_id, e.occupant_jid, e.occupant_id, e.participant_id, e.occupant_name, \
         e.occupant_email, e.joined_at, e.left_at, e.at"
    };
}

/// An event of [`event_cols`], as SQLite packs it in a JSON array.
type PackedEvent = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    i64,
);

/// A packed event: its id (the order's tie-breaker) and the event as
/// [`crate::rooms::presence_row`] reads it, without the participant's name and role yet.
fn unpack_event(row: PackedEvent) -> Result<(String, PresenceEvent)> {
    let (
        id,
        kind,
        breakout_room_id,
        occupant_jid,
        occupant_id,
        participant_id,
        occupant_name,
        occupant_email,
        joined_at,
        left_at,
        at,
    ) = row;
    Ok((
        id,
        PresenceEvent {
            kind: crate::rooms::event_kind(&kind)?,
            breakout_room_id,
            occupant_jid,
            occupant_id,
            participant_id,
            participant_name: None,
            participant_role: None,
            occupant_name,
            occupant_email,
            joined_at,
            left_at,
            at,
        },
    ))
}

/// A row of [`event_cols`] (PostgreSQL), as [`unpack_event`] gives it.
fn event_row(r: &dyn Row) -> Result<(String, (String, PresenceEvent))> {
    Ok((r.text("session_id")?, (r.text("id")?, crate::rooms::event_row(r)?)))
}

/// The course's sessions starting within `$2..=$3` (the `sessions_course` index).
macro_rules! course_sessions {
    () => {
        "(SELECT s.id FROM sessions s WHERE s.course_id = $1 AND s.starts_at >= $2 AND s.starts_at <= $3)"
    };
}

impl Store {
    /// Everything the attendance of a course's sessions starting between `first_start` and
    /// `last_start` (both included) is computed from, in five queries whatever the number of
    /// sessions. Callers keep the sessions they listed (cancelled ones, those out of their
    /// scope: the others are ignored).
    ///
    /// `images`: the drawn signatures' pictures too (a sheet prints them). Without, a drawn
    /// signature reads with an empty picture: the figures, the CSV and the pages only say
    /// whether and when a half-day was signed, and the pictures were most of what a course
    /// view read and decoded (issue 11's bench: ~1,000 PNGs per view; BENCHMARKS.md).
    pub async fn course_attendance_rows(
        &self,
        course_id: &str,
        first_start: Timestamp,
        last_start: Timestamp,
        images: bool,
    ) -> Result<CourseAttendanceRows> {
        let mut c = self.pool.read().await?;
        let mut c = c.conn();
        let bounds = args![course_id, first_start.as_second(), last_start.as_second()];
        let participants = c
            .all(
                concat!(
                    "SELECT ",
                    participant_cols!(),
                    " FROM session_participants p LEFT JOIN users u ON u.id = p.user_id WHERE p.session_id IN ",
                    course_sessions!(),
                    " ORDER BY p.session_id, CASE p.role WHEN 'trainer' THEN 0 WHEN 'moderator' THEN 1 \
                     WHEN 'learner' THEN 2 ELSE 3 END, name, p.id"
                ),
                bounds,
                |r| Ok((r.text("session_id")?, participant_row(r)?)),
            )
            .await?;
        // A course has thousands of events (issue 11's bench: 12,040 for 20 sessions), read
        // here without the join [`Store::presence_events`] makes (names and roles come from the
        // participants above) and put in its order (time, then id) here. On SQLite each row
        // read through sqlx crosses from its worker thread with its values copied one by one:
        // a profile of the course JSON showed that transfer as the cost, so SQLite packs each
        // session's events in one JSON array. PostgreSQL sends rows cheaply but builds JSON
        // and sorts text slowly (EXPLAIN ANALYZE on the bench's data: rows unsorted 6.6 ms,
        // sorted 28 ms, packed with json_agg 29 ms), so it sends them as they are.
        let unsorted: Vec<(String, (String, PresenceEvent))> = if c.is_postgres() {
            c.all(
                concat!(
                    "SELECT e.session_id, ",
                    event_cols!(),
                    " FROM jitsi_events e WHERE e.session_id IN ",
                    course_sessions!()
                ),
                bounds,
                event_row,
            )
            .await?
        } else {
            let packed = c
                .all(
                    concat!(
                        "SELECT e.session_id, json_group_array(json_array(",
                        event_cols!(),
                        ")) AS packed FROM jitsi_events e WHERE e.session_id IN ",
                        course_sessions!(),
                        " GROUP BY e.session_id"
                    ),
                    bounds,
                    |r| Ok((r.text("session_id")?, r.text("packed")?)),
                )
                .await?;
            let mut out = Vec::new();
            for (session, json) in packed {
                let rows: Vec<PackedEvent> = serde_json::from_str(&json)
                    .map_err(|e| StoreError::Corrupt(format!("events of session {session}: {e}")))?;
                for row in rows {
                    out.push((session.clone(), unpack_event(row)?));
                }
            }
            out
        };
        let participants = group(participants);
        let mut events = HashMap::new();
        for (session, mut rows) in group(unsorted) {
            rows.sort_unstable_by(|(a_id, a), (b_id, b)| a.at.cmp(&b.at).then_with(|| a_id.cmp(b_id)));
            let people: HashMap<&str, &Participant> = participants
                .get(&session)
                .map(|ps| ps.iter().map(|p| (p.id.as_str(), p)).collect())
                .unwrap_or_default();
            let session_events = rows
                .into_iter()
                .map(|(_, mut e)| {
                    if let Some(p) = e.participant_id.as_deref().and_then(|id| people.get(id)) {
                        e.participant_name = Some(p.name.clone());
                        e.participant_role = Some(p.role);
                    }
                    e
                })
                .collect();
            events.insert(session, session_events);
        }
        let corrections = c
            .all(
                concat!(
                    "SELECT id, session_id, participant_id, day, half, minutes, reason, created_by, created_by_label, \
                     created_at FROM attendance_corrections WHERE session_id IN ",
                    course_sessions!(),
                    " ORDER BY session_id, created_at, id"
                ),
                bounds,
                |r| {
                    let row = correction_row(r)?;
                    Ok((row.session_id.clone(), row))
                },
            )
            .await?;
        let with_images = concat!(
            signature_cols!(),
            " WHERE session_id IN ",
            course_sessions!(),
            " ORDER BY session_id, seq"
        );
        let without_images = concat!(
            "SELECT id, session_id, seq, signer_kind, signer_id, display_name, day, half, signed_at, \
             signed_at_ns, client_address, user_agent, content_kind, \
             CASE WHEN content_kind = 'png' THEN '' ELSE content END AS content, content_sha256, link \
             FROM attendance_signatures WHERE session_id IN ",
            course_sessions!(),
            " ORDER BY session_id, seq"
        );
        let signatures = c
            .all(if images { with_images } else { without_images }, bounds, |r| {
                let row = signature_row(r)?;
                Ok((row.session_id.clone(), row))
            })
            .await?;
        let seals = c
            .all(
                concat!(
                    "SELECT session_id, records, head FROM attendance_seals WHERE session_id IN ",
                    course_sessions!()
                ),
                bounds,
                |r| Ok((r.text("session_id")?, r.i64("records")?, r.text("head")?)),
            )
            .await?;
        Ok(CourseAttendanceRows {
            participants,
            events,
            corrections: group(corrections),
            signatures: group(signatures),
            seals: seals
                .into_iter()
                .filter_map(|(session, records, head)| Some((session, seal_of(records, &head)?)))
                .collect(),
        })
    }

    /// Stores a correction and its audit entry in one transaction.
    pub async fn add_correction(
        &self,
        new: &NewCorrection,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<CorrectionRow> {
        let id = new_id();
        let day = new.half_day.date.to_string();
        let half = half_str(new.half_day.half);
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        c.exec(
            "INSERT INTO attendance_corrections (id, session_id, participant_id, day, half, minutes, reason, \
             created_by, created_by_label, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            args![
                id.as_str(),
                new.session_id.as_str(),
                new.participant_id.as_str(),
                day.as_str(),
                half,
                i64::from(new.minutes),
                new.reason.as_str(),
                new.created_by.as_deref(),
                new.created_by_label.as_str(),
                now.as_second(),
            ],
        )
        .await?;
        insert_audit(
            &mut c,
            &audit
                .clone()
                .target("participant", &new.participant_id, &new.participant_id)
                .detail(serde_json::json!({
                    "session": new.session_id,
                    "day": day,
                    "half": half,
                    "minutes": new.minutes,
                    "reason": new.reason,
                })),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(CorrectionRow {
            id,
            session_id: new.session_id.clone(),
            participant_id: new.participant_id.clone(),
            half_day: new.half_day,
            minutes: new.minutes,
            reason: new.reason.clone(),
            created_by: new.created_by.clone(),
            created_by_label: new.created_by_label.clone(),
            created_at: ts(now.as_second())?,
        })
    }

    /// A session's corrections, oldest first.
    pub async fn corrections(&self, session_id: &str) -> Result<Vec<CorrectionRow>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .all(
                "SELECT id, session_id, participant_id, day, half, minutes, reason, created_by, created_by_label, \
                 created_at FROM attendance_corrections WHERE session_id = $1 ORDER BY created_at, id",
                args![session_id],
                correction_row,
            )
            .await
    }

    /// A session's signatures, in chain order.
    pub async fn signatures(&self, session_id: &str) -> Result<Vec<SignatureRow>> {
        let mut c = self.pool.read().await?;
        c.conn().all(SIGNATURE_COLUMNS, args![session_id], signature_row).await
    }

    /// Appends a signature to the session's chain and moves its seal, in one transaction (the
    /// seal row is locked on PostgreSQL, SQLite writes one at a time), with its audit entry.
    pub async fn append_signature(
        &self,
        key: &EvidenceKey,
        session_id: &str,
        record: &SignatureRecord,
        content: &SignatureContent,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<SignOutcome> {
        let genesis = evidence::genesis(key, session_id);
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        c.exec(
            "INSERT INTO attendance_seals (session_id, records, head, updated_at) VALUES ($1, 0, $2, $3) \
             ON CONFLICT (session_id) DO NOTHING",
            args![session_id, hex(genesis.head()).as_str(), now.as_second()],
        )
        .await?;
        let sql = if c.is_postgres() {
            "SELECT records, head FROM attendance_seals WHERE session_id = $1 FOR UPDATE"
        } else {
            "SELECT records, head FROM attendance_seals WHERE session_id = $1"
        };
        let (records, head) = c
            .one(sql, args![session_id], |r| Ok((r.i64("records")?, r.text("head")?)))
            .await?;
        let current = seal_of(records, &head)
            .ok_or_else(|| StoreError::Corrupt(format!("the seal of session {session_id} is not readable")))?;
        let (link, next) = evidence::append(key, &current, record);
        let (content_kind, content_text) = match content {
            SignatureContent::Typed(name) => ("typed", name.clone()),
            SignatureContent::Png(png) => ("png", base64_encode(png)),
        };
        let day = record.half_day.date.to_string();
        let address = record.client_address.to_string();
        let inserted = c
            .exec(
                "INSERT INTO attendance_signatures (id, session_id, seq, signer_kind, signer_id, display_name, day, \
                 half, signed_at, signed_at_ns, client_address, user_agent, content_kind, content, content_sha256, \
                 link) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
                 ON CONFLICT (session_id, signer_kind, signer_id, day, half) DO NOTHING",
                args![
                    new_id().as_str(),
                    session_id,
                    records,
                    match record.signer.kind {
                        SignerKind::Participant => "participant",
                        SignerKind::Account => "account",
                    },
                    record.signer.id.as_str(),
                    record.signer.display_name.as_str(),
                    day.as_str(),
                    half_str(record.half_day.half),
                    record.signed_at.as_second(),
                    i64::from(record.signed_at.subsec_nanosecond()),
                    address.as_str(),
                    record.user_agent.as_str(),
                    content_kind,
                    content_text.as_str(),
                    hex(&record.content_sha256).as_str(),
                    hex(&link.to_bytes()).as_str(),
                ],
            )
            .await;
        match inserted {
            Ok(0) => return Ok(SignOutcome::AlreadySigned),
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Ok(SignOutcome::AlreadySigned),
            Err(e) => return Err(e),
        }
        c.exec(
            "UPDATE attendance_seals SET records = $2, head = $3, updated_at = $4 WHERE session_id = $1",
            args![
                session_id,
                i64::try_from(next.count()).unwrap_or(i64::MAX),
                hex(next.head()).as_str(),
                now.as_second()
            ],
        )
        .await?;
        insert_audit(
            &mut c,
            &audit
                .clone()
                .target("session", session_id, &record.signer.display_name)
                .detail(serde_json::json!({
                    "signer_kind": match record.signer.kind { SignerKind::Participant => "participant", SignerKind::Account => "account" },
                    "signer": record.signer.id,
                    "day": day,
                    "half": half_str(record.half_day.half),
                })),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(SignOutcome::Signed(next))
    }

    /// The stored seal of a session's chain (`None` before its first signature).
    pub async fn signature_seal(&self, session_id: &str) -> Result<Option<Seal>> {
        let mut c = self.pool.read().await?;
        let row = c
            .conn()
            .opt(
                "SELECT records, head FROM attendance_seals WHERE session_id = $1",
                args![session_id],
                |r| Ok((r.i64("records")?, r.text("head")?)),
            )
            .await?;
        Ok(row.and_then(|(records, head)| seal_of(records, &head)))
    }

    /// Recomputes a session's chain from its rows and compares it with the stored links and
    /// seal.
    pub async fn verify_signatures(&self, key: &EvidenceKey, session_id: &str) -> Result<ChainCheck> {
        let rows = self.signatures(session_id).await?;
        let stored = self.signature_seal(session_id).await?;
        let records: Vec<SignatureRecord> = rows.iter().map(|r| r.record.clone()).collect();
        // A link that no longer reads is an altered link: check up to it, then name it.
        let readable = rows.iter().take_while(|r| r.link.is_some()).count();
        let links: Vec<Link> = rows.iter().filter_map(|r| r.link.clone()).take(readable).collect();
        let checked = if readable < rows.len() {
            match evidence::verify(key, session_id, &records[..readable], &links) {
                Ok(_) => Err(Tampered {
                    index: readable,
                    kind: evidence::TamperKind::LinkAltered,
                }),
                Err(t) => Err(t),
            }
        } else {
            evidence::verify(key, session_id, &records, &links)
        };
        Ok(match checked {
            Err(tampered) => ChainCheck::Tampered {
                record_id: rows.get(tampered.index).map(|r| r.id.clone()),
                tampered,
            },
            Ok(found) => {
                let expected = stored.clone().unwrap_or_else(|| evidence::genesis(key, session_id));
                if found == expected {
                    ChainCheck::Intact(found)
                } else {
                    ChainCheck::SealMismatch { found, stored }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip() {
        for n in 0..20usize {
            let bytes: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(base64_decode(&base64_encode(&bytes)).unwrap(), bytes);
        }
        assert_eq!(unhex(&hex(&[0, 255, 16])).unwrap(), vec![0, 255, 16]);
    }
}
