//! `dialogue`: see `dialogue --help`.

use std::process::ExitCode;

use clap::Parser;
use dialogue::cli::{Cli, Command};
use dialogue::config::{Sources, load};
use dialogue::{Application, commands};

fn main() -> ExitCode {
    limit_malloc_arenas();
    let cli = Cli::parse();
    directory::tls::install_default_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    runtime.block_on(run(cli))
}

/// Caps glibc's malloc at two arenas unless the administrator chose (`MALLOC_ARENA_MAX`, or
/// `GLIBC_TUNABLES` naming `arena_max`). By default glibc gives up to eight arenas per core to
/// threads that allocate at once, and rows that sqlx's SQLite worker threads allocate are
/// freed on the runtime's threads: each arena then keeps its own free memory, and the
/// server's heap grew with every course attendance view (issue 11's bench, BENCHMARKS.md,
/// 30 rounds on SQLite: anonymous memory 44 → 83 MiB with the default, 40 → 52 MiB with two
/// arenas, 38 → 46 MiB with one; the timings, and the join bench's, unchanged).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    let chosen = std::env::var_os("MALLOC_ARENA_MAX").is_some()
        || std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains("arena_max"));
    if !chosen {
        // SAFETY: mallopt only sets a parameter of the allocator, and this runs first in
        // `main`, before any other thread of this process exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}

fn fail(message: &str) -> ExitCode {
    eprintln!("dialogue: error: {message}");
    ExitCode::FAILURE
}

async fn run(cli: Cli) -> ExitCode {
    let sources = match Sources::load(cli.config.as_deref()) {
        Ok(s) => s,
        Err(e) => return fail(&e.0),
    };
    let (config, warnings) = match load(&sources) {
        Ok(c) => c,
        Err(e) => return fail(&e.0),
    };
    dialogue::logging::init(&config);
    for w in &warnings {
        tracing::warn!("{w}");
    }
    let command = cli.command.unwrap_or(Command::Serve);
    // Commands other than `serve` say which settings they used (on standard error, so that
    // `jitsi-config`'s output stays what it prints): run without the server's configuration,
    // they would silently print or check the built-in defaults.
    if matches!(command, Command::Serve) {
        tracing::info!("configuration: {}", sources.describe());
    } else {
        eprintln!("dialogue: configuration: {}", sources.describe());
        if sources.is_default() {
            eprintln!(
                "dialogue: warning: these are the built-in defaults (listen {}, public URL {}); run this with the \
                 server's own configuration (--config PATH, DIALOGUE_CONFIG or its DIALOGUE_* variables)",
                config.listen, config.service.public_url
            );
        }
    }
    let result = match command {
        Command::Serve => serve(&config).await,
        Command::Migrate => commands::migrate(&config).await.map_err(|e| e.0),
        Command::Check => commands::check(&config, &warnings).await.map_err(|e| e.0),
        Command::User(command) => commands::user(&config, command).await.map_err(|e| e.0),
        Command::JitsiConfig { server, muc_domain } => commands::jitsi_config(&config, &server, muc_domain.as_deref())
            .await
            .map_err(|e| e.0),
        Command::Backup { path } => commands::backup(&config, &path).await.map_err(|e| e.0),
        Command::Restore { path } => commands::restore(&config, &path).await.map_err(|e| e.0),
        Command::Token(command) => commands::token(&config, command).await.map_err(|e| e.0),
        Command::Attendance(command) => commands::attendance(&config, command).await.map_err(|e| e.0),
        Command::DirectorySync => commands::directory_sync(&config).await.map_err(|e| e.0),
        Command::Retention { dry_run, format } => commands::retention(&config, dry_run, format).await.map_err(|e| e.0),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(&message),
    }
}

async fn serve(config: &dialogue::Config) -> Result<(), String> {
    // Before the port opens: a stop asked as soon as it answers is a graceful one.
    let stop = dialogue::app::shutdown_signal();
    let app = Application::build(config, web::Clock::system())
        .await
        .map_err(|e| e.to_string())?;
    if let Some(url) = app.setup_url() {
        tracing::warn!("no administrator yet: open {url} within one hour to create the first one");
    }
    tracing::info!(
        "listening on http://{} (public URL {}, database {})",
        app.local_addr(),
        app.state().config().public_url,
        store::redact(&config.database_url)
    );
    app.run_until(stop).await.map_err(|e| format!("server error: {e}"))
}
