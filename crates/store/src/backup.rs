//! Backups of the embedded database: a consistent copy taken while the server runs (`VACUUM
//! INTO`, one read transaction: every row as of one instant), and the inspection of a copy
//! before it is restored. PostgreSQL has its own tools (`pg_dump`, `pg_restore`).

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::Row as _;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions as _, Connection as _};

use crate::db::{Pool, args};
use crate::migrate::MIGRATIONS;
use crate::{Result, Store, StoreError};

/// What a backup file holds, as far as a restore needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    pub schema_version: i64,
    pub accounts: i64,
    pub sessions: i64,
    pub jitsi_servers: i64,
}

/// The database file of a `sqlite:` URL (`None` for PostgreSQL or a bad URL).
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    if !url.starts_with("sqlite:") {
        return None;
    }
    SqliteConnectOptions::from_str(url)
        .ok()
        .map(|o| o.get_filename().to_path_buf())
}

impl Store {
    /// SQLite: writes a consistent copy of the whole database to `path`, which must not exist
    /// or be empty (created 0600 beforehand by the caller). Writers carry on meanwhile.
    pub async fn backup_into(&self, path: &Path) -> Result<()> {
        let Pool::Sqlite { .. } = self.pool else {
            return Err(StoreError::Backup(
                "PostgreSQL databases are backed up with pg_dump (see the README)".into(),
            ));
        };
        let target = path
            .to_str()
            .ok_or_else(|| StoreError::Backup(format!("{} is not a UTF-8 path", path.display())))?;
        let mut c = self.pool.read().await?;
        c.conn().exec("VACUUM INTO $1", args![target]).await?;
        Ok(())
    }
}

/// Opens `path` read-only and checks it is a whole Dialogue database this program can run:
/// SQLite's `quick_check`, Dialogue's migrations table, a schema no newer than this program's.
pub async fn inspect_backup(path: &Path) -> Result<BackupInfo> {
    let not_ours = |why: String| StoreError::Backup(format!("{} is not a Dialogue database: {why}", path.display()));
    if !path.is_file() {
        return Err(StoreError::Backup(format!("{} is not a file", path.display())));
    }
    let mut conn = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .create_if_missing(false)
        .connect()
        .await
        .map_err(|e| not_ours(e.to_string()))?;
    let check: String = sqlx::query("PRAGMA quick_check")
        .fetch_one(&mut conn)
        .await
        .and_then(|r| r.try_get(0))
        .map_err(|e| not_ours(e.to_string()))?;
    if check != "ok" {
        return Err(not_ours(format!("damaged ({check})")));
    }
    let version: i64 = sqlx::query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
        .fetch_one(&mut conn)
        .await
        .and_then(|r| r.try_get(0))
        .map_err(|_| not_ours("it has no schema_migrations table".into()))?;
    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    if version > known {
        return Err(StoreError::SchemaTooNew { found: version, known });
    }
    let mut counts = [0i64; 3];
    for (i, sql) in [
        "SELECT COUNT(*) FROM users",
        "SELECT COUNT(*) FROM sessions",
        "SELECT COUNT(*) FROM jitsi_servers",
    ]
    .into_iter()
    .enumerate()
    {
        counts[i] = sqlx::query(sql)
            .fetch_one(&mut conn)
            .await
            .and_then(|r| r.try_get(0))
            .map_err(|e| not_ours(e.to_string()))?;
    }
    let info = BackupInfo {
        schema_version: version,
        accounts: counts[0],
        sessions: counts[1],
        jitsi_servers: counts[2],
    };
    conn.close().await.ok();
    Ok(info)
}
