//! LDAP and Active Directory: a bind login. The service account searches for the person with
//! the configured filter (what they typed escaped per RFC 4515), exactly one entry must match,
//! and a bind as that entry with their password proves who they are.

use std::collections::HashMap;
use std::sync::Arc;

use domain::Email;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Scope, SearchEntry, SearchOptions, ldap_escape};

use crate::config::{LdapConfig, Secret};
use crate::{Error, Identity, mapped_role};

/// The login source recorded for accounts of the directory.
pub const SOURCE: &str = "ldap";
/// The longest login searched for.
const MAX_LOGIN_LEN: usize = 256;

const RC_SIZE_LIMIT_EXCEEDED: u32 = 4;
const RC_NO_SUCH_OBJECT: u32 = 32;
const RC_INVALID_CREDENTIALS: u32 = 49;

/// Active Directory's `userAccountControl` flag of a disabled account.
const UAC_ACCOUNTDISABLE: u64 = 0x2;
/// OpenLDAP ppolicy's value of `pwdAccountLockedTime` for an account locked by an administrator
/// (other values are temporary lockouts after failed binds, which end by themselves).
const PPOLICY_LOCKED_FOR_GOOD: &str = "000001010000Z";
/// Root DSE `supportedCapabilities` of Active Directory and of AD LDS.
const AD_CAPABILITIES: [&str; 2] = ["1.2.840.113556.1.4.800", "1.2.840.113556.1.4.1851"];
/// LDAP_MATCHING_RULE_IN_CHAIN.
const IN_CHAIN: &str = "1.2.840.113556.1.4.1941";

/// What the directory says of an account, for a periodic sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountState {
    Active,
    /// Disabled (Active Directory) or locked by an administrator (OpenLDAP ppolicy).
    Disabled,
    /// The entry no longer exists.
    Gone,
}

/// The configured directory. Each call opens its own connection.
#[derive(Debug, Clone)]
pub struct Directory {
    config: Arc<LdapConfig>,
    bind_password: Secret,
    tls: Option<Arc<rustls::ClientConfig>>,
    /// `role_map` with its DNs normalised.
    role_map: Vec<(String, domain::Role)>,
}

impl Directory {
    /// Validates the configuration and prepares TLS (reading `ca_file` and the password file).
    /// Connects to nothing.
    pub fn new(config: LdapConfig) -> Result<Directory, Error> {
        config.validate()?;
        let bind_password = config.resolve_bind_password()?;
        let tls = if config.url.starts_with("ldaps:") || config.starttls {
            Some(Arc::new(crate::tls::client_config(
                "ldap",
                "ca_file",
                config.ca_file.as_deref(),
            )?))
        } else {
            None
        };
        let role_map = config
            .role_map
            .iter()
            .map(|(dn, role)| (normalize_dn(dn), *role))
            .collect();
        Ok(Directory {
            config: Arc::new(config),
            bind_password,
            tls,
            role_map,
        })
    }

    pub fn config(&self) -> &LdapConfig {
        &self.config
    }

    /// Who `login` is, if `password` is theirs. An empty password is refused before anything
    /// is sent (a bind with one would be an anonymous bind, which "succeeds").
    pub async fn authenticate(&self, login: &str, password: &str) -> Result<Identity, Error> {
        let login = login.trim();
        if login.is_empty() || password.is_empty() || login.len() > MAX_LOGIN_LEN {
            return Err(Error::BadCredentials);
        }
        let mut ldap = self.connect().await?;
        let result = self.authenticate_on(&mut ldap, login, password).await;
        let _ = self.op(&mut ldap).unbind().await;
        result
    }

