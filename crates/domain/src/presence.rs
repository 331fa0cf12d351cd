//! Who was in a session's room: presence computed from Jitsi's room and occupant events,
//! whatever order they arrived in and however often (Prosody retries, and a destroyed room
//! repeats its occupants). Per-half-day minutes and corrections are [`crate::attendance`]'s.

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::session::ParticipantRole;

/// The four kinds of events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JitsiEventKind {
    RoomCreated,
    RoomDestroyed,
    OccupantJoined,
    OccupantLeft,
}

impl JitsiEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JitsiEventKind::RoomCreated => "room_created",
            JitsiEventKind::RoomDestroyed => "room_destroyed",
            JitsiEventKind::OccupantJoined => "occupant_joined",
            JitsiEventKind::OccupantLeft => "occupant_left",
        }
    }

    /// The kind a stored word names.
    pub fn parse(s: &str) -> Option<JitsiEventKind> {
        [
            Self::RoomCreated,
            Self::RoomDestroyed,
            Self::OccupantJoined,
            Self::OccupantLeft,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A stored event of a session, as presence needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceEvent {
    pub kind: JitsiEventKind,
    pub breakout_room_id: String,
    pub occupant_jid: String,
    pub occupant_id: Option<String>,
    pub participant_id: Option<String>,
    /// The participant's current name and role, when the event is theirs and they still are one.
    pub participant_name: Option<String>,
    pub participant_role: Option<ParticipantRole>,
    pub occupant_name: Option<String>,
    pub occupant_email: Option<String>,
    pub joined_at: Option<i64>,
    pub left_at: Option<i64>,
    pub at: i64,
}

/// One person's presence in a session's room (all their connections, breakout rooms included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attendee {
    /// The participant, when their token said who they are.
    pub participant_id: Option<String>,
    /// `context.user.id` of their token, when they had one.
    pub occupant_id: Option<String>,
    /// The participant's name, else the token's name; `None` without a token.
    pub name: Option<String>,
    pub email: Option<String>,
    pub role: Option<ParticipantRole>,
    pub first_join: Timestamp,
    /// When they last left; `None` while they are in the room.
    pub last_leave: Option<Timestamp>,
    /// Time in the room, overlapping connections counted once, up to now for open ones.
    pub total_seconds: i64,
    pub connections: usize,
    /// In the room now.
    pub present: bool,
}

impl Attendee {
    /// Joined without a token: not attributable to anyone.
    pub fn unattributed(&self) -> bool {
        self.participant_id.is_none() && self.occupant_id.is_none()
    }
}

/// Who is in a session's room now and who came, computed from its events.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Presence {
    /// Everyone who came, by first arrival.
    pub attendees: Vec<Attendee>,
}

impl Presence {
    /// Those in the room now.
    pub fn in_room(&self) -> impl Iterator<Item = &Attendee> {
        self.attendees.iter().filter(|a| a.present)
    }
}

