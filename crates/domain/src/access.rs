//! Access rules (`[access]`): which roles may book sessions, on which Jitsi servers, and what an
//! external join check's failure means. Explicit settings rather than code, so an installation
//! states its policy in its configuration; the defaults are Dialogue's behaviour without them.

use std::collections::BTreeMap;

use crate::Role;

/// Who may book, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessRules {
    /// The roles that may book sessions (all by default). A trainer also needs
    /// `[booking] trainers_can_book`.
    pub booking_roles: Vec<Role>,
    /// Role → names of the Jitsi servers that role may book on. A role not listed may book on
    /// every server.
    pub jitsi_servers_by_role: BTreeMap<Role, Vec<String>>,
}

impl Default for AccessRules {
    fn default() -> Self {
        AccessRules {
            booking_roles: Role::ALL.to_vec(),
            jitsi_servers_by_role: BTreeMap::new(),
        }
    }
}

/// A Jitsi server as the booking rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerRef<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub is_default: bool,
}

/// Why a booking may not use the server it asks for (or none at all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerRefusal {
    /// The chosen server is not one the role may book on.
    NotAllowed,
    /// None of the servers the role may book on exists.
    NoneAllowed,
}

impl AccessRules {
    /// Whether an account of `role` may book sessions (`trainers_can_book` is the older
    /// `[booking]` switch for trainers; both must allow it).
    pub fn may_book(&self, role: Role, trainers_can_book: bool) -> bool {
        self.booking_roles.contains(&role) && (role != Role::Trainer || trainers_can_book)
    }

    /// The servers `role` is limited to, or `None` when it may use every server.
    pub fn servers_of(&self, role: Role) -> Option<&[String]> {
        self.jitsi_servers_by_role
            .get(&role)
            .filter(|names| !names.is_empty())
            .map(Vec::as_slice)
    }

    /// Whether `role` may book on the server named `name` (names compare without regard to
    /// case or surrounding spaces, as an administrator types them).
    pub fn may_use_server(&self, role: Role, name: &str) -> bool {
        match self.servers_of(role) {
            None => true,
            Some(names) => names.iter().any(|n| n.trim().eq_ignore_ascii_case(name.trim())),
        }
    }

    /// The server a booking by `role` uses, given the one it `chose` (by id) among `servers`:
    /// `Ok(None)` leaves the choice to the default server at join time (a role without a
    /// limit that chose none: today's behaviour); `Ok(Some(id))` pins the session to a
    /// server. A limited role that chose none gets the default server if it may use it,
    /// else the first allowed server in the order the rule lists them, pinned so that a later
    /// change of default does not move it elsewhere. An id that names no server is left for
    /// the store to refuse.
    pub fn server_for_booking<'a>(
        &self,
        role: Role,
        chosen: Option<&'a str>,
        servers: &[ServerRef<'a>],
    ) -> Result<Option<&'a str>, ServerRefusal> {
        if let Some(id) = chosen {
            return match servers.iter().find(|s| s.id == id) {
                Some(s) if !self.may_use_server(role, s.name) => Err(ServerRefusal::NotAllowed),
                _ => Ok(Some(id)),
            };
        }
        let Some(names) = self.servers_of(role) else {
            return Ok(None);
        };
        if let Some(default) = servers.iter().find(|s| s.is_default)
            && self.may_use_server(role, default.name)
        {
            return Ok(Some(default.id));
        }
        names
            .iter()
            .find_map(|n| servers.iter().find(|s| s.name.trim().eq_ignore_ascii_case(n.trim())))
            .map(|s| Some(s.id))
            .ok_or(ServerRefusal::NoneAllowed)
    }
}

/// What a join check's failure (timeout, connection refused, an answer that is not a 200
/// with `{"allow": …}`) means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CheckFailure {
    /// Fail closed: nobody enters while the check cannot answer (the default).
    #[default]
    Deny,
    /// Fail open: people enter as if the check had allowed them.
    Allow,
}

impl CheckFailure {
    /// `deny` or `allow`.
    pub fn parse(text: &str) -> Option<CheckFailure> {
        match text.trim().to_ascii_lowercase().as_str() {
            "deny" => Some(CheckFailure::Deny),
            "allow" => Some(CheckFailure::Allow),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CheckFailure::Deny => "deny",
            CheckFailure::Allow => "allow",
        }
    }
}

/// What the join check answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckAnswer {
    Allow,
    /// Denied, with the endpoint's message for the person, if any.
    Deny(Option<String>),
    /// No usable answer; the reason is for the log.
    Failed(String),
}

impl CheckAnswer {
    /// Whether the person enters, applying `on_failure` when the check failed.
    pub fn admits(&self, on_failure: CheckFailure) -> bool {
        match self {
            CheckAnswer::Allow => true,
            CheckAnswer::Deny(_) => false,
            CheckAnswer::Failed(_) => on_failure == CheckFailure::Allow,
        }
    }
}

/// The most of an endpoint's message shown to a person, in characters.
pub const MAX_CHECK_MESSAGE: usize = 500;

