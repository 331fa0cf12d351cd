//! The typed configuration of the login sources. Parsing TOML and the environment is the
//! binary's job: it fills these structs (whose `Default` is the documented defaults) and calls
//! `validate`, which names the offending field in its error.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use domain::Role;
use openidconnect::url::{Host, Url};

use crate::Error;

/// A secret read from the configuration. Its `Debug` never shows it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_empty() {
            "Secret(empty)"
        } else {
            "Secret(…)"
        })
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Secret {
        Secret::new(value)
    }
}

/// One OpenID Connect provider (`[[oidc]]`): a button on the login page, a flow starting at
/// `GET /login/oidc/<name>` and coming back to `<public URL>/login/oidc/<name>/callback`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcProviderConfig {
    /// `[a-z0-9-]`, 1 to 32 characters: part of the URLs and of the account's login source.
    pub name: String,
    /// The issuer identifier (discovery is at `<issuer>/.well-known/openid-configuration`).
    /// `https://`, or `http://` on a loopback host (tests, a provider on the same machine).
    pub issuer: String,
    pub client_id: String,
    /// The client secret, or empty when `client_secret_file` names a file holding it.
    pub client_secret: Secret,
    pub client_secret_file: Option<PathBuf>,
    /// Must include `openid`.
    pub scopes: Vec<String>,
    /// The claim holding the person's groups: an array of strings, or one string separated by
    /// spaces, commas or semicolons.
    pub groups_claim: String,
    /// The role of an account created by this provider when none of its groups is mapped.
    pub default_role: Role,
    /// group → role; the highest role among the person's mapped groups wins.
    pub role_map: Vec<(String, Role)>,
    /// How far the provider's clock may be off ours when checking `exp` and `iat`.
    pub clock_skew_seconds: u64,
    /// The authority (PEM) that signed the provider's HTTPS certificate, for a provider inside
    /// the company; `None` trusts the web's public authorities.
    pub ca_file: Option<PathBuf>,
}

impl Default for OidcProviderConfig {
    fn default() -> OidcProviderConfig {
        OidcProviderConfig {
            name: String::new(),
            issuer: String::new(),
            client_id: String::new(),
            client_secret: Secret::default(),
            client_secret_file: None,
            scopes: ["openid", "email", "profile"].map(str::to_owned).to_vec(),
            groups_claim: "groups".into(),
            default_role: Role::Trainer,
            role_map: Vec::new(),
            clock_skew_seconds: 60,
            ca_file: None,
        }
    }
}

const OIDC: &str = "oidc";
const LDAP: &str = "ldap";
/// The longest clock skew accepted: more would make expired tokens usable for long.
const MAX_SKEW_SECONDS: u64 = 300;

