//! Accounts: who may see, create and change which account (admins everyone, managers trainers:
//! `domain::perm`), logins with a password (throttled), login sessions, the first-start setup
//! link, set-password links, and accounts that log in through an identity provider (a trusted
//! proxy's headers today; OpenID Connect and LDAP use the same rules). The admin pages and the
//! command line's `dialogue user …` call the same functions.

use domain::{DisplayName, Email, Locale, NewPassword, Role, UserAction};
use i18n::Message;
use jiff::SignedDuration;
use store::{AuditEntry, NewUser, ProfileUpdate, StoreError, TokenPurpose, User, UserFilter};

use crate::crypto::{
    DUMMY_HASH, HashingError, hash_password_bounded, random_token, storage_hash, verify_password_bounded,
};
use crate::error::{Error, Problem, Result};
use crate::{Caller, Service, messages};

/// Where an account with a local password logs in.
pub const LOCAL: &str = "local";

/// An account's editable fields, as typed.
#[derive(Debug, Clone, Default)]
pub struct AccountFields {
    pub email: String,
    pub display_name: String,
    pub locale: String,
    pub time_zone: String,
}

impl AccountFields {
    pub fn of(user: &User) -> AccountFields {
        AccountFields {
            email: user.email.clone(),
            display_name: user.display_name.clone(),
            locale: user.locale.as_str().to_owned(),
            time_zone: user.time_zone.clone(),
        }
    }

    /// Every field checked; refused, every problem with its field.
    pub fn parse(&self) -> Result<ProfileUpdate> {
        let mut problems = Vec::new();
        let mut check = |result: std::result::Result<(), domain::UserInputError>| {
            if let Err(e) = result {
                problems.push(Problem::new(messages::user_input_field(&e), messages::user_input(&e)));
            }
        };
        let email = Email::parse(&self.email);
        let name = DisplayName::parse(&self.display_name);
        let locale = domain::user::parse_locale(&self.locale);
        let zone = domain::user::parse_time_zone(&self.time_zone);
        check(email.as_ref().map(|_| ()).map_err(Clone::clone));
        check(name.as_ref().map(|_| ()).map_err(Clone::clone));
        check(locale.as_ref().map(|_| ()).map_err(Clone::clone));
        check(zone.as_ref().map(|_| ()).map_err(Clone::clone));
        match (email, name, locale, zone) {
            (Ok(email), Ok(display_name), Ok(locale), Ok(time_zone)) => Ok(ProfileUpdate {
                email,
                display_name,
                locale,
                time_zone,
            }),
            _ => Err(Error::Invalid(problems)),
        }
    }
}

/// A new password typed twice: it must follow the rules and the two must match.
pub fn new_password(password: &str, confirm: &str) -> Result<NewPassword> {
    let password = NewPassword::parse(password).map_err(|e| Error::invalid("password", messages::user_input(&e)))?;
    if password.expose() != confirm {
        return Err(Error::invalid(
            "password_confirm",
            Message::new("input.password_mismatch"),
        ));
    }
    Ok(password)
}

/// A one-time link with which a person chooses their password (shown once, never stored).
#[derive(Debug, Clone)]
pub struct PasswordLink {
    pub url: String,
    /// How long it stays valid.
    pub hours: i64,
}

