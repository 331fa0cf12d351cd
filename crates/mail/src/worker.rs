//! The outbox worker: turns due reminders into messages, claims due messages under a lease,
//! renders and delivers them, and records the outcome. Any number of workers (one per
//! instance) may run against one database; the lease keeps them off each other's rows.
//!
//! Failures: a permanent refusal (5xx) fails the message at once with the server's answer; a
//! temporary one (no connection, timeout, 4xx) is retried with exponential backoff and jitter
//! (from 30 s, doubling, at most an hour apart) until the message's give-up time (a day after it
//! was written; a reminder's is the session's start), when it fails with the last error.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use store::{MailKind, OutboxMessage, SeriesView, SessionDetail, Store, reason};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::message::{Input, MailSettings, Outcome, render};
use crate::transport::{SendError, Transport};

/// Where "now" comes from (the server's clock; tests move it).
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// How the worker paces itself.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// The longest wait between two looks at the outbox (writes wake the worker sooner).
    pub poll: Duration,
    /// How long a claimed message is reserved; must exceed a delivery's longest duration.
    pub lease: SignedDuration,
    /// Messages claimed at once.
    pub batch: i64,
    /// Messages delivered at the same time.
    pub concurrency: usize,
    /// This instance's stable name (`mail.instance`), the lease owner of its rows: at start the
    /// worker queues again the rows it held before a crash. `None`: a random name per process,
    /// whose rows wait for their lease to expire.
    pub instance: Option<String>,
    /// How often the instance says in the database that it holds its name (see
    /// [`Worker::claim_instance`]); it counts as gone after three periods without.
    pub heartbeat: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions {
            poll: Duration::from_secs(5),
            lease: SignedDuration::from_mins(5),
            batch: 20,
            concurrency: 4,
            instance: None,
            heartbeat: Duration::from_secs(10),
        }
    }
}

/// What one pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pass {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
    pub superseded: usize,
}

impl Pass {
    pub fn handled(&self) -> usize {
        self.sent + self.retried + self.failed + self.superseded
    }
}

/// The outbox worker of one instance.
#[derive(Clone)]
pub struct Worker {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    transport: Transport,
    settings: MailSettings,
    clock: Clock,
    options: WorkerOptions,
    /// This worker's lease owner name: the instance's stable name, or random per process.
    owner: String,
    /// Whether `owner` is stable across restarts (its rows are released at start).
    stable_owner: bool,
    /// Random per process: tells this process's claim of the instance name from another's.
    boot_id: String,
    /// The lease owner used once another live process turned out to hold the same instance
    /// name: a random one, whose rows no restart of the other releases.
    fallback_owner: String,
    /// Set when another process took this instance's name while it ran.
    name_lost: std::sync::atomic::AtomicBool,
    /// The SMTP outage in progress, if any (see [`Outage`]).
    outage: std::sync::Mutex<Outage>,
}

/// Temporary delivery failures in a row, logged as one outage: the first failure at INFO, one
/// WARN once it has lasted [`OUTAGE_WARN_AFTER`] or [`OUTAGE_WARN_FAILURES`] failed attempts,
/// and an INFO when a message goes through again; each message's own retry is at DEBUG.
#[derive(Debug, Default)]
struct Outage {
    since: Option<Timestamp>,
    failures: u64,
    warned: bool,
}

/// An outage is logged at WARN once it has lasted this long…
pub const OUTAGE_WARN_AFTER: SignedDuration = SignedDuration::from_secs(60);
/// …or this many delivery attempts have failed, whichever comes first.
pub const OUTAGE_WARN_FAILURES: u64 = 10;

/// Finished messages of sessions over for this long are forgotten (they hold addresses).
pub const KEEP_FINISHED: SignedDuration = SignedDuration::from_hours(90 * 24);

/// The first retry comes after about this long…
const FIRST_RETRY: SignedDuration = SignedDuration::from_secs(30);
/// …each one waits twice as long as the previous, up to this.
const LONGEST_RETRY: SignedDuration = SignedDuration::from_hours(1);

