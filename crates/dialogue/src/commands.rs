//! What the subcommands other than `serve` do.

use std::io::{BufRead, IsTerminal, Write};

use domain::{DisplayName, Email, NewPassword, Role};
use jiff::SignedDuration;
use store::{AuditEntry, NewUser, Store, StoreError, TokenPurpose, User, UserFilter};

use crate::app::open_store;
use crate::cli::{OutputFormat, TokenCommand, UserCommand};
use crate::config::Config;

/// A command's failure, said in one line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CommandError(pub String);

impl From<StoreError> for CommandError {
    fn from(e: StoreError) -> Self {
        CommandError(match e {
            StoreError::EmailTaken => "an account with this email address already exists".into(),
            StoreError::LastAdmin => "this is the last active admin: appoint another admin first".into(),
            other => other.to_string(),
        })
    }
}

impl From<crate::app::StartError> for CommandError {
    fn from(e: crate::app::StartError) -> Self {
        CommandError(e.to_string())
    }
}

fn cli_audit(action: &str) -> AuditEntry {
    AuditEntry::new(action, None, "command line", None)
}

pub async fn migrate(config: &Config) -> Result<(), CommandError> {
    let store = store::Store::connect(&config.database_url, &store::ConnectOptions::default())
        .await
        .map_err(|e| {
            CommandError(format!(
                "cannot open the database {}: {e}",
                store::redact(&config.database_url)
            ))
        })?;
    let applied = store.migrate().await?;
    println!(
        "{applied} migration(s) applied; schema at version {}",
        store::MIGRATIONS.len()
    );
    store.close().await;
    Ok(())
}

/// Checks what can be checked and prints one line per check; fails if any failed.
pub async fn check(config: &Config, warnings: &[String]) -> Result<(), CommandError> {
    let mut failed = 0;
    println!(
        "ok   configuration (listen {}, public URL {})",
        config.listen, config.web.public_url
    );
    for w in warnings {
        println!("warn {w}");
    }
    match store::Store::connect(&config.database_url, &store::ConnectOptions::default()).await {
        Ok(store) => {
            match store.ping().await {
                Ok(()) => println!("ok   database {} reachable", store::redact(&config.database_url)),
                Err(e) => {
                    failed += 1;
                    println!("FAIL database {}: {e}", store::redact(&config.database_url));
                }
            }
            store.close().await;
        }
        Err(e) => {
            failed += 1;
            println!("FAIL database {}: {e}", store::redact(&config.database_url));
        }
    }
    match std::fs::metadata(&config.secret_key_file) {
        Ok(_) => println!("ok   secret key {}", config.secret_key_file.display()),
        Err(_) => println!(
            "note secret key {} will be created at first start",
            config.secret_key_file.display()
        ),
    }
    if failed > 0 {
        Err(CommandError(format!("{failed} check(s) failed")))
    } else {
        Ok(())
    }
}

fn invalid(what: &str, e: impl std::fmt::Display) -> CommandError {
    CommandError(format!("{what}: {e}"))
}

/// Reads a new password: one line of standard input, or twice on a terminal.
fn read_password(from_stdin: bool) -> Result<Option<NewPassword>, CommandError> {
    let text = if from_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| invalid("cannot read standard input", e))?;
        line.trim_end_matches(['\n', '\r']).to_owned()
    } else if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").map_err(|e| invalid("cannot read the password", e))?;
        let second = rpassword::prompt_password("Again: ").map_err(|e| invalid("cannot read the password", e))?;
        if first != second {
            return Err(CommandError("the two passwords differ".into()));
        }
        first
    } else {
        return Ok(None);
    };
    NewPassword::parse(&text).map(Some).map_err(|e| invalid("password", e))
}

fn hash(password: &NewPassword) -> Result<String, CommandError> {
    web::crypto::hash_password(password.expose()).map_err(|e| invalid("cannot hash the password", e))
}

async fn print_link(store: &Store, config: &Config, user: &User) -> Result<(), CommandError> {
    let token = web::crypto::random_token();
    let now = jiff::Timestamp::now();
    let ttl = SignedDuration::try_from(config.web.password_link_ttl).map_err(|e| invalid("link validity", e))?;
    let audit = cli_audit("user.password_link").target("user", &user.id, &user.email);
    store
        .create_one_time_token(
            &web::crypto::storage_hash(&token),
            TokenPurpose::SetPassword,
            Some(&user.id),
            now,
            now + ttl,
            Some(&audit),
        )
        .await?;
    println!("{}/password/{token}", config.web.public_url);
    eprintln!(
        "This one-time link lets {} choose a password; it is valid for {} hours.",
        user.email,
        ttl.as_hours()
    );
    Ok(())
}

async fn find(store: &Store, email: &str) -> Result<User, CommandError> {
    store
        .user_by_email(email)
        .await?
        .ok_or_else(|| CommandError(format!("no account has the email address {email:?}")))
}

pub async fn user(config: &Config, command: UserCommand) -> Result<(), CommandError> {
    let store = open_store(config).await?;
    let result = user_inner(&store, config, command).await;
    store.close().await;
    result
}

