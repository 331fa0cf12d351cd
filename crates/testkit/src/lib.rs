//! Real peers for Dialogue's tests. Each test gets its own throwaway database (a temporary
//! SQLite file, or a PostgreSQL database `t_<random>` dropped afterwards) so tests run in
//! parallel. A peer that is missing makes the test fail with a message saying how to install it:
//! nothing is ever skipped silently.

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use sqlx::Connection;

/// An HTTP client builder for tests. The workspace builds reqwest without a crypto provider of
/// its own (ring is the one built; see `directory::tls`), so a client needs ring installed as
/// the process's provider first, as the binary does at start: this does it, whatever ran before.
pub fn http() -> reqwest::ClientBuilder {
    // Err only means a provider is installed already.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
}

/// A default HTTP client for tests (see [`http`]).
pub fn client() -> reqwest::Client {
    http().build().expect("an HTTP client")
}

/// `GET url` with a default client (see [`http`]).
pub async fn get(url: impl reqwest::IntoUrl) -> reqwest::Result<reqwest::Response> {
    client().get(url).send().await
}

/// A throwaway certificate authority and a server certificate it signed for 127.0.0.1 and
/// localhost, written in `dir`: `(authority.pem, server.pem, server.key)`. Made with the
/// `openssl` command (the test fails saying how to install it when it is missing).
pub fn tls_authority_and_server(dir: &std::path::Path) -> (PathBuf, PathBuf, PathBuf) {
    let openssl = require_program(&["openssl"], "apt-get install -y openssl");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(&openssl)
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl runs");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::fs::write(
        dir.join("server.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n\
         extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
    )
    .expect("the extensions file");
    run(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "2",
        "-keyout",
        "authority.key",
        "-out",
        "authority.pem",
        "-subj",
        "/CN=Dialogue test authority",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    run(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ]);
    run(&[
        "x509",
        "-req",
        "-days",
        "2",
        "-set_serial",
        "1",
        "-in",
        "server.csr",
        "-CA",
        "authority.pem",
        "-CAkey",
        "authority.key",
        "-extfile",
        "server.ext",
        "-out",
        "server.pem",
    ]);
    (
        dir.join("authority.pem"),
        dir.join("server.pem"),
        dir.join("server.key"),
    )
}

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
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
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

    /// Runs statements (`;`-separated, no parameters) on this database directly: for a bench
    /// or a test that sets a state no use case writes (mail of the past already delivered).
    pub async fn execute(&self, sql: &'static str) -> Result<(), sqlx::Error> {
        match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await?;
                sqlx::raw_sql(sql).execute(&mut conn).await?;
                conn.close().await
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await?;
                sqlx::raw_sql(sql).execute(&mut conn).await?;
                conn.close().await
            }
        }
    }

    /// Every `table.column` of this database whose value, as text, contains `needle`
    /// (case-insensitively, ASCII): for a test that must find a person nowhere.
    pub async fn find_text(&self, needle: &str) -> Result<Vec<String>, sqlx::Error> {
        use sqlx::Row as _;
        let pattern = format!("%{}%", needle.to_lowercase());
        let mut hits = Vec::new();
        match self.backend {
            Backend::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await?;
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                )
                .fetch_all(&mut conn)
                .await?;
                for table in tables {
                    let info = format!("SELECT name FROM pragma_table_info('{table}')");
                    let columns: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(info))
                        .fetch_all(&mut conn)
                        .await?;
                    for column in columns {
                        // Names from the catalogue, quoted.
                        let sql = format!(
                            "SELECT COUNT(*) AS n FROM \"{table}\" WHERE LOWER(CAST(\"{column}\" AS TEXT)) LIKE ?1"
                        );
                        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                            .bind(&pattern)
                            .fetch_one(&mut conn)
                            .await?;
                        if row.try_get::<i64, _>("n")? > 0 {
                            hits.push(format!("{table}.{column}"));
                        }
                    }
                }
                conn.close().await?;
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await?;
                let columns: Vec<(String, String)> = sqlx::query_as(
                    "SELECT table_name::text, column_name::text FROM information_schema.columns \
                     WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
                )
                .fetch_all(&mut conn)
                .await?;
                for (table, column) in columns {
                    let sql = format!(
                        "SELECT COUNT(*) AS n FROM \"{table}\" WHERE LOWER(CAST(\"{column}\" AS TEXT)) LIKE $1"
                    );
                    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(&pattern)
                        .fetch_one(&mut conn)
                        .await?;
                    if row.try_get::<i64, _>("n")? > 0 {
                        hits.push(format!("{table}.{column}"));
                    }
                }
                conn.close().await?;
            }
        }
        Ok(hits)
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

