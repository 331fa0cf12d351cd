//! Real peers for Dialogue's tests. Each test gets its own throwaway database (a temporary
//! SQLite file, or a PostgreSQL database `t_<random>` dropped afterwards) so tests run in
//! parallel. A peer that is missing makes the test fail with a message saying how to install it:
//! nothing is ever skipped silently.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::Connection;

/// Which database a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The PostgreSQL server tests use: `DIALOGUE_TEST_POSTGRES_URL`, or the project machines'
/// local server.
pub fn postgres_admin_url() -> String {
    std::env::var("DIALOGUE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A unique suffix for names of throwaway things.
pub fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    format!(
        "{}_{}_{}",
        std::process::id(),
        nanos % 1_000_000_000_000,
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A throwaway database. Dropping it removes it.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    name: String,
    dir: Option<PathBuf>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => TestDb::sqlite(),
            Backend::Postgres => TestDb::postgres().await,
        }
    }

    /// A fresh SQLite file in a temporary directory.
    pub fn sqlite() -> TestDb {
        let dir = temp_dir("sqlite");
        let url = format!("sqlite:{}", dir.join("dialogue.db").display());
        TestDb {
            backend: Backend::Sqlite,
            url,
            name: String::new(),
            dir: Some(dir),
        }
    }

    /// A fresh PostgreSQL database on the test server. Panics with instructions when the server
    /// cannot be reached: the PostgreSQL suite must run, never be skipped.
    pub async fn postgres() -> TestDb {
        let admin = postgres_admin_url();
        let name = format!("t_{}", unique_suffix());
        let mut conn = match sqlx::PgConnection::connect(&admin).await {
            Ok(conn) => conn,
            Err(e) => panic!(
                "PostgreSQL is not reachable at {admin} ({e}).\n\
                 The PostgreSQL suite needs a server: on Debian `apt-get install -y postgresql` and \
                 `pg_ctlcluster 15 main start`, or set DIALOGUE_TEST_POSTGRES_URL to a server where this \
                 user may CREATE DATABASE."
            ),
        };
        // The name is made of digits and underscores only, so it is safe in the statement.
        let create = format!("CREATE DATABASE {name}");
        if let Err(e) = sqlx::raw_sql(sqlx::AssertSqlSafe(create)).execute(&mut conn).await {
            panic!("cannot create the test database {name} at {admin}: {e}");
        }
        let _ = conn.close().await;
        let url = match admin.rfind('/') {
            Some(slash) if slash > "postgres://".len() => format!("{}/{name}", &admin[..slash]),
            _ => format!("{admin}/{name}"),
        };
        TestDb {
            backend: Backend::Postgres,
            url,
            name,
            dir: None,
        }
    }

    /// The directory of a SQLite database (for files next to it).
    pub fn dir(&self) -> Option<&std::path::Path> {
        self.dir.as_deref()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
        if self.backend == Backend::Postgres {
            let name = std::mem::take(&mut self.name);
            // Drop runs inside the test's runtime; do the async work on a thread of its own.
            let handle = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
                    return;
                };
                rt.block_on(async move {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
                        let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(drop)).execute(&mut conn).await;
                        let _ = conn.close().await;
                    }
                });
            });
            let _ = handle.join();
        }
    }
}

/// A new empty temporary directory, removed by whoever owns it.
pub fn temp_dir(label: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dialogue-test-{label}-{}", unique_suffix()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("cannot create {}: {e}", dir.display());
    }
    dir
}

/// Runs the same async test body against SQLite and against PostgreSQL: for each name, a module
/// with a `sqlite` and a `postgres` test calling `name(Backend)`.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::Backend::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::Backend::Postgres).await
                }
            }
        )*
    };
}