    async fn authenticate_on(&self, ldap: &mut Ldap, login: &str, password: &str) -> Result<Identity, Error> {
        let config = &self.config;
        self.service_bind(ldap).await?;
        let filter = self.user_filter(login);
        let attributes = [
            config.name_attribute.as_str(),
            "cn",
            config.email_attribute.as_str(),
            config.group_attribute.as_str(),
            "userAccountControl",
            "pwdAccountLockedTime",
        ];
        let result = self
            .op(ldap)
            .with_search_options(SearchOptions::new().sizelimit(2))
            .search(&config.base_dn, Scope::Subtree, &filter, attributes)
            .await
            .map_err(ldap_error("user search"))?;
        let (entries, done) = (result.0, result.1);
        if done.rc == RC_SIZE_LIMIT_EXCEEDED || entries.len() > 1 {
            // The login itself stays out of the log: people sometimes type their password there.
            tracing::warn!(base = %config.base_dn, "LDAP: more than one entry matches a login; refused");
            return Err(Error::AmbiguousLogin { count: entries.len() });
        }
        if done.rc != 0 {
            return Err(result_error("user search", &done));
        }
        // Every refusal below costs the directory the same work — the search, then one bind
        // with the password typed — so that how long a refusal takes does not tell whether the
        // login names someone: an unknown or disabled login binds to an entry that cannot
        // exist, and the nested group searches wait until the password is proven.
        let Some(entry) = entries.into_iter().next() else {
            tracing::info!("LDAP: no entry matches the login");
            self.bind_to_nobody(ldap, password).await;
            return Err(Error::BadCredentials);
        };
        let entry = SearchEntry::construct(entry);
        if is_disabled(&entry) {
            self.bind_to_nobody(ldap, password).await;
            return Err(Error::AccountDisabled { dn: entry.dn });
        }

        let bind = self
            .op(ldap)
            .simple_bind(&entry.dn, password)
            .await
            .map_err(ldap_error("user bind"))?;
        match bind.rc {
            0 => {}
            RC_INVALID_CREDENTIALS => {
                return Err(match ad_reason(&bind.text) {
                    // Disabled, or locked out / expired: the directory refuses this account.
                    Some("533") => Error::AccountDisabled { dn: entry.dn },
                    _ => Error::BadCredentials,
                });
            }
            _ => return Err(result_error("user bind", &bind)),
        }
        let mut groups = values(&entry, &config.group_attribute);
        if config.nested_groups && self.has_indirect_candidates(&groups) {
            // The person may not read their groups' chain: back to the service account.
            self.service_bind(ldap).await?;
            for group in self.nested_mapped_groups(ldap, &entry.dn, &groups).await? {
                groups.push(group);
            }
        }
        let name = first(&entry, &config.name_attribute)
            .or_else(|| first(&entry, "cn"))
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty());
        let email = first(&entry, &config.email_attribute).and_then(|e| Email::parse(e).ok());
        let normalized: Vec<String> = groups.iter().map(|g| normalize_dn(g)).collect();
        Ok(Identity {
            subject: entry.dn,
            email_verified: email.is_some(),
            email,
            name,
            mapped_role: mapped_role(&normalized, &self.role_map),
            groups,
            source: SOURCE.into(),
            default_role: config.default_role,
            id_token: None,
        })
    }

    /// A bind with `password` to an entry that does not exist under `base_dn`, which the
    /// directory refuses (invalid credentials) after as much work as a real person's bind:
    /// what a refusal for an unknown or disabled login costs.
    async fn bind_to_nobody(&self, ldap: &mut Ldap, password: &str) {
        let dn = format!("cn=dialogue-no-such-entry,{}", self.config.base_dn);
        let _ = self.op(ldap).simple_bind(&dn, password).await;
    }

    /// Whether some mapped group is not among the person's direct groups (only then can a
    /// nested search add one).
    fn has_indirect_candidates(&self, direct: &[String]) -> bool {
        let direct: Vec<String> = direct.iter().map(|g| normalize_dn(g)).collect();
        self.config
            .role_map
            .iter()
            .any(|(group, _)| !direct.contains(&normalize_dn(group)))
    }

    /// The mapped groups the person belongs to through other groups (Active Directory's
    /// in-chain rule on their own entry: one base search per mapped group not already direct).
    async fn nested_mapped_groups(&self, ldap: &mut Ldap, dn: &str, direct: &[String]) -> Result<Vec<String>, Error> {
        let direct: Vec<String> = direct.iter().map(|g| normalize_dn(g)).collect();
        let mut found = Vec::new();
        for (group, _) in &self.config.role_map {
            if direct.contains(&normalize_dn(group)) {
                continue;
            }
            let filter = format!("(memberOf:{IN_CHAIN}:={})", ldap_escape(group.as_str()));
            let result = self
                .op(ldap)
                .search(dn, Scope::Base, &filter, ["1.1"])
                .await
                .map_err(ldap_error("nested group search"))?;
            if result.1.rc != 0 {
                return Err(result_error("nested group search", &result.1));
            }
            if !result.0.is_empty() {
                found.push(group.clone());
            }
        }
        Ok(found)
    }

    /// For a periodic sync: whether the entry `dn` still exists and is enabled.
    pub async fn account_state(&self, dn: &str) -> Result<AccountState, Error> {
        let mut ldap = self.connect().await?;
        let result = async {
            self.service_bind(&mut ldap).await?;
            let result = self
                .op(&mut ldap)
                .search(
                    dn,
                    Scope::Base,
                    "(objectClass=*)",
                    ["userAccountControl", "pwdAccountLockedTime"],
                )
                .await
                .map_err(ldap_error("account lookup"))?;
            match result.1.rc {
                0 => {}
                RC_NO_SUCH_OBJECT => return Ok(AccountState::Gone),
                _ => return Err(result_error("account lookup", &result.1)),
            }
            Ok(match result.0.into_iter().next().map(SearchEntry::construct) {
                None => AccountState::Gone,
                Some(entry) if is_disabled(&entry) => AccountState::Disabled,
                Some(_) => AccountState::Active,
            })
        }
        .await;
        let _ = self.op(&mut ldap).unbind().await;
        result
    }

    /// For `dialogue check`: connects (with TLS as configured), binds as the service account,
    /// finds `base_dn`, and with `nested_groups` checks that the server is Active Directory.
    pub async fn check(&self) -> Result<(), Error> {
        let mut ldap = self.connect().await?;
        let result = async {
            self.service_bind(&mut ldap).await?;
            let result = self
                .op(&mut ldap)
                .search(&self.config.base_dn, Scope::Base, "(objectClass=*)", ["1.1"])
                .await
                .map_err(ldap_error("base DN lookup"))?;
            match result.1.rc {
                0 if !result.0.is_empty() => {}
                0 | RC_NO_SUCH_OBJECT => {
                    return Err(Error::config(
                        "ldap",
                        "base_dn",
                        format!("{:?}: no such entry in the directory", self.config.base_dn),
                    ));
                }
                _ => return Err(result_error("base DN lookup", &result.1)),
            }
            if self.config.nested_groups {
                let root = self
                    .op(&mut ldap)
                    .search("", Scope::Base, "(objectClass=*)", ["supportedCapabilities"])
                    .await
                    .map_err(ldap_error("root DSE"))?;
                let is_ad = root.0.into_iter().next().is_some_and(|e| {
                    values(&SearchEntry::construct(e), "supportedCapabilities")
                        .iter()
                        .any(|c| AD_CAPABILITIES.contains(&c.as_str()))
                });
                if !is_ad {
                    return Err(Error::config(
                        "ldap",
                        "nested_groups",
                        "true, but the server is not Active Directory (the in-chain rule is Active Directory's)",
                    ));
                }
            }
            Ok(())
        }
        .await;
        let _ = self.op(&mut ldap).unbind().await;
        result
    }

    /// The user filter with `{login}` replaced by the escaped login (RFC 4515).
    pub fn user_filter(&self, login: &str) -> String {
        self.config.user_filter.replace("{login}", &ldap_escape(login))
    }

    async fn connect(&self) -> Result<Ldap, Error> {
        let mut settings = LdapConnSettings::new()
            .set_conn_timeout(self.config.timeout())
            .set_starttls(self.config.starttls);
        if let Some(tls) = &self.tls {
            settings = settings.set_config(tls.clone());
        }
        let (conn, ldap) = LdapConnAsync::with_settings(settings, &self.config.url)
            .await
            .map_err(ldap_error("connect"))?;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!("LDAP connection ended: {e}");
            }
        });
        Ok(ldap)
    }

    async fn service_bind(&self, ldap: &mut Ldap) -> Result<(), Error> {
        if self.config.bind_dn.is_empty() {
            return Ok(());
        }
        let result = self
            .op(ldap)
            .simple_bind(&self.config.bind_dn, self.bind_password.expose())
            .await
            .map_err(ldap_error("service bind"))?;
        match result.rc {
            0 => Ok(()),
            RC_INVALID_CREDENTIALS => Err(Error::Directory {
                during: "service bind",
                problem: "the directory refuses bind_dn and bind_password".into(),
            }),
            _ => Err(result_error("service bind", &result)),
        }
    }

    /// The connection, with the configured timeout for its next operation.
    fn op<'a>(&self, ldap: &'a mut Ldap) -> &'a mut Ldap {
        ldap.with_timeout(self.config.timeout())
    }
}

