//! What admins watch: the mail outbox (and retrying what failed), the audit log, and whether the
//! database answers (for `/readyz`).

use domain::UserAction;
use store::{AuditRecord, OutboxCounts, OutboxLine, OutboxStatus};

use crate::error::{Error, Result};
use crate::{Caller, Service};

fn require(actor: &domain::Actor, action: UserAction) -> Result<()> {
    if actor.may(action) {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// The outbox's counts by status, and one page of its messages with `statuses` (all when empty),
/// newest first.
pub async fn outbox(
    svc: &Service,
    actor: &domain::Actor,
    statuses: &[OutboxStatus],
    limit: i64,
    offset: i64,
) -> Result<(OutboxCounts, Vec<OutboxLine>)> {
    require(actor, UserAction::ManageMail)?;
    let counts = svc.store().outbox_counts().await?;
    let lines = svc.store().list_outbox(statuses, limit, offset.max(0)).await?;
    Ok((counts, lines))
}

/// Queues a failed message again, now.
pub async fn retry_mail(svc: &Service, caller: &Caller, id: &str) -> Result<()> {
    require(&caller.actor, UserAction::ManageMail)?;
    Ok(svc
        .store()
        .retry_outbox(id, svc.now(), &caller.audit("outbox.retry"))
        .await?)
}

/// The newest audit entries first, `limit` of them, older than `before` (a sequence number).
pub async fn audit_log(
    svc: &Service,
    actor: &domain::Actor,
    limit: i64,
    before: Option<i64>,
) -> Result<Vec<AuditRecord>> {
    require(actor, UserAction::ReadAuditLog)?;
    Ok(svc.store().audit_log(limit, before).await?)
}

/// The database's kind (`sqlite`, `postgres`) and whether it answers within `timeout`.
pub async fn database_ready(svc: &Service, timeout: std::time::Duration) -> (&'static str, Result<(), &'static str>) {
    let backend = match svc.store().backend() {
        store::Backend::Sqlite => "sqlite",
        store::Backend::Postgres => "postgres",
    };
    let answer = match tokio::time::timeout(timeout, svc.store().ping()).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check: database unreachable");
            Err("unreachable")
        }
        Err(_) => Err("timeout"),
    };
    (backend, answer)
}