impl OidcProviderConfig {
    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |field, problem: String| Err(Error::config(OIDC, field, problem));
        if self.name.is_empty()
            || self.name.len() > 32
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return bad(
                "name",
                format!("{:?}: expected 1 to 32 characters among a-z, 0-9 and -", self.name),
            );
        }
        if let Err(problem) = check_issuer(&self.issuer) {
            return bad("issuer", format!("{:?}: {problem}", self.issuer));
        }
        if self.client_id.trim().is_empty() {
            return bad(
                "client_id",
                "empty: expected the client id registered at the provider".into(),
            );
        }
        if !self.client_secret.is_empty() && self.client_secret_file.is_some() {
            return bad(
                "client_secret_file",
                "set together with client_secret: expected one of them".into(),
            );
        }
        if !self.scopes.iter().any(|s| s == "openid") {
            return bad(
                "scopes",
                format!("{:?}: expected a list that includes \"openid\"", self.scopes),
            );
        }
        if let Some(s) = self
            .scopes
            .iter()
            .find(|s| s.is_empty() || s.contains(char::is_whitespace))
        {
            return bad("scopes", format!("{s:?}: expected scope names without spaces"));
        }
        if self.groups_claim.trim().is_empty() {
            return bad("groups_claim", "empty: expected a claim name such as \"groups\"".into());
        }
        if self.clock_skew_seconds > MAX_SKEW_SECONDS {
            return bad(
                "clock_skew_seconds",
                format!("{}: expected at most {MAX_SKEW_SECONDS}", self.clock_skew_seconds),
            );
        }
        if let Some(ca) = &self.ca_file {
            // Read and parsed now, so that a wrong file stops the start rather than the logins.
            crate::tls::client_config(OIDC, "ca_file", Some(ca))?;
        }
        Ok(())
    }

    /// The redirect URI registered at the provider for this configuration:
    /// `<public URL>/login/oidc/<name>/callback`.
    pub fn redirect_uri(&self, public_url: &str) -> String {
        format!("{}/login/oidc/{}/callback", public_url.trim_end_matches('/'), self.name)
    }

    /// The login source recorded for accounts of this provider: `oidc:<name>`.
    pub fn source(&self) -> String {
        format!("oidc:{}", self.name)
    }

    /// The client secret, read from `client_secret_file` when that is set.
    pub(crate) fn resolve_secret(&self) -> Result<Secret, Error> {
        match &self.client_secret_file {
            Some(path) => read_secret(OIDC, "client_secret_file", path),
            None => Ok(self.client_secret.clone()),
        }
    }
}

/// `https://…`, or `http://` on a loopback host; no query or fragment.
fn check_issuer(issuer: &str) -> Result<(), String> {
    let url = check_https_url(issuer)?;
    if url.query().is_some() || url.fragment().is_some() {
        return Err("expected no query or fragment".into());
    }
    Ok(())
}

/// A URL Dialogue sends secrets or people's data to: `https://`, or `http://` on a loopback
/// host (tests, a service on the same machine), with a host. What each use adds (no query for
/// an issuer, no credentials in a join check's URL) is its own rule.
pub fn check_https_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("not a URL ({e})"))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => return Err("http:// is only allowed on a loopback host: expected https://".into()),
        _ => return Err("expected an https:// URL".into()),
    }
    if url.host().is_none_or(|h| matches!(h, Host::Domain(""))) {
        return Err("expected a host".into());
    }
    Ok(url)
}

/// Whether the URL's host is this machine (localhost or a loopback address).
pub(crate) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        // Hosts of URLs such as ldap:// stay unparsed text, addresses included.
        Some(Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost")
                || d.trim_start_matches('[')
                    .trim_end_matches(']')
                    .parse::<IpAddr>()
                    .is_ok_and(|ip| ip.is_loopback())
        }
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

fn read_secret(section: &'static str, field: &'static str, path: &Path) -> Result<Secret, Error> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::config(section, field, format!("{}: cannot be read ({e})", path.display())))?;
    let secret = text.trim_end_matches(['\n', '\r']);
    if secret.is_empty() {
        return Err(Error::config(
            section,
            field,
            format!("{}: the file is empty", path.display()),
        ));
    }
    Ok(Secret::new(secret))
}

