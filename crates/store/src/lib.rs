//! Dialogue's storage: SQLite (the embedded default) and PostgreSQL behind one [`Store`].
//!
//! The rest of the code sees only `Store` and its typed models; SQL lives in this crate alone.
//! Both backends run the same statements through [`db`]'s small neutral layer and pass the same
//! contract suite (`tests/contract.rs`). Instants are stored as Unix seconds (`BIGINT`) next to
//! the IANA zone the user chose; identifiers are random (no sequence leaks into a link).
#![forbid(unsafe_code)]

mod attendance;
mod audit;
mod auth;
mod backup;
mod contacts;
mod courses;
mod db;
mod feeds;
mod gdpr;
mod ids;
mod instances;
mod jitsi_servers;
mod join_watch;
mod migrate;
mod outbox;
mod participants;
mod personal_rooms;
mod prosody_accounts;
mod reminders;
mod retention;
mod rooms;
mod series;
mod sessions;
mod tokens;
mod users;
mod welcome;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use tokio::sync::Mutex;

pub use attendance::{
    ChainCheck, CorrectionRow, CourseAttendanceRows, NewCorrection, SignOutcome, SignatureContent, SignatureRow,
};
pub use audit::{AuditEntry, AuditRecord};
pub use auth::{LoginSession, OneTimeToken, Throttle, TokenPurpose};
pub use backup::{BackupInfo, inspect_backup, sqlite_path};
pub use contacts::{Contact, ContactFilter, ContactInput, ContactPage, ContactSession, MergeOutcome};
pub use courses::{Course, CourseDetail, CourseInput};
pub use domain::presence::{Attendee, JitsiEventKind, Presence, PresenceEvent};
pub use domain::session::{BookingRefusal, ConflictWith, ParticipantRole, Rsvp, SessionStatus};
pub use gdpr::{ERASED_NAME, Erasure, ErasureCounts, ErasureRequest, erased_email};
pub use ids::{new_id, random_bytes};
pub use instances::{Heartbeat, InstanceClaim, InstanceHolder};
pub use jitsi_servers::{JitsiRefusal, JitsiServer, JitsiServerInput, TokenModeKind, XmppAdmin};
pub use migrate::MIGRATIONS;
pub use outbox::{
    LeasesReclaimed, MailKind, MailPolicy, MailSnapshot, OutboxCounts, OutboxHealth, OutboxLine, OutboxMessage,
    OutboxStatus, OutboxWaker, reason,
};
pub use participants::RsvpCounts;
pub use participants::{Participant, ParticipationBudget, People};
pub use personal_rooms::{PersonalRoom, RoomReservation};
pub use prosody_accounts::{ProsodyAccount, ProsodyOrphan};
pub use retention::{RetentionCounts, RetentionCutoffs};
pub use rooms::{JoinTarget, NewJitsiEvent, Reservation, ReservationOutcome, RoomSession};
pub use series::{Occurrence, Series, SeriesView};
pub use sessions::{Change, NewSessions, Session, SessionDetail, SessionFilter, SessionSummary, SessionUpdate};
pub use tokens::ApiToken;
pub use users::{NewUser, ProfileUpdate, User, UserFilter};
pub use welcome::WelcomeLink;

use db::Pool;

