//! Who holds each instance name (`mail.instance`): the name is the owner of the instance's
//! outbox leases, and an instance that starts takes back at once what its previous process
//! held. Two live processes under one name would take back each other's leases and deliver
//! twice, so a process claims the name at start ([`Store::claim_instance`]) and says it is
//! alive every few seconds ([`Store::instance_heartbeat`]); a start under a name whose holder
//! is alive is refused by the caller, who decides what "alive" means (fresh heartbeat, and on
//! the same host a running pid).

use std::sync::atomic::Ordering;

use jiff::Timestamp;

use crate::db::{Row, args};
use crate::{Result, Store, ts};

/// An arbitrary constant naming the instance-name lock among PostgreSQL advisory locks.
const PG_INSTANCE_LOCK: i64 = 0x6469_616c_6f68;

/// The process holding an instance name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceHolder {
    pub name: String,
    /// Random per process start.
    pub boot_id: String,
    pub host: String,
    pub pid: i64,
    pub started_at: Timestamp,
    pub heartbeat_at: Timestamp,
    /// How often it says it is alive.
    pub heartbeat_seconds: i64,
}

/// What claiming a name gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceClaim {
    /// The name is this process's now; `previous` held it before and is gone.
    Taken { previous: Option<InstanceHolder> },
    /// Another process holds it and is alive: nothing was written.
    Held(InstanceHolder),
}

/// What a heartbeat found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heartbeat {
    /// Still ours; the heartbeat is recorded.
    Held,
    /// Another process took the name (shown when it is still there): counted once per process
    /// in [`Store::instance_conflicts`].
    Lost(Option<InstanceHolder>),
}

fn holder(r: &dyn Row) -> Result<InstanceHolder> {
    Ok(InstanceHolder {
        name: r.text("name")?,
        boot_id: r.text("boot_id")?,
        host: r.text("host")?,
        pid: r.i64("pid")?,
        started_at: ts(r.i64("started_at")?)?,
        heartbeat_at: ts(r.i64("heartbeat_at")?)?,
        heartbeat_seconds: r.i64("heartbeat_seconds")?,
    })
}

const SELECT: &str = "SELECT name, boot_id, host, pid, started_at, heartbeat_at, heartbeat_seconds \
                      FROM instances WHERE name = $1";

impl Store {
    /// Claims `me.name` for the process `me` describes, unless another process holds it and
    /// `alive` says that one is still running. Claims are serialised (PostgreSQL advisory lock;
    /// SQLite's write lock), so of two processes starting at once under one name, one wins.
    pub async fn claim_instance(
        &self,
        me: &InstanceHolder,
        alive: &(dyn Fn(&InstanceHolder) -> bool + Send + Sync),
    ) -> Result<InstanceClaim> {
        let mut tx = self.pool.write().await?;
        let mut c = tx.conn();
        if c.is_postgres() {
            c.exec("SELECT pg_advisory_xact_lock($1)", args![PG_INSTANCE_LOCK])
                .await?;
        }
        let previous = c.opt(SELECT, args![&me.name], holder).await?;
        if let Some(other) = &previous
            && other.boot_id != me.boot_id
            && alive(other)
        {
            return Ok(InstanceClaim::Held(other.clone()));
        }
        c.exec(
            "INSERT INTO instances (name, boot_id, host, pid, started_at, heartbeat_at, heartbeat_seconds) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO UPDATE SET boot_id = excluded.boot_id, \
             host = excluded.host, pid = excluded.pid, started_at = excluded.started_at, \
             heartbeat_at = excluded.heartbeat_at, heartbeat_seconds = excluded.heartbeat_seconds",
            args![
                &me.name,
                &me.boot_id,
                &me.host,
                me.pid,
                me.started_at.as_second(),
                me.heartbeat_at.as_second(),
                me.heartbeat_seconds
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(InstanceClaim::Taken { previous })
    }

    /// Records that the process `boot_id` holding `name` is alive at `now`; tells when another
    /// process has taken the name meanwhile (then nothing is written).
    pub async fn instance_heartbeat(&self, name: &str, boot_id: &str, now: Timestamp) -> Result<Heartbeat> {
        let mut tx = self.pool.write().await?;
        let updated = tx
            .conn()
            .exec(
                "UPDATE instances SET heartbeat_at = $3 WHERE name = $1 AND boot_id = $2",
                args![name, boot_id, now.as_second()],
            )
            .await?;
        if updated == 1 {
            tx.commit().await?;
            return Ok(Heartbeat::Held);
        }
        let now_held = tx.conn().opt(SELECT, args![name], holder).await?;
        drop(tx);
        self.instance_conflicts.fetch_add(1, Ordering::Relaxed);
        Ok(Heartbeat::Lost(now_held))
    }

    /// Gives the name up (a graceful stop), if this process still holds it.
    pub async fn leave_instance(&self, name: &str, boot_id: &str) -> Result<()> {
        let mut tx = self.pool.write().await?;
        tx.conn()
            .exec(
                "DELETE FROM instances WHERE name = $1 AND boot_id = $2",
                args![name, boot_id],
            )
            .await?;
        tx.commit().await
    }

    /// How many times this process found its instance name taken by another (for `/metrics`).
    pub fn instance_conflicts(&self) -> u64 {
        self.instance_conflicts.load(Ordering::Relaxed)
    }
}