/// The LDAP or Active Directory login (`[ldap]`): off while `url` is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapConfig {
    /// `ldaps://host:636`, or `ldap://host:389` with `starttls = true`. A plain `ldap://` without
    /// StartTLS is accepted only on a loopback host (passwords would cross the network in clear).
    pub url: String,
    pub starttls: bool,
    /// PEM file of the authority that signed the directory's certificate. When set it is the
    /// only authority trusted; when empty the web's public authorities are.
    pub ca_file: Option<PathBuf>,
    /// The service account that searches for people. Empty for an anonymous search.
    pub bind_dn: String,
    pub bind_password: Secret,
    pub bind_password_file: Option<PathBuf>,
    /// Where people are searched (subtree).
    pub base_dn: String,
    /// An RFC 4515 filter where `{login}` stands for what the person typed, escaped.
    pub user_filter: String,
    /// The attribute of a person's entry listing their groups' DNs (`memberOf`).
    pub group_attribute: String,
    /// Active Directory: also find the groups the person belongs to through other groups, with
    /// the `member:1.2.840.113556.1.4.1941:=` (in-chain) filter.
    pub nested_groups: bool,
    /// The person's name; `cn` is used when the entry lacks it.
    pub name_attribute: String,
    pub email_attribute: String,
    /// The role of an account created by this login when none of its groups is mapped.
    pub default_role: Role,
    /// group DN → role (DNs compared without regard to case or spaces around `,` and `=`).
    pub role_map: Vec<(String, Role)>,
    /// Connecting and each operation.
    pub timeout_seconds: u64,
    /// How often the accounts of the directory are looked up there, and disabled here when
    /// gone or disabled there (0: only at their next login).
    pub sync_minutes: u64,
}

impl Default for LdapConfig {
    fn default() -> LdapConfig {
        LdapConfig {
            url: String::new(),
            starttls: false,
            ca_file: None,
            bind_dn: String::new(),
            bind_password: Secret::default(),
            bind_password_file: None,
            base_dn: String::new(),
            user_filter: "(&(objectClass=inetOrgPerson)(|(uid={login})(mail={login})))".into(),
            group_attribute: "memberOf".into(),
            nested_groups: false,
            name_attribute: "displayName".into(),
            email_attribute: "mail".into(),
            default_role: Role::Trainer,
            role_map: Vec::new(),
            timeout_seconds: 10,
            sync_minutes: 60,
        }
    }
}

impl LdapConfig {
    /// Whether the LDAP login is configured at all.
    pub fn is_enabled(&self) -> bool {
        !self.url.trim().is_empty()
    }