fn ldap_error(during: &'static str) -> impl FnOnce(ldap3::LdapError) -> Error {
    move |source| Error::Ldap {
        during,
        source: Box::new(source),
    }
}

fn result_error(during: &'static str, result: &ldap3::LdapResult) -> Error {
    Error::Directory {
        during,
        problem: format!("result code {} {}", result.rc, result.text)
            .trim_end()
            .to_owned(),
    }
}

/// Active Directory's reason for a refused bind: the `data XXX` of its diagnostic message
/// (525 no such user, 52e wrong password, 530/531 not allowed now/here, 532 password expired,
/// 533 disabled, 701 account expired, 773 must change password, 775 locked out).
fn ad_reason(text: &str) -> Option<&str> {
    let rest = &text[text.find("data ")? + 5..];
    let end = rest.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|code| !code.is_empty())
}

fn is_disabled(entry: &SearchEntry) -> bool {
    let ad_disabled = first(entry, "userAccountControl")
        .and_then(|v| v.trim().parse::<i64>().ok())
        // AD stores the flags as a signed 32-bit integer.
        .is_some_and(|flags| (flags as u64 & 0xffff_ffff) & UAC_ACCOUNTDISABLE != 0);
    let locked = first(entry, "pwdAccountLockedTime").is_some_and(|v| v.trim() == PPOLICY_LOCKED_FOR_GOOD);
    ad_disabled || locked
}

