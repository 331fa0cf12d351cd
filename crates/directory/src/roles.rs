//! Groups → role, the same rule for every login source (OpenID, LDAP, the trusted proxy).

use domain::Role;

/// The highest role that any of `groups` maps to in `role_map` (group → role), compared
/// exactly; `None` when no group is mapped. An existing account keeps its role in that case.
pub fn mapped_role<G: AsRef<str>>(groups: &[G], role_map: &[(String, Role)]) -> Option<Role> {
    role_map
        .iter()
        .filter(|(group, _)| groups.iter().any(|g| g.as_ref() == group))
        .map(|(_, role)| *role)
        .max()
}

/// The role for someone in `groups`: the highest mapped one, else `default_role`.
pub fn role_for<G: AsRef<str>>(groups: &[G], default_role: Role, role_map: &[(String, Role)]) -> Role {
    mapped_role(groups, role_map).unwrap_or(default_role)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map() -> Vec<(String, Role)> {
        vec![
            ("staff".into(), Role::Manager),
            ("it".into(), Role::Admin),
            ("teachers".into(), Role::Trainer),
        ]
    }

    #[test]
    fn the_highest_mapped_role_wins() {
        assert_eq!(
            role_for(&["teachers", "it", "staff"], Role::Trainer, &map()),
            Role::Admin
        );
        assert_eq!(role_for(&["staff", "teachers"], Role::Trainer, &map()), Role::Manager);
        assert_eq!(mapped_role(&["teachers".to_owned()], &map()), Some(Role::Trainer));
    }

    #[test]
    fn unmapped_groups_give_the_default() {
        assert_eq!(mapped_role(&["other"], &map()), None);
        assert_eq!(mapped_role::<&str>(&[], &map()), None);
        assert_eq!(role_for(&["other"], Role::Manager, &map()), Role::Manager);
        assert_eq!(role_for(&["staff"], Role::Admin, &[]), Role::Admin);
        // Exact names: no prefix, case or whitespace games.
        assert_eq!(mapped_role(&["Staff", "staff ", "it-ops"], &map()), None);
    }

    #[test]
    fn a_mapped_role_below_the_default_still_counts() {
        // A group mapped to trainer is an explicit statement, unlike no mapping at all.
        assert_eq!(role_for(&["teachers"], Role::Manager, &map()), Role::Trainer);
    }
}
