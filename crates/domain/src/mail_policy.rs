//! Which booking change causes which message: the mail policy, as a pure function. The store
//! tells it what happened to a session and, for each person concerned, what the outbox already
//! holds for them (whether they may have heard of the session, whether news waits unsent); the
//! policy answers with intents — send this message, supersede those, schedule or drop
//! reminders — which the store writes in the change's own transaction.
//!
//! The rules, in a sentence each:
//! - a booking invites everyone and schedules their reminders;
//! - a move updates everyone whose queued news does not already carry it (a queued message is
//!   rendered with the latest data at delivery), and reschedules the reminders not yet sent;
//! - a title or notes change is not news;
//! - someone added is invited (a cancellation still queued for them is dropped) and gets
//!   reminders;
//! - someone removed loses their queued news, and gets a cancellation only if they may have
//!   heard of the session;
//! - a cancellation drops the reminders, and tells those who may have heard;
//! - a re-issued link is an update for its participant alone, while the session is still to
//!   come and no news waits for them.

use serde::{Deserialize, Serialize};

use crate::session::ParticipantRole;

/// What kind of message a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MailKind {
    /// The convocation, with the personal link and an iCalendar `REQUEST`.
    Invitation,
    /// Date, time, duration or link changed.
    Update,
    /// The session is cancelled, or the recipient was removed from it.
    Cancellation,
    /// Some time before the start.
    Reminder,
    /// After the session, to a participant who attended and has not signed the attendance
    /// sheet while it still takes signatures (once).
    SignReminder,
    /// To a new staff account: its set-password link (about no session).
    Welcome,
}

impl MailKind {
    pub const ALL: [MailKind; 6] = [
        Self::Invitation,
        Self::Update,
        Self::Cancellation,
        Self::Reminder,
        Self::SignReminder,
        Self::Welcome,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::Invitation => "invitation",
            MailKind::Update => "update",
            MailKind::Cancellation => "cancellation",
            MailKind::Reminder => "reminder",
            MailKind::SignReminder => "sign_reminder",
            MailKind::Welcome => "welcome",
        }
    }

    /// The kind a stored word names.
    pub fn parse(s: &str) -> Option<MailKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Why a message was superseded (stored in `last_error`, shown translated).
pub mod reason {
    /// The session was cancelled before the message left.
    pub const CANCELLED: &str = "cancelled";
    /// The recipient was removed from the session.
    pub const REMOVED: &str = "removed";
    /// The recipient was invited again (a cancellation not needed any more).
    pub const REINVITED: &str = "reinvited";
    /// Nothing the recipient was told has changed.
    pub const UNCHANGED: &str = "unchanged";
    /// The recipient declined (reminders).
    pub const DECLINED: &str = "declined";
    /// The session has started or ended.
    pub const STARTED: &str = "started";
    /// The session or the participant no longer exists.
    pub const GONE: &str = "gone";
    /// Welcome: its set-password link was used, replaced or expired before it left.
    pub const LINK_SPENT: &str = "link_spent";
    /// The recipient's invitation to the whole series covers this session (sent instead).
    pub const IN_SERIES: &str = "in_series";
}

/// What a message needs at delivery that the database will not hold any more.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailSnapshot {
    /// Update: the start the recipient last heard of (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_starts_at: Option<i64>,
    /// Update: the end the recipient last heard of (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_ends_at: Option<i64>,
    /// Update: the recipient's personal link was re-issued.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub link_changed: bool,
    /// Cancellation of a removed participant: their role (the row is gone).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed_role: Option<String>,
    /// Reminder: how long before the start, in minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset_minutes: Option<i64>,
    /// Cancellation of the session's own calendar event, sent because the recipient now holds the
    /// session in their event for the whole series: they still take part.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub into_series: bool,
    /// Cancellation: what the person who cancelled wrote to the participants.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_message: Option<String>,
    /// Cancellation of an occurrence of a series the recipient holds as one event: the other
    /// occurrences (session ids) cancelled at the same time, told in the same message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub with_occurrences: Vec<String>,
    /// Welcome: the set-password token, sealed with a key derived from the server's secret (the
    /// database keeps only its hash otherwise); wiped when the message is finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_token: Option<String>,
    /// Welcome: when the set-password link expires (Unix seconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_expires_at: Option<i64>,
}