async fn user_inner(store: &Store, config: &Config, command: UserCommand) -> Result<(), CommandError> {
    match command {
        UserCommand::Add {
            email,
            name,
            role,
            locale,
            time_zone,
            password_stdin,
            link,
        } => {
            let email = Email::parse(&email).map_err(|e| invalid("--email", e))?;
            let name = DisplayName::parse(&name).map_err(|e| invalid("--name", e))?;
            let role: Role = role.parse().map_err(|e| invalid("--role", e))?;
            let locale = match locale {
                Some(l) => domain::user::parse_locale(&l).map_err(|e| invalid("--locale", e))?,
                None => config.web.default_locale,
            };
            let time_zone = match time_zone {
                Some(z) => domain::user::parse_time_zone(&z).map_err(|e| invalid("--time-zone", e))?,
                None => config.web.default_time_zone.clone(),
            };
            let password = if link { None } else { read_password(password_stdin)? };
            let password_hash = password.as_ref().map(hash).transpose()?;
            let new = NewUser {
                email,
                display_name: name,
                role,
                locale,
                time_zone,
                password_hash,
                auth_source: "local".into(),
                external_id: None,
            };
            let user = store
                .create_user(
                    &new,
                    &cli_audit("user.create").detail(serde_json::json!({ "role": role.as_str() })),
                )
                .await?;
            eprintln!("created {} ({}, {})", user.email, user.display_name, user.role);
            if !user.has_password {
                print_link(store, config, &user).await?;
            }
            Ok(())
        }
        UserCommand::List { format, all } => {
            let users = store
                .list_users(&UserFilter {
                    roles: Vec::new(),
                    include_inactive: all,
                })
                .await?;
            let mut out = std::io::stdout().lock();
            match format {
                OutputFormat::Json => {
                    let list: Vec<_> = users
                        .iter()
                        .map(|u| {
                            serde_json::json!({
                                "id": u.id,
                                "email": u.email,
                                "name": u.display_name,
                                "role": u.role.as_str(),
                                "locale": u.locale.as_str(),
                                "time_zone": u.time_zone,
                                "active": u.active,
                                "has_password": u.has_password,
                                "auth_source": u.auth_source,
                                "created_at": u.created_at.to_string(),
                            })
                        })
                        .collect();
                    let text = serde_json::to_string_pretty(&list).map_err(|e| invalid("json", e))?;
                    writeln!(out, "{text}").map_err(|e| invalid("stdout", e))?;
                }
                OutputFormat::Text => {
                    for u in &users {
                        let state = if u.active { "" } else { "  (disabled)" };
                        writeln!(out, "{:<8} {:<40} {}{state}", u.role.as_str(), u.email, u.display_name)
                            .map_err(|e| invalid("stdout", e))?;
                    }
                }
            }
            Ok(())
        }
        UserCommand::SetRole { email, role } => {
            let user = find(store, &email).await?;
            let role: Role = role.parse().map_err(|e| invalid("role", e))?;
            let user = store.set_role(&user.id, role, &cli_audit("user.role")).await?;
            eprintln!("{} is now {}", user.email, user.role);
            Ok(())
        }
        UserCommand::Passwd {
            email,
            password_stdin,
            link,
        } => {
            let user = find(store, &email).await?;
            let password = if link { None } else { read_password(password_stdin)? };
            match password {
                Some(p) => {
                    store
                        .set_password_hash(&user.id, &hash(&p)?, None, &cli_audit("user.password"))
                        .await?;
                    eprintln!("password of {} changed; their sessions were closed", user.email);
                }
                None => print_link(store, config, &user).await?,
            }
            Ok(())
        }
        UserCommand::Disable { email } => {
            let user = find(store, &email).await?;
            store.set_active(&user.id, false, &cli_audit("user.disable")).await?;
            eprintln!("{} disabled", user.email);
            Ok(())
        }
        UserCommand::Enable { email } => {
            let user = find(store, &email).await?;
            store.set_active(&user.id, true, &cli_audit("user.enable")).await?;
            eprintln!("{} enabled", user.email);
            Ok(())
        }
    }
}

pub async fn token(config: &Config, command: TokenCommand) -> Result<(), CommandError> {
    let store = open_store(config).await?;
    let result = token_inner(&store, command).await;
    store.close().await;
    result
}

async fn token_inner(store: &Store, command: TokenCommand) -> Result<(), CommandError> {
    match command {
        TokenCommand::Create { user, name } => {
            let user = find(store, &user).await?;
            if !user.active {
                return Err(CommandError(format!(
                    "{} is disabled: its tokens would not work; enable it first",
                    user.email
                )));
            }
            let name = web::pages::tokens::parse_name(&name)
                .map_err(|_| CommandError("--name: 1 to 100 characters without line breaks".into()))?;
            let token = web::crypto::random_token();
            store
                .create_api_token(
                    &user.id,
                    &name,
                    &web::crypto::storage_hash(&token),
                    &cli_audit("api_token.create").detail(serde_json::json!({ "user": user.email })),
                )
                .await?;
            println!("{token}");
            eprintln!(
                "API token \"{name}\" for {}: it is shown this once; send it as \"Authorization: Bearer <token>\".",
                user.email
            );
            Ok(())
        }
    }
}
