//! A person's data (GDPR articles 15, 17 and 20): everything Dialogue holds about a person
//! named by their email address, as JSON, and its erasure.
//!
//! A person is the address book entries with that address and the session participants with
//! that address or pointing to one of those entries; what refers to them (mail, reminders,
//! Jitsi's records of their connections, attendance corrections and signatures, failed-login
//! counters, audit entries) is found from there.
//!
//! Erasure removes the address book entries, anonymises the participants (name `—`, address
//! `erased-<id>@invalid`), their mail (queued mail is not sent any more), the names, addresses
//! and raw payloads of their Jitsi events and their mentions in the audit log, and deletes
//! their reminders and failed-login counters. The rows themselves stay so that the sessions'
//! figures and other people's data are unchanged.
//!
//! Personal rooms: the export of an account holder includes their room and its visits (who
//! came, guests included, as their room page shows them). A guest enters a personal room under
//! the name they type, without an address: their visits are found by the names Dialogue knows
//! the person under (address book entries, participations), exported with the rest, and
//! anonymised by erasure like their other Jitsi events.
//!
//! Signatures are sealed in their session's evidence chain (`domain::evidence`): the name, the
//! address and the browser of the signer are part of what the chain's MACs cover. While the
//! session is within its evidence retention, erasure refuses unless forced; when forced (or
//! once the evidence is past its retention), the signer's fields are anonymised and the
//! session's chain is sealed again with the server's key, after checking that it verified
//! before — so a chain that was tampered with is never laundered — and the audit entry of the
//! erasure keeps both seals (count and head) of every chain sealed again.

use domain::evidence::{self, EvidenceKey, Link, SignedContent};
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use crate::attendance::{SIGNATURE_COLUMNS, hex, seal_of, signature_row};
use crate::audit::{AuditEntry, insert_audit};
use crate::db::{Conn, Row, args};
use crate::{Result, Store, ts};

/// The name an erased person is shown with.
pub const ERASED_NAME: &str = "—";

/// The address an erased participant or mail row is given (never deliverable: RFC 2606).
pub fn erased_email(id: &str) -> String {
    format!("erased-{id}@invalid")
}

fn time(seconds: i64) -> Result<Value> {
    Ok(Value::from(ts(seconds)?.to_string()))
}

fn opt_time(seconds: Option<i64>) -> Result<Value> {
    seconds.map_or(Ok(Value::Null), time)
}

/// A row as a JSON object: `json_row!["id": text, "created_at": time, …]`.
macro_rules! json_row {
    ($($col:literal : $kind:ident),* $(,)?) => {
        |r: &dyn Row| -> Result<Value> {
            let mut m = Map::new();
            $( m.insert($col.to_owned(), json_row!(@get r, $col, $kind)); )*
            Ok(Value::Object(m))
        }
    };
    (@get $r:ident, $col:literal, text) => { Value::from($r.text($col)?) };
    (@get $r:ident, $col:literal, opt_text) => { json!($r.opt_text($col)?) };
    (@get $r:ident, $col:literal, int) => { Value::from($r.i64($col)?) };
    (@get $r:ident, $col:literal, bool) => { Value::from($r.bool($col)?) };
    (@get $r:ident, $col:literal, time) => { time($r.i64($col)?)? };
    (@get $r:ident, $col:literal, opt_time) => { opt_time($r.opt_i64($col)?)? };
    (@get $r:ident, $col:literal, json) => {
        serde_json::from_str::<Value>(&$r.text($col)?).unwrap_or_else(|_| Value::from($r.text($col).unwrap_or_default()))
    };
    (@get $r:ident, $col:literal, opt_json) => {
        match $r.opt_text($col)? {
            Some(t) => serde_json::from_str::<Value>(&t).unwrap_or(Value::from(t)),
            None => Value::Null,
        }
    };
}

/// The ids of the person's participations: `$1` is the normalised address.
macro_rules! participants_of {
    () => {
        "(SELECT id FROM session_participants WHERE email_norm = $1 \
          OR contact_id IN (SELECT id FROM contacts WHERE email_norm = $1))"
    };
}

