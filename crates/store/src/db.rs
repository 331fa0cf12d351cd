//! A backend-neutral query layer over typed SQLite and PostgreSQL pools.
//!
//! Every query in this crate is written once, as static SQL with `$1`-style placeholders (which
//! both sqlx drivers bind by number), with arguments as [`Arg`] values and rows read through the
//! object-safe [`Row`] trait. Each backend keeps its native driver: SQLite's connect options (WAL,
//! busy timeout, foreign keys) and `BEGIN IMMEDIATE`, PostgreSQL's row locks. Where the two
//! dialects differ, the caller picks the statement with [`Conn::is_postgres`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnection, PgPool, PgRow};
use sqlx::sqlite::{SqliteConnection, SqlitePool, SqliteRow};
use sqlx::{Postgres, Row as _, Sqlite, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::StoreError;

pub(crate) type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A value bound to a `$N` placeholder.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Arg<'a> {
    I64(i64),
    OptI64(Option<i64>),
    Text(&'a str),
    OptText(Option<&'a str>),
    Bool(bool),
}

impl<'a> From<&'a str> for Arg<'a> {
    fn from(v: &'a str) -> Self {
        Arg::Text(v)
    }
}
impl<'a> From<&'a String> for Arg<'a> {
    fn from(v: &'a String) -> Self {
        Arg::Text(v)
    }
}
impl<'a> From<Option<&'a str>> for Arg<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Arg::OptText(v)
    }
}
impl From<i64> for Arg<'_> {
    fn from(v: i64) -> Self {
        Arg::I64(v)
    }
}
impl From<Option<i64>> for Arg<'_> {
    fn from(v: Option<i64>) -> Self {
        Arg::OptI64(v)
    }
}
impl From<bool> for Arg<'_> {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

/// Builds an `&[Arg]` from expressions: `args![id, name, 3_i64]`.
macro_rules! args {
    ($($value:expr),* $(,)?) => { &[$($crate::db::Arg::from($value)),*] };
}
pub(crate) use args;

/// A row, read by column name whatever the backend.
pub(crate) trait Row {
    fn i64(&self, col: &str) -> Result<i64>;
    fn opt_i64(&self, col: &str) -> Result<Option<i64>>;
    fn text(&self, col: &str) -> Result<String>;
    fn opt_text(&self, col: &str) -> Result<Option<String>>;
    fn bool(&self, col: &str) -> Result<bool>;
}

macro_rules! impl_row {
    ($row:ty) => {
        impl Row for $row {
            fn i64(&self, col: &str) -> Result<i64> {
                Ok(self.try_get::<i64, _>(col)?)
            }
            fn text(&self, col: &str) -> Result<String> {
                Ok(self.try_get::<String, _>(col)?)
            }
            fn opt_i64(&self, col: &str) -> Result<Option<i64>> {
                Ok(self.try_get::<Option<i64>, _>(col)?)
            }
            fn opt_text(&self, col: &str) -> Result<Option<String>> {
                Ok(self.try_get::<Option<String>, _>(col)?)
            }
            fn bool(&self, col: &str) -> Result<bool> {
                Ok(self.try_get::<bool, _>(col)?)
            }
        }
    };
}
impl_row!(SqliteRow);
impl_row!(PgRow);

/// Turns a row into a value.
pub(crate) type Mapper<T> = fn(&dyn Row) -> Result<T>;

macro_rules! bind_all {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match *arg {
                Arg::I64(v) => query.bind(v),
                Arg::OptI64(v) => query.bind(v),
                Arg::Text(v) => query.bind(v),
                Arg::OptText(v) => query.bind(v),
                Arg::Bool(v) => query.bind(v),
            };
        }
        query
    }};
}

/// One connection of either backend, borrowed from a pool or a transaction.
pub(crate) enum Conn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Postgres(&'c mut PgConnection),
}

impl Conn<'_> {
    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self, Conn::Postgres(_))
    }

    /// Runs a statement; returns the number of rows it changed.
    pub(crate) async fn exec(&mut self, sql: &'static str, args: &[Arg<'_>]) -> Result<u64> {
        Ok(match self {
            Conn::Sqlite(c) => bind_all!(sqlx::query::<Sqlite>(sql), args)
                .execute(&mut **c)
                .await?
                .rows_affected(),
            Conn::Postgres(c) => bind_all!(sqlx::query::<Postgres>(sql), args)
                .execute(&mut **c)
                .await?
                .rows_affected(),
        })
    }

    pub(crate) async fn all<T>(&mut self, sql: &'static str, args: &[Arg<'_>], map: Mapper<T>) -> Result<Vec<T>> {
        match self {
            Conn::Sqlite(c) => {
                let rows = bind_all!(sqlx::query::<Sqlite>(sql), args).fetch_all(&mut **c).await?;
                rows.iter().map(|r| map(r)).collect()
            }
            Conn::Postgres(c) => {
                let rows = bind_all!(sqlx::query::<Postgres>(sql), args)
                    .fetch_all(&mut **c)
                    .await?;
                rows.iter().map(|r| map(r)).collect()
            }
        }
    }

    pub(crate) async fn opt<T>(&mut self, sql: &'static str, args: &[Arg<'_>], map: Mapper<T>) -> Result<Option<T>> {
        match self {
            Conn::Sqlite(c) => {
                let row = bind_all!(sqlx::query::<Sqlite>(sql), args)
                    .fetch_optional(&mut **c)
                    .await?;
                row.as_ref().map(|r| map(r)).transpose()
            }
            Conn::Postgres(c) => {
                let row = bind_all!(sqlx::query::<Postgres>(sql), args)
                    .fetch_optional(&mut **c)
                    .await?;
                row.as_ref().map(|r| map(r)).transpose()
            }
        }
    }

    pub(crate) async fn one<T>(&mut self, sql: &'static str, args: &[Arg<'_>], map: Mapper<T>) -> Result<T> {
        self.opt(sql, args, map)
            .await?
            .ok_or(StoreError::Db(sqlx::Error::RowNotFound))
    }

    /// A single integer (`SELECT COUNT(*) AS n ...`): the column must be named `n`.
    pub(crate) async fn count(&mut self, sql: &'static str, args: &[Arg<'_>]) -> Result<i64> {
        self.one(sql, args, |r| r.i64("n")).await
    }

    /// Runs a script of several statements without arguments (migrations).
    pub(crate) async fn script(&mut self, sql: &'static str) -> Result<()> {
        match self {
            Conn::Sqlite(c) => {
                sqlx::raw_sql(sql).execute(&mut **c).await?;
            }
            Conn::Postgres(c) => {
                sqlx::raw_sql(sql).execute(&mut **c).await?;
            }
        }
        Ok(())
    }
}

