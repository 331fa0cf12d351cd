//! A person's data: export and erasure (GDPR articles 15, 17 and 20), for a contact or a
//! participant named by their email address. Admins and managers export and erase; erasing
//! attendance evidence still within its retention needs an admin's explicit force. Trainers
//! are refused. Both are audited (the export too: who saw whose data). See `store::gdpr` for
//! what is exported and what erasure changes.

use domain::{Email, Role};
use serde_json::Value;
use store::{Erasure, ErasureCounts, ErasureRequest};

use crate::error::{Error, Result};
use crate::{Caller, Message, Service};

fn allowed(caller: &Caller) -> Result<()> {
    if caller.actor.role >= Role::Manager {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

fn address(email: &str) -> Result<String> {
    Email::parse(email)
        .map(|e| e.normalized())
        .map_err(|_| Error::invalid("email", Message::new("gdpr.error.email")))
}

/// Everything Dialogue holds about the person with this address, as JSON.
pub async fn export(svc: &Service, caller: &Caller, email: &str) -> Result<Value> {
    allowed(caller)?;
    let norm = address(email)?;
    let now = svc.now();
    let Some(data) = svc.store().person_data(&norm, now).await? else {
        return Err(Error::invalid(
            "email",
            Message::new("gdpr.error.not_found").arg("email", email.trim()),
        ));
    };
    // Who saw whose data; the address stays in the log until the person is erased.
    svc.store()
        .audit(&caller.audit("gdpr.export").target("email", &norm, &norm), now)
        .await?;
    Ok(data)
}

/// Erases the person with this address; `force` (admins only) erases signatures still within
/// their retention too.
pub async fn erase(svc: &Service, caller: &Caller, email: &str, force: bool) -> Result<ErasureCounts> {
    allowed(caller)?;
    let norm = address(email)?;
    if force && caller.actor.role != Role::Admin {
        return Err(Error::Refused(vec![crate::Problem::new(
            "force",
            Message::new("gdpr.error.force"),
        )]));
    }
    let now = svc.now();
    let days = i64::from(svc.config().retention.attendance_days);
    let evidence_since = now - jiff::SignedDuration::from_hours(24 * days);
    let request = ErasureRequest {
        email_norm: &norm,
        force,
        evidence_since,
    };
    let outcome = svc
        .store()
        .erase_person(&request, &svc.secret().evidence_key(), now, &caller.audit("gdpr.erase"))
        .await?;
    match outcome {
        Erasure::Erased(counts) => {
            tracing::info!(?counts, "a person's data was erased");
            Ok(counts)
        }
        Erasure::NothingFound => Err(Error::invalid(
            "email",
            Message::new("gdpr.error.not_found").arg("email", email.trim()),
        )),
        Erasure::HasAccount => Err(Error::conflict(
            "email",
            Message::new("gdpr.error.account").arg("email", email.trim()),
        )),
        Erasure::EvidenceHeld { signatures, sessions } => Err(Error::conflict(
            "force",
            Message::new("gdpr.error.evidence")
                .arg("signatures", signatures)
                .arg("sessions", sessions),
        )),
        Erasure::ChainBroken { session_id } => Err(Error::conflict(
            "email",
            Message::new("gdpr.error.chain").arg("session", session_id),
        )),
    }
}