/// What happened to a session, as far as mail is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionEvent {
    Booked,
    /// Date, time or duration changed: from these (Unix seconds).
    Rescheduled {
        old_starts_at: i64,
        old_ends_at: i64,
    },
    /// Title or notes changed.
    Edited,
    ParticipantAdded,
    ParticipantRemoved {
        role: ParticipantRole,
    },
    Cancelled,
    /// A participant's personal link was re-issued; `open`: the session is still to come.
    LinkReissued {
        open: bool,
    },
}

/// What the outbox holds for one recipient, as far as the policy asks (see [`needs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Recipient {
    /// An invitation or update was sent to them, or at least attempted.
    pub may_have_heard: bool,
    /// An invitation or update for them waits untouched (it will show the latest data).
    pub news_pending: bool,
}

/// The facts the policy needs about each recipient for an event (so that the store asks only
/// those: a booking of two hundred people asks nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Needs {
    pub may_have_heard: bool,
    pub news_pending: bool,
}

pub fn needs(event: SessionEvent) -> Needs {
    match event {
        SessionEvent::Rescheduled { .. } | SessionEvent::LinkReissued { .. } => Needs {
            news_pending: true,
            ..Needs::default()
        },
        SessionEvent::ParticipantRemoved { .. } | SessionEvent::Cancelled => Needs {
            may_have_heard: true,
            ..Needs::default()
        },
        SessionEvent::Booked | SessionEvent::Edited | SessionEvent::ParticipantAdded => Needs::default(),
    }
}

/// What to do for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// Queue this message for them.
    Send { kind: MailKind, snapshot: MailSnapshot },
    /// Supersede their queued invitations, updates and reminders, for this reason.
    SupersedeNews { why: &'static str },
    /// Supersede a cancellation queued for them (they are invited again).
    SupersedeCancellations,
}

/// What to do for the session as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionIntent {
    /// Schedule the reminders still ahead (for the recipients of the event).
    ScheduleReminders,
    /// Drop the reminders not yet sent.
    DropPendingReminders,
}

/// The intents for one recipient of `event`, in the order they are to be carried out.
pub fn for_recipient(event: SessionEvent, to: Recipient) -> Vec<Intent> {
    let send = |kind, snapshot| Intent::Send { kind, snapshot };
    match event {
        SessionEvent::Booked => vec![send(MailKind::Invitation, MailSnapshot::default())],
        SessionEvent::Rescheduled {
            old_starts_at,
            old_ends_at,
        } => {
            if to.news_pending {
                return Vec::new();
            }
            let snapshot = MailSnapshot {
                old_starts_at: Some(old_starts_at),
                old_ends_at: Some(old_ends_at),
                ..MailSnapshot::default()
            };
            vec![send(MailKind::Update, snapshot)]
        }
        SessionEvent::Edited => Vec::new(),
        SessionEvent::ParticipantAdded => vec![
            Intent::SupersedeCancellations,
            send(MailKind::Invitation, MailSnapshot::default()),
        ],
        SessionEvent::ParticipantRemoved { role } => {
            let mut out = vec![Intent::SupersedeNews { why: reason::REMOVED }];
            if to.may_have_heard {
                let snapshot = MailSnapshot {
                    removed_role: Some(role.as_str().to_owned()),
                    ..MailSnapshot::default()
                };
                out.push(send(MailKind::Cancellation, snapshot));
            }
            out
        }
        SessionEvent::Cancelled => {
            let mut out = vec![Intent::SupersedeNews { why: reason::CANCELLED }];
            if to.may_have_heard {
                out.push(send(MailKind::Cancellation, MailSnapshot::default()));
            }
            out
        }
        SessionEvent::LinkReissued { open } => {
            if !open || to.news_pending {
                return Vec::new();
            }
            let snapshot = MailSnapshot {
                link_changed: true,
                ..MailSnapshot::default()
            };
            vec![send(MailKind::Update, snapshot)]
        }
    }
}