/// Why this instance may not start: another live process holds its name.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error(
        "the instance name {:?} (mail.instance) is already held by a running Dialogue: process {} on host {}, \
         started at {}, alive {} s ago. Two live instances under one name would take back each other's mail \
         and deliver it twice: give each instance its own mail.instance (DIALOGUE_MAIL_INSTANCE), or stop the \
         other one (if it is gone, this start succeeds {} s after its last sign of life)",
        .holder.name, .holder.pid, .holder.host, .holder.started_at, .seconds_ago, .wait_seconds
    )]
    InUse {
        holder: store::InstanceHolder,
        seconds_ago: i64,
        wait_seconds: i64,
    },
    #[error("cannot record this instance's name: {0}")]
    Store(#[from] store::StoreError),
}

/// How many heartbeat periods without one make a holder count as gone.
const MISSED_HEARTBEATS: i64 = 3;

/// Whether the process holding an instance name is alive, seen at `now` by the process `pid`
/// on `host`: its heartbeat is fresh (less than three of its periods old) and, when it runs on
/// this host, its pid is a running process of the same program (not this one: a container
/// restarted under the same pid). A process killed on this host is gone at once; on another
/// host, after three heartbeat periods.
pub fn holder_alive(holder: &store::InstanceHolder, now: Timestamp, host: &str, pid: u32) -> bool {
    let silent = now.duration_since(holder.heartbeat_at).as_secs();
    if silent > MISSED_HEARTBEATS * holder.heartbeat_seconds.max(1) {
        return false;
    }
    if holder.host == host {
        return holder.pid != i64::from(pid) && same_program_runs(holder.pid);
    }
    true
}

/// Whether `pid` is a running process with this program's name (Linux `/proc`).
fn same_program_runs(pid: i64) -> bool {
    let comm = |p: &str| std::fs::read_to_string(format!("/proc/{p}/comm")).ok();
    match comm("self") {
        Some(ours) => comm(&pid.to_string()).is_some_and(|theirs| theirs == ours),
        // No /proc (not Linux): the fresh heartbeat alone decides.
        None => true,
    }
}

/// This machine's name (Linux), for the default `mail.instance` and the instance's record.
pub fn host_name() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|path| std::fs::read_to_string(path).ok())
        .map(|name| name.trim().to_owned())
        .find(|name| !name.is_empty())
}

impl Worker {
    pub fn new(
        store: Store,
        transport: Transport,
        settings: MailSettings,
        clock: Clock,
        options: WorkerOptions,
    ) -> Self {
        let (owner, stable_owner) = match options.instance.as_deref() {
            Some(name) => (format!("instance:{name}"), true),
            None => (format!("worker-{}", store::new_id()), false),
        };
        Worker {
            inner: Arc::new(Inner {
                store,
                transport,
                settings,
                clock,
                options,
                owner,
                stable_owner,
                boot_id: store::new_id(),
                fallback_owner: format!("worker-{}", store::new_id()),
                name_lost: std::sync::atomic::AtomicBool::new(false),
                outage: std::sync::Mutex::new(Outage::default()),
            }),
        }
    }

    /// The lease owner of the rows claimed now.
    fn owner(&self) -> &str {
        if self.inner.name_lost.load(std::sync::atomic::Ordering::Relaxed) {
            &self.inner.fallback_owner
        } else {
            &self.inner.owner
        }
    }

    /// Claims this instance's name (`mail.instance`) for this process, before the worker runs:
    /// refused while another process holds it and is alive (see [`holder_alive`]). Nothing to
    /// do without a stable name. Returns the previous holder, gone, if there was one.
    pub async fn claim_instance(&self) -> Result<Option<store::InstanceHolder>, ClaimError> {
        let Some(name) = self.inner.options.instance.as_deref() else {
            return Ok(None);
        };
        let now = (self.inner.clock)();
        let host = host_name().unwrap_or_default();
        let pid = std::process::id();
        let me = store::InstanceHolder {
            name: name.to_owned(),
            boot_id: self.inner.boot_id.clone(),
            host: host.clone(),
            pid: i64::from(pid),
            started_at: now,
            heartbeat_at: now,
            heartbeat_seconds: self.heartbeat_seconds(),
        };
        let alive = move |h: &store::InstanceHolder| holder_alive(h, now, &host, pid);
        match self.inner.store.claim_instance(&me, &alive).await? {
            store::InstanceClaim::Taken { previous } => Ok(previous),
            store::InstanceClaim::Held(holder) => {
                let seconds_ago = now.duration_since(holder.heartbeat_at).as_secs().max(0);
                let wait_seconds = (MISSED_HEARTBEATS * holder.heartbeat_seconds.max(1) - seconds_ago).max(1);
                Err(ClaimError::InUse {
                    holder,
                    seconds_ago,
                    wait_seconds,
                })
            }
        }
    }