    /// Checks every field; the error names the first bad one.
    pub fn validate(&self) -> Result<(), Error> {
        let bad = |field, problem: String| Err(Error::config(LDAP, field, problem));
        let url = match Url::parse(&self.url) {
            Ok(url) => url,
            Err(e) => return bad("url", format!("{:?}: not a URL ({e})", self.url)),
        };
        if url.host().is_none() {
            return bad(
                "url",
                format!("{:?}: expected ldaps://host:636 or ldap://host:389", self.url),
            );
        }
        if (url.path() != "" && url.path() != "/") || url.query().is_some() {
            return bad(
                "url",
                format!("{:?}: expected no path or query (base_dn is its own key)", self.url),
            );
        }
        match (url.scheme(), self.starttls) {
            ("ldaps", false) | ("ldap", true) => {}
            ("ldaps", true) => return bad("starttls", "true with ldaps://: expected one or the other".into()),
            ("ldap", false) if is_loopback(&url) => {}
            ("ldap", false) => {
                return bad(
                    "url",
                    format!(
                        "{:?}: ldap:// without StartTLS sends passwords in clear: expected ldaps:// or starttls = true",
                        self.url
                    ),
                );
            }
            _ => return bad("url", format!("{:?}: expected ldaps:// or ldap://", self.url)),
        }
        if let Some(ca) = &self.ca_file
            && !ca.is_file()
        {
            return bad("ca_file", format!("{}: no such file", ca.display()));
        }
        if !self.bind_password.is_empty() && self.bind_password_file.is_some() {
            return bad(
                "bind_password_file",
                "set together with bind_password: expected one of them".into(),
            );
        }
        if self.bind_dn.trim().is_empty() && (!self.bind_password.is_empty() || self.bind_password_file.is_some()) {
            return bad(
                "bind_dn",
                "empty while a bind password is set: expected the service account's DN".into(),
            );
        }
        if self.base_dn.trim().is_empty() {
            return bad(
                "base_dn",
                "empty: expected the DN under which people are searched".into(),
            );
        }
        if !self.user_filter.contains("{login}") {
            return bad(
                "user_filter",
                format!("{:?}: expected a filter containing {{login}}", self.user_filter),
            );
        }
        if ldap3::parse_filter(self.user_filter.replace("{login}", "x")).is_err() {
            return bad(
                "user_filter",
                format!("{:?}: not an LDAP filter (RFC 4515)", self.user_filter),
            );
        }
        for (field, value) in [
            ("group_attribute", &self.group_attribute),
            ("name_attribute", &self.name_attribute),
            ("email_attribute", &self.email_attribute),
        ] {
            if value.is_empty()
                || !value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b';')
            {
                return bad(field, format!("{value:?}: expected an attribute name"));
            }
        }
        if self.timeout_seconds == 0 || self.timeout_seconds > 300 {
            return bad(
                "timeout_seconds",
                format!("{}: expected 1 to 300", self.timeout_seconds),
            );
        }
        Ok(())
    }

    pub(crate) fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds)
    }

    /// The service account's password, read from `bind_password_file` when that is set.
    pub(crate) fn resolve_bind_password(&self) -> Result<Secret, Error> {
        match &self.bind_password_file {
            Some(path) => read_secret(LDAP, "bind_password_file", path),
            None => Ok(self.bind_password.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oidc() -> OidcProviderConfig {
        OidcProviderConfig {
            name: "company".into(),
            issuer: "https://id.example.org/realms/staff".into(),
            client_id: "dialogue".into(),
            client_secret: "s3cret".into(),
            ..OidcProviderConfig::default()
        }
    }

    fn field(e: Error) -> String {
        match e {
            Error::Config { section, field, .. } => format!("{section}.{field}"),
            other => panic!("not a configuration error: {other}"),
        }
    }

    #[test]
    fn a_good_provider_passes_and_names_its_urls() {
        let c = oidc();
        c.validate().unwrap();
        assert_eq!(
            c.redirect_uri("https://dialogue.example.org/"),
            "https://dialogue.example.org/login/oidc/company/callback"
        );
        assert_eq!(c.source(), "oidc:company");
        assert!(!format!("{c:?}").contains("s3cret"), "Debug must hide the secret");
    }

    #[test]
    fn provider_fields_are_named_in_errors() {
        for name in ["", "Company", "a b", "é", "x/y", &"a".repeat(33)] {
            let c = OidcProviderConfig {
                name: name.into(),
                ..oidc()
            };
            assert_eq!(field(c.validate().unwrap_err()), "oidc.name", "{name:?}");
        }
        for issuer in [
            "http://id.example.org",
            "ftp://id.example.org",
            "id.example.org",
            "https://id.example.org/?x=1",
        ] {
            let c = OidcProviderConfig {
                issuer: issuer.into(),
                ..oidc()
            };
            let e = c.validate().unwrap_err();
            assert!(e.to_string().contains(issuer), "{e}");
            assert_eq!(field(e), "oidc.issuer", "{issuer:?}");
        }
        for issuer in ["http://127.0.0.1:8080/x", "http://localhost:9000", "http://[::1]:9000"] {
            OidcProviderConfig {
                issuer: issuer.into(),
                ..oidc()
            }
            .validate()
            .unwrap();
        }
        let c = OidcProviderConfig {
            scopes: vec!["email".into()],
            ..oidc()
        };
        assert_eq!(field(c.validate().unwrap_err()), "oidc.scopes");
        let c = OidcProviderConfig {
            client_id: " ".into(),
            ..oidc()
        };
        assert_eq!(field(c.validate().unwrap_err()), "oidc.client_id");
        let c = OidcProviderConfig {
            client_secret_file: Some("/x".into()),
            ..oidc()
        };
        assert_eq!(field(c.validate().unwrap_err()), "oidc.client_secret_file");
        let c = OidcProviderConfig {
            clock_skew_seconds: 3600,
            ..oidc()
        };
        assert_eq!(field(c.validate().unwrap_err()), "oidc.clock_skew_seconds");
    }

    #[test]
    fn secrets_come_from_files_without_their_newline() {
        let dir = std::env::temp_dir().join(format!("directory-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("secret");
        std::fs::write(&path, "from-file\n").unwrap();
        let c = OidcProviderConfig {
            client_secret: Secret::default(),
            client_secret_file: Some(path.clone()),
            ..oidc()
        };
        c.validate().unwrap();
        assert_eq!(c.resolve_secret().unwrap().expose(), "from-file");
        std::fs::write(&path, "\n").unwrap();
        assert_eq!(field(c.resolve_secret().unwrap_err()), "oidc.client_secret_file");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn ldap() -> LdapConfig {
        LdapConfig {
            url: "ldaps://ldap.example.org:636".into(),
            bind_dn: "cn=dialogue,ou=services,dc=example,dc=org".into(),
            bind_password: "pw".into(),
            base_dn: "ou=people,dc=example,dc=org".into(),
            ..LdapConfig::default()
        }
    }

    #[test]
    fn ldap_fields_are_named_in_errors() {
        ldap().validate().unwrap();
        assert!(!LdapConfig::default().is_enabled());
        LdapConfig {
            url: "ldap://ldap.example.org:389".into(),
            starttls: true,
            ..ldap()
        }
        .validate()
        .unwrap();
        LdapConfig {
            url: "ldap://127.0.0.1:3389".into(),
            ..ldap()
        }
        .validate()
        .unwrap();
        LdapConfig {
            url: "ldap://[::1]:3389".into(),
            ..ldap()
        }
        .validate()
        .unwrap();
        LdapConfig {
            url: "ldap://localhost".into(),
            ..ldap()
        }
        .validate()
        .unwrap();
        let cases: Vec<(LdapConfig, &str)> = vec![
            (
                LdapConfig {
                    url: "ldap://ldap.example.org".into(),
                    ..ldap()
                },
                "ldap.url",
            ),
            (
                LdapConfig {
                    url: "ldap://10.0.0.1".into(),
                    ..ldap()
                },
                "ldap.url",
            ),
            (
                LdapConfig {
                    url: "http://ldap.example.org".into(),
                    ..ldap()
                },
                "ldap.url",
            ),
            (
                LdapConfig {
                    url: "ldaps://h/dc=x".into(),
                    ..ldap()
                },
                "ldap.url",
            ),
            (
                LdapConfig {
                    starttls: true,
                    ..ldap()
                },
                "ldap.starttls",
            ),
            (
                LdapConfig {
                    ca_file: Some("/nonexistent/ca.pem".into()),
                    ..ldap()
                },
                "ldap.ca_file",
            ),
            (
                LdapConfig {
                    base_dn: "".into(),
                    ..ldap()
                },
                "ldap.base_dn",
            ),
            (
                LdapConfig {
                    user_filter: "(uid=x)".into(),
                    ..ldap()
                },
                "ldap.user_filter",
            ),
            (
                LdapConfig {
                    user_filter: "(uid={login}".into(),
                    ..ldap()
                },
                "ldap.user_filter",
            ),
            (
                LdapConfig {
                    group_attribute: "member of".into(),
                    ..ldap()
                },
                "ldap.group_attribute",
            ),
            (
                LdapConfig {
                    timeout_seconds: 0,
                    ..ldap()
                },
                "ldap.timeout_seconds",
            ),
            (
                LdapConfig {
                    bind_dn: "".into(),
                    ..ldap()
                },
                "ldap.bind_dn",
            ),
            (
                LdapConfig {
                    bind_password_file: Some("/x".into()),
                    ..ldap()
                },
                "ldap.bind_password_file",
            ),
        ];
        for (c, expected) in cases {
            assert_eq!(field(c.validate().unwrap_err()), expected, "{c:?}");
        }
        assert!(
            !format!("{:?}", ldap()).contains("\"pw\""),
            "Debug must hide the password"
        );
    }
}