/// What can go wrong in storage. The refusals a person can cause (a taken email, the last admin)
/// have their own variants so the web layer can explain them.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("unsupported database URL {0:?}: expected sqlite:PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("cannot create the database directory {path}: {source}")]
    CreateDir { path: String, source: std::io::Error },
    #[error("migration {version} ({name}) failed: {source}")]
    Migration {
        version: i64,
        name: &'static str,
        source: Box<StoreError>,
    },
    #[error("the database schema is at version {found}, newer than this program knows ({known}): upgrade dialogue")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("{0}")]
    Backup(String),
    #[error("a stored value is invalid: {0}")]
    Corrupt(String),
    #[error("an account with this email address already exists")]
    EmailTaken,
    #[error("this is the last active administrator")]
    LastAdmin,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Booking(#[from] BookingRefusal),
    #[error("{0}")]
    Jitsi(#[from] JitsiRefusal),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// How to open the database.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Connections in the pool (PostgreSQL; SQLite readers).
    pub max_connections: u32,
    /// How long a writer waits for another process's write lock on SQLite.
    pub busy_timeout: Duration,
    /// How long to wait for a pooled connection before failing.
    pub acquire_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            max_connections: 10,
            busy_timeout: Duration::from_secs(30),
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

/// A connection pool's use (for `/metrics`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStats {
    pub size: u32,
    pub idle: usize,
    pub max: u32,
}

/// The one storage interface of Dialogue. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    /// Derives personal-link keys (see [`Store::join_key`]); set by [`Store::set_link_secret`].
    links: Option<std::sync::Arc<domain::links::LinkSecret>>,
    /// Seals the secrets outbox rows carry (see `welcome.rs`); set with the link secret.
    sealer: Option<std::sync::Arc<welcome::MailSealer>>,
    /// Recent join lookups, exact while no write has been committed since (SQLite), or while no
    /// change was notified since (PostgreSQL, see `join_watch.rs`).
    joins: std::sync::Arc<rooms::JoinCache>,
    /// PostgreSQL: what the notifications of changes to a join's answer say (see `join_watch.rs`).
    join_watch: std::sync::Arc<join_watch::JoinWatch>,
    /// The mail policy and the outbox worker's wake-up (see `outbox.rs`).
    mail: outbox::MailHooks,
    /// What one request and one account per hour may add (see `participants.rs`).
    budget: participants::ParticipationBudget,
    /// Times this process found its instance name taken by another (see `instances.rs`).
    instance_conflicts: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Store {
    /// Opens (and for SQLite creates, with its directories) the database named by `url`:
    /// `sqlite:PATH` / `sqlite://PATH`, or `postgres://…` / `postgresql://…`. Does not migrate.
    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<Store> {
        let pool = if url.starts_with("sqlite:") {
            let connect = SqliteConnectOptions::from_str(url)
                .map_err(|_| StoreError::UnsupportedUrl(redact(url)))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(options.busy_timeout)
                .pragma("temp_store", "memory")
                // Reads through a shared memory map instead of each pooled connection's own small
                // page cache: lookups in a large database stay warm whichever connection serves
                // them (measured in BENCHMARKS.md, "Booking").
                .pragma("mmap_size", "1073741824")
                // The server copies the log into the database in the background
                // (`Store::checkpoint`); a commit does it itself only past this many pages, so
                // a request rarely waits for a checkpoint's writes and syncs.
                .pragma("wal_autocheckpoint", "10000");
            let file = connect.get_filename();
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                create_dir(dir)?;
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(options.max_connections.max(2))
                .min_connections(1)
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect)
                .await?;
            Pool::Sqlite {
                pool,
                writer: Arc::new(Mutex::new(())),
                commits: Arc::new(std::sync::atomic::AtomicU64::new(0)),
            }
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let connect = PgConnectOptions::from_str(url).map_err(|_| StoreError::UnsupportedUrl(redact(url)))?;
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections.max(2))
                .acquire_timeout(options.acquire_timeout)
                .connect_with(connect)
                .await?;
            Pool::Postgres(pool, Arc::new(std::sync::atomic::AtomicU64::new(0)))
        } else {
            return Err(StoreError::UnsupportedUrl(redact(url)));
        };
        Ok(Store {
            pool,
            links: None,
            sealer: None,
            joins: std::sync::Arc::default(),
            join_watch: std::sync::Arc::default(),
            mail: outbox::MailHooks::default(),
            budget: participants::ParticipationBudget::default(),
            instance_conflicts: std::sync::Arc::default(),
        })
    }

    /// Sets the secret from which personal-link keys are derived (a key of the server's own,
    /// at least 32 bytes). Without it, booking refuses to create participants.
    pub fn set_link_secret(&mut self, secret: &[u8]) {
        self.links = Some(std::sync::Arc::new(domain::links::LinkSecret::new(secret)));
        // HMAC takes a key of any length and yields 32 bytes, exactly an AES-256 key, so the
        // derivation does not fail; should it, sealing reports the missing key when used.
        self.sealer = welcome::MailSealer::new(secret).ok().map(std::sync::Arc::new);
    }

    /// Sets how many participations one request, and one account per hour, may add.
    pub fn set_participation_budget(&mut self, budget: ParticipationBudget) {
        self.budget = budget;
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite { .. } => Backend::Sqlite,
            Pool::Postgres(..) => Backend::Postgres,
        }
    }

    /// Applies the embedded migrations that are not applied yet; returns how many ran.
    pub async fn migrate(&self, now: jiff::Timestamp) -> Result<usize> {
        migrate::run(&self.pool, now).await
    }

    /// Reaches the database (for `/readyz` and `dialogue check`).
    pub async fn ping(&self) -> Result<()> {
        let mut c = self.pool.read().await?;
        c.conn().count("SELECT CAST(1 AS BIGINT) AS n", &[]).await?;
        Ok(())
    }

    /// SQLite: copies the write-ahead log into the database file as far as readers allow,
    /// without waiting for or blocking anyone (`PASSIVE`). The server calls it every few
    /// seconds. PostgreSQL: nothing to do.
    pub async fn checkpoint(&self) -> Result<()> {
        if let Pool::Sqlite { .. } = self.pool {
            let mut c = self.pool.read().await?;
            c.conn().script("PRAGMA wal_checkpoint(PASSIVE)").await?;
        }
        Ok(())
    }

    /// This process's connection pool: connections open, idle, and the most it opens.
    pub fn pool_stats(&self) -> PoolStats {
        match &self.pool {
            Pool::Sqlite { pool, .. } => PoolStats {
                size: pool.size(),
                idle: pool.num_idle(),
                max: pool.options().get_max_connections(),
            },
            Pool::Postgres(pool, _) => PoolStats {
                size: pool.size(),
                idle: pool.num_idle(),
                max: pool.options().get_max_connections(),
            },
        }
    }

    /// Closes every connection, waiting for those in use.
    pub async fn close(&self) {
        self.pool.close().await
    }
}

fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
        path: dir.display().to_string(),
        source,
    })
}

/// A database URL with its password hidden, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Converts stored Unix seconds to an instant.
pub(crate) fn ts(seconds: i64) -> Result<jiff::Timestamp> {
    jiff::Timestamp::from_second(seconds).map_err(|e| StoreError::Corrupt(format!("timestamp {seconds}: {e}")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn redact_hides_passwords() {
        assert_eq!(super::redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(super::redact("sqlite:data/x.db"), "sqlite:data/x.db");
    }
}
