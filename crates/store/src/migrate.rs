//! Embedded migrations, one file per backend with the same meaning, applied in order.
//!
//! Each migration runs in its own transaction together with its bookkeeping row, so a failure
//! leaves the schema as it was. Several instances starting at once are serialised (PostgreSQL
//! advisory lock; SQLite's write lock).

use crate::db::{Pool, args};
use crate::{Result, StoreError};

/// One schema change.
pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

macro_rules! migration {
    ($version:literal, $name:literal, $file:literal) => {
        Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../migrations/sqlite/", $file)),
            postgres: include_str!(concat!("../migrations/postgres/", $file)),
        }
    };
}

/// Every migration this program knows, in order.
pub static MIGRATIONS: &[Migration] = &[
    migration!(1, "accounts", "0001_accounts.sql"),
    migration!(2, "booking", "0002_booking.sql"),
    migration!(3, "booking_indexes", "0003_booking_indexes.sql"),
    migration!(4, "jitsi", "0004_jitsi.sql"),
    migration!(5, "mail", "0005_mail.sql"),
    migration!(6, "added_by", "0006_added_by.sql"),
    migration!(7, "attendance", "0007_attendance.sql"),
    migration!(8, "contacts", "0008_contacts.sql"),
    migration!(9, "series_events", "0009_series_events.sql"),
    migration!(10, "sign_reminders", "0010_sign_reminders.sql"),
    migration!(11, "welcome", "0011_welcome.sql"),
    migration!(12, "join_notify", "0012_join_notify.sql"),
    migration!(13, "prosody_accounts", "0013_prosody_accounts.sql"),
    migration!(14, "personal_rooms", "0014_personal_rooms.sql"),
    migration!(15, "jaas_webhook_action_nature", "0015_jaas_webhook_action_nature.sql"),
    migration!(16, "room_owner_arrival", "0016_room_owner_arrival.sql"),
    migration!(17, "instances", "0017_instances.sql"),
    migration!(18, "prosody_trust_and_cleanup", "0018_prosody_trust_and_cleanup.sql"),
];

const BOOKKEEPING: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (\
    version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)";

/// An arbitrary constant naming Dialogue's migration lock among PostgreSQL advisory locks.
const PG_LOCK_KEY: i64 = 0x6469_616c_6f67;

pub(crate) async fn run(pool: &Pool, now: jiff::Timestamp) -> Result<usize> {
    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    let mut applied = 0;
    for migration in MIGRATIONS {
        let mut tx = pool.write().await?;
        let mut c = tx.conn();
        if c.is_postgres() {
            c.exec("SELECT pg_advisory_xact_lock($1)", args![PG_LOCK_KEY]).await?;
            // `CREATE TABLE IF NOT EXISTS` on an existing table sends a NOTICE ("relation …
            // already exists, skipping"), which sqlx logs at INFO (target
            // `sqlx::postgres::notice`): one per migration at every start. Not news: silenced for
            // this transaction only.
            c.script("SET LOCAL client_min_messages = warning").await?;
        }
        c.script(BOOKKEEPING).await?;
        let latest = c
            .count("SELECT COALESCE(MAX(version), 0) AS n FROM schema_migrations", &[])
            .await?;
        if latest > known {
            return Err(StoreError::SchemaTooNew { found: latest, known });
        }
        let done = c
            .count(
                "SELECT COUNT(*) AS n FROM schema_migrations WHERE version = $1",
                args![migration.version],
            )
            .await?;
        if done > 0 {
            continue;
        }
        let script = if c.is_postgres() {
            migration.postgres
        } else {
            migration.sqlite
        };
        let wrap = |source| StoreError::Migration {
            version: migration.version,
            name: migration.name,
            source: Box::new(source),
        };
        c.script(script).await.map_err(wrap)?;
        c.exec(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            args![migration.version, migration.name, now.as_second()],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(version = migration.version, name = migration.name, "migration applied");
        applied += 1;
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::MIGRATIONS;

    /// Each migration exists for both backends under the same file name, versions increase
    /// strictly (a number reserved by another branch may be missing for a while), and no file on
    /// disk is missing from the list.
    #[test]
    fn migrations_are_listed_for_both_backends() {
        let mut previous = 0;
        for m in MIGRATIONS {
            assert!(
                m.version > previous,
                "versions must increase: {} after {previous}",
                m.version
            );
            previous = m.version;
            assert!(!m.sqlite.trim().is_empty() && !m.postgres.trim().is_empty());
        }
        for backend in ["sqlite", "postgres"] {
            let dir = format!("{}/migrations/{backend}", env!("CARGO_MANIFEST_DIR"));
            let mut files: Vec<String> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            files.sort();
            assert_eq!(
                files.len(),
                MIGRATIONS.len(),
                "{dir} has a file that MIGRATIONS does not list"
            );
        }
    }
}