/// What [`Store::erase_person`] did, or why it did nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Erasure {
    Erased(ErasureCounts),
    /// Nothing in Dialogue has this address.
    NothingFound,
    /// An account has this address: accounts are managed (disabled) on the accounts page.
    HasAccount,
    /// The person signed attendance sheets still within their retention: erasure needs force.
    EvidenceHeld {
        signatures: i64,
        sessions: i64,
    },
    /// A chain the person signed in does not verify: sealing it again would hide that.
    ChainBroken {
        session_id: String,
    },
}

/// How many rows an erasure changed, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ErasureCounts {
    pub contacts: u64,
    pub participants: u64,
    pub mail: u64,
    pub reminders: u64,
    pub jitsi_events: u64,
    pub signatures: u64,
    pub sealed_again: u64,
    pub audit_entries: u64,
    pub login_counters: u64,
}

/// What an erasure is asked to do.
#[derive(Debug, Clone)]
pub struct ErasureRequest<'a> {
    /// The person's address, normalised (lower case, trimmed).
    pub email_norm: &'a str,
    /// Erase even signatures still within their retention.
    pub force: bool,
    /// Sessions that ended at or after this instant are within their evidence retention.
    pub evidence_since: Timestamp,
}

/// A name as compared with what guests typed: trimmed, inner spaces collapsed, lower case.
fn name_key(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// The names Dialogue knows the person under (address book entries, participations), as
/// [`name_key`]s.
async fn known_names(c: &mut Conn<'_>, norm: &str) -> Result<Vec<String>> {
    let mut names: Vec<String> = Vec::new();
    let contacts = c
        .all(
            "SELECT name, first_name FROM contacts WHERE email_norm = $1",
            args![norm],
            |r| Ok((r.text("name")?, r.text("first_name")?)),
        )
        .await?;
    for (name, first) in contacts {
        names.push(name.clone());
        if !first.trim().is_empty() {
            names.push(format!("{first} {name}"));
            names.push(format!("{name} {first}"));
        }
    }
    let participants = c
        .all(
            concat!("SELECT name FROM session_participants WHERE id IN ", participants_of!()),
            args![norm],
            |r| r.text("name"),
        )
        .await?;
    names.extend(participants);
    let mut keys: Vec<String> = names
        .iter()
        .map(|n| name_key(n))
        .filter(|k| !k.is_empty() && k != ERASED_NAME)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    Ok(keys)
}

/// The ids of the personal-room events of guests (no address) under one of `names`.
async fn guest_visits(c: &mut Conn<'_>, names: &[String]) -> Result<Vec<String>> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    // Compared here, not in SQL: SQLite's LOWER folds ASCII letters only.
    let rows = c
        .all(
            "SELECT id, occupant_name FROM jitsi_events WHERE personal_room_id IS NOT NULL \
             AND occupant_name IS NOT NULL AND (occupant_email IS NULL OR occupant_email = '') ORDER BY at, id",
            &[],
            |r| Ok((r.text("id")?, r.opt_text("occupant_name")?.unwrap_or_default())),
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter(|(_, name)| names.contains(&name_key(name)))
        .map(|(id, _)| id)
        .collect())
}

impl Store {
    /// Everything Dialogue holds about the person with this (normalised) address, as one JSON
    /// document; `None` when nothing has this address.
    pub async fn person_data(&self, email_norm: &str, now: Timestamp) -> Result<Option<Value>> {
        let mut pooled = self.pool.read().await?;
        let mut c = pooled.conn();
        let account = c
            .opt(
                "SELECT id, email, display_name, role, locale, time_zone, active, auth_source, created_at, updated_at \
                 FROM users WHERE email_norm = $1",
                args![email_norm],
                json_row![
                    "id": text, "email": text, "display_name": text, "role": text, "locale": text,
                    "time_zone": text, "active": bool, "auth_source": text, "created_at": time, "updated_at": time,
                ],
            )
            .await?;
        let contacts = c
            .all(
                "SELECT id, email, name, first_name, company, locale, time_zone, notes, archived, merged_into, \
                 created_at, updated_at FROM contacts WHERE email_norm = $1 ORDER BY created_at, id",
                args![email_norm],
                json_row![
                    "id": text, "email": text, "name": text, "first_name": text, "company": text,
                    "locale": opt_text, "time_zone": opt_text, "notes": text, "archived": bool,
                    "merged_into": opt_text, "created_at": time, "updated_at": time,
                ],
            )
            .await?;
        let enrolments = c
            .all(
                "SELECT l.course_id, l.contact_id, c.title FROM course_learners l JOIN courses c ON c.id = l.course_id \
                 WHERE l.contact_id IN (SELECT id FROM contacts WHERE email_norm = $1) ORDER BY c.title, l.course_id",
                args![email_norm],
                json_row!["course_id": text, "contact_id": text, "title": text],
            )
            .await?;
        let participations = c
            .all(
                concat!(
                    "SELECT p.id, p.session_id, s.title AS session_title, s.starts_at, s.ends_at, s.time_zone, \
                     s.status AS session_status, p.role, \
                     p.contact_id, p.name, p.email, p.rsvp, p.link_version, p.created_at \
                     FROM session_participants p JOIN sessions s ON s.id = p.session_id WHERE p.id IN ",
                    participants_of!(),
                    " ORDER BY s.starts_at, p.id"
                ),
                args![email_norm],
                json_row![
                    "id": text, "session_id": text, "session_title": text, "starts_at": time, "ends_at": time,
                    "time_zone": text, "session_status": text, "role": text, "contact_id": opt_text, "name": text,
                    "email": text, "rsvp": text, "link_version": int, "created_at": time,
                ],
            )
            .await?;
        let reminders = c
            .all(
                concat!(
                    "SELECT session_id, participant_id, offset_minutes, due_at, enqueued_at FROM reminders \
                     WHERE participant_id IN ",
                    participants_of!(),
                    " ORDER BY due_at, session_id, offset_minutes"
                ),
                args![email_norm],
                json_row![
                    "session_id": text, "participant_id": text, "offset_minutes": int, "due_at": time,
                    "enqueued_at": opt_time,
                ],
            )
            .await?;
        let mail = c
            .all(
                concat!(
                    "SELECT id, kind, session_id, participant_id, recipient_email, recipient_name, locale, time_zone, \
                     snapshot, status, attempts, subject, last_error, created_at, updated_at, sent_at FROM outbox \
                     WHERE recipient_norm = $1 OR participant_id IN ",
                    participants_of!(),
                    " ORDER BY seq"
                ),
                args![email_norm],
                json_row![
                    "id": text, "kind": text, "session_id": text, "participant_id": text, "recipient_email": text,
                    "recipient_name": text, "locale": opt_text, "time_zone": text, "snapshot": json, "status": text,
                    "attempts": int, "subject": opt_text, "last_error": opt_text, "created_at": time,
                    "updated_at": time, "sent_at": opt_time,
                ],
            )
            .await?;
        let events = c
            .all(
                concat!(
                    "SELECT id, kind, room, session_id, participant_id, occupant_jid, occupant_name, occupant_email, \
                     joined_at, left_at, at, received_at, payload FROM jitsi_events \
                     WHERE LOWER(occupant_email) = $1 OR participant_id IN ",
                    participants_of!(),
                    " ORDER BY at, id"
                ),
                args![email_norm],
                json_row![
                    "id": text, "kind": text, "room": text, "session_id": opt_text, "participant_id": opt_text,
                    "occupant_jid": text, "occupant_name": opt_text, "occupant_email": opt_text,
                    "joined_at": opt_time, "left_at": opt_time, "at": time, "received_at": time, "payload": json,
                ],
            )
            .await?;
        let corrections = c
            .all(
                concat!(
                    "SELECT id, session_id, participant_id, day, half, minutes, reason, created_by_label, created_at \
                     FROM attendance_corrections WHERE participant_id IN ",
                    participants_of!(),
                    " ORDER BY created_at, id"
                ),
                args![email_norm],
                json_row![
                    "id": text, "session_id": text, "participant_id": text, "day": text, "half": text,
                    "minutes": int, "reason": text, "created_by_label": text, "created_at": time,
                ],
            )
            .await?;
        let signatures = c
            .all(
                concat!(
                    "SELECT id, session_id, seq, signer_id AS participant_id, display_name, day, half, signed_at, client_address, \
                     user_agent, content_kind, content, content_sha256 FROM attendance_signatures \
                     WHERE signer_kind = 'participant' AND signer_id IN ",
                    participants_of!(),
                    " ORDER BY signed_at, id"
                ),
                args![email_norm],
                json_row![
                    "id": text, "session_id": text, "seq": int, "participant_id": text, "display_name": text,
                    "day": text, "half": text, "signed_at": time, "client_address": text, "user_agent": text,
                    "content_kind": text, "content": text, "content_sha256": text,
                ],
            )
            .await?;
        let room = c
            .opt(
                "SELECT r.id, r.room, r.server_id, r.guests_wait, r.created_at, r.updated_at FROM personal_rooms r \
                 JOIN users u ON u.id = r.owner_id WHERE u.email_norm = $1",
                args![email_norm],
                json_row![
                    "id": text, "room": text, "server_id": opt_text, "guests_wait": bool, "created_at": time,
                    "updated_at": time,
                ],
            )
            .await?;
        let room_visits = c
            .all(
                "SELECT e.id, e.kind, e.occupant_jid, e.occupant_name, e.occupant_email, e.joined_at, e.left_at, e.at \
                 FROM jitsi_events e JOIN personal_rooms r ON r.id = e.personal_room_id \
                 JOIN users u ON u.id = r.owner_id WHERE u.email_norm = $1 ORDER BY e.at, e.id",
                args![email_norm],
                json_row![
                    "id": text, "kind": text, "occupant_jid": text, "occupant_name": opt_text,
                    "occupant_email": opt_text, "joined_at": opt_time, "left_at": opt_time, "at": time,
                ],
            )
            .await?;
        let names = known_names(&mut c, email_norm).await?;
        let mut guest_events = Vec::new();
        for id in guest_visits(&mut c, &names).await? {
            guest_events.push(
                c.one(
                    "SELECT e.id, r.room, u.display_name AS owner, e.kind, e.occupant_name, e.joined_at, e.left_at, \
                     e.at FROM jitsi_events e JOIN personal_rooms r ON r.id = e.personal_room_id \
                     JOIN users u ON u.id = r.owner_id WHERE e.id = $1",
                    args![id.as_str()],
                    json_row![
                        "id": text, "room": text, "owner": text, "kind": text, "occupant_name": opt_text,
                        "joined_at": opt_time, "left_at": opt_time, "at": time,
                    ],
                )
                .await?,
            );
        }
        let throttle_key = format!("acct:{email_norm}");
        let login_counters = c
            .all(
                "SELECT failures, window_start, locked_until FROM login_throttle WHERE key = $1",
                args![throttle_key.as_str()],
                json_row!["failures": int, "window_start": time, "locked_until": time],
            )
            .await?;
        let mut audit = Vec::new();
        let ids: Vec<String> = participations
            .iter()
            .chain(contacts.iter())
            .filter_map(|p| p["id"].as_str().map(str::to_owned))
            .collect();
        let mentions = person_mentions(&mut c, email_norm, &ids).await?;
        for seq in mentions {
            audit.push(
                c.one(
                    "SELECT seq, at, actor_label, action, target_type, target_id, target_label, detail, ip \
                     FROM audit_log WHERE seq = $1",
                    args![seq],
                    json_row![
                        "seq": int, "at": time, "actor_label": text, "action": text, "target_type": opt_text,
                        "target_id": opt_text, "target_label": opt_text, "detail": opt_json, "ip": opt_text,
                    ],
                )
                .await?,
            );
        }
        let found = account.is_some()
            || !contacts.is_empty()
            || !participations.is_empty()
            || !mail.is_empty()
            || !events.is_empty()
            || !login_counters.is_empty()
            || !audit.is_empty();
        if !found {
            return Ok(None);
        }
        Ok(Some(json!({
            "email": email_norm,
            "generated_at": now.to_string(),
            "account": account,
            "contacts": contacts,
            "course_enrolments": enrolments,
            "participations": participations,
            "reminders": reminders,
            "mail": mail,
            "jitsi_events": events,
            "personal_room": room,
            "personal_room_visits": room_visits,
            "personal_room_guest_visits": guest_events,
            "attendance_corrections": corrections,
            "attendance_signatures": signatures,
            "login_counters": login_counters,
            "audit_log": audit,
        })))
    }

    /// Erases the person with this address (see the module's documentation), with its audit
    /// entry, in one transaction.
    pub async fn erase_person(
        &self,
        request: &ErasureRequest<'_>,
        key: &EvidenceKey,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> Result<Erasure> {
        let norm = request.email_norm;
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        if c.count("SELECT COUNT(*) AS n FROM users WHERE email_norm = $1", args![norm])
            .await?
            > 0
        {
            return Ok(Erasure::HasAccount);
        }
        let contacts: Vec<String> = c
            .all("SELECT id FROM contacts WHERE email_norm = $1", args![norm], |r| {
                r.text("id")
            })
            .await?;
        let participants: Vec<(String, String)> = c
            .all(
                concat!(
                    "SELECT id, session_id FROM session_participants WHERE id IN ",
                    participants_of!(),
                    " ORDER BY id"
                ),
                args![norm],
                |r| Ok((r.text("id")?, r.text("session_id")?)),
            )
            .await?;
        let emails: Vec<String> = c
            .all(
                concat!(
                    "SELECT email FROM contacts WHERE email_norm = $1 UNION SELECT email FROM session_participants \
                     WHERE id IN ",
                    participants_of!(),
                    " UNION SELECT recipient_email AS email FROM outbox WHERE recipient_norm = $1"
                ),
                args![norm],
                |r| r.text("email"),
            )
            .await?;
        let mut ids: Vec<String> = participants.iter().map(|(id, _)| id.clone()).collect();
        ids.extend(contacts.iter().cloned());
        // Read before the names are erased below.
        let names = known_names(&mut c, norm).await?;
        let guest_events = guest_visits(&mut c, &names).await?;
        let mentions = person_mentions(&mut c, norm, &ids).await?;
        let mail_rows = c
            .count(
                "SELECT COUNT(*) AS n FROM outbox WHERE recipient_norm = $1",
                args![norm],
            )
            .await?;
        let events = c
            .count(
                "SELECT COUNT(*) AS n FROM jitsi_events WHERE LOWER(occupant_email) = $1",
                args![norm],
            )
            .await?;
        let throttle_key = format!("acct:{norm}");
        let counters = c
            .count(
                "SELECT COUNT(*) AS n FROM login_throttle WHERE key = $1",
                args![throttle_key.as_str()],
            )
            .await?;
        if contacts.is_empty()
            && participants.is_empty()
            && mentions.is_empty()
            && mail_rows == 0
            && events == 0
            && counters == 0
        {
            return Ok(Erasure::NothingFound);
        }

        // Signatures: refused within retention unless forced; the chains checked first.
        let mut signed_sessions: Vec<String> = Vec::new();
        let mut held = (0i64, 0i64);
        for (id, session_id) in &participants {
            let n = c
                .count(
                    "SELECT COUNT(*) AS n FROM attendance_signatures \
                     WHERE signer_kind = 'participant' AND signer_id = $1",
                    args![id.as_str()],
                )
                .await?;
            if n == 0 {
                continue;
            }
            if !signed_sessions.contains(session_id) {
                signed_sessions.push(session_id.clone());
            }
            let within = c
                .count(
                    "SELECT COUNT(*) AS n FROM sessions WHERE id = $1 AND ends_at >= $2",
                    args![session_id.as_str(), request.evidence_since.as_second()],
                )
                .await?;
            if within > 0 {
                held.0 += n;
                held.1 += 1;
            }
        }
        if held.0 > 0 && !request.force {
            return Ok(Erasure::EvidenceHeld {
                signatures: held.0,
                sessions: held.1,
            });
        }
        for session_id in &signed_sessions {
            if !chain_intact(&mut c, key, session_id).await? {
                return Ok(Erasure::ChainBroken {
                    session_id: session_id.clone(),
                });
            }
        }

        let mut counts = ErasureCounts::default();
        let mut resealed = Vec::new();
        for (id, _) in &participants {
            let erased = erased_email(id);
            counts.signatures += erase_signatures(&mut c, id).await?;
            counts.jitsi_events += c
                .exec(
                    "UPDATE jitsi_events SET occupant_name = NULL, occupant_email = NULL, payload = '{}' \
                     WHERE participant_id = $1",
                    args![id.as_str()],
                )
                .await?;
            counts.mail += c
                .exec(
                    "UPDATE outbox SET recipient_email = $2, recipient_norm = $2, recipient_name = $3, snapshot = '{}', \
                     subject = NULL, last_error = NULL, lease_owner = NULL, lease_until = NULL, \
                     status = CASE WHEN status IN ('queued', 'sending') THEN 'superseded' ELSE status END, \
                     updated_at = $4 WHERE participant_id = $1",
                    args![id.as_str(), erased.as_str(), ERASED_NAME, now.as_second()],
                )
                .await?;
            counts.reminders += c
                .exec("DELETE FROM reminders WHERE participant_id = $1", args![id.as_str()])
                .await?;
            counts.participants += c
                .exec(
                    "UPDATE session_participants SET name = $2, email = $3, email_norm = $3, contact_id = NULL \
                     WHERE id = $1",
                    args![id.as_str(), ERASED_NAME, erased.as_str()],
                )
                .await?;
        }
        // Mail and events that name the address without a participation left (a removed
        // participant's cancellation, an occupant who came without their link).
        let erased = erased_email(&crate::new_id());
        counts.mail += c
            .exec(
                "UPDATE outbox SET recipient_email = $2, recipient_norm = $2, recipient_name = $3, snapshot = '{}', \
                 subject = NULL, last_error = NULL, lease_owner = NULL, lease_until = NULL, \
                 status = CASE WHEN status IN ('queued', 'sending') THEN 'superseded' ELSE status END, \
                 updated_at = $4 WHERE recipient_norm = $1",
                args![norm, erased.as_str(), ERASED_NAME, now.as_second()],
            )
            .await?;
        counts.jitsi_events += c
            .exec(
                "UPDATE jitsi_events SET occupant_name = NULL, occupant_email = NULL, payload = '{}' \
                 WHERE LOWER(occupant_email) = $1",
                args![norm],
            )
            .await?;
        for id in &guest_events {
            counts.jitsi_events += c
                .exec(
                    "UPDATE jitsi_events SET occupant_name = NULL, occupant_email = NULL, payload = '{}' WHERE id = $1",
                    args![id.as_str()],
                )
                .await?;
        }
        for session_id in &signed_sessions {
            resealed.push(seal_again(&mut c, key, session_id, now).await?);
            counts.sealed_again += 1;
        }
        for id in &contacts {
            c.exec(
                "UPDATE session_participants SET contact_id = NULL WHERE contact_id = $1",
                args![id.as_str()],
            )
            .await?;
            c.exec(
                "UPDATE contacts SET merged_into = NULL WHERE merged_into = $1",
                args![id.as_str()],
            )
            .await?;
            counts.contacts += c.exec("DELETE FROM contacts WHERE id = $1", args![id.as_str()]).await?;
        }
        counts.login_counters += c
            .exec(
                "DELETE FROM login_throttle WHERE key = $1",
                args![throttle_key.as_str()],
            )
            .await?;
        for seq in &mentions {
            erase_mention(&mut c, *seq, norm, &emails, &ids).await?;
            counts.audit_entries += 1;
        }
        // The entry says what was done, never to whom: its target is a new reference.
        insert_audit(
            &mut c,
            &audit
                .clone()
                .target("person", &crate::new_id(), ERASED_NAME)
                .detail(json!({
                    "forced": request.force && held.0 > 0,
                    "counts": counts,
                    "sealed_again": resealed,
                })),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Erasure::Erased(counts))
    }
}

/// The audit entries about the person: by their address (as actor, target or in the detail),
/// or about one of their participations or address book entries.
async fn person_mentions(c: &mut Conn<'_>, norm: &str, ids: &[String]) -> Result<Vec<i64>> {
    let pattern = format!("%{}%", norm.replace(['%', '_'], ""));
    let mut seqs = c
        .all(
            "SELECT seq FROM audit_log WHERE LOWER(actor_label) = $1 OR LOWER(target_label) = $1 \
             OR LOWER(target_id) = $1 OR LOWER(detail) LIKE $2",
            args![norm, pattern.as_str()],
            |r| r.i64("seq"),
        )
        .await?;
    for id in ids {
        let quoted = format!("%\"{}\"%", id.replace(['%', '_'], ""));
        seqs.extend(
            c.all(
                "SELECT seq FROM audit_log WHERE target_id = $1 OR detail LIKE $2",
                args![id.as_str(), quoted.as_str()],
                |r| r.i64("seq"),
            )
            .await?,
        );
    }
    seqs.sort_unstable();
    seqs.dedup();
    Ok(seqs)
}

/// One audit entry with the person taken out: labels that name them, and their addresses and
/// names in the detail (the ids stay: they name nothing once the rows are anonymised).
async fn erase_mention(c: &mut Conn<'_>, seq: i64, norm: &str, emails: &[String], ids: &[String]) -> Result<()> {
    let (actor_label, target_id, target_label, detail) = c
        .one(
            "SELECT actor_label, target_id, target_label, detail FROM audit_log WHERE seq = $1",
            args![seq],
            |r| {
                Ok((
                    r.text("actor_label")?,
                    r.opt_text("target_id")?,
                    r.opt_text("target_label")?,
                    r.opt_text("detail")?,
                ))
            },
        )
        .await?;
    let is_them = |text: &str| text.trim().eq_ignore_ascii_case(norm) || emails.iter().any(|e| e == text);
    let about_them = target_id
        .as_deref()
        .is_some_and(|t| ids.iter().any(|i| i == t) || is_them(t))
        || detail
            .as_deref()
            .is_some_and(|d| ids.iter().any(|i| d.contains(&format!("\"{i}\""))));
    // What they did themselves (signing from their link) also loses the address they did it from.
    let acted = is_them(&actor_label);
    let actor_label = if acted { ERASED_NAME.to_owned() } else { actor_label };
    let target_id = target_id.map(|t| if is_them(&t) { ERASED_NAME.to_owned() } else { t });
    let target_label = target_label.map(|l| {
        if is_them(&l) || (about_them && !l.is_empty()) {
            ERASED_NAME.to_owned()
        } else {
            l
        }
    });
    let detail = detail.map(|d| {
        let mut d = d;
        for e in emails.iter().map(String::as_str).chain([norm]) {
            d = replace_ignore_case(&d, e, ERASED_NAME);
        }
        d
    });
    c.exec(
        "UPDATE audit_log SET actor_label = $2, target_id = $3, target_label = $4, detail = $5, \
         ip = CASE WHEN $6 THEN NULL ELSE ip END WHERE seq = $1",
        args![
            seq,
            actor_label.as_str(),
            target_id.as_deref(),
            target_label.as_deref(),
            detail.as_deref(),
            acted
        ],
    )
    .await?;
    Ok(())
}

fn replace_ignore_case(text: &str, what: &str, with: &str) -> String {
    if what.is_empty() {
        return text.to_owned();
    }
    let lower = text.to_lowercase();
    let what_lower = what.to_lowercase();
    // Lower-casing may change byte lengths outside ASCII: then only exact matches are replaced.
    if lower.len() != text.len() || what_lower.len() != what.len() {
        return text.replace(what, with);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = 0;
    for (at, _) in lower.match_indices(&what_lower) {
        if at < rest {
            continue;
        }
        out.push_str(&text[rest..at]);
        out.push_str(with);
        rest = at + what.len();
    }
    out.push_str(&text[rest..]);
    out
}

/// Whether a session's stored chain verifies and ends with its stored seal.
async fn chain_intact(c: &mut Conn<'_>, key: &EvidenceKey, session_id: &str) -> Result<bool> {
    let rows = c.all(SIGNATURE_COLUMNS, args![session_id], signature_row).await?;
    let stored = c
        .opt(
            "SELECT records, head FROM attendance_seals WHERE session_id = $1",
            args![session_id],
            |r| Ok((r.i64("records")?, r.text("head")?)),
        )
        .await?
        .and_then(|(records, head)| seal_of(records, &head));
    let Some(links) = rows.iter().map(|r| r.link.clone()).collect::<Option<Vec<Link>>>() else {
        return Ok(false);
    };
    let records: Vec<_> = rows.iter().map(|r| r.record.clone()).collect();
    Ok(match evidence::verify(key, session_id, &records, &links) {
        Ok(found) => Some(found) == stored || (records.is_empty() && stored.is_none()),
        Err(_) => false,
    })
}

/// Anonymises a participant's signatures: name, address, browser and what was signed (its
/// digest recomputed for the placeholder). Their session's chain must be sealed again.
async fn erase_signatures(c: &mut Conn<'_>, participant_id: &str) -> Result<u64> {
    let rows: Vec<(String, String, String, String)> = c
        .all(
            "SELECT id, session_id, day, half FROM attendance_signatures \
             WHERE signer_kind = 'participant' AND signer_id = $1",
            args![participant_id],
            |r| Ok((r.text("id")?, r.text("session_id")?, r.text("day")?, r.text("half")?)),
        )
        .await?;
    let mut n = 0;
    for (id, session_id, day, half) in rows {
        let half_day = crate::attendance::half_day_of(&day, &half)?;
        let digest = evidence::content_digest(&session_id, half_day, SignedContent::TypedName(ERASED_NAME));
        n += c
            .exec(
                "UPDATE attendance_signatures SET display_name = $2, client_address = '0.0.0.0', user_agent = '', \
                 content_kind = 'typed', content = $2, content_sha256 = $3 WHERE id = $1",
                args![id.as_str(), ERASED_NAME, hex(&digest).as_str()],
            )
            .await?;
    }
    Ok(n)
}

/// Seals a session's chain again from its rows as they now are; returns both seals.
async fn seal_again(c: &mut Conn<'_>, key: &EvidenceKey, session_id: &str, now: Timestamp) -> Result<Value> {
    let rows = c.all(SIGNATURE_COLUMNS, args![session_id], signature_row).await?;
    let previous = c
        .opt(
            "SELECT records, head FROM attendance_seals WHERE session_id = $1",
            args![session_id],
            |r| Ok((r.i64("records")?, r.text("head")?)),
        )
        .await?;
    let records: Vec<_> = rows.iter().map(|r| r.record.clone()).collect();
    let links = evidence::seal(key, session_id, &records);
    for (row, link) in rows.iter().zip(&links) {
        c.exec(
            "UPDATE attendance_signatures SET link = $2 WHERE id = $1",
            args![row.id.as_str(), hex(&link.to_bytes()).as_str()],
        )
        .await?;
    }
    let head = links
        .last()
        .map_or_else(|| *evidence::genesis(key, session_id).head(), |l| *l.mac());
    let count = i64::try_from(links.len()).unwrap_or(i64::MAX);
    c.exec(
        "UPDATE attendance_seals SET records = $2, head = $3, updated_at = $4 WHERE session_id = $1",
        args![session_id, count, hex(&head).as_str(), now.as_second()],
    )
    .await?;
    Ok(json!({
        "session": session_id,
        "previous": previous.map(|(records, head)| json!({"records": records, "head": head})),
        "records": count,
        "head": hex(&head),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_addresses_whatever_their_case() {
        assert_eq!(
            replace_ignore_case(
                r#"{"merged_email":"Lea.Martin@Example.org"}"#,
                "lea.martin@example.org",
                "—"
            ),
            r#"{"merged_email":"—"}"#
        );
        assert_eq!(replace_ignore_case("a b a", "a", "x"), "x b x");
        assert_eq!(replace_ignore_case("abc", "", "x"), "abc");
    }
}
