//! The command line.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Dialogue: booking, invitations, Jitsi tokens and attendance for live online training.
#[derive(Debug, Parser)]
#[command(name = "dialogue", version, propagate_version = true)]
pub struct Cli {
    /// Configuration file (TOML). Without one, /etc/dialogue/dialogue.toml when it exists (the
    /// Debian package's), else built-in defaults; DIALOGUE_* variables apply over either. Every
    /// command needs the server's configuration: the commands say which they used.
    /// (DIALOGUE_CONFIG names it too; set empty for none.)
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (the default command).
    Serve,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Check the configuration and reach the database, the mail server, each OpenID provider
    /// (discovery and keys), the LDAP directory (the service account's bind), each Jitsi server's
    /// page, each secure-domain server's Prosody (a login as its admin JID, the account commands
    /// offered) and the external join check (a probe); say what is wrong.
    Check,
    /// Manage accounts (admins, managers, trainers).
    #[command(subcommand)]
    User(UserCommand),
    /// Print the Prosody, Jicofo and Jitsi Meet settings for a Jitsi server configured in
    /// Dialogue (app id, secret or key server, reservation and event API with their bearer),
    /// ready to paste, one comment line per block saying where it goes. For a secure-domain
    /// server (hosts' Prosody accounts managed by Dialogue, no tokens): the internal_hashed
    /// VirtualHost with its admins and admin_adhoc, the anonymous guest domain, Jicofo and
    /// config.js.
    JitsiConfig {
        /// The server's name, as on the Jitsi servers page.
        #[arg(long, value_name = "NAME")]
        server: String,
        /// The conference MUC component, when it is not conference.<domain> (Docker images use
        /// muc.<domain>).
        #[arg(long, value_name = "DOMAIN")]
        muc_domain: Option<String>,
    },
    /// SQLite: write a consistent copy of the database to PATH while the server runs (PATH must
    /// not exist). PostgreSQL: use pg_dump. Keep the secret key file too: without it the copy's
    /// Jitsi secrets and feed addresses cannot be used.
    Backup {
        #[arg(value_name = "PATH")]
        path: std::path::PathBuf,
    },
    /// SQLite: replace the database with the backup at PATH, the server stopped (the previous
    /// database is kept beside it). Needs the secret key the backup was made with.
    Restore {
        #[arg(value_name = "PATH")]
        path: std::path::PathBuf,
    },
    /// Manage API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Attendance: check the signatures of a session.
    #[command(subcommand)]
    Attendance(AttendanceCommand),
    /// LDAP: look up every active account of the directory there now (the server does it every
    /// [ldap] sync_minutes) and disable those whose entry is gone or disabled; print them.
    DirectorySync,
    /// Remove or anonymise the data past its [retention] period now (the server does it daily),
    /// and print how many rows of each kind.
    Retention {
        /// Only say what would go; change nothing.
        #[arg(long)]
        dry_run: bool,
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum AttendanceCommand {
    /// Recompute a session's signature chain with the server's secret key and say which
    /// record, if any, was changed, removed, inserted or moved (exit status 1 then).
    Verify {
        /// The session's id (as printed on its attendance sheet).
        #[arg(value_name = "SESSION")]
        session: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token for an account and print it once (only its hash is stored).
    Create {
        /// The email of the account the token acts as.
        #[arg(long, value_name = "EMAIL")]
        user: String,
        /// A name to recognise the token by in the profile page.
        #[arg(long, default_value = "command line")]
        name: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. The password is read from standard input (--password-stdin), asked
    /// on a terminal, or else a one-time link to set it is printed.
    Add {
        /// Email address (the login).
        #[arg(long)]
        email: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// admin, manager or trainer.
        #[arg(long, default_value = "trainer")]
        role: String,
        /// fr or en (default: the configured default language).
        #[arg(long)]
        locale: Option<String>,
        /// IANA time zone (default: the configured default zone).
        #[arg(long)]
        time_zone: Option<String>,
        /// Read the password from standard input (one line).
        #[arg(long)]
        password_stdin: bool,
        /// Print a one-time set-password link instead of asking for a password.
        #[arg(long, conflicts_with = "password_stdin")]
        link: bool,
    },
    /// List accounts.
    List {
        #[arg(long, value_enum, default_value = "text")]
        format: OutputFormat,
        /// Include disabled accounts.
        #[arg(long)]
        all: bool,
    },
    /// Change an account's role.
    SetRole {
        email: String,
        /// admin, manager or trainer.
        role: String,
    },
    /// Set an account's password (standard input, terminal prompt, or a one-time link).
    Passwd {
        email: String,
        #[arg(long)]
        password_stdin: bool,
        #[arg(long, conflicts_with = "password_stdin")]
        link: bool,
    },
    /// Disable an account (it can no longer log in; its sessions end).
    Disable { email: String },
    /// Enable a disabled account again.
    Enable { email: String },
}