    fn heartbeat_seconds(&self) -> i64 {
        self.inner.options.heartbeat.as_secs().max(1) as i64
    }

    /// Says in the database, every heartbeat period, that this process still holds its
    /// instance name. Should another process have taken it (started under the same name after
    /// this one went silent), says so once at ERROR, counts it (`/metrics`), and from then on
    /// leases under a random owner, so that neither process takes back the other's messages.
    pub async fn keep_instance(self) {
        let Some(name) = self.inner.options.instance.clone() else {
            return;
        };
        let mut tick = tokio::time::interval(Duration::from_secs(self.heartbeat_seconds() as u64));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let now = (self.inner.clock)();
            match self
                .inner
                .store
                .instance_heartbeat(&name, &self.inner.boot_id, now)
                .await
            {
                Ok(store::Heartbeat::Held) => {}
                Ok(store::Heartbeat::Lost(other)) => {
                    self.inner.name_lost.store(true, std::sync::atomic::Ordering::Relaxed);
                    tracing::error!(
                        instance = %name,
                        other_host = other.as_ref().map_or("", |o| o.host.as_str()),
                        other_pid = other.as_ref().map_or(0, |o| o.pid),
                        owner = %self.inner.fallback_owner,
                        "another process took this instance's name (mail.instance): two live instances share it; \
                         give each its own mail.instance. This one now leases mail under a random owner and takes \
                         nothing back"
                    );
                    return;
                }
                Err(e) => tracing::warn!(error = %e, "cannot record this instance's heartbeat"),
            }
        }
    }

    /// Gives the instance name up at a graceful stop (a restart then claims it at once).
    pub async fn leave_instance(&self) {
        let Some(name) = self.inner.options.instance.as_deref() else {
            return;
        };
        if let Err(e) = self.inner.store.leave_instance(name, &self.inner.boot_id).await {
            tracing::warn!(error = %e, "cannot give up this instance's name");
        }
    }

    pub fn transport(&self) -> &Transport {
        &self.inner.transport
    }

    /// Runs until `stop` turns true; a pass in progress is finished first (so no delivery is
    /// cut off half-way by a graceful stop).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut waker = self.inner.store.outbox_waker().await;
        tracing::info!(transport = %self.inner.transport.describe(), owner = %self.inner.owner, "mail outbox worker started");
        if self.inner.stable_owner && !self.inner.name_lost.load(std::sync::atomic::Ordering::Relaxed) {
            // This instance's previous process is gone (the same name cannot run twice, see
            // `mail.instance`): what it held is not being delivered, so it goes out now rather
            // than when the leases expire.
            match self
                .inner
                .store
                .release_own_leases(&self.inner.owner, (self.inner.clock)())
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    messages = n,
                    "messages held by this instance before it stopped queued again"
                ),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot release this instance's earlier leases: they wait for their expiry")
                }
            }
        }
        let mut purged_at: Option<Timestamp> = None;
        loop {
            if *stop.borrow() {
                break;
            }
            let now = (self.inner.clock)();
            if purged_at.is_none_or(|at| now.duration_since(at) > SignedDuration::from_hours(1)) {
                purged_at = Some(now);
                match self.inner.store.purge_outbox(now - KEEP_FINISHED).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(rows = n, "old outbox rows forgotten"),
                    Err(e) => tracing::warn!(error = %e, "outbox clean-up failed"),
                }
            }
            match self.pass().await {
                // A full batch: there may be more right away.
                Ok(pass) if pass.handled() as i64 >= self.inner.options.batch => continue,
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "mail outbox pass failed"),
            }
            tokio::select! {
                () = waker.wait(self.inner.options.poll) => {}
                _ = stop.changed() => {}
            }
        }
        tracing::info!("mail outbox worker stopped");
    }

    /// One pass: due reminders become messages, then one batch of due messages is delivered.
    pub async fn pass(&self) -> store::Result<Pass> {
        let inner = &self.inner;
        let now = (inner.clock)();
        let reminders = inner.store.promote_due_reminders(now).await?;
        if reminders > 0 {
            tracing::info!(reminders, "reminders due");
        }
        // The rows claimed now are finished under the same owner, whatever happens meanwhile.
        let owner: Arc<str> = Arc::from(self.owner());
        let claimed = inner
            .store
            .claim_outbox(&owner, now, inner.options.lease, inner.options.batch)
            .await?;
        if claimed.is_empty() {
            return Ok(Pass::default());
        }
        // Each session (and course) is read once per batch.
        let mut details: HashMap<String, Option<Arc<Loaded>>> = HashMap::new();
        for m in &claimed {
            let Some(session_id) = &m.session_id else {
                continue;
            };
            if details.contains_key(session_id) {
                continue;
            }
            let detail = match inner.store.session(session_id).await? {
                Some(detail) => {
                    let course = match &detail.session.course_id {
                        Some(id) => inner.store.course(id).await?.map(|c| c.course.title),
                        None => None,
                    };
                    Some(Arc::new((detail, course)))
                }
                None => None,
            };
            details.insert(session_id.clone(), detail);
        }
        let mut pass = Pass::default();
        let mut tasks = JoinSet::new();
        for m in claimed {
            while tasks.len() >= inner.options.concurrency.max(1) {
                if let Some(done) = tasks.join_next().await {
                    tally(&mut pass, done);
                }
            }
            let detail = m.session_id.as_ref().and_then(|id| details.get(id).cloned().flatten());
            let worker = self.clone();
            let owner = owner.clone();
            tasks.spawn(async move { worker.deliver(m, detail, &owner).await });
        }
        while let Some(done) = tasks.join_next().await {
            tally(&mut pass, done);
        }
        Ok(pass)
    }

    async fn deliver(&self, m: OutboxMessage, detail: Option<Arc<Loaded>>, owner: &str) -> Handled {
        let inner = &self.inner;
        let store = &inner.store;
        let now = (inner.clock)();
        let join_key = |id: &str, version: i64| store.join_key(id, version).map_err(|e| e.to_string());
        let series = match self.series_of(&m, detail.as_deref().map(|(d, _)| d)).await {
            Ok(series) => series,
            Err(e) => {
                // The lease runs out and the message is taken again.
                tracing::warn!(id = %m.id, error = %e, "cannot read the message's series");
                return Handled::Retried;
            }
        };
        // A welcome message's set-password link, opened only here and only for rendering (the
        // token is never logged; the row is wiped when finished, see the store's `welcome.rs`).
        let welcome_url = match m.kind {
            MailKind::Welcome => match store.welcome_token(&m, now).await {
                Ok(Some(token)) => Some(format!("{}/password/{token}", inner.settings.public_url)),
                Ok(None) if m.snapshot.sealed_token.is_some() => {
                    tracing::info!(id = %m.id, kind = m.kind.as_str(), reason = reason::LINK_SPENT, "message not needed any more");
                    return store
                        .outbox_superseded(&m.id, owner, now, reason::LINK_SPENT)
                        .await
                        .map(|_| Handled::Superseded)
                        .unwrap_or_else(|e| {
                            tracing::warn!(id = %m.id, error = %e, "cannot record a delivery outcome");
                            Handled::Retried
                        });
                }
                Ok(None) => None,
                Err(e) => {
                    tracing::warn!(id = %m.id, error = %e, "cannot open the message's link");
                    None
                }
            },
            _ => None,
        };
        let input = Input {
            message: &m,
            welcome_url: welcome_url.as_deref(),
            detail: detail.as_deref().map(|(d, _)| d),
            course: detail.as_deref().and_then(|(_, c)| c.as_deref()),
            series: series.as_ref(),
            settings: &inner.settings,
            join_key: &join_key,
            now,
        };
        let outcome = render(&input);
        let result = match outcome {
            Ok(Outcome::Skip(why)) => {
                tracing::info!(id = %m.id, kind = m.kind.as_str(), reason = why, "message not needed any more");
                store
                    .outbox_superseded(&m.id, owner, now, why)
                    .await
                    .map(|_| Handled::Superseded)
            }
            Err(e) => {
                tracing::warn!(id = %m.id, error = %e, "message cannot be built");
                store
                    .outbox_failed(&m.id, owner, now, None, &e.to_string())
                    .await
                    .map(|_| Handled::Failed)
            }
            Ok(Outcome::Send(rendered)) => {
                let sent = inner.transport.send(&m.id, m.created_at, &rendered.message).await;
                let now = (inner.clock)();
                match sent {
                    Ok(()) => {
                        self.delivered(now);
                        tracing::info!(id = %m.id, kind = m.kind.as_str(), attempts = m.attempts, "message sent");
                        match store.outbox_sent(&m.id, owner, now, &rendered.subject).await {
                            Ok(true) => Ok(Handled::Sent),
                            Ok(false) => {
                                tracing::warn!(id = %m.id, "message sent after its lease expired: another worker may send it again");
                                Ok(Handled::Sent)
                            }
                            Err(e) => Err(e),
                        }
                    }
                    Err(SendError::Permanent(e)) => {
                        tracing::warn!(id = %m.id, error = %e, "message refused");
                        store
                            .outbox_failed(&m.id, owner, now, Some(&rendered.subject), &e)
                            .await
                            .map(|_| Handled::Failed)
                    }
                    Err(SendError::Temporary(e)) => {
                        self.failed_for_now(now, &e);
                        let next = now + backoff(m.attempts);
                        if next > m.give_up_at {
                            tracing::warn!(id = %m.id, error = %e, attempts = m.attempts, "message given up");
                            let why = format!("gave up after {} attempts: {e}", m.attempts);
                            store
                                .outbox_failed(&m.id, owner, now, Some(&rendered.subject), &why)
                                .await
                                .map(|_| Handled::Failed)
                        } else {
                            tracing::debug!(id = %m.id, error = %e, attempts = m.attempts, next = %next, "message delayed");
                            store
                                .outbox_retry_later(&m.id, owner, now, next, Some(&rendered.subject), &e)
                                .await
                                .map(|_| Handled::Retried)
                        }
                    }
                }
            }
        };
        result.unwrap_or_else(|e| {
            // The lease runs out and the message is taken again.
            tracing::warn!(id = %m.id, error = %e, "cannot record a delivery outcome");
            Handled::Retried
        })
    }
}

