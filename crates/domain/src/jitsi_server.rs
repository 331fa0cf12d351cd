//! A Jitsi server's settings as an admin types them, checked field by field: each check either
//! gives the value to store or says which field is wrong and why. Sealing the secrets and
//! minting a probe token (which need keys and the `jitsi` crate) are the service's.

use std::collections::BTreeMap;

/// How a server's tokens are signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenModeKind {
    /// Self-hosted Prosody with `app_secret`.
    Hs256,
    /// Self-hosted Prosody with `asap_key_server` (Dialogue serves the public key).
    Rs256,
    /// 8x8 JaaS.
    Jaas,
    /// A plain Jitsi "secure domain" without tokens: hosts log in with a Prosody account
    /// (`internal_hashed`) that Dialogue manages over XMPP, everyone else is an anonymous guest.
    SecureDomain,
}

impl TokenModeKind {
    pub const ALL: [TokenModeKind; 4] = [Self::Hs256, Self::Rs256, Self::Jaas, Self::SecureDomain];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenModeKind::Hs256 => "hs256",
            TokenModeKind::Rs256 => "rs256",
            TokenModeKind::Jaas => "jaas",
            TokenModeKind::SecureDomain => "secure-domain",
        }
    }

    /// Whether joins carry a token (every kind but the secure domain).
    pub fn has_tokens(self) -> bool {
        self != TokenModeKind::SecureDomain
    }

    pub fn parse(s: &str) -> Option<TokenModeKind> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// Why a change to the Jitsi servers was refused by the state of things.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JitsiRefusal {
    #[error("a Jitsi server named {name} already exists")]
    NameTaken { name: String },
    #[error("the default Jitsi server cannot be deleted while other servers exist")]
    DefaultInUse,
    #[error("{sessions} upcoming session(s) use this Jitsi server")]
    InUse { sessions: i64 },
    #[error("unknown Jitsi server")]
    UnknownServer,
}

/// The features Prosody enforces from `context.features` (see JITSI.md), offered as checkboxes.
pub const KNOWN_FEATURES: [&str; 8] = [
    "recording",
    "livestreaming",
    "transcription",
    "outbound-call",
    "file-upload",
    "create-polls",
    "send-groupchat",
    "flip",
];

/// What a new server grants when nothing is said: moderators run the session (polls, files,
/// chat, recording), participants chat and flip their camera.
pub fn default_features(moderator: bool) -> BTreeMap<String, bool> {
    KNOWN_FEATURES
        .iter()
        .map(|f| {
            let on = if moderator {
                !matches!(*f, "livestreaming" | "transcription" | "outbound-call")
            } else {
                matches!(*f, "send-groupchat" | "flip")
            };
            ((*f).to_owned(), on)
        })
        .collect()
}

/// A field of a server's settings that cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SettingError {
    #[error("a name is required")]
    NameRequired,
    #[error("the name is too long or holds control characters")]
    NameInvalid,
    #[error("unknown token mode")]
    Mode,
    #[error("not an https:// address (http:// only on this machine)")]
    BaseUrl,
    #[error("an XMPP domain is required")]
    Domain,
    #[error("an app id is required")]
    AppId,
    #[error("the app id is too long or not visible ASCII")]
    AppIdInvalid,
    #[error("a key id is required")]
    KeyId,
    #[error("the key id is too long or not visible ASCII")]
    KeyIdInvalid,
    #[error("an app secret is required")]
    SecretRequired,
    #[error("the app secret is shorter than 32 characters")]
    SecretShort,
    #[error("the app secret is not visible ASCII")]
    SecretInvalid,
    #[error("the bearer secret must be 32 to 200 URL-safe characters")]
    ApiSecret,
    #[error("feature names are lower-case words with dashes, 64 at most")]
    Features,
    #[error("the occupant limit is 1 to 10000")]
    MaxOccupants,
    #[error("not a host name or address")]
    XmppHost,
    #[error("the port is 1 to 65535")]
    XmppPort,
    #[error("the admin JID must be user@<the XMPP domain>")]
    AdminJid,
    #[error("the admin password is required (1 to 1023 bytes, no control characters)")]
    AdminPassword,
}