/// The pool of either backend.
#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite {
        pool: SqlitePool,
        /// SQLite has one writer at a time. Writers of this process queue here (fair, no polling),
        /// then take the database's write lock with `BEGIN IMMEDIATE`, where the busy timeout covers
        /// other processes (the command line). So no write ever meets "database is locked".
        writer: Arc<Mutex<()>>,
        /// Write transactions committed by this process: a read cache tagged with the count it
        /// was read at is still exact while the count has not moved (every write of the
        /// embedded database goes through [`Pool::write`]).
        commits: Arc<AtomicU64>,
    },
    /// The pool, and the write transactions this process committed (so its own writes empty
    /// its join cache at once, before their notification comes back; see `join_watch.rs`).
    Postgres(PgPool, Arc<AtomicU64>),
}

/// A connection taken from the pool for reads (or single autocommit statements on PostgreSQL).
pub(crate) enum Pooled {
    Sqlite(PoolConnection<Sqlite>),
    Postgres(PoolConnection<Postgres>),
}

impl Pooled {
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match self {
            Pooled::Sqlite(c) => Conn::Sqlite(c),
            Pooled::Postgres(c) => Conn::Postgres(c),
        }
    }
}

/// A write transaction. Dropped without [`Tx::commit`], it rolls back.
pub(crate) struct Tx {
    // Field order matters: the transaction ends (rolls back if needed) before the writer lock
    // is released.
    inner: TxInner,
    commits: Option<Arc<AtomicU64>>,
    _writer: Option<OwnedMutexGuard<()>>,
}

enum TxInner {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

impl Tx {
    pub(crate) fn conn(&mut self) -> Conn<'_> {
        match &mut self.inner {
            TxInner::Sqlite(t) => Conn::Sqlite(t),
            TxInner::Postgres(t) => Conn::Postgres(t),
        }
    }

    pub(crate) async fn commit(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(t) => t.commit().await?,
        }
        if let Some(commits) = &self.commits {
            commits.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

impl Pool {
    pub(crate) async fn read(&self) -> Result<Pooled> {
        Ok(match self {
            Pool::Sqlite { pool, .. } => Pooled::Sqlite(pool.acquire().await?),
            Pool::Postgres(pool, _) => Pooled::Postgres(pool.acquire().await?),
        })
    }

    pub(crate) async fn write(&self) -> Result<Tx> {
        Ok(match self {
            Pool::Sqlite { pool, writer, commits } => {
                let guard = writer.clone().lock_owned().await;
                let tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                Tx {
                    inner: TxInner::Sqlite(tx),
                    commits: Some(commits.clone()),
                    _writer: Some(guard),
                }
            }
            Pool::Postgres(pool, commits) => Tx {
                inner: TxInner::Postgres(pool.begin().await?),
                commits: Some(commits.clone()),
                _writer: None,
            },
        })
    }

    /// The count of this process's committed write transactions, when it sees every write of
    /// the database (SQLite, whose writers are all in this process but for the command line,
    /// which changes no session); `None` on PostgreSQL, where other instances write too.
    pub(crate) fn commits(&self) -> Option<u64> {
        match self {
            Pool::Sqlite { commits, .. } => Some(commits.load(Ordering::SeqCst)),
            Pool::Postgres(..) => None,
        }
    }

    /// The count of write transactions this process committed, on either backend.
    pub(crate) fn local_commits(&self) -> u64 {
        match self {
            Pool::Sqlite { commits, .. } | Pool::Postgres(_, commits) => commits.load(Ordering::SeqCst),
        }
    }

    pub(crate) async fn close(&self) {
        match self {
            Pool::Sqlite { pool, .. } => pool.close().await,
            Pool::Postgres(pool, _) => pool.close().await,
        }
    }
}

/// Whether an error is a unique-constraint violation (an email or key already taken).
pub(crate) fn is_unique_violation(err: &StoreError) -> bool {
    match err {
        StoreError::Db(sqlx::Error::Database(e)) => e.is_unique_violation(),
        _ => false,
    }
}