fn require(actor: &domain::Actor, action: UserAction) -> Result<()> {
    if actor.may(action) {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

async fn hash(password: &NewPassword) -> Result<String> {
    Ok(hash_password_bounded(password.expose().to_owned()).await?)
}

/// An email already taken, said on its field.
fn email_taken(e: StoreError) -> Error {
    match e {
        StoreError::EmailTaken => Error::invalid("email", Message::new("user.error.email_taken")),
        other => other.into(),
    }
}

/// The accounts `actor` may see, by role (disabled ones too when asked).
pub async fn list(svc: &Service, actor: &domain::Actor, include_inactive: bool) -> Result<Vec<User>> {
    require(actor, UserAction::List)?;
    Ok(svc
        .store()
        .list_users(&UserFilter {
            roles: actor.visible_roles().to_vec(),
            include_inactive,
        })
        .await?)
}

/// The account `id`, if `actor` may see it; otherwise not found (as if it did not exist).
pub async fn visible(svc: &Service, actor: &domain::Actor, id: &str) -> Result<User> {
    match svc.store().user(id).await? {
        Some(user) if actor.may(UserAction::View { target: user.role }) => Ok(user),
        _ => Err(Error::NotFound),
    }
}

/// The account with this email, for the command line (which may see every account).
pub async fn by_email(svc: &Service, email: &str) -> Result<User> {
    svc.store().user_by_email(email).await?.ok_or(Error::NotFound)
}

/// Creates an account of `role`. Without a password, a set-password link comes back to pass on,
/// and the same link is mailed to the account (a welcome message queued with it).
pub async fn create(
    svc: &Service,
    caller: &Caller,
    fields: &AccountFields,
    role: Role,
    password: Option<&NewPassword>,
) -> Result<(User, Option<PasswordLink>)> {
    require(&caller.actor, UserAction::Create { role })?;
    let profile = fields.parse()?;
    let password_hash = match password {
        Some(p) => Some(hash(p).await?),
        None => None,
    };
    let new = NewUser {
        email: profile.email,
        display_name: profile.display_name,
        role,
        locale: profile.locale,
        time_zone: profile.time_zone,
        password_hash,
        auth_source: LOCAL.into(),
        external_id: None,
    };
    let audit = caller
        .audit("user.create")
        .detail(serde_json::json!({ "role": role.as_str() }));
    if new.password_hash.is_some() || !svc.store().can_seal_mail() {
        // Without the server's secret (a command before the first start) no welcome is mailed:
        // the link comes back to pass on by hand.
        let user = svc
            .store()
            .create_user(&new, svc.now(), &audit)
            .await
            .map_err(email_taken)?;
        svc.prosody().poke();
        let link = if user.has_password {
            None
        } else {
            Some(password_link(svc, caller, &user).await?)
        };
        return Ok((user, link));
    }
    // Without a password: the set-password link is shown to the admin once and mailed to the
    // account (a welcome in its language), both in the account's own transaction.
    let token = random_token();
    let now = svc.now();
    let ttl = SignedDuration::try_from(svc.config().password_link_ttl).map_err(|e| Error::Internal(e.to_string()))?;
    let token_hash = storage_hash(&token);
    let link_audit = caller.audit("user.password_link");
    let welcome = store::WelcomeLink {
        token: &token,
        token_hash: &token_hash,
        expires_at: now + ttl,
        audit: &link_audit,
    };
    let user = svc
        .store()
        .create_user_welcomed(&new, &welcome, now, &audit)
        .await
        .map_err(email_taken)?;
    svc.prosody().poke();
    let link = PasswordLink {
        url: svc.url(&format!("/password/{token}")),
        hours: ttl.as_hours(),
    };
    Ok((user, Some(link)))
}

/// Changes another account's (or one's own) name, email, language and zone.
pub async fn update(svc: &Service, caller: &Caller, id: &str, fields: &AccountFields) -> Result<User> {
    let user = if id == caller.actor.user_id {
        svc.store().user(id).await?.ok_or(Error::NotFound)?
    } else {
        let user = visible(svc, &caller.actor, id).await?;
        require(&caller.actor, UserAction::Edit { target: user.role })?;
        user
    };
    let update = fields.parse()?;
    svc.store()
        .update_profile(&user.id, &update, svc.now(), &caller.audit("user.update"))
        .await
        .map_err(email_taken)
}

/// Saves the language a person chose for themself.
pub async fn set_own_locale(svc: &Service, caller: &Caller, locale: Locale) -> Result<User> {
    let user = svc
        .store()
        .user(&caller.actor.user_id)
        .await?
        .ok_or(Error::Unauthenticated)?;
    let update = ProfileUpdate {
        email: Email::parse(&user.email)?,
        display_name: DisplayName::parse(&user.display_name)?,
        locale,
        time_zone: user.time_zone.clone(),
    };
    Ok(svc
        .store()
        .update_profile(&user.id, &update, svc.now(), &caller.audit("user.update"))
        .await?)
}

/// Changes an account's role. The last active admin keeps theirs.
pub async fn set_role(svc: &Service, caller: &Caller, id: &str, to: Role) -> Result<User> {
    let user = visible(svc, &caller.actor, id).await?;
    require(&caller.actor, UserAction::ChangeRole { target: user.role, to })?;
    let user = svc
        .store()
        .set_role(&user.id, to, svc.now(), &caller.audit("user.role"))
        .await?;
    // Hosts of secure-domain servers may have gained or lost their Prosody account.
    svc.prosody().poke();
    Ok(user)
}

/// Disables (ending its sessions) or re-enables an account. The last active admin stays.
pub async fn set_active(svc: &Service, caller: &Caller, id: &str, active: bool) -> Result<User> {
    let user = visible(svc, &caller.actor, id).await?;
    require(
        &caller.actor,
        UserAction::Disable {
            target: user.role,
            is_self: user.id == caller.actor.user_id,
        },
    )?;
    let action = if active { "user.enable" } else { "user.disable" };
    let user = svc
        .store()
        .set_active(&user.id, active, svc.now(), &caller.audit(action))
        .await?;
    svc.prosody().poke();
    Ok(user)
}

/// A new set-password link for `user` (the newest replaces the ones before it).
async fn password_link(svc: &Service, caller: &Caller, user: &User) -> Result<PasswordLink> {
    let token = random_token();
    let now = svc.now();
    let ttl = SignedDuration::try_from(svc.config().password_link_ttl).map_err(|e| Error::Internal(e.to_string()))?;
    let audit = caller.audit("user.password_link").target("user", &user.id, &user.email);
    svc.store()
        .create_one_time_token(
            &storage_hash(&token),
            TokenPurpose::SetPassword,
            Some(&user.id),
            now,
            now + ttl,
            Some(&audit),
        )
        .await?;
    Ok(PasswordLink {
        url: svc.url(&format!("/password/{token}")),
        hours: ttl.as_hours(),
    })
}

/// Issues a set-password link for an active account the caller manages.
pub async fn issue_password_link(svc: &Service, caller: &Caller, id: &str) -> Result<PasswordLink> {
    let user = visible(svc, &caller.actor, id).await?;
    require(&caller.actor, UserAction::IssuePasswordLink { target: user.role })?;
    if !user.active {
        return Err(Error::conflict("", Message::new("users.link_disabled")));
    }
    password_link(svc, caller, &user).await
}

/// Sets an account's password (the command line's `user passwd`): every login session and API
/// token of the account ends with the old password.
pub async fn set_password(svc: &Service, caller: &Caller, id: &str, password: &NewPassword) -> Result<()> {
    let user = visible(svc, &caller.actor, id).await?;
    require(&caller.actor, UserAction::IssuePasswordLink { target: user.role })?;
    let hash = hash(password).await?;
    Ok(svc
        .store()
        .set_password_hash(&user.id, &hash, None, svc.now(), &caller.audit("user.password"))
        .await?)
}

/// A person changes their own password, proving the current one first when they have one. The
/// session they do it from stays; their other sessions and their API tokens end.
pub async fn change_own_password(
    svc: &Service,
    caller: &Caller,
    keep_session: &str,
    current: &str,
    password: std::result::Result<NewPassword, Error>,
) -> Result<()> {
    let user = svc
        .store()
        .user(&caller.actor.user_id)
        .await?
        .ok_or(Error::Unauthenticated)?;
    let mut problems = Vec::new();
    if user.has_password {
        let stored = svc
            .store()
            .login_credentials(&user.email)
            .await?
            .and_then(|(_, h)| h)
            .unwrap_or_default();
        if !verify_password_bounded(current.to_owned(), stored).await? {
            problems.push(Problem::new(
                "current_password",
                Message::new("profile.error.current_password"),
            ));
        }
    }
    let password = match password {
        Ok(p) => Some(p),
        Err(e) => {
            problems.extend(e.problems().iter().cloned());
            None
        }
    };
    let (Some(password), true) = (password, problems.is_empty()) else {
        return Err(Error::Invalid(problems));
    };
    let hash = hash(&password).await?;
    Ok(svc
        .store()
        .set_password_hash(
            &user.id,
            &hash,
            Some(keep_session),
            svc.now(),
            &caller.audit("user.password"),
        )
        .await?)
}

// ---- Logging in ----

/// Logs in with an email and a password — or, when the LDAP login is configured and no account
/// has its own password under that login, a directory user name or address and its directory
/// password (`logins`). Failures are throttled per account and per address:
/// the attempt is counted a failure before the password is checked, in the transaction that
/// checks the locks, so parallel guesses cannot all slip under the limit. A wrong email costs
/// as long as a wrong password.
pub async fn login(svc: &Service, email: &str, password: &str, ip: &str) -> Result<User> {
    let now = svc.now();
    let store = svc.store();
    let email_norm = email.trim().to_lowercase();
    let account_key = format!("acct:{email_norm}");
    let address_key = format!("ip:{ip}");
    let (account_rule, address_rule) = (&svc.config().throttle_account, &svc.config().throttle_address);
    if let Some(until) = store
        .begin_login_attempt((&account_key, account_rule), &address_key, now)
        .await?
    {
        svc.metrics().lockout();
        return Err(Error::Throttled { until });
    }
    let found = store.login_credentials(&email_norm).await?;
    // An account with its own password logs in with it, never through the directory.
    let own_password = matches!(found, Some((_, Some(_))));
    let candidate = match found {
        Some((user, Some(hash))) if user.active => Some((user, hash)),
        _ => None,
    };
    let failed = || async {
        store.record_login_failure(&address_key, now, address_rule).await?;
        let entry =
            AuditEntry::new("login.failed", None, "anonymous", Some(ip)).target("email", &email_norm, &email_norm);
        store.audit(&entry, now).await?;
        svc.metrics().login_failure();
        Err::<User, Error>(Error::BadCredentials)
    };
    if !own_password && svc.logins().directory_enabled() {
        return match crate::logins::ldap_login(svc, email, password, ip).await {
            Ok(user) => {
                store.login_succeeded(&account_key).await?;
                Ok(user)
            }
            Err(Error::BadCredentials) => failed().await,
            Err(e) => {
                // Not the person's failure (the directory is down, the account is someone
                // else's): take the provisional one back.
                store.abandon_login_attempt((&account_key, account_rule)).await?;
                Err(e)
            }
        };
    }
    let hash = candidate
        .as_ref()
        .map_or_else(|| DUMMY_HASH.clone(), |(_, h)| h.clone());
    let matches = match verify_password_bounded(password.to_owned(), hash).await {
        Ok(matches) => matches,
        Err(HashingError::Busy) => {
            // Not the person's failure: take the provisional one back.
            store.abandon_login_attempt((&account_key, account_rule)).await?;
            return Err(Error::Busy);
        }
        Err(e) => return Err(e.into()),
    };
    match candidate {
        Some((user, _)) if matches => {
            store.login_succeeded(&account_key).await?;
            Ok(user)
        }
        _ => failed().await,
    }
}

/// A login session just started: the cookie's value (shown to the browser only), the hash the
/// database keeps, and how long the cookie lives.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: String,
    pub hash: String,
    pub max_age_secs: i64,
}

/// Starts a login session for `user` with a fresh id (never one the browser had).
pub async fn start_session(
    svc: &Service,
    user: &User,
    via: &str,
    ip: &str,
    user_agent: Option<&str>,
) -> Result<NewSession> {
    let id = random_token();
    let hash = storage_hash(&id);
    let now = svc.now();
    let absolute =
        SignedDuration::try_from(svc.config().session_absolute).map_err(|e| Error::Internal(e.to_string()))?;
    let audit =
        AuditEntry::new("login", Some(&user.id), &user.email, Some(ip)).detail(serde_json::json!({ "via": via }));
    svc.store()
        .create_login_session(&hash, &user.id, via, now, now + absolute, user_agent, &audit)
        .await?;
    Ok(NewSession {
        id,
        hash,
        max_age_secs: absolute.as_secs(),
    })
}

/// The account of a live login session (cookie value `id`) and the session's hash. Activity is
/// written at most once a minute, so that reads stay reads.
pub async fn session(svc: &Service, id: &str) -> Result<Option<(User, String)>> {
    if id.is_empty() {
        return Ok(None);
    }
    let now = svc.now();
    let idle = svc.config().session_idle.as_secs() as i64;
    let hash = storage_hash(id);
    match svc.store().session_user(&hash, now, idle).await? {
        Some((session, user)) => {
            if now.duration_since(session.last_seen_at) > SignedDuration::from_secs(60) {
                svc.store().touch_session(&hash, now).await?;
            }
            Ok(Some((user, hash)))
        }
        None => Ok(None),
    }
}

/// Ends a login session (logging out, or replaced by a new login).
pub async fn end_session(svc: &Service, hash: &str, caller: Option<&Caller>) -> Result<()> {
    let audit = caller.map(|c| c.audit("logout"));
    Ok(svc.store().delete_session(hash, svc.now(), audit.as_ref()).await?)
}

// ---- First start and set-password links ----

/// When no active admin exists, a one-time link (valid one hour) that creates the first one.
pub async fn setup_link_if_needed(svc: &Service) -> Result<Option<String>> {
    if svc.store().count_active_admins().await? > 0 {
        return Ok(None);
    }
    let token = random_token();
    let now = svc.now();
    svc.store()
        .create_one_time_token(
            &storage_hash(&token),
            TokenPurpose::Setup,
            None,
            now,
            now + SignedDuration::from_hours(1),
            None,
        )
        .await?;
    Ok(Some(svc.url(&format!("/setup/{token}"))))
}

/// Whether `token` is a live setup link (not found otherwise).
pub async fn setup_link(svc: &Service, token: &str) -> Result<()> {
    svc.store()
        .one_time_token(&storage_hash(token), TokenPurpose::Setup, svc.now())
        .await?
        .map(|_| ())
        .ok_or(Error::NotFound)
}

/// Creates the first administrator through the setup link, which is used up.
pub async fn complete_setup(
    svc: &Service,
    token: &str,
    fields: &AccountFields,
    password: std::result::Result<NewPassword, Error>,
    ip: &str,
) -> Result<User> {
    setup_link(svc, token).await?;
    let (profile, password) = both(fields.parse(), password)?;
    let new = NewUser {
        email: profile.email,
        display_name: profile.display_name,
        role: Role::Admin,
        locale: profile.locale,
        time_zone: profile.time_zone,
        password_hash: Some(hash(&password).await?),
        auth_source: LOCAL.into(),
        external_id: None,
    };
    let audit = AuditEntry::new("setup.admin_created", None, "setup link", Some(ip));
    match svc
        .store()
        .complete_setup(&storage_hash(token), &new, svc.now(), &audit)
        .await
    {
        Ok(user) => Ok(user),
        Err(StoreError::NotFound) => Err(Error::invalid("", Message::new("link.invalid"))),
        Err(e) => Err(email_taken(e)),
    }
}

/// Both results, or every problem of both.
fn both<A, B>(a: Result<A>, b: Result<B>) -> Result<(A, B)> {
    match (a, b) {
        (Ok(a), Ok(b)) => Ok((a, b)),
        (a, b) => {
            let mut problems = Vec::new();
            for e in [a.err(), b.err()].into_iter().flatten() {
                match e {
                    Error::Invalid(p) => problems.extend(p),
                    other => return Err(other),
                }
            }
            Err(Error::Invalid(problems))
        }
    }
}

/// The active account a live set-password link is for.
pub async fn password_link_owner(svc: &Service, token: &str) -> Result<User> {
    let link = svc
        .store()
        .one_time_token(&storage_hash(token), TokenPurpose::SetPassword, svc.now())
        .await?
        .ok_or(Error::NotFound)?;
    let user_id = link.user_id.ok_or(Error::NotFound)?;
    match svc.store().user(&user_id).await? {
        Some(user) if user.active => Ok(user),
        _ => Err(Error::NotFound),
    }
}

/// Sets the password through a set-password link, which is used up.
pub async fn complete_password_link(svc: &Service, token: &str, password: &NewPassword, ip: &str) -> Result<User> {
    let user = password_link_owner(svc, token).await?;
    let hash = hash(password).await?;
    let audit = AuditEntry::new("user.password_set", Some(&user.id), &user.email, Some(ip));
    match svc
        .store()
        .complete_password_link(&storage_hash(token), &hash, svc.now(), &audit)
        .await
    {
        Ok(user) => Ok(user),
        Err(StoreError::NotFound) => Err(Error::invalid("", Message::new("link.invalid"))),
        Err(e) => Err(e.into()),
    }
}

// ---- Identity providers ----

/// Who an identity provider says is logging in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIdentity {
    /// `proxy`, `oidc:<name>`, `ldap`.
    pub source: String,
    /// The provider's stable id for the person.
    pub external_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub groups: Vec<String>,
}