impl SettingError {
    /// The field the error is about.
    pub fn field(self) -> &'static str {
        match self {
            SettingError::NameRequired | SettingError::NameInvalid => "name",
            SettingError::Mode => "token_mode",
            SettingError::BaseUrl => "base_url",
            SettingError::Domain => "domain",
            SettingError::AppId | SettingError::AppIdInvalid => "app_id",
            SettingError::KeyId | SettingError::KeyIdInvalid => "key_id",
            SettingError::SecretRequired | SettingError::SecretShort | SettingError::SecretInvalid => "app_secret",
            SettingError::ApiSecret => "api_secret",
            SettingError::Features => "moderator_features",
            SettingError::MaxOccupants => "max_occupants",
            SettingError::XmppHost => "xmpp_host",
            SettingError::XmppPort => "xmpp_port",
            SettingError::AdminJid => "admin_jid",
            SettingError::AdminPassword => "admin_password",
        }
    }
}

fn is_visible_ascii(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_graphic())
}

/// A server's name: 1 to 80 characters, no control characters.
pub fn parse_name(raw: &str) -> Result<String, SettingError> {
    let name = raw.trim();
    if name.is_empty() {
        Err(SettingError::NameRequired)
    } else if name.chars().count() > 80 || name.chars().any(char::is_control) {
        Err(SettingError::NameInvalid)
    } else {
        Ok(name.to_owned())
    }
}

/// A base URL: `https://host[:port][/path]`, or `http://` on a loopback host (tests, a local
/// Jitsi); no query or fragment. Returns it without a trailing slash.
pub fn parse_base_url(raw: &str) -> Result<String, SettingError> {
    let url = raw.trim().trim_end_matches('/');
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://").filter(|r| is_loopback(r)))
        .ok_or(SettingError::BaseUrl)?;
    let host = rest.split('/').next().unwrap_or("");
    let ok = !host.is_empty()
        && !url.contains(['?', '#', ' ', '"', '\'', '<', '>', '\\'])
        && !rest.contains("//")
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
        && is_visible_ascii(url);
    if ok {
        Ok(url.to_owned())
    } else {
        Err(SettingError::BaseUrl)
    }
}

fn is_loopback(rest: &str) -> bool {
    let host = rest.split('/').next().unwrap_or("");
    let name = if host.starts_with('[') {
        host.split(']').next().map(|h| format!("{h}]")).unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or("").to_owned()
    };
    matches!(name.as_str(), "127.0.0.1" | "localhost" | "[::1]")
}

/// The XMPP domain (lower case), required.
pub fn parse_domain(raw: &str) -> Result<String, SettingError> {
    let domain = raw.trim().to_ascii_lowercase();
    if domain.is_empty() {
        Err(SettingError::Domain)
    } else {
        Ok(domain)
    }
}

/// An app id (`iss` of the tokens): 1 to 200 visible ASCII characters.
pub fn parse_app_id(raw: &str) -> Result<String, SettingError> {
    let id = raw.trim();
    if id.is_empty() {
        Err(SettingError::AppId)
    } else if id.len() > 200 || !is_visible_ascii(id) {
        Err(SettingError::AppIdInvalid)
    } else {
        Ok(id.to_owned())
    }
}

/// A key id (`kid` of RS256 and JaaS tokens): 1 to 200 visible ASCII characters.
pub fn parse_key_id(raw: &str) -> Result<String, SettingError> {
    let id = raw.trim();
    if id.is_empty() {
        Err(SettingError::KeyId)
    } else if id.len() > 200 || !is_visible_ascii(id) {
        Err(SettingError::KeyIdInvalid)
    } else {
        Ok(id.to_owned())
    }
}

/// An HS256 app secret: at least 32 visible ASCII characters (Prosody's `app_secret`).
pub fn check_app_secret(secret: Option<&str>) -> Result<&str, SettingError> {
    match secret {
        None => Err(SettingError::SecretRequired),
        Some(s) if s.chars().count() < 32 => Err(SettingError::SecretShort),
        Some(s) if !is_visible_ascii(s) => Err(SettingError::SecretInvalid),
        Some(s) => Ok(s),
    }
}

