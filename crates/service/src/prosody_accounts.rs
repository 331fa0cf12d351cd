//! Prosody accounts for the hosts of secure-domain Jitsi servers.
//!
//! A secure-domain server (`authentication = "internal_hashed"` plus an anonymous guest
//! domain) lets in as hosts only people with a Prosody account. Dialogue keeps one for each
//! active account that may host on the server (every staff role, within `[access]
//! jitsi_servers_by_role`): its name (JID localpart) derived from the account's email and
//! stored, its password generated (256 bits) and stored sealed, so that its owner can read it
//! again on their profile page and ask for a new one.
//!
//! Changes are made by a reconciler, in two steps: the *plan* compares who should host with the
//! rows of `prosody_accounts` (new rows for new hosts, rows marked unwanted for those who lost
//! the right: disabled, deleted, role or rule changed); the *apply* step makes each server's
//! Prosody match its rows over XMPP (XEP-0133 commands as the server's admin JID): creates,
//! re-passwords, deletes. A failure (Prosody unreachable, a refused command) is recorded on the
//! row and retried with a doubling delay (2 s to 10 min). It runs at once after a change made
//! in this instance (a poke), and every minute in full (changes from the command line or from
//! another instance). A single-row lease keeps several instances from reconciling at once.
//!
//! Only accounts Dialogue created (those with a row) are ever deleted: a name already taken on
//! Prosody by someone else's account makes Dialogue pick the next name (`zoe-2`).

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use i18n::Message;
use jiff::{SignedDuration, Timestamp};
use store::{AuditEntry, ProsodyAccount, ProsodyOrphan, UserFilter};

use crate::crypto::random_token;
use crate::error::{Error, Result};
use crate::jitsi_servers::ServerRuntime;
use crate::{Caller, Service};

/// How long one reconciliation may hold the lease (renewed before each server).
const LEASE: SignedDuration = SignedDuration::from_secs(120);
/// The full reconciliation's period.
pub const PERIOD: Duration = Duration::from_secs(60);
/// First retry delay, doubled at each failure up to [`MAX_BACKOFF`].
const FIRST_BACKOFF_SECS: i64 = 2;
const MAX_BACKOFF_SECS: i64 = 600;
/// Names tried for one account before giving up (`zoe`, `zoe-2` … `zoe-20`).
const MAX_NAME_ATTEMPTS: u32 = 20;

/// The reconciler's handle: pokes wake it; its owner id names this instance's lease.
pub struct Reconciler {
    wake: tokio::sync::Notify,
    owner: String,
}

impl Default for Reconciler {
    fn default() -> Self {
        Reconciler::new()
    }
}

impl Reconciler {
    pub fn new() -> Reconciler {
        Reconciler {
            wake: tokio::sync::Notify::new(),
            owner: store::new_id(),
        }
    }

    /// Something that may change who hosts where happened: reconcile now.
    pub fn poke(&self) {
        self.wake.notify_one();
    }
}

/// The sealing field of an account's password (bound to the server and the user).
fn password_field(user_id: &str) -> String {
    format!("prosody_password {user_id}")
}

fn system_audit() -> AuditEntry {
    AuditEntry::new("prosody_account", None, "Prosody reconciler", None)
}

/// `node@domain`.
fn jid(server: &ServerRuntime, node: &str) -> String {
    format!("{node}@{}", server.server.domain)
}

/// The retry time after `attempts` failures (this one included).
fn retry_at(now: Timestamp, attempts: i64) -> Timestamp {
    let shift = attempts.clamp(0, 20) as u32;
    let secs = FIRST_BACKOFF_SECS.saturating_mul(1_i64 << shift).min(MAX_BACKOFF_SECS);
    now + SignedDuration::from_secs(secs)
}

/// What one reconciliation did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Whether this instance held the lease (nothing was done otherwise).
    pub ran: bool,
    pub created: usize,
    pub passwords: usize,
    pub deleted: usize,
    pub failed: usize,
}

/// The secure-domain servers that open.
async fn secure_servers(svc: &Service) -> Result<Vec<std::sync::Arc<ServerRuntime>>> {
    Ok(svc
        .jitsi()
        .all(svc.store())
        .await?
        .into_iter()
        .filter(|s| s.is_secure_domain() && s.xmpp.is_some())
        .collect())
}