/// The highest role any of `groups` maps to.
pub fn mapped_role(role_map: &[(String, Role)], groups: &[String]) -> Option<Role> {
    role_map
        .iter()
        .filter(|(group, _)| groups.iter().any(|g| g == group))
        .map(|(_, role)| *role)
        .max()
}

/// Finds or creates the account of an identity: known by the provider's id, or an existing
/// account with the same email that nobody logs in to yet (never one with its own password or
/// another identity: an admin decides that, not the first login), or a new account with the
/// mapped role (else `default_role`). A mapped role is applied at each login; the last admin
/// keeps theirs.
pub async fn external_login(
    svc: &Service,
    identity: &ExternalIdentity,
    default_role: Role,
    role_map: &[(String, Role)],
    locale: Locale,
    ip: &str,
) -> Result<User> {
    let mapped = mapped_role(role_map, &identity.groups);
    external_login_as(svc, identity, default_role, mapped, locale, ip).await
}

/// [`external_login`] with the role the identity's groups map to already decided (the directory
/// compares LDAP group DNs its own way).
pub async fn external_login_as(
    svc: &Service,
    identity: &ExternalIdentity,
    default_role: Role,
    mapped: Option<Role>,
    locale: Locale,
    ip: &str,
) -> Result<User> {
    let store = svc.store();
    let now = svc.now();
    let label = format!("{} login", identity.source);
    let system = |action: &str| AuditEntry::new(action, None, &label, Some(ip));
    let source = identity.source.as_str();
    let external_id = identity.external_id.as_str();
    let email = identity
        .email
        .as_deref()
        .or(Some(external_id))
        .and_then(|e| Email::parse(e).ok());

    let mut user = match store.user_by_external_id(source, external_id).await? {
        Some(user) => user,
        None => {
            let Some(email) = email else {
                return Err(Error::invalid(
                    "",
                    Message::new("proxy.no_email").arg("user", external_id),
                ));
            };
            match store.user_by_email(email.as_str()).await? {
                Some(existing) => {
                    match store
                        .link_external_id(&existing.id, source, external_id, now, &system("user.link_identity"))
                        .await
                    {
                        Ok(user) => user,
                        Err(StoreError::EmailTaken) => match store.user_by_external_id(source, external_id).await? {
                            // Two first requests at once: the other one linked it, to this identity.
                            Some(linked) => linked,
                            None => {
                                tracing::warn!(
                                    %source,
                                    %external_id,
                                    account = %existing.id,
                                    "an identity names the address of an account with its own login: not linked"
                                );
                                return Err(Error::conflict(
                                    "",
                                    Message::new("proxy.account_exists").arg("email", &existing.email),
                                ));
                            }
                        },
                        Err(e) => return Err(e.into()),
                    }
                }
                None => {
                    let name = identity
                        .name
                        .as_deref()
                        .and_then(|n| DisplayName::parse(n).ok())
                        .or_else(|| DisplayName::parse(external_id).ok())
                        .ok_or_else(|| Error::invalid("", Message::new("input.name_empty")))?;
                    let new = NewUser {
                        email,
                        display_name: name,
                        role: mapped.unwrap_or(default_role),
                        locale,
                        time_zone: svc.config().default_time_zone.clone(),
                        password_hash: None,
                        auth_source: source.into(),
                        external_id: Some(external_id.to_owned()),
                    };
                    match store.create_user(&new, now, &system("user.create")).await {
                        Ok(user) => user,
                        // Two first requests at once: the other one created it.
                        Err(StoreError::EmailTaken) => store
                            .user_by_external_id(source, external_id)
                            .await?
                            .ok_or_else(|| Error::conflict("", Message::new("user.error.email_taken")))?,
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
    };
    if !user.active {
        return Err(Error::Forbidden);
    }
    if let Some(role) = mapped
        && role != user.role
    {
        match store.set_role(&user.id, role, now, &system("user.role")).await {
            Ok(updated) => user = updated,
            Err(StoreError::LastAdmin) => {
                tracing::warn!(user = %user.email, "group mapping would demote the last admin; kept")
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(user)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_highest_mapped_role_wins() {
        let map = vec![("staff".to_owned(), Role::Manager), ("it".to_owned(), Role::Admin)];
        assert_eq!(mapped_role(&map, &["staff".into(), "it".into()]), Some(Role::Admin));
        assert_eq!(mapped_role(&map, &["staff".into()]), Some(Role::Manager));
        assert_eq!(mapped_role(&map, &["other".into()]), None);
    }

    #[test]
    fn every_field_problem_is_reported() {
        let fields = AccountFields {
            email: "not an address".into(),
            display_name: " ".into(),
            locale: "xx".into(),
            time_zone: "Mars/Olympus".into(),
        };
        let Err(Error::Invalid(problems)) = fields.parse() else {
            panic!("refused")
        };
        let names: Vec<&str> = problems.iter().map(|p| &*p.field).collect();
        assert_eq!(names, ["email", "display_name", "locale", "time_zone"]);
        assert!(matches!(
            new_password("long enough password", "other"),
            Err(Error::Invalid(p)) if p[0].field == "password_confirm"
        ));
    }
}
