//! The account operations Dialogue needs, as XEP-0133 commands.

use crate::adhoc::{self, Answer};
use crate::config::AdminConfig;
use crate::error::{Error, Result};
use crate::jid::{BareJid, prepare_domain};
use crate::stream::Connection;
use crate::xml::is_xml_char;

/// XEP-0133 "Add User".
pub const NODE_ADD_USER: &str = "http://jabber.org/protocol/admin#add-user";
/// XEP-0133 "Change User Password".
pub const NODE_CHANGE_USER_PASSWORD: &str = "http://jabber.org/protocol/admin#change-user-password";
/// XEP-0133 "Delete User".
pub const NODE_DELETE_USER: &str = "http://jabber.org/protocol/admin#delete-user";
/// XEP-0133 "Get User Statistics": Prosody 0.12 has no `get-user-lastlogin`, and
/// this is the command of its `mod_admin_adhoc` that answers "User does not exist"
/// for a missing account, so it is how existence is checked.
pub const NODE_USER_STATS: &str = "http://jabber.org/protocol/admin#user-stats";
/// The commands Dialogue uses; [`check`] requires all of them to be listed.
pub const REQUIRED_COMMANDS: [&str; 4] = [
    NODE_ADD_USER,
    NODE_CHANGE_USER_PASSWORD,
    NODE_DELETE_USER,
    NODE_USER_STATS,
];

/// Longest password sent (bytes): far above any real one, far below the server's
/// stanza limit.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// A logged-in admin session on one Prosody domain. One command runs at a time
/// (`&mut self`); open one client per task that needs one.
pub struct AdminClient {
    conn: Connection,
    domain: String,
}

impl std::fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminClient")
            .field("domain", &self.domain)
            .field("jid", &self.conn.session.jid)
            .field("encrypted", &self.conn.session.encrypted)
            .finish()
    }
}

impl AdminClient {
    /// Connects to `cfg.host:cfg.port`, upgrades to TLS with STARTTLS (required
    /// unless `allow_plain` on a loopback address), authenticates as
    /// `cfg.admin_jid` (SCRAM-SHA-256, SCRAM-SHA-1, or PLAIN over TLS) and binds a
    /// resource.
    pub async fn connect(cfg: &AdminConfig) -> Result<Self> {
        let domain = prepare_domain(&cfg.domain).map_err(|e| Error::Config(format!("domain: {e}")))?;
        let conn = Connection::open(cfg).await?;
        Ok(Self { conn, domain })
    }

    /// The domain whose accounts this client manages.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// Whether the stream is encrypted (STARTTLS).
    pub fn encrypted(&self) -> bool {
        self.conn.session.encrypted
    }

    /// The SASL mechanism that logged us in.
    pub fn mechanism(&self) -> &'static str {
        self.conn.session.mechanism
    }

    /// The full JID the server bound for this session.
    pub fn bound_jid(&self) -> &str {
        &self.conn.session.jid
    }

    /// Creates the account `jid` (in [`domain`](Self::domain)) with `password`.
    /// An account that already exists is [`Error::UserExists`] (and keeps its
    /// password): call [`set_password`](Self::set_password) instead.
    pub async fn add_user(&mut self, jid: &str, password: &str) -> Result<()> {
        let jid = self.account(jid)?;
        check_password(password)?;
        let jid_s = jid.to_string();
        let outcome = adhoc::run(
            &mut self.conn,
            &self.domain,
            NODE_ADD_USER,
            &[
                Answer {
                    var: "accountjid",
                    values: &[&jid_s],
                    needed: true,
                },
                Answer {
                    var: "password",
                    values: &[password],
                    needed: true,
                },
                Answer {
                    var: "password-verify",
                    values: &[password],
                    needed: false,
                },
            ],
        )
        .await?;
        match outcome.error() {
            None => Ok(()),
            // Prosody says "Account already exists"; other servers word it otherwise,
            // so ask rather than match the text.
            Some(note) => {
                let note = note.to_owned();
                if self.exists(&jid_s).await? {
                    Err(Error::UserExists(jid_s))
                } else {
                    Err(Error::Refused {
                        command: NODE_ADD_USER.to_owned(),
                        reason: note,
                    })
                }
            }
        }
    }

    /// Sets the password of the existing account `jid`; [`Error::NoSuchUser`] when
    /// there is none.
    pub async fn set_password(&mut self, jid: &str, password: &str) -> Result<()> {
        let jid = self.account(jid)?;
        check_password(password)?;
        let jid_s = jid.to_string();
        let outcome = adhoc::run(
            &mut self.conn,
            &self.domain,
            NODE_CHANGE_USER_PASSWORD,
            &[
                Answer {
                    var: "accountjid",
                    values: &[&jid_s],
                    needed: true,
                },
                Answer {
                    var: "password",
                    values: &[password],
                    needed: true,
                },
            ],
        )
        .await?;
        match outcome.error() {
            None => Ok(()),
            Some(note) => {
                let note = note.to_owned();
                if self.exists(&jid_s).await? {
                    Err(Error::Refused {
                        command: NODE_CHANGE_USER_PASSWORD.to_owned(),
                        reason: note,
                    })
                } else {
                    Err(Error::NoSuchUser(jid_s))
                }
            }
        }
    }

    /// Deletes the account `jid`. Idempotent: `Ok(true)` when an account was
    /// deleted, `Ok(false)` when there was none.
    ///
    /// Prosody answers `completed` even when it could not delete (the reason is in
    /// an info note), so the outcome is read from the account's existence before and
    /// after, not from the note's wording.
    pub async fn delete_user(&mut self, jid: &str) -> Result<bool> {
        let jid = self.account(jid)?.to_string();
        if !self.exists(&jid).await? {
            return Ok(false);
        }
        let outcome = adhoc::run(
            &mut self.conn,
            &self.domain,
            NODE_DELETE_USER,
            &[Answer {
                var: "accountjids",
                values: &[&jid],
                needed: true,
            }],
        )
        .await?;
        if self.exists(&jid).await? {
            return Err(Error::Refused {
                command: NODE_DELETE_USER.to_owned(),
                reason: outcome.summary(),
            });
        }
        Ok(true)
    }

    /// Whether the account `jid` exists (XEP-0133 user statistics: answered for an
    /// existing account, an error note otherwise).
    pub async fn user_exists(&mut self, jid: &str) -> Result<bool> {
        let jid = self.account(jid)?.to_string();
        self.exists(&jid).await
    }

    async fn exists(&mut self, jid: &str) -> Result<bool> {
        let outcome = adhoc::run(
            &mut self.conn,
            &self.domain,
            NODE_USER_STATS,
            &[Answer {
                var: "accountjid",
                values: &[jid],
                needed: true,
            }],
        )
        .await?;
        Ok(outcome.error().is_none())
    }

    /// The ad-hoc commands the domain lists for this account (an admin sees the
    /// XEP-0133 ones, anyone else does not).
    pub async fn commands(&mut self) -> Result<Vec<String>> {
        let domain = self.domain.clone();
        adhoc::list(&mut self.conn, &domain).await
    }

    /// Ends the session cleanly.
    pub async fn close(self) -> Result<()> {
        self.conn.close().await
    }

    /// `jid` parsed and in our domain.
    fn account(&self, jid: &str) -> Result<BareJid> {
        let parsed = BareJid::parse(jid).map_err(Error::InvalidInput)?;
        if parsed.domain() != self.domain {
            return Err(Error::InvalidInput(format!(
                "{jid:?} is not an account of {} (Prosody runs account commands per domain)",
                self.domain
            )));
        }
        Ok(parsed)
    }
}