/// The intents for the session as a whole, in the order they are to be carried out (a move
/// drops the reminders not yet sent before scheduling them again).
pub fn for_session(event: SessionEvent) -> Vec<SessionIntent> {
    match event {
        SessionEvent::Booked | SessionEvent::ParticipantAdded => vec![SessionIntent::ScheduleReminders],
        SessionEvent::Rescheduled { .. } => vec![SessionIntent::DropPendingReminders, SessionIntent::ScheduleReminders],
        SessionEvent::Cancelled => vec![SessionIntent::DropPendingReminders],
        SessionEvent::Edited | SessionEvent::ParticipantRemoved { .. } | SessionEvent::LinkReissued { .. } => {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(intents: &[Intent]) -> Vec<MailKind> {
        intents
            .iter()
            .filter_map(|i| match i {
                Intent::Send { kind, .. } => Some(*kind),
                _ => None,
            })
            .collect()
    }

    const FRESH: Recipient = Recipient {
        may_have_heard: false,
        news_pending: false,
    };
    const HEARD: Recipient = Recipient {
        may_have_heard: true,
        news_pending: false,
    };
    const WAITING: Recipient = Recipient {
        may_have_heard: false,
        news_pending: true,
    };

    #[test]
    fn a_booking_invites_and_schedules_reminders() {
        assert_eq!(
            kinds(&for_recipient(SessionEvent::Booked, FRESH)),
            [MailKind::Invitation]
        );
        assert_eq!(for_session(SessionEvent::Booked), [SessionIntent::ScheduleReminders]);
        assert_eq!(needs(SessionEvent::Booked), Needs::default(), "asks the outbox nothing");
    }

    #[test]
    fn a_move_is_news_unless_news_already_waits() {
        let moved = SessionEvent::Rescheduled {
            old_starts_at: 10,
            old_ends_at: 20,
        };
        let intents = for_recipient(moved, FRESH);
        assert_eq!(
            intents,
            [Intent::Send {
                kind: MailKind::Update,
                snapshot: MailSnapshot {
                    old_starts_at: Some(10),
                    old_ends_at: Some(20),
                    ..MailSnapshot::default()
                }
            }]
        );
        assert!(
            for_recipient(moved, WAITING).is_empty(),
            "the queued message shows the new time"
        );
        assert_eq!(
            for_session(moved),
            [SessionIntent::DropPendingReminders, SessionIntent::ScheduleReminders]
        );
        assert!(
            for_recipient(SessionEvent::Edited, HEARD).is_empty(),
            "a title is not news"
        );
    }

    #[test]
    fn cancellations_go_only_to_those_who_may_have_heard() {
        let removed = SessionEvent::ParticipantRemoved {
            role: ParticipantRole::Learner,
        };
        assert_eq!(
            for_recipient(removed, FRESH),
            [Intent::SupersedeNews { why: reason::REMOVED }]
        );
        assert_eq!(kinds(&for_recipient(removed, HEARD)), [MailKind::Cancellation]);
        assert_eq!(kinds(&for_recipient(SessionEvent::Cancelled, FRESH)), []);
        assert_eq!(
            kinds(&for_recipient(SessionEvent::Cancelled, HEARD)),
            [MailKind::Cancellation]
        );
        assert_eq!(
            for_session(SessionEvent::Cancelled),
            [SessionIntent::DropPendingReminders]
        );
        assert_eq!(
            for_recipient(SessionEvent::ParticipantAdded, FRESH)[0],
            Intent::SupersedeCancellations,
            "someone invited again gets no cancellation"
        );
    }

    #[test]
    fn a_reissued_link_is_an_update_while_the_session_is_to_come() {
        assert_eq!(
            kinds(&for_recipient(SessionEvent::LinkReissued { open: true }, FRESH)),
            [MailKind::Update]
        );
        assert!(for_recipient(SessionEvent::LinkReissued { open: false }, FRESH).is_empty());
        assert!(for_recipient(SessionEvent::LinkReissued { open: true }, WAITING).is_empty());
    }
}