/// An endpoint's message as it may be shown: control characters become spaces, runs of
/// white space one space, at most [`MAX_CHECK_MESSAGE`] characters; `None` when nothing is
/// left. (Pages escape it; this keeps it one readable line of bounded length.)
pub fn clean_check_message(text: &str) -> Option<String> {
    let spaced: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let one_line = spaced.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = one_line.chars().take(MAX_CHECK_MESSAGE).collect();
    if one_line.chars().count() > MAX_CHECK_MESSAGE {
        out.push('…');
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Role::*;

    fn rules(booking: &[Role], servers: &[(Role, &[&str])]) -> AccessRules {
        AccessRules {
            booking_roles: booking.to_vec(),
            jitsi_servers_by_role: servers
                .iter()
                .map(|(r, names)| (*r, names.iter().map(|n| (*n).to_owned()).collect()))
                .collect(),
        }
    }

    #[test]
    fn booking_roles_per_role() {
        let all = AccessRules::default();
        // (rules, role, trainers_can_book, expected)
        let staff_only = rules(&[Admin, Manager], &[]);
        let admins_only = rules(&[Admin], &[]);
        let rows = [
            (&all, Admin, true, true),
            (&all, Manager, true, true),
            (&all, Trainer, true, true),
            (&all, Trainer, false, false),
            (&all, Manager, false, true),
            (&staff_only, Admin, true, true),
            (&staff_only, Manager, true, true),
            (&staff_only, Trainer, true, false),
            (&admins_only, Admin, false, true),
            (&admins_only, Manager, true, false),
            (&admins_only, Trainer, true, false),
        ];
        for (r, role, setting, expected) in rows {
            assert_eq!(
                r.may_book(role, setting),
                expected,
                "{:?} {role:?} trainers_can_book={setting}",
                r.booking_roles
            );
        }
    }

    #[test]
    fn servers_per_role() {
        let r = rules(&[Admin, Manager, Trainer], &[(Manager, &["Visio B"]), (Trainer, &[])]);
        for role in [Admin, Trainer] {
            assert!(r.may_use_server(role, "Visio A"), "{role:?}: not limited (empty = all)");
            assert_eq!(r.servers_of(role), None);
        }
        assert!(r.may_use_server(Manager, "visio b "), "names compare as typed");
        assert!(!r.may_use_server(Manager, "Visio A"));
        assert!(AccessRules::default().may_use_server(Manager, "anything"));
    }

    #[test]
    fn the_server_of_a_booking() {
        let a = ServerRef {
            id: "a",
            name: "Visio A",
            is_default: true,
        };
        let b = ServerRef {
            id: "b",
            name: "Visio B",
            is_default: false,
        };
        let servers = [a, b];
        let r = rules(
            &[Admin, Manager, Trainer],
            &[(Manager, &["Visio B"]), (Trainer, &["Visio A", "Visio B"])],
        );
        // Not limited: as today.
        assert_eq!(r.server_for_booking(Admin, None, &servers), Ok(None));
        assert_eq!(r.server_for_booking(Admin, Some("b"), &servers), Ok(Some("b")));
        // Limited, chose an allowed server / another one.
        assert_eq!(r.server_for_booking(Manager, Some("b"), &servers), Ok(Some("b")));
        assert_eq!(
            r.server_for_booking(Manager, Some("a"), &servers),
            Err(ServerRefusal::NotAllowed)
        );
        // Limited, chose none: the default when allowed, else the first allowed; pinned.
        assert_eq!(r.server_for_booking(Trainer, None, &servers), Ok(Some("a")));
        assert_eq!(r.server_for_booking(Manager, None, &servers), Ok(Some("b")));
        assert_eq!(
            r.server_for_booking(Manager, None, &[a]),
            Err(ServerRefusal::NoneAllowed),
            "its only server is gone"
        );
        // An unknown id is the store's to refuse.
        assert_eq!(r.server_for_booking(Manager, Some("zz"), &servers), Ok(Some("zz")));
    }

    #[test]
    fn check_failures_and_answers() {
        assert_eq!(CheckFailure::parse(" Deny"), Some(CheckFailure::Deny));
        assert_eq!(CheckFailure::parse("allow"), Some(CheckFailure::Allow));
        assert_eq!(CheckFailure::parse("open"), None);
        assert_eq!(CheckFailure::default(), CheckFailure::Deny, "fail closed unless told");
        for policy in [CheckFailure::Deny, CheckFailure::Allow] {
            assert!(CheckAnswer::Allow.admits(policy));
            assert!(!CheckAnswer::Deny(None).admits(policy));
        }
        assert!(!CheckAnswer::Failed("timeout".into()).admits(CheckFailure::Deny));
        assert!(CheckAnswer::Failed("timeout".into()).admits(CheckFailure::Allow));
    }

    #[test]
    fn messages_are_one_bounded_line() {
        assert_eq!(clean_check_message("  \n\t "), None);
        assert_eq!(
            clean_check_message("Not\nenrolled\u{7}  here").as_deref(),
            Some("Not enrolled here")
        );
        let long = "é".repeat(MAX_CHECK_MESSAGE + 10);
        let cut = clean_check_message(&long).unwrap();
        assert_eq!(cut.chars().count(), MAX_CHECK_MESSAGE + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(
            clean_check_message("<b>x</b>").as_deref(),
            Some("<b>x</b>"),
            "pages escape it"
        );
    }
}