/// Brings the rows in line with who should host where: new rows (a name and a password) for
/// new hosts, rows wanted again or no longer.
async fn plan(svc: &Service, servers: &[std::sync::Arc<ServerRuntime>]) -> Result<()> {
    let store = svc.store();
    let now = svc.now();
    let audit = system_audit();
    store.forget_prosody_accounts_of_token_servers().await?;
    let users = store
        .list_users(&UserFilter {
            roles: Vec::new(),
            include_inactive: false,
        })
        .await?;
    let rules = &svc.config().access.rules;
    let rows = store.prosody_accounts().await?;
    let mut desired: HashSet<(String, String)> = HashSet::new();
    for server in servers {
        let taken: HashSet<&str> = rows
            .iter()
            .filter(|r| r.server_id == server.server.id)
            .map(|r| r.node.as_str())
            .collect();
        for user in users
            .iter()
            .filter(|u| rules.may_use_server(u.role, &server.server.name))
        {
            desired.insert((server.server.id.clone(), user.id.clone()));
            match rows
                .iter()
                .find(|r| r.server_id == server.server.id && r.user_id == user.id)
            {
                Some(row) if row.wanted => {}
                Some(_) => {
                    store
                        .want_prosody_account(&server.server.id, &user.id, true, now, &audit)
                        .await?;
                }
                None => {
                    let password = random_token();
                    let sealed = svc
                        .jitsi()
                        .sealer()
                        .seal(&server.server.id, &password_field(&user.id), &password)?;
                    for attempt in 0..MAX_NAME_ATTEMPTS {
                        let node = domain::jitsi_server::prosody_node(&user.email, attempt);
                        if taken.contains(node.as_str()) {
                            continue;
                        }
                        if store
                            .add_prosody_account(&server.server.id, &user.id, &node, &sealed, now, &audit)
                            .await?
                        {
                            break;
                        }
                    }
                }
            }
        }
    }
    for row in rows.iter().filter(|r| r.wanted) {
        if !desired.contains(&(row.server_id.clone(), row.user_id.clone())) {
            store
                .want_prosody_account(&row.server_id, &row.user_id, false, now, &audit)
                .await?;
        }
    }
    Ok(())
}

/// Makes one server's Prosody match its due rows, over one admin connection.
async fn apply_server(
    svc: &Service,
    server: &ServerRuntime,
    rows: &[ProsodyAccount],
    report: &mut Report,
) -> Result<()> {
    let store = svc.store();
    let audit = system_audit();
    let Some(cfg) = &server.xmpp else {
        return Ok(());
    };
    let mut client = match xmpp::AdminClient::connect(cfg).await {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(server = %server.server.name, address = %cfg.address(), error = %e, "Prosody unreachable: account changes postponed");
            report.failed += rows.len();
            let error = e.to_string();
            for row in rows {
                let now = svc.now();
                store
                    .prosody_failed(row, &error, retry_at(now, row.attempts + 1), now)
                    .await?;
                svc.metrics().prosody_change("failed");
            }
            return Ok(());
        }
    };
    for row in rows {
        let now = svc.now();
        let address = jid(server, &row.node);
        let outcome: std::result::Result<&'static str, xmpp::Error> = async {
            if !row.wanted {
                if row.applied.is_some() || row.creating {
                    client.delete_user(&address).await?;
                }
                return Ok("deleted");
            }
            let password = svc
                .jitsi()
                .sealer()
                .open(&server.server.id, &password_field(&row.user_id), &row.password_enc)
                .map_err(|e| xmpp::Error::Protocol(e.to_string()))?;
            if row.applied.is_none() {
                if client.user_exists(&address).await? {
                    if row.creating {
                        // Created by us before a crash kept us from recording it: ours, with
                        // the password we hold.
                        client.set_password(&address, &password).await?;
                        return Ok("adopted");
                    }
                    return Ok("taken");
                }
                // Recorded before asking, so that a crash after Prosody's answer leaves an
                // account we recognise.
                store
                    .prosody_creating(row, svc.now())
                    .await
                    .map_err(|e| xmpp::Error::Protocol(e.to_string()))?;
                match client.add_user(&address, &password).await {
                    Err(xmpp::Error::UserExists(_)) => return Ok("taken"),
                    other => other?,
                }
                return Ok("created");
            }
            if client.user_exists(&address).await? {
                client.set_password(&address, &password).await?;
            } else {
                // Deleted on Prosody by someone else: ours again.
                client.add_user(&address, &password).await?;
            }
            Ok("password")
        }
        .await;
        match outcome {
            Ok("deleted") => {
                store.prosody_removed(row, now, &audit).await?;
                svc.metrics().prosody_change("deleted");
                report.deleted += 1;
            }
            Ok("taken") => {
                // Not ours: never touched. The account takes the next free name.
                let user = store.user(&row.user_id).await?;
                let email = user.map(|u| u.email).unwrap_or_else(|| row.node.clone());
                let mut renamed = false;
                for attempt in 1..MAX_NAME_ATTEMPTS {
                    let node = domain::jitsi_server::prosody_node(&email, attempt);
                    if node != row.node && store.rename_prosody_account(row, &node, now).await? {
                        tracing::info!(server = %server.server.name, taken = %address, now = %node, "a Prosody account of that name exists (not Dialogue's): another name is used");
                        renamed = true;
                        break;
                    }
                }
                if !renamed {
                    store
                        .prosody_failed(row, "no free account name", retry_at(now, row.attempts + 1), now)
                        .await?;
                }
                // The new name is tried at the next round, at once.
                svc.prosody().poke();
            }
            Ok(kind) => {
                store.prosody_applied(row, row.generation, now, &audit).await?;
                svc.metrics()
                    .prosody_change(if kind == "password" { "password" } else { "created" });
                if kind != "password" {
                    report.created += 1;
                } else {
                    report.passwords += 1;
                }
            }
            Err(e) => {
                tracing::warn!(server = %server.server.name, account = %address, error = %e, "a Prosody account change failed: retried later");
                store
                    .prosody_failed(row, &e.to_string(), retry_at(now, row.attempts + 1), now)
                    .await?;
                svc.metrics().prosody_change("failed");
                report.failed += 1;
                if matches!(
                    e,
                    xmpp::Error::Unreachable { .. } | xmpp::Error::Timeout(_) | xmpp::Error::ConnectionLost(_)
                ) {
                    // The connection is gone: the others wait for the next attempt.
                    return Ok(());
                }
            }
        }
    }
    let _ = client.close().await;
    Ok(())
}

