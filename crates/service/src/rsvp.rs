//! Answers to invitations: a participant accepts or declines from their personal link (the mail's
//! buttons, the waiting page). Trainers are not asked. A cancelled or ended session takes no
//! more answers.

use i18n::Message;
use store::{BookingRefusal, Participant, ParticipantRole, Rsvp, RsvpCounts, Session, SessionDetail, StoreError};

use crate::error::{Error, Result};
use crate::{Service, join};

/// One person's answer, for the session page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsvpLine {
    pub name: String,
    pub email: String,
    pub role: ParticipantRole,
    pub answer: Rsvp,
}

/// The answers of a session's participants (learners, guests and external moderators: those
/// who were asked) and their counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsvpSummary {
    pub counts: RsvpCounts,
    pub people: Vec<RsvpLine>,
}

/// What the session page shows of the answers.
pub fn summary(detail: &SessionDetail) -> RsvpSummary {
    let asked: Vec<Participant> = detail
        .participants
        .iter()
        .filter(|p| p.role != ParticipantRole::Trainer)
        .cloned()
        .collect();
    RsvpSummary {
        counts: RsvpCounts::of(&asked, true),
        people: asked
            .into_iter()
            .map(|p| RsvpLine {
                name: p.name,
                email: p.email,
                role: p.role,
                answer: p.rsvp,
            })
            .collect(),
    }
}

/// An answer as a link or a button says it.
pub fn parse_answer(text: &str) -> Option<Rsvp> {
    match text.trim() {
        "accepted" | "accept" | "yes" => Some(Rsvp::Accepted),
        "declined" | "decline" | "no" => Some(Rsvp::Declined),
        _ => None,
    }
}

/// The participant and session of a personal link.
pub async fn find(svc: &Service, key: &str) -> Result<(Participant, Session)> {
    if !join::plausible_key(key) {
        return Err(Error::NotFound);
    }
    svc.store()
        .participant_by_link(&store::Store::link_hash(key))
        .await?
        .ok_or(Error::NotFound)
}

/// Records `answer` (as typed) for the participant of the link `key`; with `whole_series`, for
/// each session of its series still ahead where they take part. Returns how many participations
/// were answered.
pub async fn answer(svc: &Service, key: &str, answer: &str, whole_series: bool) -> Result<u64> {
    find(svc, key).await?;
    let Some(answer) = parse_answer(answer) else {
        return Err(Error::invalid("answer", Message::new("rsvp.error.answer")));
    };
    match svc
        .store()
        .set_rsvp(&store::Store::link_hash(key), answer, whole_series, svc.now())
        .await
    {
        Ok((_, _, answered)) => Ok(answered),
        Err(StoreError::Booking(BookingRefusal::Cancelled | BookingRefusal::Ended)) => {
            Err(Error::conflict("answer", Message::new("rsvp.error.closed")))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_parsed_strictly() {
        assert_eq!(parse_answer("accepted"), Some(Rsvp::Accepted));
        assert_eq!(parse_answer("declined"), Some(Rsvp::Declined));
        assert_eq!(parse_answer("pending"), None);
        assert_eq!(parse_answer(""), None);
    }
}
