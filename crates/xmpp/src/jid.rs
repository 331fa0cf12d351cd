//! Bare JIDs (`local@domain`), normalised the way Prosody stores them.

use std::fmt;

use crate::xml::is_xml_char;

/// A bare JID with its localpart prepared by nodeprep (so `Zoé@…` and `zoé@…` are
/// the same account, as for Prosody) and its domain by nameprep (lowercase).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BareJid {
    local: String,
    domain: String,
}

impl BareJid {
    /// Parses `local@domain`. A resource (`/…`), an empty part or a character the
    /// XMPP profiles forbid is refused with a message saying which.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.contains('/') {
            return Err(format!("{s:?} is not a bare JID (it has a resource)"));
        }
        let (local, domain) = s
            .split_once('@')
            .ok_or_else(|| format!("{s:?} is not a JID of the form name@domain"))?;
        let local =
            stringprep::nodeprep(local).map_err(|e| format!("{s:?}: the name part is not allowed in XMPP ({e})"))?;
        if local.is_empty() || local.len() > 1023 {
            return Err(format!("{s:?}: the name part must be 1 to 1023 bytes"));
        }
        Ok(Self {
            local: local.into_owned(),
            domain: prepare_domain(domain).map_err(|e| format!("{s:?}: {e}"))?,
        })
    }

    /// The localpart (the account's user name on its server).
    pub fn local(&self) -> &str {
        &self.local
    }

    /// The domain.
    pub fn domain(&self) -> &str {
        &self.domain
    }
}

impl fmt::Display for BareJid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

/// A domain prepared by nameprep: lowercase, labels of letters, digits and hyphens
/// (or any Unicode label nameprep allows), no empty label, at most 1023 bytes.
pub(crate) fn prepare_domain(domain: &str) -> Result<String, String> {
    let domain = domain.strip_suffix('.').unwrap_or(domain);
    let prepared = stringprep::nameprep(domain).map_err(|e| format!("the domain {domain:?} is not valid ({e})"))?;
    if prepared.is_empty() || prepared.len() > 1023 {
        return Err(format!("the domain {domain:?} must be 1 to 1023 bytes"));
    }
    let bad = |c: char| c.is_whitespace() || "@/\\\"'<>&:".contains(c) || !is_xml_char(c) || c.is_control();
    if prepared
        .split('.')
        .any(|label| label.is_empty() || label.chars().any(bad))
    {
        // `:` would be a port; IPv6 literals are not domains Dialogue manages.
        return Err(format!("the domain {domain:?} is not a host name"));
    }
    Ok(prepared.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_like_prosody() {
        let jid = BareJid::parse("Zoé.Martin@Meet.Example.ORG").unwrap();
        assert_eq!(jid.local(), "zoé.martin");
        assert_eq!(jid.domain(), "meet.example.org");
        assert_eq!(jid.to_string(), "zoé.martin@meet.example.org");
        assert_eq!(BareJid::parse("a@d.test.").unwrap().domain(), "d.test");
    }

    #[test]
    fn refuses_what_xmpp_forbids() {
        for bad in [
            "",
            "nodomain",
            "@d.test",
            "a@",
            "a@b@d.test",
            "a b@d.test",
            "a'b@d.test",
            "a<b@d.test",
            "a@d.test/res",
            "a\u{0}@d.test",
            "a@d..test",
            "a@d test",
            "a@d.test:5222",
        ] {
            assert!(BareJid::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(BareJid::parse(&format!("{}@d.test", "a".repeat(1024))).is_err());
    }
}
