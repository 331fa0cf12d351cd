//! The retention job: the `[retention]` periods turned into cutoffs at `now`, then the store
//! removes or anonymises what is older (`store::retention`), or, dry, counts it.

use jiff::{SignedDuration, Timestamp};
use store::{RetentionCounts, RetentionCutoffs};

use crate::error::Result;
use crate::{RetentionConfig, Service};

/// The cutoffs of `config` at `now`.
pub fn cutoffs(config: &RetentionConfig, now: Timestamp) -> RetentionCutoffs {
    let before = |days: u32| now - SignedDuration::from_hours(24 * i64::from(days));
    RetentionCutoffs {
        evidence: before(config.attendance_days),
        contacts: before(config.contacts_days),
        mail: before(config.mail_days),
        events: before(config.jitsi_events_days),
        audit: before(config.audit_days),
        login: before(config.login_days),
        batch: i64::from(config.batch.max(1)),
    }
}

/// Runs the job once at the service's clock (`dry`: counts only, changes nothing).
pub async fn run(svc: &Service, dry: bool) -> Result<RetentionCounts> {
    let cut = cutoffs(&svc.config().retention, svc.now());
    if dry {
        return Ok(svc.store().retention_plan(&cut).await?);
    }
    let counts = svc.store().retention_apply(&cut).await?;
    if counts.total() > 0 {
        tracing::info!(
            evidence_sessions = counts.evidence_sessions,
            signatures = counts.signatures,
            corrections = counts.corrections,
            connection_events = counts.connection_events,
            participants_anonymised = counts.participants_anonymised,
            contacts = counts.contacts,
            mail = counts.mail,
            reminders = counts.reminders,
            jitsi_events_anonymised = counts.jitsi_events_anonymised,
            jitsi_events_unmatched = counts.jitsi_events_unmatched,
            reservations_anonymised = counts.reservations_anonymised,
            audit_entries = counts.audit_entries,
            login_rows = counts.login_rows,
            "retention: data past its period removed or anonymised"
        );
    } else {
        tracing::debug!("retention: nothing past its period");
    }
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cutoffs_are_each_period_before_now() {
        let now: Timestamp = "2030-06-01T00:00:00Z".parse().unwrap();
        let c = cutoffs(&RetentionConfig::default(), now);
        assert_eq!(c.mail, "2030-03-03T00:00:00Z".parse::<Timestamp>().unwrap());
        assert_eq!(c.login, "2030-05-02T00:00:00Z".parse::<Timestamp>().unwrap());
        assert!(c.evidence < "2027-06-01T00:00:00Z".parse::<Timestamp>().unwrap());
        assert_eq!(c.batch, 500);
    }
}