/// How Dialogue logs in to the Prosody of an orphan account (its server's settings when the
/// orphan was made).
fn orphan_config(svc: &Service, orphan: &ProsodyOrphan) -> Result<xmpp::AdminConfig> {
    let password = svc
        .jitsi()
        .sealer()
        .open(&orphan.server_id, "admin_password", &orphan.admin_password_enc)?;
    let mut cfg = xmpp::AdminConfig::new(
        orphan.xmpp_host.clone(),
        orphan.domain.clone(),
        orphan.admin_jid.clone(),
        password,
    );
    cfg.port = orphan.xmpp_port;
    cfg.ca_pem = orphan.ca_pem.clone();
    cfg.allow_plain = crate::jitsi_servers::is_loopback_host(&orphan.xmpp_host);
    Ok(cfg)
}

/// Deletes from Prosody the accounts Dialogue made for a server it no longer manages there
/// (deleted, or of another kind or XMPP domain now), each Prosody once per round with the
/// admin login the server had; a failure is retried later like an account change.
async fn apply_orphans(svc: &Service, report: &mut Report) -> Result<()> {
    let store = svc.store();
    let audit = system_audit();
    let now = svc.now();
    let mut due: BTreeMap<String, Vec<ProsodyOrphan>> = BTreeMap::new();
    for orphan in store.prosody_orphans().await? {
        if orphan.next_attempt_at <= now {
            due.entry(orphan.server_id.clone()).or_default().push(orphan);
        }
    }
    for orphans in due.values() {
        let first = &orphans[0];
        let connected = match orphan_config(svc, first) {
            Ok(cfg) => xmpp::AdminClient::connect(&cfg).await.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        let mut client = match connected {
            Ok(c) => c,
            Err(error) => {
                tracing::warn!(server = %first.server_name, error = %error, "Prosody unreachable: removal of the accounts of a server no longer managed postponed");
                for orphan in orphans {
                    let now = svc.now();
                    store
                        .prosody_orphan_failed(orphan, &error, retry_at(now, orphan.attempts + 1))
                        .await?;
                    svc.metrics().prosody_change("failed");
                    report.failed += 1;
                }
                continue;
            }
        };
        for orphan in orphans {
            let now = svc.now();
            let address = format!("{}@{}", orphan.node, orphan.domain);
            match client.delete_user(&address).await {
                Ok(_) => {
                    store.prosody_orphan_removed(orphan, now, &audit).await?;
                    svc.metrics().prosody_change("deleted");
                    report.deleted += 1;
                }
                Err(e) => {
                    tracing::warn!(server = %orphan.server_name, account = %address, error = %e, "removing a Prosody account of a server no longer managed failed: retried later");
                    store
                        .prosody_orphan_failed(orphan, &e.to_string(), retry_at(now, orphan.attempts + 1))
                        .await?;
                    svc.metrics().prosody_change("failed");
                    report.failed += 1;
                }
            }
        }
        let _ = client.close().await;
    }
    Ok(())
}

/// One reconciliation (plan, then apply what is due), if this instance gets the lease.
pub async fn reconcile(svc: &Service) -> Result<Report> {
    let store = svc.store();
    let owner = &svc.prosody().owner;
    // Most installations have no secure-domain server: then, with no account left to remove,
    // the minute's run reads and writes nothing more (no lease taken and released).
    let servers = secure_servers(svc).await?;
    if servers.is_empty() && store.prosody_accounts().await?.is_empty() && store.prosody_orphans().await?.is_empty() {
        return Ok(Report::default());
    }
    let now = svc.now();
    if !store.claim_prosody_lease(owner, now, now + LEASE).await? {
        return Ok(Report::default());
    }
    let result = async {
        let mut report = Report {
            ran: true,
            ..Report::default()
        };
        // First the accounts of Prosodys no longer managed: a server made secure-domain again
        // then finds its names free.
        apply_orphans(svc, &mut report).await?;
        plan(svc, &servers).await?;
        let now = svc.now();
        let mut due: BTreeMap<String, Vec<ProsodyAccount>> = BTreeMap::new();
        for row in store.prosody_accounts().await? {
            if !row.in_sync() && row.next_attempt_at <= now {
                due.entry(row.server_id.clone()).or_default().push(row);
            }
        }
        for server in &servers {
            if let Some(rows) = due.get(&server.server.id) {
                let now = svc.now();
                store.claim_prosody_lease(owner, now, now + LEASE).await?;
                apply_server(svc, server, rows, &mut report).await?;
            }
        }
        Ok::<_, Error>(report)
    }
    .await;
    store.release_prosody_lease(owner).await?;
    result
}

/// How long until the next row is due (at most [`PERIOD`]).
async fn next_wait(svc: &Service) -> Duration {
    let rows = svc.store().prosody_accounts().await.unwrap_or_default();
    let orphans = svc.store().prosody_orphans().await.unwrap_or_default();
    let now = svc.now();
    rows.iter()
        .filter(|r| !r.in_sync())
        .map(|r| r.next_attempt_at)
        .chain(orphans.iter().map(|o| o.next_attempt_at))
        .map(|at| {
            let wait = at.duration_since(now).as_secs_f64().max(0.2);
            Duration::from_secs_f64(wait)
        })
        .min()
        .unwrap_or(PERIOD)
        .min(PERIOD)
}

/// The background reconciler: at start, at each poke, every minute, and when a retry is due.
pub async fn run(svc: Service) {
    loop {
        match reconcile(&svc).await {
            Ok(r) if r.created + r.passwords + r.deleted + r.failed > 0 => tracing::info!(
                created = r.created,
                passwords = r.passwords,
                deleted = r.deleted,
                failed = r.failed,
                "Prosody accounts reconciled"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "Prosody account reconciliation failed"),
        }
        let wait = next_wait(&svc).await;
        tokio::select! {
            () = svc.prosody().wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// A host's login on one secure-domain server, as its owner sees it.
#[derive(Debug, Clone)]
pub struct HostLogin {
    pub server_id: String,
    pub server_name: String,
    /// `node@domain`: what to type as the user name in Jitsi's login prompt.
    pub jid: String,
    pub password: String,
    /// Whether Prosody holds this password now (else a change is on its way).
    pub ready: bool,
    /// Why the last attempt failed, while not ready.
    pub last_error: Option<String>,
}

fn host_login(svc: &Service, server: &ServerRuntime, row: &ProsodyAccount) -> Result<HostLogin> {
    let password = svc
        .jitsi()
        .sealer()
        .open(&server.server.id, &password_field(&row.user_id), &row.password_enc)?;
    Ok(HostLogin {
        server_id: server.server.id.clone(),
        server_name: server.server.name.clone(),
        jid: jid(server, &row.node),
        password,
        ready: row.in_sync(),
        last_error: if row.in_sync() { None } else { row.last_error.clone() },
    })
}

/// The caller's own host logins (one per secure-domain server they host on). A host whose row
/// the reconciler has not made yet gets it now (the password is then shown at once; the
/// reconciler, woken, puts it on Prosody within moments).
pub async fn my_logins(svc: &Service, caller: &Caller) -> Result<Vec<HostLogin>> {
    let servers = secure_servers(svc).await?;
    if servers.is_empty() {
        return Ok(Vec::new());
    }
    let user_id = &caller.actor.user_id;
    let mut rows = svc.store().prosody_accounts_of_user(user_id).await?;
    let allowed = |s: &ServerRuntime| {
        svc.config()
            .access
            .rules
            .may_use_server(caller.actor.role, &s.server.name)
    };
    if servers
        .iter()
        .any(|s| allowed(s) && !rows.iter().any(|r| r.server_id == s.server.id && r.wanted))
    {
        plan(svc, &servers).await?;
        svc.prosody().poke();
        rows = svc.store().prosody_accounts_of_user(user_id).await?;
    }
    let mut out = Vec::new();
    for server in &servers {
        if let Some(row) = rows.iter().find(|r| r.server_id == server.server.id && r.wanted) {
            out.push(host_login(svc, server, row)?);
        }
    }
    Ok(out)
}

/// The caller's host login on one server, if they have one (for the room page).
pub async fn my_login_on(svc: &Service, caller: &Caller, server_id: &str) -> Result<Option<HostLogin>> {
    Ok(my_logins(svc, caller)
        .await?
        .into_iter()
        .find(|l| l.server_id == server_id))
}

/// The caller's host login on the server of session `session_id` (the one it is pinned to, or
/// the default), when that server is a secure-domain one they host on.
pub async fn my_login_for_session(svc: &Service, caller: &Caller, session_id: &str) -> Result<Option<HostLogin>> {
    let Some(room) = svc.store().room_session_by_id(session_id).await? else {
        return Ok(None);
    };
    match &room.server {
        Some((server_id, _)) => my_login_on(svc, caller, server_id).await,
        None => Ok(None),
    }
}

/// A new password for the caller's account on `server_id`: stored at once (shown from now on),
/// applied on Prosody right away by the reconciler.
pub async fn new_password(svc: &Service, caller: &Caller, server_id: &str) -> Result<HostLogin> {
    let servers = secure_servers(svc).await?;
    let no_login = || Error::conflict("", Message::new("prosody.no_login"));
    let Some(server) = servers.iter().find(|s| s.server.id == server_id) else {
        // A server of another kind has no logins; an unknown one is not found.
        return Err(match svc.store().jitsi_server(server_id).await? {
            Some(_) => no_login(),
            None => Error::NotFound,
        });
    };
    let user_id = &caller.actor.user_id;
    let password = random_token();
    let sealed = svc
        .jitsi()
        .sealer()
        .seal(server_id, &password_field(user_id), &password)?;
    let audit = caller.audit("prosody_account.new_password");
    if !svc
        .store()
        .new_prosody_password(server_id, user_id, &sealed, svc.now(), &audit)
        .await?
    {
        return Err(no_login());
    }
    svc.prosody().poke();
    let row = svc
        .store()
        .prosody_account(server_id, user_id)
        .await?
        .ok_or(Error::NotFound)?;
    host_login(svc, server, &row)
}

/// What `dialogue check` says of a secure-domain server's Prosody: logs in as the admin JID,
/// checks the account commands are offered to it, and asks whether the admin account exists.
pub async fn check(server: &ServerRuntime) -> std::result::Result<String, String> {
    let Some(cfg) = &server.xmpp else {
        return Err("no XMPP admin settings".to_owned());
    };
    let report = xmpp::check(cfg).await.map_err(|e| format!("{}: {e}", cfg.address()))?;
    let mut client = xmpp::AdminClient::connect(cfg)
        .await
        .map_err(|e| format!("{}: {e}", cfg.address()))?;
    let exists = client
        .user_exists(&cfg.admin_jid)
        .await
        .map_err(|e| format!("{}: user-exists {}: {e}", cfg.address(), cfg.admin_jid))?;
    let _ = client.close().await;
    if !exists {
        return Err(format!(
            "{}: the admin account {} does not exist",
            cfg.address(),
            cfg.admin_jid
        ));
    }
    let security = if report.encrypted {
        "STARTTLS"
    } else {
        "plain TCP (loopback)"
    };
    Ok(format!(
        "{} as {}, {security}, {}, account commands offered",
        cfg.address(),
        cfg.admin_jid,
        report.mechanism
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_ten_minutes() {
        let now = Timestamp::UNIX_EPOCH;
        assert_eq!(retry_at(now, 0).duration_since(now).as_secs(), 2);
        assert_eq!(retry_at(now, 1).duration_since(now).as_secs(), 4);
        assert_eq!(retry_at(now, 3).duration_since(now).as_secs(), 16);
        assert_eq!(retry_at(now, 30).duration_since(now).as_secs(), 600);
    }
}