/// The values of an attribute (names compared without regard to case, as LDAP does).
fn values(entry: &SearchEntry, name: &str) -> Vec<String> {
    attribute(&entry.attrs, name).cloned().unwrap_or_default()
}

fn first<'e>(entry: &'e SearchEntry, name: &str) -> Option<&'e str> {
    attribute(&entry.attrs, name)?.first().map(String::as_str)
}

fn attribute<'e>(attrs: &'e HashMap<String, Vec<String>>, name: &str) -> Option<&'e Vec<String>> {
    attrs.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// A DN for comparison: lower case, no spaces around `,`, `=` or `+`.
fn normalize_dn(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    for part in dn.split(',') {
        if !out.is_empty() {
            out.push(',');
        }
        let rdn: Vec<String> = part
            .split('+')
            .map(|ava| {
                ava.split_once('=')
                    .map(|(k, v)| format!("{}={}", k.trim(), v.trim()))
                    .unwrap_or_else(|| ava.trim().to_owned())
            })
            .collect();
        out.push_str(&rdn.join("+"));
    }
    out.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory(filter: &str) -> Directory {
        Directory::new(LdapConfig {
            url: "ldap://127.0.0.1:389".into(),
            base_dn: "dc=example,dc=org".into(),
            user_filter: filter.into(),
            ..LdapConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn logins_are_escaped_into_the_filter() {
        let d = directory("(&(objectClass=person)(uid={login}))");
        assert_eq!(d.user_filter("alice"), "(&(objectClass=person)(uid=alice))");
        assert_eq!(
            d.user_filter("*)(uid=*"),
            "(&(objectClass=person)(uid=\\2a\\29\\28uid=\\2a))"
        );
        assert_eq!(d.user_filter("a\\b\0"), "(&(objectClass=person)(uid=a\\5cb\\00))");
        // The escaped filter still parses as one filter.
        assert!(ldap3::parse_filter(d.user_filter("*)(|(uid=*")).is_ok());
    }

    #[test]
    fn dns_compare_without_case_or_spaces() {
        assert_eq!(
            normalize_dn("CN=Staff , OU=Groups,DC=Example, DC=org"),
            "cn=staff,ou=groups,dc=example,dc=org"
        );
        assert_eq!(normalize_dn("cn=a + sn=b,dc=x"), "cn=a+sn=b,dc=x");
    }

    #[test]
    fn active_directory_bind_reasons() {
        let text = "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 533, v4563";
        assert_eq!(ad_reason(text), Some("533"));
        assert_eq!(ad_reason("data 52e, v893"), Some("52e"));
        assert_eq!(ad_reason("invalid credentials"), None);
    }

    #[test]
    fn disabled_accounts_are_recognised() {
        let entry = |attrs: &[(&str, &str)]| SearchEntry {
            dn: "cn=x".into(),
            attrs: attrs
                .iter()
                .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
                .collect(),
            bin_attrs: HashMap::new(),
        };
        assert!(!is_disabled(&entry(&[])));
        assert!(!is_disabled(&entry(&[("userAccountControl", "512")])));
        assert!(is_disabled(&entry(&[("useraccountcontrol", "514")])));
        assert!(is_disabled(&entry(&[("userAccountControl", "-2147483646")])));
        assert!(is_disabled(&entry(&[("pwdAccountLockedTime", "000001010000Z")])));
        assert!(!is_disabled(&entry(&[("pwdAccountLockedTime", "20261206101010Z")])));
    }

    #[test]
    fn plain_ldap_is_only_for_loopback() {
        let e = Directory::new(LdapConfig {
            url: "ldap://ldap.example.org".into(),
            base_dn: "dc=x".into(),
            ..LdapConfig::default()
        })
        .unwrap_err();
        assert!(e.to_string().starts_with("ldap.url"), "{e}");
    }
}
