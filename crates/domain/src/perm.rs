//! The permission matrix of DESIGN.md, as pure functions.
//!
//! Every route, form post and API call asks these functions; the web crate never decides a
//! permission by itself. The matrix for accounts:
//!
//! | action                         | admin | manager          | trainer |
//! |--------------------------------|-------|------------------|---------|
//! | list accounts                  | yes   | yes (trainers)   | no      |
//! | create / view / edit / disable | all   | trainers only    | no      |
//! | issue a set-password link      | all   | trainers only    | no      |
//! | change a role                  | yes   | no               | no      |
//! | read the audit log             | yes   | no               | no      |
//! | mail outbox: list, retry       | yes   | no               | no      |
//! | own profile and password       | yes   | yes              | yes     |
//!
//! Nobody disables their own account (that is how the last admin locks everyone out); the
//! storage layer separately refuses to demote or disable the last active admin.

use crate::Role;

/// Who is acting: the logged-in account (or API token holder).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user_id: String,
    pub role: Role,
}

/// Something done to accounts. `target` is the role of the account acted upon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAction {
    /// See the list of accounts (filtered by [`Actor::visible_roles`]).
    List,
    /// Create an account with this role.
    Create { role: Role },
    /// See another account's details.
    View { target: Role },
    /// Change another account's name, email, language or time zone.
    Edit { target: Role },
    /// Disable or re-enable an account; `is_self` when it is the actor's own.
    Disable { target: Role, is_self: bool },
    /// Give another account a one-time link to set its password.
    IssuePasswordLink { target: Role },
    /// Change an account's role from `target` to `to`.
    ChangeRole { target: Role, to: Role },
    /// Read the audit log.
    ReadAuditLog,
    /// See the mail outbox (recipients, errors) and retry failed messages.
    ManageMail,
}

impl Actor {
    pub fn new(user_id: impl Into<String>, role: Role) -> Self {
        Actor {
            user_id: user_id.into(),
            role,
        }
    }

    /// The roles of the accounts this actor manages (sees, creates, edits, disables).
    pub fn visible_roles(&self) -> &'static [Role] {
        match self.role {
            Role::Admin => &Role::ALL,
            Role::Manager => &[Role::Trainer],
            Role::Trainer => &[],
        }
    }

    fn manages(&self, target: Role) -> bool {
        self.visible_roles().contains(&target)
    }

    /// Whether this actor may do `action`.
    pub fn may(&self, action: UserAction) -> bool {
        match action {
            UserAction::List => self.role >= Role::Manager,
            UserAction::Create { role } => self.manages(role),
            UserAction::View { target } | UserAction::Edit { target } | UserAction::IssuePasswordLink { target } => {
                self.manages(target)
            }
            UserAction::Disable { target, is_self } => !is_self && self.manages(target),
            UserAction::ChangeRole { target, to } => {
                self.role == Role::Admin && self.manages(target) && self.manages(to)
            }
            UserAction::ReadAuditLog | UserAction::ManageMail => self.role == Role::Admin,
        }
    }

    /// The roles this actor may give to a new account, lowest first.
    pub fn assignable_roles(&self) -> Vec<Role> {
        Role::ALL
            .into_iter()
            .filter(|role| self.may(UserAction::Create { role: *role }))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Role::*;

    fn actor(role: Role) -> Actor {
        Actor::new("u1", role)
    }

    /// The whole account matrix, written out so that a change to the rules shows here.
    #[test]
    fn account_matrix() {
        // (action, admin, manager, trainer)
        let rows: Vec<(UserAction, bool, bool, bool)> = vec![
            (UserAction::List, true, true, false),
            (UserAction::ReadAuditLog, true, false, false),
            (UserAction::ManageMail, true, false, false),
            (UserAction::Create { role: Admin }, true, false, false),
            (UserAction::Create { role: Manager }, true, false, false),
            (UserAction::Create { role: Trainer }, true, true, false),
            (UserAction::View { target: Admin }, true, false, false),
            (UserAction::View { target: Manager }, true, false, false),
            (UserAction::View { target: Trainer }, true, true, false),
            (UserAction::Edit { target: Admin }, true, false, false),
            (UserAction::Edit { target: Trainer }, true, true, false),
            (UserAction::IssuePasswordLink { target: Manager }, true, false, false),
            (UserAction::IssuePasswordLink { target: Trainer }, true, true, false),
            (
                UserAction::Disable {
                    target: Admin,
                    is_self: false,
                },
                true,
                false,
                false,
            ),
            (
                UserAction::Disable {
                    target: Trainer,
                    is_self: false,
                },
                true,
                true,
                false,
            ),
            (
                UserAction::Disable {
                    target: Admin,
                    is_self: true,
                },
                false,
                false,
                false,
            ),
            (
                UserAction::Disable {
                    target: Trainer,
                    is_self: true,
                },
                false,
                false,
                false,
            ),
            (
                UserAction::ChangeRole {
                    target: Trainer,
                    to: Manager,
                },
                true,
                false,
                false,
            ),
            (
                UserAction::ChangeRole {
                    target: Manager,
                    to: Admin,
                },
                true,
                false,
                false,
            ),
            (
                UserAction::ChangeRole {
                    target: Admin,
                    to: Trainer,
                },
                true,
                false,
                false,
            ),
        ];
        for (action, admin, manager, trainer) in rows {
            assert_eq!(actor(Admin).may(action), admin, "admin {action:?}");
            assert_eq!(actor(Manager).may(action), manager, "manager {action:?}");
            assert_eq!(actor(Trainer).may(action), trainer, "trainer {action:?}");
        }
    }

    #[test]
    fn assignable_roles_follow_the_matrix() {
        assert_eq!(actor(Admin).assignable_roles(), vec![Trainer, Manager, Admin]);
        assert_eq!(actor(Manager).assignable_roles(), vec![Trainer]);
        assert!(actor(Trainer).assignable_roles().is_empty());
    }
}

