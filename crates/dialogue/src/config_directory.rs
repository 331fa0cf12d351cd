//! The directory logins' configuration: `[[oidc]]` (one table per OpenID provider) and
//! `[ldap]`. Their environment variables: `DIALOGUE_LDAP_<KEY>` like any section, and
//! `DIALOGUE_OIDC_<NAME>_<KEY>` for a provider (its name in capitals, `-` as `_`), which changes
//! the provider of that name in the file or adds one; `_FILE` reads a value from a file, as for
//! every key (`DIALOGUE_OIDC_COMPANY_CLIENT_SECRET_FILE`, `DIALOGUE_LDAP_BIND_PASSWORD_FILE`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use directory::{LdapConfig, OidcProviderConfig, Secret};
use domain::Role;
use serde::{Deserialize, Serialize};

use super::ConfigError;

/// One `[[oidc]]` table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawOidc {
    /// `[a-z0-9-]`: the flow starts at `/login/oidc/<name>`.
    pub name: String,
    /// What the button on the login page says; the name when empty.
    pub label: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub client_secret_file: String,
    pub scopes: Vec<String>,
    pub groups_claim: String,
    pub default_role: String,
    /// Group → role.
    pub role_map: BTreeMap<String, String>,
    pub clock_skew_seconds: i64,
    /// The authority of the provider's HTTPS certificate (PEM); empty: the public authorities.
    pub ca_file: String,
}

impl Default for RawOidc {
    fn default() -> Self {
        RawOidc {
            name: String::new(),
            label: String::new(),
            issuer: String::new(),
            client_id: String::new(),
            client_secret: String::new(),
            client_secret_file: String::new(),
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            groups_claim: "groups".into(),
            default_role: "trainer".into(),
            role_map: BTreeMap::new(),
            clock_skew_seconds: 60,
            ca_file: String::new(),
        }
    }
}

/// `[ldap]`: off while `url` is empty.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RawLdap {
    pub url: String,
    pub starttls: bool,
    pub ca_file: String,
    pub bind_dn: String,
    pub bind_password: String,
    pub bind_password_file: String,
    pub base_dn: String,
    pub user_filter: String,
    pub group_attribute: String,
    /// Active Directory: groups reached through other groups too.
    pub nested_groups: bool,
    pub name_attribute: String,
    pub email_attribute: String,
    pub default_role: String,
    /// Group DN → role.
    pub role_map: BTreeMap<String, String>,
    pub timeout_seconds: i64,
    /// Minutes between two looks at the directory's accounts (0: off).
    pub sync_minutes: i64,
}

impl Default for RawLdap {
    fn default() -> Self {
        let d = LdapConfig::default();
        RawLdap {
            url: String::new(),
            starttls: false,
            ca_file: String::new(),
            bind_dn: String::new(),
            bind_password: String::new(),
            bind_password_file: String::new(),
            base_dn: String::new(),
            user_filter: d.user_filter,
            group_attribute: d.group_attribute,
            nested_groups: false,
            name_attribute: d.name_attribute,
            email_attribute: d.email_attribute,
            default_role: "trainer".into(),
            role_map: BTreeMap::new(),
            timeout_seconds: d.timeout_seconds as i64,
            sync_minutes: d.sync_minutes as i64,
        }
    }
}

/// The keys of a provider that its environment variables may set (`name` is in the variable's
/// name; `client_secret_file` is `…_CLIENT_SECRET_FILE`, read like every `_FILE`).
const OIDC_ENV_KEYS: [&str; 10] = [
    "clock_skew_seconds",
    "ca_file",
    "client_secret",
    "groups_claim",
    "default_role",
    "client_id",
    "role_map",
    "issuer",
    "scopes",
    "label",
];

/// Applies `DIALOGUE_OIDC_<NAME>_<KEY>[_FILE]` to the `oidc` array of the merged file. Returns
/// the variables it used (the others are reported as unknown) and records where each value came
/// from.
pub(super) fn apply_oidc_env(
    env: &BTreeMap<&str, &str>,
    merged: &mut toml::Table,
    origin: &mut BTreeMap<String, String>,
    parse: &dyn Fn(&str, &str, &toml::Value) -> Result<toml::Value, ConfigError>,
) -> Result<Vec<String>, ConfigError> {
    const PREFIX: &str = "DIALOGUE_OIDC_";
    let defaults = toml::Table::try_from(RawOidc::default())
        .map_err(|e| ConfigError(format!("internal: defaults do not serialise: {e}")))?;
    let mut used = Vec::new();
    for (var, value) in env {
        let Some(rest) = var.strip_prefix(PREFIX) else {
            continue;
        };
        // A key that is itself a path (`…_CA_FILE`) first; then `…_FILE` as a value read from a
        // file (`…_CLIENT_SECRET_FILE` is the secret, never a provider named so).
        let path_key = split_oidc_var(rest, |k| k.ends_with("_file"));
        let (found, from_file) = match (path_key, rest.strip_suffix("_FILE")) {
            (Some(found), _) => (Some(found), false),
            (None, Some(r)) => (split_oidc_var(r, |_| true), true),
            (None, None) => (split_oidc_var(rest, |_| true), false),
        };
        let Some((name, key)) = found else {
            continue;
        };
        let text = if from_file {
            std::fs::read_to_string(value)
                .map_err(|e| ConfigError(format!("{var}={value:?}: cannot read the file: {e}")))?
                .trim_end_matches(['\n', '\r'])
                .to_owned()
        } else {
            (*value).to_owned()
        };
        let like = defaults.get(key).cloned().unwrap_or(toml::Value::String(String::new()));
        let parsed = parse(var, &text, &like)?;
        let providers = merged
            .entry("oidc".to_owned())
            .or_insert_with(|| toml::Value::Array(Vec::new()))
            .as_array_mut()
            .ok_or_else(|| ConfigError("configuration file: oidc must be an array of tables ([[oidc]])".into()))?;
        let index = match providers
            .iter()
            .position(|p| p.get("name").and_then(toml::Value::as_str) == Some(name.as_str()))
        {
            Some(i) => i,
            None => {
                let mut table = toml::Table::new();
                table.insert("name".into(), toml::Value::String(name.clone()));
                providers.push(toml::Value::Table(table));
                providers.len() - 1
            }
        };
        let table = providers[index]
            .as_table_mut()
            .ok_or_else(|| ConfigError("configuration file: each [[oidc]] must be a table".into()))?;
        table.insert(key.to_owned(), parsed);
        origin.insert(format!("oidc.{name}.{key}"), (*var).to_owned());
        used.push((*var).to_owned());
    }
    Ok(used)
}

