//! What the subcommands other than `serve` do.

use std::io::{BufRead, IsTerminal, Write};

use domain::{NewPassword, Role};
use service::{Caller, Service, accounts};
use store::{Store, StoreError, User};

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

pub async fn migrate(config: &Config) -> Result<(), CommandError> {
    let store = store::Store::connect(&config.database_url, &store::ConnectOptions::default())
        .await
        .map_err(|e| {
            CommandError(format!(
                "cannot open the database {}: {e}",
                store::redact(&config.database_url)
            ))
        })?;
    let applied = store.migrate(jiff::Timestamp::now()).await?;
    println!(
        "{applied} migration(s) applied; schema at version {}",
        store::MIGRATIONS.last().map_or(0, |m| m.version)
    );
    store.close().await;
    Ok(())
}

/// Checks what can be checked and prints one line per check; fails if any failed.
pub async fn check(config: &Config, warnings: &[String]) -> Result<(), CommandError> {
    let mut failed = 0;
    println!(
        "ok   configuration (listen {}, public URL {})",
        config.listen, config.service.public_url
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
            failed += check_jitsi_servers(&store, config).await;
            store.close().await;
        }
        Err(e) => {
            failed += 1;
            println!("FAIL database {}: {e}", store::redact(&config.database_url));
        }
    }
    match crate::app::mail_transport(config) {
        Ok(transport) => match transport.check().await {
            Ok(()) => println!("ok   mail: {} reachable", transport.describe()),
            Err(e) => {
                failed += 1;
                println!("FAIL mail: {}: {e}", transport.describe());
            }
        },
        Err(e) => {
            failed += 1;
            println!("FAIL {e}");
        }
    }
    failed += check_logins(config).await;
    failed += check_join_check(config).await;
    match std::fs::metadata(&config.secret_key_file) {
        Ok(_) => println!("ok   secret key {}", config.secret_key_file.display()),
        Err(_) => println!(
            "note secret key {} will be created at first start",
            config.secret_key_file.display()
        ),
    }
    documents::set_extra_fonts(config.service.organisation.fonts.clone());
    let fonts = documents::fallback_font_files();
    if fonts.is_empty() {
        println!(
            "warn no fallback font: names in scripts the embedded DejaVu Sans lacks (Chinese, Japanese, \
             Korean, Indic, Thai…) print as empty boxes on attendance sheets and certificates; install \
             fonts-noto-core and fonts-noto-cjk (or set organisation.fonts)"
        );
    } else {
        let names: Vec<String> = fonts.iter().map(|p| p.display().to_string()).collect();
        println!("ok   fonts for scripts DejaVu Sans lacks: {}", names.join(", "));
    }
    if failed > 0 {
        Err(CommandError(format!("{failed} check(s) failed")))
    } else {
        Ok(())
    }
}

/// Each OpenID provider answers its discovery (with keys, under the configured issuer) and the
/// LDAP directory accepts the service account's bind. Returns how many failed.
async fn check_logins(config: &Config) -> usize {
    // The runtime needs no secret of ours to reach the providers.
    let secret = service::SecretKey::new(&[0u8; 32]);
    let runtime = service::logins::Runtime::new(&config.service, &secret);
    let mut failed = 0;
    for (what, result) in runtime.check().await {
        match result {
            Ok(()) => println!("ok   {what} reachable"),
            Err(e) => {
                failed += 1;
                println!("FAIL {what}: {e}");
            }
        }
    }
    failed
}

/// The external join check (`[access] join_check_url`) answers a probe with well-formed JSON
/// in time. Returns how many failed (0 or 1).
async fn check_join_check(config: &Config) -> usize {
    let Some(settings) = config.service.access.join_check.clone() else {
        return 0;
    };
    let check = service::access::JoinCheck::new(settings);
    match check.probe(jiff::Timestamp::now()).await {
        Ok(answer) => {
            println!("ok   join check {} answers (it {answer} the probe)", check.describe());
            0
        }
        Err(e) => {
            let policy = match check.on_failure() {
                domain::access::CheckFailure::Deny => {
                    "every join is refused while it fails (join_check_failure = deny)"
                }
                domain::access::CheckFailure::Allow => {
                    "joins are let in unchecked while it fails (join_check_failure = allow)"
                }
            };
            println!("FAIL join check {e}; {policy}");
            1
        }
    }
}

