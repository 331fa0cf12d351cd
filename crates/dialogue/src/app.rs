//! Wiring: the store, the secret key, the router and the background work, bound to a listener.
//! Tests build an [`Application`] on port 0 and drive it over HTTP, as a user would.

use std::fs::OpenOptions;
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::Duration;

use service::{Clock, SecretKey};
use store::{ConnectOptions, Store};
use tokio::net::TcpListener;
use web::AppState;

use crate::config::Config;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the database {url}: {source}")]
    Database { url: String, source: store::StoreError },
    #[error("cannot migrate the database: {0}")]
    Migrate(store::StoreError),
    #[error("secret key {path}: {message}")]
    Secret { path: String, message: String },
    #[error("cannot create the data directory {path}: {source}")]
    DataDir { path: String, source: std::io::Error },
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("cannot create the setup link: {0}")]
    Setup(String),
    #[error("mail: {0}")]
    Mail(String),
    #[error("the database {0} is being restored (dialogue restore): start again when it has finished")]
    Restoring(String),
    #[error("{0}")]
    Instance(Box<mail::ClaimError>),
}

/// SQLite: a shared lock on the database file for as long as the server runs, so that `dialogue
/// restore` (which takes it exclusively) refuses to replace a database in use. Several
/// processes may hold it at once.
fn lock_database(config: &Config) -> Result<Option<std::fs::File>, StartError> {
    let Some(db) = store::sqlite_path(&config.database_url) else {
        return Ok(None);
    };
    let Ok(file) = std::fs::File::open(&db) else {
        return Ok(None);
    };
    match file.try_lock_shared() {
        Ok(()) => Ok(Some(file)),
        Err(_) => Err(StartError::Restoring(db.display().to_string())),
    }
}

/// The mail transport the configuration names.
pub fn mail_transport(config: &Config) -> Result<mail::Transport, StartError> {
    match &config.mail.transport {
        crate::config::MailTransportConfig::Files(dir) => Ok(mail::Transport::files(dir.clone())),
        crate::config::MailTransportConfig::Smtp(settings) => mail::Transport::smtp(settings).map_err(StartError::Mail),
    }
}

/// Opens the database and applies pending migrations.
pub async fn open_store(config: &Config) -> Result<Store, StartError> {
    let options = ConnectOptions {
        max_connections: config.database_max_connections,
        ..ConnectOptions::default()
    };
    let store = Store::connect(&config.database_url, &options)
        .await
        .map_err(|source| StartError::Database {
            url: store::redact(&config.database_url),
            source,
        })?;
    store
        .migrate(jiff::Timestamp::now())
        .await
        .map_err(StartError::Migrate)?;
    Ok(store)
}

/// Reads the secret key, creating it (256 random bits, mode 0600) on first start.
pub fn load_secret(path: &Path) -> Result<SecretKey, StartError> {
    let fail = |message: String| StartError::Secret {
        path: path.display().to_string(),
        message,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let mode = std::fs::metadata(path)
                .map(|m| m.permissions().mode() & 0o777)
                .unwrap_or(0);
            if mode & 0o077 != 0 {
                tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "the secret key is readable by others: chmod 600 it");
            }
            let bytes = hex_decode(text.trim()).ok_or_else(|| fail("is not hexadecimal".into()))?;
            if bytes.len() < 32 {
                return Err(fail(format!("holds {} bytes; at least 32 are needed", bytes.len())));
            }
            Ok(SecretKey::new(&bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let bytes = store::random_bytes::<32>();
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| fail(format!("cannot create it: {e}")))?;
            file.write_all(format!("{}\n", service::crypto::hex(&bytes)).as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| fail(format!("cannot write it: {e}")))?;
            tracing::info!(path = %path.display(), "secret key created");
            Ok(SecretKey::new(&bytes))
        }
        Err(e) => Err(fail(format!("cannot read it: {e}"))),
    }
}

fn create_private_dir(dir: &Path) -> Result<(), StartError> {
    if dir.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)))
        .map_err(|source| StartError::DataDir {
            path: dir.display().to_string(),
            source,
        })
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// A bound, ready-to-serve Dialogue.
pub struct Application {
    listener: TcpListener,
    state: AppState,
    setup_url: Option<String>,
    shutdown_grace: Duration,
    mail: mail::Worker,
    /// Held while serving (see [`lock_database`]).
    _db_lock: Option<std::fs::File>,
}