impl Worker {
    /// A temporary failure: part of an outage, logged once when it begins and once when it lasts.
    fn failed_for_now(&self, now: Timestamp, error: &str) {
        // A poisoned lock only means a logging decision was interrupted: go on with its state.
        let mut outage = self.inner.outage.lock().unwrap_or_else(|e| e.into_inner());
        outage.failures += 1;
        let since = *outage.since.get_or_insert(now);
        if outage.failures == 1 {
            tracing::info!(error, "mail server not accepting messages: retrying later");
        }
        let lasted = now.duration_since(since);
        if !outage.warned && (lasted >= OUTAGE_WARN_AFTER || outage.failures >= OUTAGE_WARN_FAILURES) {
            outage.warned = true;
            tracing::warn!(
                error,
                since = %since,
                failures = outage.failures,
                "mail server outage: messages are waiting and retried with backoff"
            );
        }
    }

    /// A message went through: an outage in progress is over.
    fn delivered(&self, now: Timestamp) {
        let mut outage = self.inner.outage.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(since) = outage.since.take() {
            tracing::info!(
                failures = outage.failures,
                lasted_seconds = now.duration_since(since).as_secs(),
                "mail delivery recovered"
            );
            *outage = Outage::default();
        }
    }

    /// The series a message is about as its recipient's calendar holds it: for an invitation to
    /// the whole series, and for any message about one of its sessions once the recipient was
    /// sent one (their calendar then holds one event, which only overrides may change).
    async fn series_of(&self, m: &OutboxMessage, detail: Option<&SessionDetail>) -> store::Result<Option<SeriesView>> {
        let store = &self.inner.store;
        let norm = m.recipient_email.to_lowercase();
        let series_id = match (&m.series_id, detail.and_then(|d| d.session.series_id.as_deref())) {
            (Some(id), _) => id.as_str(),
            // The withdrawal of a session's own event (it went into the series' event) names
            // that event, not an occurrence of the series.
            (None, Some(id))
                if matches!(m.kind, MailKind::Invitation | MailKind::Update | MailKind::Cancellation)
                    && !m.snapshot.into_series
                    && store.heard_as_series(id, &norm).await? =>
            {
                id
            }
            _ => return Ok(None),
        };
        store.series_view(series_id, &m.participant_id, &norm).await
    }
}

