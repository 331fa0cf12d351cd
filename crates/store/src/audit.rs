//! The audit log: who did what, when, from where. Written in the same transaction as the change
//! it records, so the log never claims a change that did not happen, nor misses one.

use jiff::Timestamp;

use crate::db::{Conn, Row, args};
use crate::{Result, Store, ts};

/// An entry to write. Build it with [`AuditEntry::new`] and the chained setters.
#[derive(Debug, Clone, Default)]
pub struct AuditEntry {
    pub actor_id: Option<String>,
    /// The actor as a person reads it (an email, `setup link`, `command line`).
    pub actor_label: String,
    /// A stable dotted name: `login`, `login.failed`, `user.create`, `user.role`, …
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub target_label: Option<String>,
    pub detail: Option<serde_json::Value>,
    pub ip: Option<String>,
}

impl AuditEntry {
    pub fn new(action: &str, actor_id: Option<&str>, actor_label: &str, ip: Option<&str>) -> Self {
        AuditEntry {
            actor_id: actor_id.map(str::to_owned),
            actor_label: actor_label.to_owned(),
            action: action.to_owned(),
            ip: ip.map(str::to_owned),
            ..Default::default()
        }
    }

    /// The same actor doing another action.
    pub fn with_action(&self, action: &str) -> Self {
        AuditEntry {
            action: action.to_owned(),
            target_type: None,
            target_id: None,
            target_label: None,
            detail: None,
            ..self.clone()
        }
    }

    pub fn target(mut self, kind: &str, id: &str, label: &str) -> Self {
        self.target_type = Some(kind.to_owned());
        self.target_id = Some(id.to_owned());
        self.target_label = Some(label.to_owned());
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: Timestamp,
    pub actor_id: Option<String>,
    pub actor_label: String,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub target_label: Option<String>,
    pub detail: Option<String>,
    pub ip: Option<String>,
}

pub(crate) async fn insert_audit(c: &mut Conn<'_>, e: &AuditEntry, now: Timestamp) -> Result<()> {
    let detail = e.detail.as_ref().map(|d| d.to_string());
    c.exec(
        "INSERT INTO audit_log (at, actor_id, actor_label, action, target_type, target_id, target_label, detail, ip) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        args![
            now.as_second(),
            e.actor_id.as_deref(),
            e.actor_label.as_str(),
            e.action.as_str(),
            e.target_type.as_deref(),
            e.target_id.as_deref(),
            e.target_label.as_deref(),
            detail.as_deref(),
            e.ip.as_deref(),
        ],
    )
    .await?;
    Ok(())
}

fn audit_row(r: &dyn Row) -> Result<AuditRecord> {
    Ok(AuditRecord {
        seq: r.i64("seq")?,
        at: ts(r.i64("at")?)?,
        actor_id: r.opt_text("actor_id")?,
        actor_label: r.text("actor_label")?,
        action: r.text("action")?,
        target_type: r.opt_text("target_type")?,
        target_id: r.opt_text("target_id")?,
        target_label: r.opt_text("target_label")?,
        detail: r.opt_text("detail")?,
        ip: r.opt_text("ip")?,
    })
}

impl Store {
    /// Changes one row (`sql` with `args`) and writes its audit entry, in one transaction; not
    /// found when no row changed.
    pub(crate) async fn update_one_audited(
        &self,
        sql: &'static str,
        args: &[crate::db::Arg<'_>],
        entry: &AuditEntry,
        now: Timestamp,
    ) -> Result<()> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        if c.exec(sql, args).await? == 0 {
            return Err(crate::StoreError::NotFound);
        }
        insert_audit(&mut c, entry, now).await?;
        tx.commit().await
    }

    /// Writes an entry on its own (for events that change nothing else: a failed login).
    pub async fn audit(&self, entry: &AuditEntry, now: Timestamp) -> Result<()> {
        let mut tx = self.pool.write().await?;
        insert_audit(&mut tx.conn(), entry, now).await?;
        tx.commit().await
    }

    /// The newest entries first, `limit` of them, older than `before` (a `seq`) when given.
    pub async fn audit_log(&self, limit: i64, before: Option<i64>) -> Result<Vec<AuditRecord>> {
        let mut c = self.pool.read().await?;
        c.conn()
            .all(
                "SELECT seq, at, actor_id, actor_label, action, target_type, target_id, target_label, detail, ip \
                 FROM audit_log WHERE seq < COALESCE($1, 9223372036854775807) ORDER BY seq DESC LIMIT $2",
                args![before, limit],
                audit_row,
            )
            .await
    }
}