/// The bearer secret Prosody sends: 32 to 200 characters a header carries as is.
pub fn check_api_secret(secret: &str) -> Result<(), SettingError> {
    let ok = (32..=200).contains(&secret.len())
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b));
    if ok { Ok(()) } else { Err(SettingError::ApiSecret) }
}

/// Feature switches: at most 64, named in lower case with digits and dashes.
pub fn check_features(features: &BTreeMap<String, bool>) -> Result<(), SettingError> {
    let ok = features.len() <= 64
        && features.keys().all(|k| {
            !k.is_empty()
                && k.len() <= 40
                && k.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        });
    if ok { Ok(()) } else { Err(SettingError::Features) }
}

/// An occupant limit, when one is set: 1 to 10,000.
pub fn check_max_occupants(limit: Option<i64>) -> Result<(), SettingError> {
    match limit {
        Some(n) if !(1..=10_000).contains(&n) => Err(SettingError::MaxOccupants),
        _ => Ok(()),
    }
}

/// The host Dialogue connects to for a secure-domain server's Prosody (c2s): a DNS name or an
/// IP address, lower case.
pub fn parse_xmpp_host(raw: &str) -> Result<String, SettingError> {
    let host = raw.trim().to_ascii_lowercase();
    let ok = !host.is_empty()
        && host.len() <= 253
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'));
    if ok { Ok(host) } else { Err(SettingError::XmppHost) }
}

/// A TCP port, 1 to 65535.
pub fn check_xmpp_port(port: i64) -> Result<u16, SettingError> {
    u16::try_from(port)
        .ok()
        .filter(|p| *p > 0)
        .ok_or(SettingError::XmppPort)
}

/// The admin JID: `user@domain`, in the server's XMPP domain (Prosody's admin commands act on
/// the domain they are sent to), lower case.
pub fn parse_admin_jid(raw: &str, domain: &str) -> Result<String, SettingError> {
    let jid = raw.trim().to_lowercase();
    match jid.split_once('@') {
        Some((node, host)) if is_valid_node(node) && !domain.is_empty() && host == domain.to_ascii_lowercase() => {
            Ok(jid)
        }
        _ => Err(SettingError::AdminJid),
    }
}

/// The admin password: 1 to 1023 bytes without control characters.
pub fn check_admin_password(password: Option<&str>) -> Result<&str, SettingError> {
    match password {
        Some(p) if !p.is_empty() && p.len() < 1024 && !p.chars().any(char::is_control) => Ok(p),
        _ => Err(SettingError::AdminPassword),
    }
}

/// A JID localpart Dialogue writes: 1 to 64 of `[a-z0-9._-]`, starting with a letter or digit.
pub fn is_valid_node(node: &str) -> bool {
    !node.is_empty()
        && node.len() <= 64
        && node.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && node
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'))
}

