//! Personal links: each participant's `/j/<key>`, re-derived from the secret key (never stored,
//! only its hash), revoked and re-issued by those who manage the session's people; and who was
//! in the room, for those who may see the session.

use domain::{Actor, SessionAction};
use store::{Participant, Presence, SessionDetail};

use crate::error::{Error, Result};
use crate::{Caller, Service, booking};

/// The personal link of `participant`: `<public URL>/j/<key>`. The binary always configures the
/// link secret, so this only comes out empty in a misconfigured test setup (and says so in the
/// log).
pub fn join_url(svc: &Service, participant: &Participant) -> String {
    match svc.store().join_key(&participant.id, participant.link_version) {
        Ok(key) => svc.url(&format!("/j/{key}")),
        Err(e) => {
            tracing::error!(error = %e, "cannot derive a personal link");
            String::new()
        }
    }
}

/// Whether `actor` manages the people (and so the links) of the session: admins, managers and
/// its trainers, while it is neither over nor cancelled.
pub fn may_manage(svc: &Service, actor: &Actor, detail: &SessionDetail) -> bool {
    let facts = booking::facts(detail, actor, svc.now());
    booking::may(svc, actor, SessionAction::EditParticipants, facts)
}

/// Revokes a participant's link and issues a new one (the old one answers 404 from now on).
pub async fn reissue(svc: &Service, caller: &Caller, session_id: &str, participant_id: &str) -> Result<Participant> {
    let (detail, facts) = booking::view(svc, &caller.actor, session_id).await?;
    booking::require(svc, &caller.actor, SessionAction::EditParticipants, facts)?;
    if !detail.participants.iter().any(|p| p.id == participant_id) {
        return Err(Error::NotFound);
    }
    Ok(svc
        .store()
        .reissue_link(
            session_id,
            participant_id,
            svc.now(),
            &caller.audit("participant.link_reissue"),
        )
        .await?)
}

/// Who is in the session's room now and who came, for those who may see the session.
pub async fn presence(svc: &Service, actor: &Actor, session_id: &str) -> Result<Presence> {
    booking::view(svc, actor, session_id).await?;
    let events = svc.store().presence_events(session_id).await?;
    Ok(domain::presence::compute_presence(&events, svc.now()))
}