/// Builds presence from a session's events, whatever order they arrived in and however often:
/// each connection (room or breakout room, occupant JID) runs from its earliest known join to
/// its latest known leave; a connection never seen leaving ends when its room (or the main room)
/// was destroyed after it joined; otherwise it is still in the room. A person's connections
/// are merged (two devices at once count once).
pub fn compute_presence(events: &[PresenceEvent], now: Timestamp) -> Presence {
    #[derive(Default)]
    struct Connection<'a> {
        joined: Option<i64>,
        left: Option<i64>,
        who: Option<&'a PresenceEvent>,
    }
    let now_s = now.as_second();
    let mut connections: BTreeMap<(&str, &str), Connection<'_>> = BTreeMap::new();
    let mut destroyed: Vec<(&str, i64)> = Vec::new();
    for e in events {
        match e.kind {
            JitsiEventKind::RoomDestroyed => destroyed.push((&e.breakout_room_id, e.at)),
            JitsiEventKind::RoomCreated => {}
            JitsiEventKind::OccupantJoined | JitsiEventKind::OccupantLeft => {
                let c = connections
                    .entry((e.breakout_room_id.as_str(), e.occupant_jid.as_str()))
                    .or_default();
                if let Some(j) = e.joined_at {
                    c.joined = Some(c.joined.map_or(j, |old| old.min(j)));
                }
                if e.kind == JitsiEventKind::OccupantLeft {
                    let l = e.left_at.unwrap_or(e.at);
                    c.left = Some(c.left.map_or(l, |old| old.max(l)));
                }
                // Prefer the event that names the person best.
                let better = match c.who {
                    None => true,
                    Some(w) => w.participant_id.is_none() && e.participant_id.is_some(),
                };
                if better {
                    c.who = Some(e);
                }
            }
        }
    }
    // Per person: intervals.
    struct Person<'a> {
        who: &'a PresenceEvent,
        intervals: Vec<(i64, Option<i64>)>,
    }
    let mut people: BTreeMap<String, Person<'_>> = BTreeMap::new();
    for ((breakout, jid), c) in &connections {
        let (Some(joined), Some(who)) = (c.joined, c.who) else {
            continue;
        };
        let left = c.left.or_else(|| {
            destroyed
                .iter()
                .filter(|(room, at)| (room.is_empty() || room == breakout) && *at >= joined)
                .map(|(_, at)| *at)
                .min()
        });
        let key = match (&who.participant_id, &who.occupant_id) {
            (Some(p), _) => format!("p:{p}"),
            (None, Some(o)) => format!("o:{o}"),
            (None, None) => format!("j:{jid}"),
        };
        let person = people.entry(key).or_insert(Person {
            who,
            intervals: Vec::new(),
        });
        if person.who.participant_id.is_none() && who.participant_id.is_some() {
            person.who = who;
        }
        person.intervals.push((joined, left.map(|l| l.max(joined))));
    }
    let mut attendees: Vec<Attendee> = people
        .into_values()
        .map(|mut p| {
            p.intervals.sort_by_key(|(j, _)| *j);
            let present = p.intervals.iter().any(|(_, l)| l.is_none());
            let first = p.intervals.first().map_or(0, |(j, _)| *j);
            let last_leave = if present {
                None
            } else {
                p.intervals.iter().filter_map(|(_, l)| *l).max()
            };
            // Union of intervals, open ones up to now.
            let mut total = 0;
            let mut current: Option<(i64, i64)> = None;
            for (j, l) in &p.intervals {
                let end = l.unwrap_or(now_s.max(*j));
                match current {
                    Some((s, e)) if *j <= e => current = Some((s, e.max(end))),
                    Some((s, e)) => {
                        total += e - s;
                        current = Some((*j, end));
                    }
                    None => current = Some((*j, end)),
                }
            }
            if let Some((s, e)) = current {
                total += e - s;
            }
            let who = p.who;
            Attendee {
                participant_id: who.participant_id.clone(),
                occupant_id: who.occupant_id.clone(),
                name: who.participant_name.clone().or_else(|| who.occupant_name.clone()),
                email: who.occupant_email.clone(),
                role: who.participant_role,
                first_join: Timestamp::from_second(first).unwrap_or(Timestamp::UNIX_EPOCH),
                last_leave: last_leave.and_then(|l| Timestamp::from_second(l).ok()),
                total_seconds: total,
                connections: p.intervals.len(),
                present,
            }
        })
        .collect();
    attendees.sort_by(|a, b| a.first_join.cmp(&b.first_join).then_with(|| a.name.cmp(&b.name)));
    Presence { attendees }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: JitsiEventKind, jid: &str, who: Option<&str>, joined: i64, left: Option<i64>) -> PresenceEvent {
        PresenceEvent {
            kind,
            breakout_room_id: String::new(),
            occupant_jid: jid.into(),
            occupant_id: who.map(Into::into),
            participant_id: who.map(Into::into),
            participant_name: who.map(|w| format!("name {w}")),
            participant_role: who.map(|_| ParticipantRole::Learner),
            occupant_name: None,
            occupant_email: None,
            joined_at: Some(joined),
            left_at: left,
            at: left.unwrap_or(joined),
        }
    }

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap()
    }

    #[test]
    fn connections_merge_whatever_the_order() {
        use JitsiEventKind::*;
        let events = vec![
            ev(OccupantLeft, "a/1", Some("p1"), 100, Some(200)),
            ev(OccupantJoined, "a/1", Some("p1"), 100, None),
            ev(OccupantJoined, "a/1", Some("p1"), 100, None),
            // A second device overlapping the first, then a rejoin later.
            ev(OccupantJoined, "a/2", Some("p1"), 150, None),
            ev(OccupantLeft, "a/2", Some("p1"), 150, Some(250)),
            ev(OccupantJoined, "a/3", Some("p1"), 400, None),
            // Someone without a token, still there.
            ev(OccupantJoined, "anon/9", None, 300, None),
        ];
        let p = compute_presence(&events, t(1000));
        assert_eq!(p.attendees.len(), 2);
        let a = &p.attendees[0];
        assert_eq!(a.participant_id.as_deref(), Some("p1"));
        assert_eq!(a.first_join, t(100));
        assert!(a.present && a.last_leave.is_none());
        // [100, 250] ∪ [400, now=1000]
        assert_eq!(a.total_seconds, 150 + 600);
        assert_eq!(a.connections, 3);
        let anon = &p.attendees[1];
        assert!(anon.unattributed() && anon.present && anon.name.is_none());
        assert_eq!(p.in_room().count(), 2);
    }

    #[test]
    fn a_destroyed_room_closes_open_connections() {
        use JitsiEventKind::*;
        let mut destroyed = ev(RoomDestroyed, "", None, 0, None);
        destroyed.joined_at = None;
        destroyed.at = 500;
        let mut breakout = ev(OccupantJoined, "b/1", Some("p2"), 120, None);
        breakout.breakout_room_id = "br-1".into();
        let events = vec![destroyed, ev(OccupantJoined, "a/1", Some("p1"), 100, None), breakout];
        let p = compute_presence(&events, t(1000));
        assert!(p.attendees.iter().all(|a| !a.present));
        assert_eq!(p.attendees[0].last_leave, Some(t(500)));
        assert_eq!(p.attendees[0].total_seconds, 400);
        assert_eq!(
            p.attendees[1].total_seconds, 380,
            "the main room's end ends its breakout rooms"
        );
        // A destroy before someone joined does not end them.
        let mut early = ev(RoomDestroyed, "", None, 0, None);
        early.at = 50;
        let p = compute_presence(&[early, ev(OccupantJoined, "a/1", Some("p1"), 100, None)], t(160));
        assert!(p.attendees[0].present);
        assert_eq!(p.attendees[0].total_seconds, 60);
    }
}