impl Application {
    /// Opens the store (migrating it), loads the secret, binds the listener, and makes a setup
    /// link when there is no admin yet.
    pub async fn build(config: &Config, clock: Clock) -> Result<Application, StartError> {
        create_private_dir(&config.data_dir)?;
        let mut store = open_store(config).await?;
        let db_lock = lock_database(config)?;
        let secret = load_secret(&config.secret_key_file)?;
        store.set_link_secret(secret.link_secret());
        store.set_mail_policy(config.mail.policy.clone());
        let limits = &config.service.booking.limits;
        store.set_participation_budget(store::ParticipationBudget {
            per_request: limits.max_participations,
            per_hour: limits.max_participations_per_hour,
        });
        let transport = mail_transport(config)?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| StartError::Listen {
                addr: config.listen,
                source,
            })?;
        let mut settings = config.service.clone();
        // Listening on port 0 (tests): the public URL follows the port actually bound.
        if config.listen.port() == 0
            && let Ok(addr) = listener.local_addr()
            && settings.public_url.ends_with(":0")
        {
            settings.public_url = format!("{}{}", settings.public_url.trim_end_matches('0'), addr.port());
        }
        let mail_settings = mail::MailSettings {
            from: config.mail.from.clone(),
            reply_to: config.mail.reply_to.clone(),
            organization: config.mail.organization.clone(),
            contact: config.mail.contact.clone(),
            public_url: settings.public_url.clone(),
            join: settings.join,
            default_locale: settings.default_locale,
        };
        let service = service::Service::new(store.clone(), settings, secret, clock);
        let state = AppState::new(service, config.web.clone());
        let now = state.clone();
        let mail = mail::Worker::new(
            store,
            transport,
            mail_settings,
            std::sync::Arc::new(move || now.now()),
            config.mail.worker.clone(),
        );
        // This process takes its instance name, unless a live one holds it (then it writes
        // nothing and says who: not even the setup link below).
        match mail.claim_instance().await {
            Ok(Some(previous)) => tracing::info!(
                instance = %previous.name,
                previous_host = %previous.host,
                previous_pid = previous.pid,
                "instance name taken over from a process that is gone"
            ),
            Ok(None) => {}
            Err(e) => return Err(StartError::Instance(Box::new(e))),
        }
        let setup_url = match service::accounts::setup_link_if_needed(state.service()).await {
            Ok(url) => url,
            Err(e) => {
                // The name is free again for the next start.
                mail.leave_instance().await;
                return Err(StartError::Setup(e.to_string()));
            }
        };
        Ok(Application {
            listener,
            state,
            setup_url,
            shutdown_grace: config.shutdown_grace,
            mail,
            _db_lock: db_lock,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        // A bound listener always has a local address.
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// The first-start link, when there was no admin.
    pub fn setup_url(&self) -> Option<&str> {
        self.setup_url.as_deref()
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes, then stops accepting, lets requests in flight finish
    /// (up to the configured grace period) and closes the database.
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let state = self.state.clone();
        let router = web::router(state.clone());
        let (signal_tx, signal_rx) = tokio::sync::watch::channel(false);
        let mut serve_rx = signal_rx.clone();
        let server = axum::serve(
            self.listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = serve_rx.wait_for(|stop| *stop).await;
        });
        let janitor = tokio::spawn(janitor(state.clone()));
        let retention = tokio::spawn(retention(state.clone()));
        let (mail_stop, mail_stopped) = tokio::sync::watch::channel(false);
        let mail_worker = self.mail.clone();
        let mut mail = tokio::spawn(self.mail.clone().run(mail_stopped));
        let heartbeat = tokio::spawn(self.mail.keep_instance());
        let checkpointer = tokio::spawn(checkpointer(state.clone()));
        let sign_reminders = tokio::spawn(sign_reminders(state.clone()));
        let directory_sync = tokio::spawn(directory_sync(state.clone()));
        // Secure-domain servers: the hosts' Prosody accounts, kept in line with the accounts.
        let prosody = tokio::spawn(service::prosody_accounts::run(state.service().clone()));
        // PostgreSQL: the join cache is used only while this listens for other instances' writes.
        let join_watch = tokio::spawn({
            let store = state.service().store().clone();
            async move { store.watch_joins().await }
        });
        let mut server = tokio::spawn(async move { server.await });
        tokio::select! {
            result = &mut server => {
                janitor.abort();
                retention.abort();
                mail.abort();
                checkpointer.abort();
                sign_reminders.abort();
                directory_sync.abort();
                prosody.abort();
                join_watch.abort();
                heartbeat.abort();
                return result.map_err(std::io::Error::other)?;
            }
            () = shutdown => {}
        }
        tracing::info!("shutting down: finishing requests in flight");
        let _ = signal_tx.send(true);
        // The mail worker finishes the deliveries it has begun, within the same grace period.
        let _ = mail_stop.send(true);
        let result = match tokio::time::timeout(self.shutdown_grace, &mut server).await {
            Ok(joined) => joined.map_err(std::io::Error::other)?,
            Err(_) => {
                tracing::warn!(grace = ?self.shutdown_grace, "requests still running after the grace period: stopping anyway");
                server.abort();
                Ok(())
            }
        };
        janitor.abort();
        retention.abort();
        if tokio::time::timeout(self.shutdown_grace, &mut mail).await.is_err() {
            tracing::warn!("mail deliveries still running after the grace period: their leases will expire");
            mail.abort();
        }
        checkpointer.abort();
        sign_reminders.abort();
        directory_sync.abort();
        prosody.abort();
        join_watch.abort();
        heartbeat.abort();
        // Stopped cleanly: the name is free for the next start at once.
        mail_worker.leave_instance().await;
        state.service().store().close().await;
        tracing::info!("stopped");
        result
    }
}

/// SQLite's write-ahead log is copied into the database every two seconds, off the requests'
/// path (a commit would otherwise do it, and wait for its syncs). Nothing on PostgreSQL.
async fn checkpointer(state: AppState) {
    if state.service().store().backend() != store::Backend::Sqlite {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tick.tick().await;
        if let Err(e) = state.service().store().checkpoint().await {
            tracing::warn!(error = %e, "checkpoint failed");
        }
    }
}

/// Once a minute, the reminders to sign the attendance sheet of sessions just ended (each
/// participant once: the store keeps who was reminded).
async fn sign_reminders(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        match service::attendance::queue_sign_reminders(state.service()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(reminders = n, "reminders to sign the attendance sheet"),
            Err(e) => tracing::warn!(error = %e, "reminders to sign failed"),
        }
    }
}