/// `COMPANY_NET_CLIENT_ID` → `("company-net", "client_id")`, among the keys `wanted` accepts.
fn split_oidc_var(rest: &str, wanted: impl Fn(&str) -> bool) -> Option<(String, &'static str)> {
    OIDC_ENV_KEYS.into_iter().filter(|k| wanted(k)).find_map(|key| {
        let upper = key.to_uppercase();
        let name = rest.strip_suffix(upper.as_str())?.strip_suffix('_')?;
        (!name.is_empty()).then(|| (name.to_lowercase().replace('_', "-"), key))
    })
}

fn role(key: &str, text: &str) -> Result<Role, ConfigError> {
    text.trim().parse().map_err(|_| {
        ConfigError(format!(
            "invalid value for {key}: {text:?}; expected admin, manager or trainer"
        ))
    })
}

fn role_map(section: &str, map: &BTreeMap<String, String>) -> Result<Vec<(String, Role)>, ConfigError> {
    map.iter()
        .map(|(group, r)| Ok((group.clone(), role(&format!("{section}.role_map.{group}"), r)?)))
        .collect()
}

fn path(text: &str) -> Option<PathBuf> {
    let t = text.trim();
    (!t.is_empty()).then(|| PathBuf::from(t))
}

fn non_negative(key: &str, value: i64) -> Result<u64, ConfigError> {
    u64::try_from(value).map_err(|_| ConfigError(format!("invalid value for {key}: {value}; expected a whole number")))
}

/// The validated providers: each checked by the directory crate (which names the field), names
/// unique.
pub(super) fn validate_oidc(raw: &[RawOidc]) -> Result<Vec<service::OidcLogin>, ConfigError> {
    let mut logins: Vec<service::OidcLogin> = Vec::new();
    for p in raw {
        let at = format!("oidc {:?}", p.name);
        let config = OidcProviderConfig {
            name: p.name.trim().to_owned(),
            issuer: p.issuer.trim().to_owned(),
            client_id: p.client_id.trim().to_owned(),
            client_secret: Secret::new(p.client_secret.clone()),
            client_secret_file: path(&p.client_secret_file),
            scopes: p.scopes.iter().map(|s| s.trim().to_owned()).collect(),
            groups_claim: p.groups_claim.trim().to_owned(),
            default_role: role(&format!("{at}.default_role"), &p.default_role)?,
            role_map: role_map(&at, &p.role_map)?,
            clock_skew_seconds: non_negative(&format!("{at}.clock_skew_seconds"), p.clock_skew_seconds)?,
            ca_file: path(&p.ca_file),
        };
        config
            .validate()
            .map_err(|e| ConfigError(format!("invalid [[oidc]] {:?}: {e}", p.name)))?;
        if logins.iter().any(|l| l.config.name == config.name) {
            return Err(ConfigError(format!(
                "invalid [[oidc]] {:?}: two providers have this name; expected one each",
                p.name
            )));
        }
        let label = match p.label.trim() {
            "" => config.name.clone(),
            l => l.to_owned(),
        };
        logins.push(service::OidcLogin { config, label });
    }
    Ok(logins)
}

/// The validated `[ldap]`, `None` while its URL is empty. The password file and the authority
/// are read now, so that a missing file stops start-up rather than the first login.
pub(super) fn validate_ldap(raw: &RawLdap) -> Result<Option<LdapConfig>, ConfigError> {
    if raw.url.trim().is_empty() {
        return Ok(None);
    }
    let config = LdapConfig {
        url: raw.url.trim().to_owned(),
        starttls: raw.starttls,
        ca_file: path(&raw.ca_file),
        bind_dn: raw.bind_dn.trim().to_owned(),
        bind_password: Secret::new(raw.bind_password.clone()),
        bind_password_file: path(&raw.bind_password_file),
        base_dn: raw.base_dn.trim().to_owned(),
        user_filter: raw.user_filter.trim().to_owned(),
        group_attribute: raw.group_attribute.trim().to_owned(),
        nested_groups: raw.nested_groups,
        name_attribute: raw.name_attribute.trim().to_owned(),
        email_attribute: raw.email_attribute.trim().to_owned(),
        default_role: role("ldap.default_role", &raw.default_role)?,
        role_map: role_map("ldap", &raw.role_map)?,
        timeout_seconds: non_negative("ldap.timeout_seconds", raw.timeout_seconds)?,
        sync_minutes: non_negative("ldap.sync_minutes", raw.sync_minutes)?,
    };
    directory::Directory::new(config.clone()).map_err(|e| ConfigError(format!("invalid {e}")))?;
    Ok(Some(config))
}
