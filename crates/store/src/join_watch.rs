//! PostgreSQL: keeping each instance's join cache exact while other instances write.
//!
//! Every statement that can change a join's answer notifies the channel [`CHANNEL`] (triggers of
//! migration 0011), and the notification reaches every listening instance when its transaction
//! commits. Each instance listens on a connection of its own ([`Store::watch_joins`]) and counts
//! the notifications: a generation. A cache entry is tagged with the generation read *before*
//! its query, so a change committed while the query ran makes it stale at once.
//!
//! While the listener is not connected (at start, after its connection was lost, until the
//! `LISTEN` of a new one is confirmed), notifications may be missed: the cache is not used and
//! every join queries. Going back to listening moves the generation on, so nothing read before
//! is trusted again. A connection that dies silently (a network cut with no reset) is found by
//! a ping the listener sends itself when nothing came for [`PING_EVERY`]: the cache is then
//! trusted at most [`PING_EVERY`] + [`PING_WAIT`] past the last proof of a live connection.

use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::time::Duration;

use sqlx::postgres::PgListener;

use crate::Store;
use crate::db::Pool;

/// The channel the triggers of migration 0011 notify.
pub(crate) const CHANNEL: &str = "dialogue_join";

/// Without any message for this long, the listener checks its connection with a ping.
pub(crate) const PING_EVERY: Duration = Duration::from_secs(5);
/// How long the ping may take to come back before the connection counts as lost.
pub(crate) const PING_WAIT: Duration = Duration::from_secs(2);
/// The longest wait between two attempts to listen again.
const RETRY_MAX: Duration = Duration::from_secs(5);

/// What the notifications say, as one number that only ever grows: even while listening (the
/// generation), odd while not (the cache is not used). Since it never comes back to a value it
/// had, an entry read before an interruption never matches again.
pub(crate) struct JoinWatch {
    state: AtomicU64,
    /// The listener's backend process id, 0 when not listening (diagnostics and tests).
    pid: AtomicI32,
}

impl Default for JoinWatch {
    fn default() -> Self {
        // Not listening until the watcher says so.
        JoinWatch {
            state: AtomicU64::new(1),
            pid: AtomicI32::new(0),
        }
    }
}

impl JoinWatch {
    /// The generation, when notifications are being received.
    pub(crate) fn current(&self) -> Option<u64> {
        let state = self.state.load(Ordering::SeqCst);
        state.is_multiple_of(2).then_some(state)
    }

    /// Something a join reads changed.
    fn changed(&self) {
        self.state.fetch_add(2, Ordering::SeqCst);
    }

    /// Listening (again): entries read before are stale.
    fn listening(&self, pid: i32) {
        self.pid.store(pid, Ordering::SeqCst);
        let _ = self.state.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |s| {
            (!s.is_multiple_of(2)).then_some(s + 1)
        });
    }

    /// No longer listening: stop using the cache.
    fn lost(&self) {
        let _ = self.state.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |s| {
            s.is_multiple_of(2).then_some(s + 1)
        });
        self.pid.store(0, Ordering::SeqCst);
    }
}

/// Connects a listener to [`CHANNEL`]; returns it with its backend's process id once the
/// `LISTEN` is in effect.
async fn listen(pool: &sqlx::PgPool) -> Result<(PgListener, i32), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut listener)
        .await?;
    Ok((listener, pid))
}

/// Receives on a listening connection until it is lost (returns why).
async fn receive(pool: &sqlx::PgPool, listener: &mut PgListener, watch: &JoinWatch) -> String {
    let token = format!("ping:{}", crate::new_id());
    // When the ping sent, if any, must be back.
    let mut ping_due: Option<tokio::time::Instant> = None;
    loop {
        let wait = match ping_due {
            Some(due) => due.saturating_duration_since(tokio::time::Instant::now()),
            None => PING_EVERY,
        };
        match tokio::time::timeout(wait, listener.try_recv()).await {
            Ok(Ok(Some(n))) => {
                if n.payload() == token {
                    ping_due = None;
                } else if !n.payload().starts_with("ping:") {
                    watch.changed();
                }
            }
            Ok(Ok(None)) => return "connection lost".to_owned(),
            Ok(Err(e)) => return e.to_string(),
            Err(_) if ping_due.is_some() => return "no answer to a ping".to_owned(),
            Err(_) => {
                // From another connection: the ping comes back only if ours still works.
                if let Err(e) = sqlx::query("SELECT pg_notify($1, $2)")
                    .bind(CHANNEL)
                    .bind(&token)
                    .execute(pool)
                    .await
                {
                    tracing::debug!(error = %e, "cannot ping the join listener");
                }
                ping_due = Some(tokio::time::Instant::now() + PING_WAIT);
            }
        }
    }
}

impl Store {
    /// PostgreSQL: listens for the changes that make cached joins stale, reconnecting when the
    /// connection is lost, until the pool is closed (the server runs it as a task; without it
    /// every join queries). Returns at once on SQLite, where the cache needs no listener.
    pub async fn watch_joins(&self) {
        let Pool::Postgres(pool, _) = &self.pool else {
            return;
        };
        let watch = &self.join_watch;
        let mut retry = Duration::from_millis(50);
        while !pool.is_closed() {
            match listen(pool).await {
                Ok((mut listener, pid)) => {
                    watch.listening(pid);
                    tracing::debug!(pid, "listening for changes to joins");
                    retry = Duration::from_millis(50);
                    let why = receive(pool, &mut listener, watch).await;
                    watch.lost();
                    if pool.is_closed() {
                        return;
                    }
                    tracing::warn!(reason = %why, "join change notifications interrupted: joins query the database until listening again");
                    // Listen again at once (the old connection is dropped here).
                    continue;
                }
                Err(e) => {
                    watch.lost();
                    if pool.is_closed() {
                        return;
                    }
                    tracing::warn!(error = %e, "cannot listen for changes to joins: joins query the database");
                }
            }
            tokio::time::sleep(retry).await;
            retry = (retry * 2).min(RETRY_MAX);
        }
    }

    /// The process id of the backend that listens for changes to joins (PostgreSQL), `None`
    /// while not listening (then the join cache is not used).
    pub fn join_listener_pid(&self) -> Option<i32> {
        Some(self.join_watch.pid.load(Ordering::SeqCst)).filter(|pid| *pid != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generation_never_comes_back_and_is_unused_while_not_listening() {
        let w = JoinWatch::default();
        assert_eq!(w.current(), None, "not listening at first");
        w.changed();
        assert_eq!(w.current(), None, "changes while not listening keep it unused");
        w.listening(7);
        let g1 = w.current().unwrap();
        w.listening(7);
        assert_eq!(w.current(), Some(g1), "confirming twice moves nothing");
        w.changed();
        let g2 = w.current().unwrap();
        assert!(g2 > g1);
        w.lost();
        assert_eq!(w.current(), None);
        w.lost();
        w.listening(8);
        let g3 = w.current().unwrap();
        assert!(g3 > g2, "entries read before the interruption are stale");
    }
}