/// A password Prosody will store and SCRAM can later use: not empty, within
/// [`MAX_PASSWORD_BYTES`], characters XML can carry and SASLprep accepts.
fn check_password(password: &str) -> Result<()> {
    if password.is_empty() {
        return Err(Error::InvalidInput("the password is empty".to_owned()));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(Error::InvalidInput(format!(
            "the password is longer than {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    if password.chars().any(|c| !is_xml_char(c)) {
        return Err(Error::InvalidInput(
            "the password has a control character XMPP cannot carry".to_owned(),
        ));
    }
    stringprep::saslprep(password)
        .map_err(|e| Error::InvalidInput(format!("the password could not be used to log in (SASLprep: {e})")))?;
    Ok(())
}

/// What [`check`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// The stream was encrypted with STARTTLS.
    pub encrypted: bool,
    /// The SASL mechanism used.
    pub mechanism: &'static str,
    /// The JID the server bound.
    pub jid: String,
    /// Every command the domain lists for the admin account.
    pub commands: Vec<String>,
}

/// For `dialogue check`: connects (TLS, authentication), then makes sure the domain
/// lists the four XEP-0133 commands Dialogue uses for this account, which means the
/// account is an admin of the domain and `mod_admin_adhoc` is enabled.
pub async fn check(cfg: &AdminConfig) -> Result<CheckReport> {
    let mut client = AdminClient::connect(cfg).await?;
    let commands = client.commands().await?;
    if let Some(missing) = REQUIRED_COMMANDS.iter().find(|c| !commands.iter().any(|l| l == *c)) {
        let admin = cfg.admin_jid.clone();
        let domain = client.domain().to_owned();
        // Best effort: the missing command is the finding.
        let _ = client.close().await;
        return Err(Error::Refused {
            command: (*missing).to_owned(),
            reason: format!(
                "not offered to {admin} on {domain}: is {admin} in Prosody's admins, and admin_adhoc in modules_enabled?"
            ),
        });
    }
    let report = CheckReport {
        encrypted: client.encrypted(),
        mechanism: client.mechanism(),
        jid: client.bound_jid().to_owned(),
        commands,
    };
    client.close().await?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_that_cannot_work_are_refused() {
        assert!(check_password("correct horse battery staple").is_ok());
        assert!(check_password("mot de passe à accents ✓").is_ok());
        assert!(check_password("").is_err());
        assert!(check_password("nul\u{0}").is_err());
        assert!(check_password("bell\u{7}").is_err());
        assert!(check_password(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
        assert!(check_password(&"x".repeat(MAX_PASSWORD_BYTES)).is_ok());
        // Private-use characters are forbidden by SASLprep.
        assert!(check_password("pua\u{E000}").is_err());
    }
}