/// A free TCP port on 127.0.0.1 (bound then released: a peer started right after gets it).
pub fn free_port() -> u16 {
    match std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
        Ok(addr) => addr.port(),
        Err(e) => panic!("no free port: {e}"),
    }
}

/// Waits until something accepts connections on `port`, or panics naming `what`.
pub async fn wait_for_port(port: u16, what: &str) {
    for _ in 0..200 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{what} did not start listening on port {port} within 10 s");
}

/// The path of a program a test needs, or a panic saying how to install it.
pub fn require_program(candidates: &[&str], install: &str) -> PathBuf {
    for candidate in candidates {
        let path = PathBuf::from(candidate);
        if path.is_absolute() && path.exists() {
            return path;
        }
        if let Some(found) = std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|dir| dir.join(candidate))
            .find(|p| p.exists())
        {
            return found;
        }
    }
    panic!(
        "this test needs {} (not found). Install it with: {install}",
        candidates.join(" or ")
    );
}

/// A peer process (nginx, an SMTP server, a browser driver) that is killed when dropped, with
/// its working directory removed.
pub struct Peer {
    pub port: u16,
    pub dir: PathBuf,
    child: std::process::Child,
}

impl Peer {
    /// Starts `program args` in `dir` and waits for it to listen on `port`.
    pub async fn start(program: &std::path::Path, args: &[&str], dir: PathBuf, port: u16, what: &str) -> Peer {
        let log = std::fs::File::create(dir.join("peer.log")).expect("peer log");
        let child = std::process::Command::new(program)
            .args(args)
            .current_dir(&dir)
            .stdout(log.try_clone().expect("peer log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what} ({}): {e}", program.display()));
        let mut peer = Peer { port, dir, child };
        for _ in 0..200 {
            if let Ok(Some(status)) = peer.child.try_wait() {
                let log = std::fs::read_to_string(peer.dir.join("peer.log")).unwrap_or_default();
                panic!("{what} exited ({status}) before listening:\n{log}");
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return peer;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("{what} did not start listening on port {port} within 10 s");
    }

    /// What the peer printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("peer.log")).unwrap_or_default()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// nginx on `port` in front of `upstream_port`, with `auth_basic` over `users` (name, password, groups),
/// passing the identity as `X-Remote-User`, `X-Remote-Email` (`<user>@example.org`) and
/// `X-Remote-Groups`, and connecting to the upstream from 127.0.0.2 (so that the test client on
/// 127.0.0.1 is a different, untrusted, address).
pub async fn nginx_auth_basic(port: u16, upstream_port: u16, users: &[(&str, &str, &str)]) -> Peer {
    let nginx = require_program(&["/usr/sbin/nginx", "nginx"], "apt-get install -y nginx");
    let dir = temp_dir("nginx");
    let htpasswd: String = users.iter().map(|(u, p, _)| format!("{u}:{{PLAIN}}{p}\n")).collect();
    if let Err(e) = std::fs::write(dir.join("htpasswd"), htpasswd) {
        panic!("cannot write htpasswd: {e}");
    }
    let groups: String = users.iter().map(|(u, _, g)| format!("    {u} \"{g}\";\n")).collect();
    let d = dir.display();
    let conf = format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
           fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
           map $remote_user $dialogue_groups {{\n{groups}    default \"\";\n  }}\n\
           server {{\n    listen 127.0.0.1:{port};\n    location / {{\n      auth_basic \"Dialogue\";\n\
               auth_basic_user_file {d}/htpasswd;\n      proxy_pass http://127.0.0.1:{upstream_port};\n\
               proxy_bind 127.0.0.2;\n      proxy_set_header Host $http_host;\n\
               proxy_set_header X-Remote-User $remote_user;\n\
               proxy_set_header X-Remote-Email $remote_user@example.org;\n\
               proxy_set_header X-Remote-Groups $dialogue_groups;\n\
               proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n    }}\n  }}\n}}\n"
    );
    if let Err(e) = std::fs::write(dir.join("nginx.conf"), conf) {
        panic!("cannot write nginx.conf: {e}");
    }
    let conf_path = dir.join("nginx.conf").display().to_string();
    let prefix = format!("{d}/");
    Peer::start(&nginx, &["-c", &conf_path, "-p", &prefix], dir, port, "nginx").await
}
pub mod browser;
