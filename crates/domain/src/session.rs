//! A session's states and the parts people play in it, and why a booking may be refused: the
//! words every layer shares (the store keeps them as these strings, the service explains the
//! refusals, pages and mails name them).

use jiff::Timestamp;

use crate::Role;

/// Whether a session takes place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SessionStatus {
    Scheduled,
    Cancelled,
}

impl SessionStatus {
    /// The status a stored word names.
    pub fn parse(s: &str) -> Option<SessionStatus> {
        match s {
            "scheduled" => Some(SessionStatus::Scheduled),
            "cancelled" => Some(SessionStatus::Cancelled),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Scheduled => "scheduled",
            SessionStatus::Cancelled => "cancelled",
        }
    }
}

/// A participant's part in a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ParticipantRole {
    Trainer,
    Moderator,
    Learner,
    Guest,
}

impl ParticipantRole {
    pub const ALL: [ParticipantRole; 4] = [Self::Trainer, Self::Moderator, Self::Learner, Self::Guest];

    pub fn as_str(self) -> &'static str {
        match self {
            ParticipantRole::Trainer => "trainer",
            ParticipantRole::Moderator => "moderator",
            ParticipantRole::Learner => "learner",
            ParticipantRole::Guest => "guest",
        }
    }

    /// Trainers and moderators moderate the Jitsi room.
    pub fn is_moderator(self) -> bool {
        matches!(self, ParticipantRole::Trainer | ParticipantRole::Moderator)
    }

    /// The role a stored or typed word names.
    pub fn parse(s: &str) -> Option<ParticipantRole> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A participant's answer to the invitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rsvp {
    Pending,
    Accepted,
    Declined,
}

impl Rsvp {
    pub fn as_str(self) -> &'static str {
        match self {
            Rsvp::Pending => "pending",
            Rsvp::Accepted => "accepted",
            Rsvp::Declined => "declined",
        }
    }

    /// The answer a stored word names.
    pub fn parse(s: &str) -> Option<Rsvp> {
        match s {
            "pending" => Some(Rsvp::Pending),
            "accepted" => Some(Rsvp::Accepted),
            "declined" => Some(Rsvp::Declined),
            _ => None,
        }
    }
}

/// Why a booking or a change of one was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookingRefusal {
    #[error("no active account has the email {email}")]
    UnknownTrainer { email: String },
    #[error("{email} is a {role} account, not a trainer")]
    NotATrainer { email: String, role: Role },
    #[error("{} already teaches “{}” at that time", .0.email, .0.title)]
    Conflict(Box<ConflictWith>),
    #[error("unknown course")]
    CourseNotFound,
    #[error("the session has ended")]
    Ended,
    #[error("the session is cancelled")]
    Cancelled,
    #[error("a course with the code {code} already exists")]
    CourseCodeTaken { code: String },
    /// One request would add more participations than allowed.
    #[error("{count} participations in one request (at most {max})")]
    TooManyParticipations { count: usize, max: usize },
    /// The account added its hour's worth of participations already.
    #[error("at most {max} participations per hour")]
    HourlyLimit { max: usize },
    /// An address-book entry merged into another stays archived and is merged no further.
    #[error("this contact was merged into another")]
    ContactMerged,
    /// A contact cannot be merged into itself.
    #[error("a contact cannot be merged into itself")]
    MergeSelf,
}

/// The session that makes a booking conflict, and whose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictWith {
    /// The account that would be in two places.
    pub email: String,
    pub session_id: String,
    pub title: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub time_zone: String,
}