/// Each Jitsi server's secrets open with this secret key (a restored database with another key
/// would otherwise only fail at the first join). Returns how many failed.
async fn check_jitsi_servers(store: &Store, config: &Config) -> usize {
    let Ok(servers) = store.list_jitsi_servers().await else {
        // No schema yet (never migrated): nothing to check.
        return 0;
    };
    if servers.is_empty() {
        println!("note no Jitsi server configured yet (admins add them on the Jitsi servers page)");
        return 0;
    }
    if std::fs::metadata(&config.secret_key_file).is_err() {
        println!(
            "FAIL Jitsi servers are configured but the secret key {} is missing: their secrets cannot be opened",
            config.secret_key_file.display()
        );
        return 1;
    }
    let secret = match crate::app::load_secret(&config.secret_key_file) {
        Ok(s) => s,
        Err(e) => {
            println!("FAIL {e}");
            return 1;
        }
    };
    let runtime = service::jitsi_servers::Runtime::new(&secret);
    // Every page asked at once: a server that does not answer costs its timeout once.
    let mut probes = tokio::task::JoinSet::new();
    for (i, server) in servers.iter().enumerate() {
        let base_url = server.base_url.clone();
        probes.spawn(async move {
            let (page, config) = tokio::join!(
                service::jitsi_servers::probe(&base_url),
                service::jitsi_servers::probe_config(&base_url)
            );
            (i, page, config)
        });
    }
    let mut answers = vec![None; servers.len()];
    let mut configs = vec![None; servers.len()];
    while let Some(Ok((i, answer, config))) = probes.join_next().await {
        answers[i] = Some(answer);
        configs[i] = Some(config);
    }
    let mut failed = 0;
    for ((server, answer), web) in servers.into_iter().zip(answers).zip(configs) {
        // Browsers go to the server, not Dialogue: not reaching it from here is said, not failed.
        let name = &server.name;
        match answer {
            Some((url, Ok(status))) if status < 500 => {
                println!("ok   Jitsi server {name:?} answers at {url} (HTTP {status})")
            }
            Some((url, Ok(status))) => println!("warn Jitsi server {name:?} at {url}: answers HTTP {status}"),
            Some((url, Err(e))) => println!("warn Jitsi server {name:?} at {url}: not reachable from here ({e})"),
            None => {}
        }
        if let Some((url, web)) = web {
            web_config_lines(&server, &url, &web, &config.service.public_url);
        }
        let name = server.name.clone();
        let mode = server.token_mode.as_str();
        match service::jitsi_servers::open_server(runtime.sealer(), server) {
            Ok(open) => {
                println!("ok   Jitsi server {name:?} ({mode}): secrets open with this secret key");
                if open.is_secure_domain() {
                    // Dialogue manages the hosts' accounts there: its Prosody must take the admin.
                    match service::prosody_accounts::check(&open).await {
                        Ok(what) => println!("ok   Jitsi server {name:?}: Prosody reached at {what}"),
                        Err(e) => {
                            failed += 1;
                            println!("FAIL Jitsi server {name:?}: Prosody account administration does not work ({e})");
                        }
                    }
                }
            }
            Err(_) => {
                failed += 1;
                println!("FAIL Jitsi server {name:?}: its secrets do not open with this secret key (was it changed?)");
            }
        }
    }
    failed
}