/// What the permission matrix needs to know about one session and the actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SessionFacts {
    /// The actor teaches it: a trainer or an account moderator of the session.
    pub teaches: bool,
    /// The actor booked it.
    pub booked_by_actor: bool,
    /// Its end has passed: it is in the archives, read-only for everyone.
    pub ended: bool,
    pub cancelled: bool,
}

/// Something done to sessions and courses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionAction {
    /// See a session, its participants and roles.
    View,
    /// Book a new session (a trainer only for themself, when the setting allows it).
    Book,
    /// Change date, time, duration, title, notes, course.
    EditDetails,
    /// Add or remove trainers, moderators, learners and guests.
    EditParticipants,
    Cancel,
}

/// Session permissions (DESIGN.md): admins and managers see and edit all sessions; a trainer
/// sees the sessions they teach, edits their participants, and — when their role may book —
/// books sessions for themself and edits or cancels those they booked. Nobody changes a
/// session once it has ended, nor a cancelled one.
///
/// `role_may_book` is the access rules' answer for the actor's role
/// ([`crate::access::AccessRules::may_book`]: `[access] booking_roles` and `[booking]
/// trainers_can_book`). It decides booking for every role; staff's rights over existing
/// sessions do not depend on it.
impl Actor {
    pub fn may_session(&self, action: SessionAction, facts: SessionFacts, role_may_book: bool) -> bool {
        let staff = self.role >= Role::Manager;
        let open = !facts.ended && !facts.cancelled;
        match action {
            SessionAction::View => staff || facts.teaches,
            SessionAction::Book => role_may_book,
            SessionAction::EditParticipants => open && (staff || facts.teaches),
            SessionAction::EditDetails | SessionAction::Cancel => {
                open && (staff || (role_may_book && facts.teaches && facts.booked_by_actor))
            }
        }
    }

    /// Courses are planned by admins and managers.
    pub fn may_manage_courses(&self) -> bool {
        self.role >= Role::Manager
    }

    /// The address book is managed (created, edited, archived, merged) by admins and
    /// managers; a trainer only reads the entries of the people of the sessions they teach.
    pub fn may_manage_contacts(&self) -> bool {
        self.role >= Role::Manager
    }

    /// Jitsi servers (their secrets, their default) are the admins' alone.
    pub fn may_manage_jitsi_servers(&self) -> bool {
        self.role == Role::Admin
    }

    /// Which Jitsi server a session uses is chosen by admins and managers (who may change the
    /// session), not by trainers.
    pub fn may_choose_jitsi_server(&self, facts: SessionFacts) -> bool {
        self.role >= Role::Manager && self.may_session(SessionAction::EditDetails, facts, false)
    }
}

#[cfg(test)]
mod session_tests {
    use super::*;
    use Role::*;

    #[test]
    fn session_matrix() {
        let teaching = SessionFacts {
            teaches: true,
            ..Default::default()
        };
        let own = SessionFacts {
            teaches: true,
            booked_by_actor: true,
            ..Default::default()
        };
        let other = SessionFacts::default();
        let ended = SessionFacts {
            teaches: true,
            booked_by_actor: true,
            ended: true,
            cancelled: false,
        };
        let cancelled = SessionFacts {
            teaches: true,
            booked_by_actor: true,
            ended: false,
            cancelled: true,
        };
        use SessionAction::*;
        // (role, action, facts, role_may_book, expected)
        let rows = [
            (Admin, View, other, true, true),
            (Manager, View, other, false, true),
            (Trainer, View, other, true, false),
            (Trainer, View, teaching, true, true),
            (Trainer, View, ended, true, true),
            (Trainer, Book, other, true, true),
            (Trainer, Book, other, false, false),
            (Manager, Book, other, true, true),
            // `[access] booking_roles` without the role.
            (Manager, Book, other, false, false),
            (Admin, Book, other, false, false),
            (Manager, EditDetails, other, false, true),
            (Trainer, EditParticipants, teaching, false, true),
            (Trainer, EditParticipants, other, true, false),
            (Trainer, EditDetails, teaching, true, false),
            (Trainer, EditDetails, own, true, true),
            (Trainer, EditDetails, own, false, false),
            (Trainer, Cancel, own, true, true),
            (Manager, EditDetails, other, false, true),
            (Manager, Cancel, other, false, true),
            (Admin, EditDetails, ended, true, false),
            (Admin, EditParticipants, ended, true, false),
            (Admin, Cancel, ended, true, false),
            (Trainer, EditParticipants, ended, true, false),
            (Manager, EditDetails, cancelled, true, false),
            (Manager, Cancel, cancelled, true, false),
        ];
        for (role, action, facts, setting, expected) in rows {
            assert_eq!(
                Actor::new("u", role).may_session(action, facts, setting),
                expected,
                "{role:?} {action:?} {facts:?} role_may_book={setting}"
            );
        }
        assert!(Actor::new("u", Manager).may_manage_courses());
        assert!(!Actor::new("u", Trainer).may_manage_courses());
        assert!(Actor::new("u", Admin).may_manage_jitsi_servers());
        assert!(!Actor::new("u", Manager).may_manage_jitsi_servers());
        assert!(!Actor::new("u", Trainer).may_manage_jitsi_servers());
        assert!(Actor::new("u", Manager).may_choose_jitsi_server(other));
        assert!(!Actor::new("u", Manager).may_choose_jitsi_server(cancelled));
        assert!(!Actor::new("u", Trainer).may_choose_jitsi_server(own));
    }
}
