//! Room names, tenants and join URLs.

/// Longest room name Dialogue accepts.
pub const MAX_ROOM_NAME_LEN: usize = 200;

/// Base URL of 8x8's JaaS meetings.
pub const JAAS_BASE_URL: &str = "https://8x8.vc";

/// Whether `name` is a room name Dialogue may use: non-empty, at most
/// [`MAX_ROOM_NAME_LEN`] characters, only `a-z`, `0-9` and `-`.
///
/// Jitsi uses `encodeURIComponent(name).toLowerCase()` as the room, so any other
/// character (uppercase, `%`, spaces, non-ASCII) would make the URL, the token's
/// `room` claim and the reservation name disagree, and old nginx rules answer 404.
pub fn is_valid_room_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_ROOM_NAME_LEN && name.bytes().all(is_slug_byte)
}

/// Whether `tenant` is a usable tenant (first path segment of
/// `https://host/<tenant>/<room>`): same alphabet and length as a room name.
pub fn is_valid_tenant(tenant: &str) -> bool {
    is_valid_room_name(tenant)
}

fn is_slug_byte(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'
}

/// Splits a MUC room node as Prosody reports it: `[tenant]room` for a tenant
/// (jitsi-meet's `muc_domain_mapper` rewrites `room@conference.tenant.domain` to
/// `[tenant]room@conference.domain`) or a plain `room`.
pub(crate) fn split_tenant(node: &str) -> (Option<&str>, &str) {
    if let Some(rest) = node.strip_prefix('[')
        && let Some((tenant, room)) = rest.split_once(']')
    {
        return (Some(tenant), room);
    }
    (None, node)
}

/// The link that opens `room` on a self-hosted Jitsi with `token`:
/// `https://host/<tenant>/<room>#jwt=<token>`.
///
/// The token goes in the fragment, which browsers never send to the server, so it
/// stays out of access logs and `Referer` headers (Jitsi Meet reads `#jwt=` as well
/// as `?jwt=`). `base_url` may end with `/`; an empty tenant counts as none. `room`
/// and `tenant` are expected to be valid (see [`is_valid_room_name`]); [`crate::mint`]
/// refuses tokens for any other.
pub fn join_url(base_url: &str, tenant: Option<&str>, room: &str, token: &str) -> String {
    let base = base_url.trim_end_matches('/');
    let tenant = tenant.filter(|t| !t.is_empty());
    let mut url = String::with_capacity(base.len() + tenant.map_or(0, str::len) + room.len() + token.len() + 8);
    url.push_str(base);
    url.push('/');
    if let Some(tenant) = tenant {
        url.push_str(tenant);
        url.push('/');
    }
    url.push_str(room);
    url.push_str("#jwt=");
    url.push_str(token);
    url
}

/// The link that opens `room` on JaaS: `https://8x8.vc/<full app id>/<room>#jwt=<token>`.
///
/// `app_id` may be given with or without its `vpaas-magic-cookie-` prefix.
pub fn jaas_join_url(app_id: &str, room: &str, token: &str) -> Result<String, crate::TokenError> {
    let full = crate::token::jaas_full_app_id(app_id)?;
    Ok(join_url(JAAS_BASE_URL, Some(&full), room, token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names() {
        assert!(is_valid_room_name("a"));
        assert!(is_valid_room_name("formation-rust-2026-03-12"));
        assert!(is_valid_room_name("0-9"));
        assert!(is_valid_room_name(&"x".repeat(MAX_ROOM_NAME_LEN)));
        assert!(!is_valid_room_name(&"x".repeat(MAX_ROOM_NAME_LEN + 1)));
        assert!(!is_valid_room_name(""));
        assert!(!is_valid_room_name("Room"), "uppercase");
        assert!(!is_valid_room_name("caf%C3%A9"), "percent-encoding");
        assert!(!is_valid_room_name("café"), "non-ASCII");
        assert!(!is_valid_room_name("a b"));
        assert!(!is_valid_room_name("a_b"));
        assert!(!is_valid_room_name("a.b"));
        assert!(!is_valid_room_name("a/b"));
        assert!(!is_valid_room_name("[t]a"));
        assert!(!is_valid_room_name("a@b"));
    }

    #[test]
    fn tenant_split() {
        assert_eq!(split_tenant("[acme]room-1"), (Some("acme"), "room-1"));
        assert_eq!(split_tenant("room-1"), (None, "room-1"));
        assert_eq!(split_tenant("[broken"), (None, "[broken"));
    }

    #[test]
    fn join_urls() {
        assert_eq!(
            join_url("https://meet.example.org", None, "r-1", "a.b.c"),
            "https://meet.example.org/r-1#jwt=a.b.c"
        );
        assert_eq!(
            join_url("https://meet.example.org/", Some("acme"), "r-1", "a.b.c"),
            "https://meet.example.org/acme/r-1#jwt=a.b.c"
        );
        assert_eq!(
            join_url("https://meet.example.org//", Some(""), "r-1", "t"),
            "https://meet.example.org/r-1#jwt=t"
        );
    }

    #[test]
    fn jaas_join_urls() {
        let expected = "https://8x8.vc/vpaas-magic-cookie-0123abcd/r-1#jwt=t";
        assert_eq!(jaas_join_url("0123abcd", "r-1", "t").unwrap(), expected);
        assert_eq!(
            jaas_join_url("vpaas-magic-cookie-0123abcd", "r-1", "t").unwrap(),
            expected
        );
        assert!(jaas_join_url("", "r-1", "t").is_err());
    }
}