/// What `dialogue check` says of a Jitsi site's `config.js`, against what `jitsi-config`
/// prints for it: token servers, whether the web app takes the moderator right from the token
/// and whether its welcome page sends people back to Dialogue; secure domains, whether it names
/// the guest domain. Warnings only: browsers, not Dialogue, read that file.
fn web_config_lines(
    server: &store::JitsiServer,
    url: &str,
    answer: &service::jitsi_servers::WebConfigAnswer,
    public_url: &str,
) {
    use service::jitsi_servers::WebConfigAnswer;
    let name = &server.name;
    // 8x8's own site: nothing of it is ours to set.
    if server.token_mode == store::TokenModeKind::Jaas {
        return;
    }
    let web = match answer {
        WebConfigAnswer::Read(web) => web,
        WebConfigAnswer::Status(status) => {
            println!("warn Jitsi server {name:?}: no config.js at {url} (HTTP {status})");
            return;
        }
        // Said already by the page's own line.
        WebConfigAnswer::Unreachable(_) => return,
    };
    match server.token_mode {
        store::TokenModeKind::Jaas => {}
        store::TokenModeKind::SecureDomain => match &web.anonymous_domain {
            Some(domain) => println!("ok   Jitsi server {name:?}: config.js lets guests in through {domain}"),
            None => println!(
                "warn Jitsi server {name:?}: config.js names no guest domain (hosts.anonymousdomain): learners \
                 without an account cannot enter (see `dialogue jitsi-config`)"
            ),
        },
        store::TokenModeKind::Hs256 | store::TokenModeKind::Rs256 => {
            if web.roles_from_token {
                println!("ok   Jitsi server {name:?}: config.js takes moderator rights from the token");
            } else {
                println!(
                    "warn Jitsi server {name:?}: config.js lacks enableUserRolesBasedOnToken: true: the web app may \
                     not honour the token's moderator right (see `dialogue jitsi-config`)"
                );
            }
            let home = format!("{}/", public_url.trim_end_matches('/'));
            match &web.welcome_url {
                Some(to) if to.trim_end_matches('/') == home.trim_end_matches('/') => {
                    println!("ok   Jitsi server {name:?}: config.js sends its welcome page back to Dialogue ({to})")
                }
                Some(to) => println!(
                    "warn Jitsi server {name:?}: config.js sends its welcome page to {to}, not to Dialogue ({home}): \
                     see `dialogue jitsi-config`"
                ),
                None => println!(
                    "warn Jitsi server {name:?}: config.js has no welcomePage.customUrl: people who open the Jitsi \
                     address stay there (see `dialogue jitsi-config`)"
                ),
            }
        }
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

/// The service the user and token commands work through: the same use cases as the admin
/// pages. The secret key is loaded when it exists; these commands derive nothing from it, so
/// before the first start (creating the first admin from the shell, say) a throwaway key stands
/// in rather than creating the file with the wrong owner.
///
/// With the server's key, an account created without a password is mailed its link (sealed in
/// the outbox with that key, which the server's worker opens); with the throwaway key it is not
/// (the server could not open it), and the printed link is the only one.
fn command_service(store: &Store, config: &Config) -> Result<Service, CommandError> {
    let mut store = store.clone();
    let secret = if std::fs::metadata(&config.secret_key_file).is_ok() {
        let secret = crate::app::load_secret(&config.secret_key_file)?;
        store.set_link_secret(secret.link_secret());
        store.set_mail_policy(config.mail.policy.clone());
        secret
    } else {
        service::SecretKey::new(&store::random_bytes::<32>())
    };
    Ok(Service::new(
        store,
        config.service.clone(),
        secret,
        service::Clock::system(),
    ))
}

/// A refusal of the service, said in one line (in English: the command line's language).
fn refused(e: service::Error) -> CommandError {
    let locale = domain::Locale::En;
    CommandError(match e {
        service::Error::NotFound => "no such account".into(),
        other if !other.problems().is_empty() => other
            .problems()
            .iter()
            .map(|p| {
                let text = p.message.render(locale);
                // The command line's name for the field: its option.
                let option = match &*p.field {
                    "" => return text,
                    "display_name" => "--name".to_owned(),
                    field => format!("--{}", field.replace('_', "-")),
                };
                format!("{option}: {text}")
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    })
}

fn print_link(user: &User, link: &service::accounts::PasswordLink) {
    println!("{}", link.url);
    eprintln!(
        "This one-time link lets {} choose a password; it is valid for {} hours.",
        user.email, link.hours
    );
}

async fn find(svc: &Service, email: &str) -> Result<User, CommandError> {
    accounts::by_email(svc, email)
        .await
        .map_err(|_| CommandError(format!("no account has the email address {email:?}")))
}

pub async fn user(config: &Config, command: UserCommand) -> Result<(), CommandError> {
    let store = open_store(config).await?;
    let result = match command_service(&store, config) {
        Ok(svc) => user_inner(&svc, config, command).await,
        Err(e) => Err(e),
    };
    store.close().await;
    result
}

async fn user_inner(svc: &Service, config: &Config, command: UserCommand) -> Result<(), CommandError> {
    let caller = Caller::command_line();
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
            let role: Role = role.parse().map_err(|e| invalid("--role", e))?;
            let fields = accounts::AccountFields {
                email,
                display_name: name,
                locale: locale.unwrap_or_else(|| config.service.default_locale.as_str().to_owned()),
                time_zone: time_zone.unwrap_or_else(|| config.service.default_time_zone.clone()),
            };
            // Every field is checked before a password is asked for.
            fields.parse().map_err(refused)?;
            let password = if link { None } else { read_password(password_stdin)? };
            let (user, link) = accounts::create(svc, &caller, &fields, role, password.as_ref())
                .await
                .map_err(refused)?;
            eprintln!("created {} ({}, {})", user.email, user.display_name, user.role);
            if let Some(link) = link {
                print_link(&user, &link);
            }
            Ok(())
        }
        UserCommand::List { format, all } => {
            let users = accounts::list(svc, &caller.actor, all).await.map_err(refused)?;
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
            let user = find(svc, &email).await?;
            let role: Role = role.parse().map_err(|e| invalid("role", e))?;
            let user = accounts::set_role(svc, &caller, &user.id, role)
                .await
                .map_err(refused)?;
            eprintln!("{} is now {}", user.email, user.role);
            Ok(())
        }
        UserCommand::Passwd {
            email,
            password_stdin,
            link,
        } => {
            let user = find(svc, &email).await?;
            let password = if link { None } else { read_password(password_stdin)? };
            match password {
                Some(p) => {
                    accounts::set_password(svc, &caller, &user.id, &p)
                        .await
                        .map_err(refused)?;
                    eprintln!(
                        "password of {} changed; their sessions were closed and their API tokens revoked",
                        user.email
                    );
                }
                None => {
                    let link = accounts::issue_password_link(svc, &caller, &user.id)
                        .await
                        .map_err(refused)?;
                    print_link(&user, &link);
                }
            }
            Ok(())
        }
        UserCommand::Disable { email } => {
            let user = find(svc, &email).await?;
            accounts::set_active(svc, &caller, &user.id, false)
                .await
                .map_err(refused)?;
            eprintln!("{} disabled", user.email);
            Ok(())
        }
        UserCommand::Enable { email } => {
            let user = find(svc, &email).await?;
            accounts::set_active(svc, &caller, &user.id, true)
                .await
                .map_err(refused)?;
            eprintln!("{} enabled", user.email);
            Ok(())
        }
    }
}

/// `dialogue jitsi-config --server NAME`: the server's Prosody, Jicofo and Jitsi Meet settings,
/// secrets included (whoever runs it can read the secret key file anyway).
pub async fn jitsi_config(config: &Config, name: &str, muc_domain: Option<&str>) -> Result<(), CommandError> {
    let store = open_store(config).await?;
    let result = jitsi_config_inner(&store, config, name, muc_domain).await;
    store.close().await;
    result
}

async fn jitsi_config_inner(
    store: &Store,
    config: &Config,
    name: &str,
    muc_domain: Option<&str>,
) -> Result<(), CommandError> {
    let secret = crate::app::load_secret(&config.secret_key_file)?;
    let Some(server) = store.jitsi_server_by_name(name).await? else {
        let names: Vec<String> = store
            .list_jitsi_servers()
            .await?
            .into_iter()
            .map(|s| format!("{:?}", s.name))
            .collect();
        return Err(CommandError(if names.is_empty() {
            format!(
                "no Jitsi server named {name:?}: none is configured yet (add one on the Jitsi servers page or with POST /api/v1/jitsi-servers)"
            )
        } else {
            format!("no Jitsi server named {name:?}; configured: {}", names.join(", "))
        }));
    };
    let runtime = service::jitsi_servers::Runtime::new(&secret);
    let open = service::jitsi_servers::open_server(runtime.sealer(), server).map_err(|e| {
        CommandError(format!(
            "cannot open the secrets of Jitsi server {name:?} ({e}): is this the secret key they were saved with?"
        ))
    })?;
    let Some(mode) = &open.mode else {
        // A secure-domain server: Prosody accounts for the hosts, an anonymous guest domain.
        let admin_jid = open.xmpp.as_ref().map(|x| x.admin_jid.as_str()).unwrap_or_default();
        print!(
            "{}",
            jitsi::secure_domain_config(&jitsi::SecureDomainInput {
                server_name: &open.server.name,
                xmpp_domain: &open.server.domain,
                admin_jid,
            })
        );
        return Ok(());
    };
    let input = jitsi::ConfigInput {
        server_name: &open.server.name,
        xmpp_domain: &open.server.domain,
        tenant: open.tenant(),
        mode,
        public_url: &config.service.public_url,
        api_secret: &open.api_secret,
        muc_domain,
    };
    print!("{}", jitsi::prosody_config(&input));
    Ok(())
}

pub async fn token(config: &Config, command: TokenCommand) -> Result<(), CommandError> {
    let store = open_store(config).await?;
    let result = match command_service(&store, config) {
        Ok(svc) => token_inner(&svc, command).await,
        Err(e) => Err(e),
    };
    store.close().await;
    result
}

async fn token_inner(svc: &Service, command: TokenCommand) -> Result<(), CommandError> {
    match command {
        TokenCommand::Create { user, name } => {
            let user = find(svc, &user).await?;
            if !user.active {
                return Err(CommandError(format!(
                    "{} is disabled: its tokens would not work; enable it first",
                    user.email
                )));
            }
            let token = service::tokens::create(svc, &Caller::command_line(), &user, &name)
                .await
                .map_err(|e| match e {
                    service::Error::Invalid(_) => {
                        CommandError("--name: 1 to 100 characters without line breaks".into())
                    }
                    other => refused(other),
                })?;
            println!("{token}");
            eprintln!(
                "API token \"{name}\" for {}: it is shown this once; send it as \"Authorization: Bearer <token>\".",
                user.email
            );
            Ok(())
        }
    }
}

/// `dialogue attendance verify SESSION`: the evidence chain of a session's signatures, checked
/// with the server's own secret key (a database restored without it cannot be verified).
pub async fn attendance(config: &Config, command: crate::cli::AttendanceCommand) -> Result<(), CommandError> {
    let crate::cli::AttendanceCommand::Verify { session } = command;
    if std::fs::metadata(&config.secret_key_file).is_err() {
        return Err(CommandError(format!(
            "the secret key {} does not exist: signatures can only be verified with the key that sealed them",
            config.secret_key_file.display()
        )));
    }
    let store = open_store(config).await?;
    let result = async {
        let svc = command_service(&store, config)?;
        if store.session_row(&session).await?.is_none() {
            return Err(CommandError(format!("no session {session:?}")));
        }
        let check = service::attendance::verify(&svc, &Caller::command_line().actor, &session)
            .await
            .map_err(refused)?;
        let hex = |b: &[u8]| b.iter().map(|b| format!("{b:02x}")).collect::<String>();
        match check {
            store::ChainCheck::Intact(seal) => {
                println!(
                    "session {session}: {} signature(s), chain intact, seal {}",
                    seal.count(),
                    hex(seal.head())
                );
                Ok(())
            }
            store::ChainCheck::Tampered { tampered, record_id } => Err(CommandError(format!(
                "session {session}: signature record {} (id {}) fails: {}",
                tampered.index + 1,
                record_id.as_deref().unwrap_or("none"),
                tampered.kind
            ))),
            store::ChainCheck::SealMismatch { found, stored } => Err(CommandError(format!(
                "session {session}: the chain holds {} record(s) but {} were sealed: records were removed or the seal changed",
                found.count(),
                stored.map_or(0, |s| s.count())
            ))),
        }
    }
    .await;
    store.close().await;
    result
}

/// `dialogue directory-sync`: the periodic look at the directory's accounts, now.
pub async fn directory_sync(config: &Config) -> Result<(), CommandError> {
    if config.service.ldap.is_none() {
        return Err(CommandError(
            "no [ldap] directory is configured (ldap.url is empty)".into(),
        ));
    }
    let store = open_store(config).await?;
    let result = async {
        let svc = command_service(&store, config)?;
        let report = service::logins::sync_directory(&svc).await.map_err(refused)?;
        for email in &report.disabled {
            println!("disabled {email}");
        }
        println!(
            "directory sync: {} account(s) looked up, {} disabled",
            report.checked,
            report.disabled.len()
        );
        Ok(())
    }
    .await;
    store.close().await;
    result
}

/// `dialogue retention [--dry-run]`: the daily retention job, now, with what it did (or would).
pub async fn retention(config: &Config, dry_run: bool, format: crate::cli::OutputFormat) -> Result<(), CommandError> {
    let store = open_store(config).await?;
    let result = async {
        let svc = command_service(&store, config)?;
        let counts = service::retention::run(&svc, dry_run).await.map_err(refused)?;
        if matches!(format, crate::cli::OutputFormat::Json) {
            let mut value = serde_json::to_value(counts).map_err(|e| CommandError(e.to_string()))?;
            value["dry_run"] = serde_json::Value::Bool(dry_run);
            println!("{value}");
            return Ok(());
        }
        let r = &config.service.retention;
        let verb = if dry_run { "would go" } else { "removed or anonymised" };
        println!(
            "retention ({}): {}",
            if dry_run { "dry run, nothing changed" } else { "done" },
            if counts.total() == 0 {
                "nothing is past its period"
            } else {
                verb
            }
        );
        let lines: [(&str, u64, String); 13] = [
            (
                "sessions whose attendance evidence goes",
                counts.evidence_sessions,
                format!("{} days after the session", r.attendance_days),
            ),
            ("signatures", counts.signatures, format!("{} days", r.attendance_days)),
            (
                "attendance corrections",
                counts.corrections,
                format!("{} days", r.attendance_days),
            ),
            (
                "Jitsi connection records",
                counts.connection_events,
                format!("{} days", r.attendance_days),
            ),
            (
                "participants anonymised",
                counts.participants_anonymised,
                format!("{} days", r.attendance_days),
            ),
            (
                "contacts",
                counts.contacts,
                format!("{} days without session or change", r.contacts_days),
            ),
            (
                "mail messages",
                counts.mail,
                format!("{} days after the session", r.mail_days),
            ),
            (
                "reminders",
                counts.reminders,
                format!("{} days after the session", r.mail_days),
            ),
            (
                "Jitsi events anonymised",
                counts.jitsi_events_anonymised,
                format!("{} days", r.jitsi_events_days),
            ),
            (
                "Jitsi events of no session",
                counts.jitsi_events_unmatched,
                format!("{} days", r.jitsi_events_days),
            ),
            (
                "ended room reservations' creator address",
                counts.reservations_anonymised,
                format!("{} days", r.jitsi_events_days),
            ),
            ("audit entries", counts.audit_entries, format!("{} days", r.audit_days)),
            (
                "login counters, links and sessions",
                counts.login_rows,
                format!("{} days", r.login_days),
            ),
        ];
        for (what, n, period) in lines {
            println!("  {n:>8}  {what} (kept {period})");
        }
        Ok(())
    }
    .await;
    store.close().await;
    result
}

const SECRET_KEY_WARNING: &str = "dialogue: IMPORTANT: a database is only usable with the secret key it was made with \
(Jitsi servers' sealed secrets, personal links and calendar feed addresses derive from it): keep a copy of the \
secret key file with every backup, and restore with that same key";

const PG_BACKUP: &str = "on PostgreSQL, back up with pg_dump while the server runs \
(pg_dump --format=custom --file=dialogue.dump \"$DIALOGUE_DATABASE_URL\") and restore with pg_restore \
(pg_restore --clean --if-exists --no-owner --dbname=\"$DIALOGUE_DATABASE_URL\" dialogue.dump), servers stopped; \
keep the secret key file with the dump";

/// `dialogue backup PATH`: SQLite's consistent online copy.
pub async fn backup(config: &Config, path: &std::path::Path) -> Result<(), CommandError> {
    use std::os::unix::fs::OpenOptionsExt;
    let Some(db) = store::sqlite_path(&config.database_url) else {
        return Err(CommandError(PG_BACKUP.into()));
    };
    if !db.is_file() {
        return Err(CommandError(format!("there is no database at {}", db.display())));
    }
    if std::fs::metadata(path).is_ok_and(|m| m.len() > 0 || !m.is_file()) {
        return Err(CommandError(format!(
            "{} exists already: name a new file",
            path.display()
        )));
    }
    // Created private first: the copy holds personal data and sealed secrets.
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| CommandError(format!("cannot create {}: {e}", path.display())))?;
    let result = async {
        let store = Store::connect(&config.database_url, &store::ConnectOptions::default()).await?;
        let copied = store.backup_into(path).await;
        store.close().await;
        copied?;
        store::inspect_backup(path).await
    }
    .await;
    match result {
        Ok(info) => {
            println!(
                "backup written to {}: schema version {}, {} account(s), {} session(s), {} Jitsi server(s)",
                path.display(),
                info.schema_version,
                info.accounts,
                info.sessions,
                info.jitsi_servers
            );
            eprintln!("{SECRET_KEY_WARNING} ({}).", config.secret_key_file.display());
            Ok(())
        }
        Err(e) => {
            let _ = std::fs::remove_file(path);
            Err(CommandError(format!("backup failed: {e}")))
        }
    }
}

/// `dialogue restore PATH`: the server stopped, its SQLite database replaced by a backup.
pub async fn restore(config: &Config, path: &std::path::Path) -> Result<(), CommandError> {
    use std::os::unix::fs::OpenOptionsExt;
    let Some(db) = store::sqlite_path(&config.database_url) else {
        return Err(CommandError(PG_BACKUP.into()));
    };
    let info = store::inspect_backup(path).await?;
    // A running server holds a shared lock on its database file (see `app::lock_database`).
    let _lock = match std::fs::File::open(&db) {
        Ok(file) => match file.try_lock() {
            Ok(()) => Some(file),
            Err(_) => {
                return Err(CommandError(format!(
                    "the database {} is in use by a running Dialogue: stop it first (systemctl stop dialogue)",
                    db.display()
                )));
            }
        },
        Err(_) => None,
    };
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| CommandError(format!("cannot create {}: {e}", dir.display())))?;
    }
    let with_suffix = |suffix: &str| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        std::path::PathBuf::from(name)
    };
    let incoming = with_suffix(".restoring");
    let copy = || -> std::io::Result<()> {
        let mut from = std::fs::File::open(path)?;
        let mut to = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&incoming)?;
        std::io::copy(&mut from, &mut to)?;
        to.sync_all()
    };
    copy().map_err(|e| CommandError(format!("cannot copy {} to {}: {e}", path.display(), incoming.display())))?;
    let kept = if db.exists() {
        let stamp = jiff::Timestamp::now().as_second();
        let kept = with_suffix(&format!(".before-restore-{stamp}"));
        for suffix in ["", "-wal", "-shm"] {
            let file = with_suffix(suffix);
            if file.exists() {
                let mut target = kept.as_os_str().to_owned();
                target.push(suffix);
                std::fs::rename(&file, &target)
                    .map_err(|e| CommandError(format!("cannot move {} aside: {e}", file.display())))?;
            }
        }
        Some(kept)
    } else {
        None
    };
    std::fs::rename(&incoming, &db).map_err(|e| CommandError(format!("cannot put the backup in place: {e}")))?;
    println!(
        "restored {} into {}: schema version {}, {} account(s), {} session(s), {} Jitsi server(s)",
        path.display(),
        db.display(),
        info.schema_version,
        info.accounts,
        info.sessions,
        info.jitsi_servers
    );
    if let Some(kept) = kept {
        println!("the previous database is kept as {}", kept.display());
    }
    eprintln!("{SECRET_KEY_WARNING} ({}).", config.secret_key_file.display());
    // Say now, not at the first join, whether this key opens the backup's secrets.
    let store = Store::connect(&config.database_url, &store::ConnectOptions::default()).await?;
    let failed = check_jitsi_servers(&store, config).await;
    store.close().await;
    if failed > 0 {
        return Err(CommandError(format!(
            "restored, but {failed} Jitsi server(s) cannot be opened with the secret key {}: \
             put back the key the backup was made with",
            config.secret_key_file.display()
        )));
    }
    Ok(())
}