/// Every `[ldap] sync_minutes`, the directory's accounts are looked up there; those gone or
/// disabled are disabled here (their login sessions end). Every instance of a cluster may run
/// it: disabling twice changes nothing.
async fn directory_sync(state: AppState) {
    let minutes = match &state.config().ldap {
        Some(ldap) if ldap.sync_minutes > 0 => ldap.sync_minutes,
        _ => return,
    };
    let mut tick = tokio::time::interval(Duration::from_secs(minutes * 60));
    loop {
        tick.tick().await;
        match service::logins::sync_directory(state.service()).await {
            Ok(r) if r.disabled.is_empty() => {}
            Ok(r) => tracing::info!(checked = r.checked, disabled = r.disabled.len(), "directory sync"),
            Err(e) => tracing::warn!(error = %e, "directory sync failed; it runs again in {minutes} minutes"),
        }
    }
}

/// Periodic clean-up: expired login sessions, used links, old throttle rows.
async fn janitor(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        let idle = state.config().session_idle.as_secs() as i64;
        match state.service().store().purge_expired(state.now(), idle).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "expired login sessions removed"),
            Err(e) => tracing::warn!(error = %e, "clean-up failed"),
        }
    }
}

/// How long after start the first retention run waits (the server settles first), then the
/// period of the runs.
const RETENTION_FIRST: Duration = Duration::from_secs(5 * 60);
const RETENTION_EVERY: Duration = Duration::from_secs(24 * 3600);

/// The daily retention job (`[retention]`): removes or anonymises what is past its period.
/// Idempotent, so every instance of a cluster may run it; aborted between batches at shutdown,
/// it finishes at the next run.
async fn retention(state: AppState) {
    tokio::time::sleep(RETENTION_FIRST).await;
    let mut tick = tokio::time::interval(RETENTION_EVERY);
    loop {
        tick.tick().await;
        if let Err(e) = service::retention::run(state.service(), false).await {
            tracing::warn!(error = %e, "retention run failed; it runs again tomorrow");
        }
    }
}

/// Takes SIGTERM and SIGINT over at once, and resolves on the first of them. Call it before the
/// listener is bound: a signal that comes before the returned future is first polled is then
/// kept for it, where a handler installed lazily left the default action (death, not a graceful
/// stop) to a `systemctl stop` right after a start (seen in ops' test: SIGTERM a few
/// milliseconds after the mail worker's first line).
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let term = signal(SignalKind::terminate());
    let int = signal(SignalKind::interrupt());
    async move {
        match (term, int) {
            (Ok(mut term), Ok(mut int)) => tokio::select! {
                _ = term.recv() => tracing::info!("SIGTERM received"),
                _ = int.recv() => tracing::info!("SIGINT received"),
            },
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM and SIGINT");
                std::future::pending::<()>().await;
            }
        }
    }
}