/// The Prosody account name (JID localpart) for the account with `email`: its local part,
/// lower case, reduced to `[a-z0-9._-]` (anything else becomes `-`), 40 characters at most;
/// `attempt` > 0 adds a disambiguating suffix `-<attempt+1>` (`zoe`, `zoe-2`, `zoe-3`…).
pub fn prosody_node(email: &str, attempt: u32) -> String {
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    let mut base: String = local
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    base = base
        .trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .chars()
        .take(40)
        .collect();
    let base = base.trim_end_matches(|c: char| !c.is_ascii_alphanumeric()).to_owned();
    let base = if base.is_empty() { "host".to_owned() } else { base };
    if attempt == 0 {
        base
    } else {
        format!("{base}-{}", attempt + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        assert_eq!(
            parse_base_url("https://meet.example.org/").as_deref(),
            Ok("https://meet.example.org")
        );
        assert_eq!(
            parse_base_url("https://meet.example.org:8443/jitsi").as_deref(),
            Ok("https://meet.example.org:8443/jitsi")
        );
        assert_eq!(
            parse_base_url("http://127.0.0.1:9000").as_deref(),
            Ok("http://127.0.0.1:9000")
        );
        for bad in [
            "",
            "meet.example.org",
            "http://meet.example.org",
            "https://",
            "https://a b",
            "https://x/?q=1",
            "https://x/#f",
            "ftp://x",
            "https://x//y",
        ] {
            assert_eq!(parse_base_url(bad), Err(SettingError::BaseUrl), "{bad}");
        }
    }

    #[test]
    fn fields_are_checked_one_by_one() {
        assert_eq!(parse_name(" "), Err(SettingError::NameRequired));
        assert_eq!(parse_name(&"x".repeat(81)), Err(SettingError::NameInvalid));
        assert_eq!(parse_name(" Meet "), Ok("Meet".to_owned()));
        assert_eq!(parse_domain(" Meet.Example.org "), Ok("meet.example.org".to_owned()));
        assert_eq!(parse_app_id("a b"), Err(SettingError::AppIdInvalid));
        assert_eq!(parse_key_id(""), Err(SettingError::KeyId));
        assert_eq!(check_app_secret(Some("short")), Err(SettingError::SecretShort));
        assert_eq!(check_app_secret(None), Err(SettingError::SecretRequired));
        assert!(check_api_secret("short").is_err() && check_api_secret(&"a".repeat(43)).is_ok());
        assert!(check_features(&BTreeMap::from([("Bad Key".into(), true)])).is_err());
        assert!(check_features(&default_features(true)).is_ok());
        assert_eq!(check_max_occupants(Some(0)), Err(SettingError::MaxOccupants));
        assert_eq!(check_max_occupants(None), Ok(()));
        assert_eq!(SettingError::SecretShort.field(), "app_secret");
    }

    #[test]
    fn secure_domain_settings() {
        assert_eq!(TokenModeKind::parse("secure-domain"), Some(TokenModeKind::SecureDomain));
        assert!(!TokenModeKind::SecureDomain.has_tokens() && TokenModeKind::Jaas.has_tokens());
        assert_eq!(parse_xmpp_host(" Meet.Example.org "), Ok("meet.example.org".into()));
        assert_eq!(parse_xmpp_host("a b"), Err(SettingError::XmppHost));
        assert_eq!(check_xmpp_port(5222), Ok(5222));
        assert_eq!(check_xmpp_port(0), Err(SettingError::XmppPort));
        assert_eq!(check_xmpp_port(70000), Err(SettingError::XmppPort));
        assert_eq!(
            parse_admin_jid("Dialogue@Meet.example.org", "meet.example.org"),
            Ok("dialogue@meet.example.org".into())
        );
        for bad in [
            "dialogue",
            "dialogue@other.org",
            "@meet.example.org",
            "a b@meet.example.org",
        ] {
            assert_eq!(
                parse_admin_jid(bad, "meet.example.org"),
                Err(SettingError::AdminJid),
                "{bad}"
            );
        }
        assert!(check_admin_password(Some("")).is_err() && check_admin_password(None).is_err());
        assert!(check_admin_password(Some("a\nb")).is_err() && check_admin_password(Some("pw")).is_ok());
    }

    #[test]
    fn prosody_nodes_are_valid_and_stable() {
        assert_eq!(prosody_node("Zoé.Martin+jitsi@example.org", 0), "zo-.martin-jitsi");
        assert_eq!(prosody_node("zoe@example.org", 2), "zoe-3");
        assert_eq!(prosody_node("--@example.org", 0), "host");
        assert_eq!(prosody_node(&format!("{}@x.org", "a".repeat(80)), 0).len(), 40);
        for email in ["Zoé@example.org", "__x__@e.org", "a.-b@c", "ÉÈ@x"] {
            for attempt in 0..3 {
                let node = prosody_node(email, attempt);
                assert!(is_valid_node(&node), "{email} {attempt}: {node}");
                assert_eq!(node, prosody_node(email, attempt));
            }
        }
    }
}