/// A session with its participants, and its course's title.
type Loaded = (SessionDetail, Option<String>);

enum Handled {
    Sent,
    Retried,
    Failed,
    Superseded,
}

fn tally(pass: &mut Pass, done: Result<Handled, tokio::task::JoinError>) {
    match done {
        Ok(Handled::Sent) => pass.sent += 1,
        Ok(Handled::Retried) => pass.retried += 1,
        Ok(Handled::Failed) => pass.failed += 1,
        Ok(Handled::Superseded) => pass.superseded += 1,
        Err(e) => tracing::error!(error = %e, "a delivery task panicked"),
    }
}

/// How long to wait after the `attempts`-th failed attempt: exponential ("equal jitter": half
/// the step fixed, half random), so that many messages failing together do not retry together.
pub fn backoff(attempts: i64) -> SignedDuration {
    let exponent = attempts.clamp(1, 20) - 1;
    let step = FIRST_RETRY
        .checked_mul(1_i32 << exponent)
        .unwrap_or(LONGEST_RETRY)
        .min(LONGEST_RETRY);
    let half = step.as_secs() / 2;
    let random = u64::from_le_bytes(store::random_bytes::<8>());
    let jitter = if half > 0 {
        (random % (half as u64 + 1)) as i64
    } else {
        0
    };
    SignedDuration::from_secs(half + jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(host: &str, pid: i64, silent_secs: i64, now: Timestamp) -> store::InstanceHolder {
        store::InstanceHolder {
            name: "n".into(),
            boot_id: "b".into(),
            host: host.into(),
            pid,
            started_at: now - SignedDuration::from_hours(1),
            heartbeat_at: now - SignedDuration::from_secs(silent_secs),
            heartbeat_seconds: 10,
        }
    }

    /// Another host: alive while its heartbeat is less than three periods old. This host: alive
    /// only if its pid is a running process of this program, and not this very process.
    #[test]
    fn a_holder_is_alive_while_it_heartbeats_and_runs() {
        let now = Timestamp::now();
        let me = std::process::id();
        assert!(holder_alive(&holder("elsewhere", 1, 29, now), now, "here", me));
        assert!(!holder_alive(&holder("elsewhere", 1, 31, now), now, "here", me));
        // This process itself under the same pid (a container restarted): gone.
        assert!(!holder_alive(&holder("here", i64::from(me), 1, now), now, "here", me));
        // A pid that is no process, or another program's: gone.
        assert!(!holder_alive(
            &holder("here", i64::from(u32::MAX), 1, now),
            now,
            "here",
            me
        ));
        assert!(!holder_alive(&holder("here", 1, 1, now), now, "here", me + 1));
        // A running process of this program (the test binary's own pid, seen as another's).
        assert!(holder_alive(
            &holder("here", i64::from(me), 1, now),
            now,
            "here",
            me + 1
        ));
        assert!(!holder_alive(
            &holder("here", i64::from(me), 31, now),
            now,
            "here",
            me + 1
        ));
    }

    #[test]
    fn backoff_grows_with_jitter_up_to_an_hour() {
        for attempts in 1..40 {
            let expected = (30_i64 << (attempts.min(20) - 1)).min(3600);
            for _ in 0..20 {
                let d = backoff(attempts).as_secs();
                assert!(d >= expected / 2 && d <= expected, "attempt {attempts}: {d}s");
            }
        }
        // It is random: not always the same.
        let draws: std::collections::BTreeSet<i64> = (0..50).map(|_| backoff(8).as_secs()).collect();
        assert!(draws.len() > 1);
        // A day holds many attempts before giving up.
        let mut total = 0;
        let mut n = 0;
        while total < 24 * 3600 {
            n += 1;
            total += backoff(n).as_secs();
        }
        assert!(n > 20, "{n} attempts in a day");
    }
}
