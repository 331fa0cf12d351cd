//! The text printed by `dialogue jitsi-config --server NAME`: Prosody, Jicofo and
//! Jitsi Meet settings, filled in and ready to paste.
//!
//! Sources read for the syntax and module placement: jitsi-meet's Debian template
//! `doc/debian/jitsi-meet-prosody/prosody.cfg.lua-jvb.example` (module lists of the
//! VirtualHost and of the conference component), `mod_reservations.lua` (VirtualHost
//! options), jitsi-contrib's `token_affiliation`, `token_lobby_bypass` (both on the
//! conference MUC component) and `event_sync` READMEs (a `Component` of type
//! `event_sync_component`), Prosody's `core/configmanager.lua` (the file is Lua:
//! `VirtualHost "x"` / `Component "x" "type"` calls followed by assignments; setting
//! an option twice keeps the last value with a warning), and Jicofo's
//! `reference.conf` (HOCON keys `jicofo.conference.enable-auto-owner`,
//! `jicofo.authentication.enabled`).
//!
//! Back to Dialogue from Jitsi (the welcome page and the page after a meeting): Jitsi Meet's
//! web app sends a browser that opens the site's root to `config.welcomePage.customUrl` when
//! it is set (`react/features/app/getRouteToRender.web.ts`, jitsi-meet 2023 and later), and
//! with `config.enableClosePage` it leaves a meeting for `static/close.html`, `close2.html`
//! (no feedback given) or `close3.html` (promotional page) under the site, tenant included
//! (`maybeRedirectToWelcomePage` in `react/features/app/actions.web.ts`); there is no setting
//! for the close page's address. Both are full page loads, so the Jitsi site's nginx answers
//! them: exact-match `location =` blocks win over the regular expressions of Jitsi's Debian
//! nginx site (its `/static/` alias and the tenant rewrite, which searches the locations again
//! with the tenant removed), whatever their order in the file.

use crate::key::asap_key_path;
use crate::token::{TokenMode, jaas_full_app_id};

/// Path (under Dialogue's public URL) of the reservation API prefix.
pub const RESERVATIONS_PATH: &str = "/jitsi/reservations";
/// Path (under Dialogue's public URL) where the event endpoints live: the module
/// posts to `<api_prefix>/events/room/created` etc., so its `api_prefix` is
/// `<public_url>/jitsi`.
pub const EVENTS_PATH: &str = "/jitsi/events";
/// Path (under Dialogue's public URL) of the ASAP public-key server.
pub const ASAP_PATH: &str = "/jitsi/asap";

/// The module versions the printed configuration assumes.
pub const ASSUMED_VERSIONS: &str = "jitsi-meet-prosody / jitsi-meet-tokens 2.0.x (Debian; Prosody 0.12 or 13; mod_reservations with max_occupants and lobby support, 2022 or later), jitsi-contrib prosody-plugins token_affiliation, token_lobby_bypass (context.user.lobby_bypass, 2022-10 or later) and event_sync (mod_event_sync_component), Jicofo 1.0 with jicofo.conf (HOCON), the Jitsi Meet web app of 2023 or later for welcomePage.customUrl (the nginx redirections work with any)";

/// What `jitsi-config` needs to know about one Jitsi server.
#[derive(Debug, Clone, Copy)]
pub struct ConfigInput<'a> {
    /// Dialogue's name for this Jitsi server (`--server NAME`).
    pub server_name: &'a str,
    /// The XMPP domain (Prosody's VirtualHost), e.g. `meet.example.org`.
    pub xmpp_domain: &'a str,
    /// The tenant used in room URLs, if any.
    pub tenant: Option<&'a str>,
    /// How tokens are signed (app id, secret or key id).
    pub mode: &'a TokenMode,
    /// Dialogue's public base URL, e.g. `https://dialogue.example.org`.
    pub public_url: &'a str,
    /// The shared secret Prosody sends as `Authorization: Bearer <secret>` to the
    /// reservation and event endpoints.
    pub api_secret: &'a str,
    /// The conference MUC component, when it is not `conference.<xmpp_domain>`
    /// (the Docker images use `muc.<domain>`).
    pub muc_domain: Option<&'a str>,
}

/// `reservations_api_prefix` for a Dialogue at `public_url`.
pub fn reservations_api_prefix(public_url: &str) -> String {
    format!("{}{RESERVATIONS_PATH}", public_url.trim_end_matches('/'))
}

/// `api_prefix` of `event_sync` for a Dialogue at `public_url` (the module appends
/// `/events/...`, landing on [`EVENTS_PATH`]).
pub fn events_api_prefix(public_url: &str) -> String {
    // EVENTS_PATH is "/jitsi/events" and the module appends "/events/<kind>".
    format!("{}/jitsi", public_url.trim_end_matches('/'))
}

/// `asap_key_server` for a Dialogue at `public_url`.
pub fn asap_key_server_url(public_url: &str) -> String {
    format!("{}{ASAP_PATH}", public_url.trim_end_matches('/'))
}

/// The language of a configuration block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSyntax {
    /// Prosody's Lua configuration.
    Lua,
    /// Jicofo's HOCON.
    Hocon,
    /// Jitsi Meet's `config.js`.
    JavaScript,
    /// The Jitsi site's nginx configuration.
    Nginx,
    /// Prose (JaaS instructions).
    Text,
}

/// One block of the printed configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSection {
    /// The file the block goes in.
    pub file: String,
    /// The block's language.
    pub syntax: ConfigSyntax,
    /// The single comment line that precedes the block (says which file and how).
    pub comment: String,
    /// The block itself.
    pub body: String,
}

/// The blocks of the configuration for `input`, in print order.
pub fn config_sections(input: &ConfigInput<'_>) -> Vec<ConfigSection> {
    match input.mode {
        TokenMode::Jaas { app_id, key_id, key } => vec![jaas_section(input, app_id, key_id, key)],
        TokenMode::Hs256 { .. } | TokenMode::Rs256 { .. } => self_hosted_sections(input),
    }
}

/// The complete text printed by `dialogue jitsi-config --server NAME`: a header
/// line naming the module versions it assumes, then each block preceded by one
/// comment line saying which file it goes in.
pub fn prosody_config(input: &ConfigInput<'_>) -> String {
    let mut out = String::with_capacity(4096);
    let versions = match input.mode {
        TokenMode::Jaas { .. } => "JaaS (8x8.vc) JWT format of 8x8's developer documentation",
        _ => ASSUMED_VERSIONS,
    };
    out.push_str(&format!(
        "-- Dialogue jitsi-config for Jitsi server {:?}. Assumes: {versions}.\n",
        input.server_name
    ));
    for section in config_sections(input) {
        out.push('\n');
        out.push_str(&section.comment);
        out.push('\n');
        out.push_str(&section.body);
        if !section.body.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// The module versions the printed "secure domain" configuration assumes.
pub const SECURE_DOMAIN_ASSUMED_VERSIONS: &str = "Prosody 0.12 or 13 (mod_admin_adhoc: XEP-0133 account commands, admins per VirtualHost), jitsi-meet-prosody 2.0.x (Debian), Jicofo 1.0 with jicofo.conf (HOCON)";

/// What `jitsi-config` needs for a Jitsi server of kind `secure-domain`: Prosody
/// accounts (`internal_hashed`) for the hosts, which Dialogue creates, re-passwords
/// and removes over XMPP as `admin_jid`; everyone else joins as a guest of the
/// anonymous domain `guest.<xmpp_domain>`. No tokens.
#[derive(Debug, Clone, Copy)]
pub struct SecureDomainInput<'a> {
    /// Dialogue's name for this Jitsi server (`--server NAME`).
    pub server_name: &'a str,
    /// The XMPP domain (Prosody's VirtualHost), e.g. `meet.example.org`.
    pub xmpp_domain: &'a str,
    /// The account Dialogue logs in as to manage the hosts' accounts, e.g.
    /// `dialogue@meet.example.org`.
    pub admin_jid: &'a str,
}

/// The anonymous VirtualHost of a secure-domain server: `guest.<domain>`.
pub fn guest_domain(xmpp_domain: &str) -> String {
    format!("guest.{xmpp_domain}")
}

/// The modules of the main virtual host, as Jitsi's Debian configuration enables them (both
/// kinds of server Dialogue prints a configuration for).
const MAIN_HOST_MODULES: [&str; 12] = [
    "bosh",
    "websocket",
    "smacks",
    "ping",
    "speakerstats",
    "external_services",
    "conference_duration",
    "end_conference",
    "muc_lobby_rooms",
    "muc_breakout_rooms",
    "av_moderation",
    "room_metadata",
];
/// The blocks of a secure-domain server's configuration, in print order.
pub fn secure_domain_sections(input: &SecureDomainInput<'_>) -> Vec<ConfigSection> {
    let domain = input.xmpp_domain;
    let guest = guest_domain(domain);
    let prosody_file = format!("/etc/prosody/conf.d/{domain}.cfg.lua");
    let (admin_user, admin_host) = input.admin_jid.split_once('@').unwrap_or((input.admin_jid, domain));

    let mut vh = String::new();
    vh.push_str(&format!("VirtualHost {}\n", lua_str(domain)));
    vh.push_str("    authentication = \"internal_hashed\" -- hosts log in with a Prosody account Dialogue manages\n");
    vh.push_str(&format!(
        "    -- create Dialogue's admin account once: prosodyctl register {} {} '<its password>'\n",
        lua_comment(admin_user),
        lua_comment(admin_host)
    ));
    vh.push_str(&format!("    admins = {{ {} }}\n", lua_str(input.admin_jid)));
    vh.push_str(&format!(
        "    -- Dialogue logs in on port 5222 with STARTTLS and checks the certificate for {}: use one it trusts (public, or from an authority given to Dialogue as its CA file). Jitsi Meet's BOSH/WebSocket count as encrypted (consider_bosh_secure, consider_websocket_secure in the Debian configuration).\n",
        lua_comment(domain)
    ));
    vh.push_str("    c2s_require_encryption = true\n");
    vh.push_str("    modules_enabled = {\n");
    for module in MAIN_HOST_MODULES {
        vh.push_str(&format!("        {};\n", lua_str(module)));
    }
    vh.push_str("        \"admin_adhoc\"; -- Dialogue: XEP-0133 account commands for the admins above\n");
    vh.push_str("    }\n");

    let mut guest_vh = String::new();
    guest_vh.push_str(&format!("VirtualHost {}\n", lua_str(&guest)));
    guest_vh.push_str("    authentication = \"anonymous\"\n");
    guest_vh.push_str("    c2s_require_encryption = false\n");

    let jicofo = format!(
        "jicofo {{\n  authentication {{\n    enabled = true\n    type = XMPP\n    login-url = {}\n  }}\n}}\n",
        js_str(domain)
    );
    let configjs = format!("        anonymousdomain: {},\n", js_str(&guest));
    let configjs_file = format!("/etc/jitsi/meet/{domain}-config.js");

    vec![
        ConfigSection {
            comment: format!(
                "-- File {prosody_file}: set these in the existing VirtualHost {} block; its modules_enabled list is replaced (Debian defaults + admin_adhoc): keep any other module you had.",
                lua_str(domain)
            ),
            file: prosody_file.clone(),
            syntax: ConfigSyntax::Lua,
            body: vh,
        },
        ConfigSection {
            comment: format!(
                "-- File {prosody_file}: new VirtualHost at the end of the file (a block runs to the next VirtualHost or Component): guests join without an account and wait until a host has opened the room."
            ),
            file: prosody_file,
            syntax: ConfigSyntax::Lua,
            body: guest_vh,
        },
        ConfigSection {
            comment: "# File /etc/jitsi/jicofo/jicofo.conf: append; HOCON merges it into the existing jicofo { } block (rooms are created only by someone who logged in).".to_owned(),
            file: "/etc/jitsi/jicofo/jicofo.conf".to_owned(),
            syntax: ConfigSyntax::Hocon,
            body: jicofo,
        },
        ConfigSection {
            comment: format!(
                "// File {configjs_file}: inside `hosts: {{` of `var config = {{`, next to `domain:` (guests use the anonymous domain)."
            ),
            file: configjs_file,
            syntax: ConfigSyntax::JavaScript,
            body: configjs,
        },
    ]
}

/// The complete text `dialogue jitsi-config --server NAME` prints for a
/// secure-domain server: a header line naming what it assumes, then each block
/// preceded by one comment line saying which file it goes in.
pub fn secure_domain_config(input: &SecureDomainInput<'_>) -> String {
    let mut out = String::with_capacity(2048);
    out.push_str(&format!(
        "-- Dialogue jitsi-config for Jitsi server {:?} (secure domain). Assumes: {SECURE_DOMAIN_ASSUMED_VERSIONS}.\n",
        input.server_name
    ));
    for section in secure_domain_sections(input) {
        out.push('\n');
        out.push_str(&section.comment);
        out.push('\n');
        out.push_str(&section.body);
        if !section.body.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

fn self_hosted_sections(input: &ConfigInput<'_>) -> Vec<ConfigSection> {
    let domain = input.xmpp_domain;
    let muc = input
        .muc_domain
        .map_or_else(|| format!("conference.{domain}"), str::to_owned);
    let prosody_file = format!("/etc/prosody/conf.d/{domain}.cfg.lua");
    let auth_header = format!("Bearer {}", input.api_secret);

    // VirtualHost
    let mut vh = String::new();
    vh.push_str(&format!("VirtualHost {}\n", lua_str(domain)));
    vh.push_str("    authentication = \"token\"\n");
    match input.mode {
        TokenMode::Hs256 { app_id, secret } => {
            vh.push_str(&format!("    app_id = {}\n", lua_str(app_id)));
            vh.push_str(&format!("    app_secret = {}\n", lua_str(secret.expose())));
        }
        TokenMode::Rs256 { app_id, key_id, .. } => {
            vh.push_str(&format!("    app_id = {}\n", lua_str(app_id)));
            vh.push_str(&format!(
                "    -- public key of kid {}: {}/{}\n",
                lua_comment(key_id),
                lua_comment(&asap_key_server_url(input.public_url)),
                asap_key_path(key_id)
            ));
            vh.push_str(&format!(
                "    asap_key_server = {}\n",
                lua_str(&asap_key_server_url(input.public_url))
            ));
        }
        TokenMode::Jaas { .. } => {}
    }
    vh.push_str("    allow_empty_token = false\n");
    if let Some(tenant) = input.tenant.filter(|t| !t.is_empty()) {
        vh.push_str(&format!(
            "    -- tenant {0}: rooms are https://{1}/{0}/<room>; keep muc_mapper_domain_base = {2} (global section)\n",
            lua_comment(tenant),
            lua_comment(domain),
            lua_str(domain)
        ));
    }
    vh.push_str("    modules_enabled = {\n");
    for module in MAIN_HOST_MODULES {
        vh.push_str(&format!("        {};\n", lua_str(module)));
    }
    vh.push_str("        \"persistent_lobby\"; -- Dialogue: a reservation may open the lobby\n");
    vh.push_str("        \"reservations\"; -- Dialogue: the room exists only in its booked window\n");
    vh.push_str("    }\n");
    vh.push_str(&format!(
        "    reservations_api_prefix = {}\n",
        lua_str(&reservations_api_prefix(input.public_url))
    ));
    vh.push_str("    reservations_api_headers = {\n");
    vh.push_str(&format!("        [\"Authorization\"] = {};\n", lua_str(&auth_header)));
    vh.push_str("    }\n");
    vh.push_str("    reservations_enable_max_occupants = true\n");
    vh.push_str("    reservations_enable_lobby_support = true\n");
    vh.push_str(&format!("    main_muc = {}\n", lua_str(&muc)));

    // Conference MUC component
    let mut conf = String::new();
    conf.push_str(&format!("Component {} \"muc\"\n", lua_str(&muc)));
    conf.push_str("    modules_enabled = {\n");
    for module in [
        "muc_hide_all",
        "muc_meeting_id",
        "muc_domain_mapper",
        "polls",
        "muc_rate_limit",
        "muc_password_whitelist",
    ] {
        conf.push_str(&format!("        {};\n", lua_str(module)));
    }
    conf.push_str("        \"token_verification\"; -- Dialogue: the token must name this room\n");
    conf.push_str("        \"token_affiliation\"; -- Dialogue: moderator only when the token says so\n");
    conf.push_str("        \"token_lobby_bypass\"; -- Dialogue: context.user.lobby_bypass\n");
    conf.push_str("        \"muc_max_occupants\"; -- Dialogue: max_occupants from the reservation\n");
    conf.push_str("    }\n");
    // mod_muc_max_occupants counts every occupant not in this set: leave Jicofo out.
    conf.push_str(&format!(
        "    muc_access_whitelist = {{ {} }}\n",
        lua_str(&format!("focus@auth.{domain}"))
    ));

    // event_sync component
    let mut sync = String::new();
    sync.push_str(&format!(
        "Component {} \"event_sync_component\"\n",
        lua_str(&format!("eventsync.{domain}"))
    ));
    sync.push_str(&format!("    muc_component = {}\n", lua_str(&muc)));
    sync.push_str(&format!(
        "    breakout_component = {}\n",
        lua_str(&format!("breakout.{domain}"))
    ));
    sync.push_str(&format!(
        "    api_prefix = {}\n",
        lua_str(&events_api_prefix(input.public_url))
    ));
    sync.push_str("    api_headers = {\n");
    sync.push_str(&format!("        [\"Authorization\"] = {};\n", lua_str(&auth_header)));
    sync.push_str("    }\n");

    let jicofo = "jicofo {\n  authentication {\n    enabled = false\n  }\n  conference {\n    enable-auto-owner = false\n  }\n}\n";
    let home = dialogue_home(input.public_url);
    let mut configjs = String::new();
    configjs.push_str("    enableUserRolesBasedOnToken: true,\n");
    configjs.push_str("    enableFeaturesBasedOnToken: true,\n");
    configjs.push_str(&format!(
        "    welcomePage: {{ disabled: false, customUrl: {} }},\n",
        js_str(&home)
    ));
    configjs.push_str("    enableClosePage: true,\n");
    let configjs_file = format!("/etc/jitsi/meet/{domain}-config.js");
    let nginx_file = format!("/etc/nginx/sites-available/{domain}.conf");

    vec![
        ConfigSection {
            comment: format!(
                "-- File {prosody_file}: set these in the existing VirtualHost {} block; its modules_enabled list is replaced (Debian defaults + Dialogue's): keep any other module you had.",
                lua_str(domain)
            ),
            file: prosody_file.clone(),
            syntax: ConfigSyntax::Lua,
            body: vh,
        },
        ConfigSection {
            comment: format!(
                "-- File {prosody_file}: set these in the existing Component {} block (its modules_enabled list is replaced; token_affiliation and token_lobby_bypass come from jitsi-contrib/prosody-plugins).",
                lua_str(&muc)
            ),
            file: prosody_file.clone(),
            syntax: ConfigSyntax::Lua,
            body: conf,
        },
        ConfigSection {
            comment: format!(
                "-- File {prosody_file}: new component at the end of the file (mod_event_sync_component from jitsi-contrib/prosody-plugins)."
            ),
            file: prosody_file,
            syntax: ConfigSyntax::Lua,
            body: sync,
        },
        ConfigSection {
            comment: "# File /etc/jitsi/jicofo/jicofo.conf: append; HOCON merges it into the existing jicofo { } block (no JWT auth in Jicofo, no automatic moderator).".to_owned(),
            file: "/etc/jitsi/jicofo/jicofo.conf".to_owned(),
            syntax: ConfigSyntax::Hocon,
            body: jicofo.to_owned(),
        },
        ConfigSection {
            comment: format!(
                "// File {configjs_file}: inside `var config = {{`; leave hosts.anonymousdomain unset (every participant comes with a Dialogue token); the Jitsi address itself and the end of a meeting lead back to Dialogue."
            ),
            file: configjs_file,
            syntax: ConfigSyntax::JavaScript,
            body: configjs,
        },
        ConfigSection {
            comment: format!(
                "# File {nginx_file}: inside the server {{ }} block that listens on 443, then `nginx -t && systemctl reload nginx`; the Jitsi address itself and the pages after a meeting (close pages) send people back to Dialogue."
            ),
            file: nginx_file,
            syntax: ConfigSyntax::Nginx,
            body: nginx_redirects(&home),
        },
    ]
}

/// Where people who leave Jitsi land: Dialogue's home page.
fn dialogue_home(public_url: &str) -> String {
    format!("{}/", public_url.trim_end_matches('/'))
}

/// The pages of the Jitsi site that lead back to Dialogue: its root (the welcome page) and the
/// three close pages, each an exact-match location (see the module documentation).
const REDIRECTED_JITSI_PATHS: [&str; 4] = ["/", "/static/close.html", "/static/close2.html", "/static/close3.html"];

fn nginx_redirects(home: &str) -> String {
    let target = nginx_url(home);
    REDIRECTED_JITSI_PATHS
        .iter()
        .map(|path| format!("location = {path} {{\n    return 302 {target};\n}}\n"))
        .collect()
}

fn jaas_section(input: &ConfigInput<'_>, app_id: &str, key_id: &str, key: &crate::key::SigningKey) -> ConfigSection {
    let full = jaas_full_app_id(app_id).map_or_else(|_| app_id.to_owned(), |c| c.into_owned());
    let kid = input.mode.kid().ok().flatten().unwrap_or_else(|| key_id.to_owned());
    let mut body = String::new();
    body.push_str("No Prosody, Jicofo or config.js settings are needed: 8x8 runs Jitsi for JaaS.\n");
    body.push_str("In the JaaS console (https://jaas.8x8.vc), under API keys:\n");
    body.push_str("  1. Add an API key and upload this public key (Dialogue keeps the private key):\n");
    for line in key.public_key_pem().lines() {
        body.push_str("       ");
        body.push_str(line);
        body.push('\n');
    }
    body.push_str(&format!(
        "  2. Copy the Key ID the console shows into Dialogue's key id (bare or in full); tokens carry kid {kid:?}.\n"
    ));
    body.push_str(&format!(
        "  3. App ID {full:?}: rooms open at https://8x8.vc/{full}/<room>.\n"
    ));
    body.push_str("Jitsi's reservation API and event_sync are not available on JaaS: Dialogue cannot close rooms on time nor record attendance there.\n");
    ConfigSection {
        file: "JaaS console".to_owned(),
        syntax: ConfigSyntax::Text,
        comment: "# JaaS console (no file to edit):".to_owned(),
        body,
    }
}

/// A Lua double-quoted string literal with every special character escaped.
fn lua_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\{:03}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A string literal valid in JavaScript and HOCON alike (JSON's quoting).
fn js_str(s: &str) -> String {
    // Serialising a &str to JSON cannot fail.
    serde_json::to_string(s).unwrap_or_else(|_| String::from("\"\""))
}

/// Text safe inside a Lua `--` comment (no line breaks).
fn lua_comment(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// A URL as one nginx token: characters that nginx could read as syntax (`;`, braces, quotes,
/// spaces, `#`) or as a variable (`$`) are percent-encoded.
fn nginx_url(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for b in url.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:/?[]@!&*+,=%".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::tests::PKCS8;
    use crate::key::{HmacSecret, SigningKey};
    use std::process::Command;

    fn hs256() -> TokenMode {
        TokenMode::Hs256 {
            app_id: "dialogue".into(),
            secret: HmacSecret::new("app-\"secret\"\\x").unwrap(),
        }
    }

    fn rs256() -> TokenMode {
        TokenMode::Rs256 {
            app_id: "dialogue".into(),
            key_id: "dialogue-2026".into(),
            key: SigningKey::from_pem(PKCS8).unwrap(),
        }
    }

    fn input(mode: &TokenMode) -> ConfigInput<'_> {
        ConfigInput {
            server_name: "main",
            xmpp_domain: "meet.example.org",
            tenant: None,
            mode,
            public_url: "https://dialogue.example.org/",
            api_secret: "api-secret-1",
            muc_domain: None,
        }
    }

    #[test]
    fn prefixes() {
        assert_eq!(
            reservations_api_prefix("https://d.example/"),
            "https://d.example/jitsi/reservations"
        );
        assert_eq!(events_api_prefix("https://d.example"), "https://d.example/jitsi");
        assert_eq!(
            asap_key_server_url("https://d.example//"),
            "https://d.example/jitsi/asap"
        );
        // The module posts to <api_prefix>/events/<kind>: that must land under EVENTS_PATH.
        assert_eq!(
            format!("{}/events/room/created", events_api_prefix("https://d.example")),
            format!("https://d.example{EVENTS_PATH}/room/created")
        );
    }

    #[test]
    fn hs256_config_contents() {
        let mode = hs256();
        let text = prosody_config(&input(&mode));
        let first = text.lines().next().unwrap();
        assert!(first.starts_with("-- Dialogue jitsi-config for Jitsi server \"main\". Assumes: "));
        assert!(first.contains("event_sync") && first.contains("Prosody"));
        for needle in [
            "VirtualHost \"meet.example.org\"\n",
            "    authentication = \"token\"\n",
            "    app_id = \"dialogue\"\n",
            "    app_secret = \"app-\\\"secret\\\"\\\\x\"\n",
            "    allow_empty_token = false\n",
            "        \"reservations\";",
            "    reservations_api_prefix = \"https://dialogue.example.org/jitsi/reservations\"\n",
            "        [\"Authorization\"] = \"Bearer api-secret-1\";\n",
            "    main_muc = \"conference.meet.example.org\"\n",
            "Component \"conference.meet.example.org\" \"muc\"\n",
            "        \"token_verification\";",
            "        \"token_affiliation\";",
            "        \"token_lobby_bypass\";",
            "    muc_access_whitelist = { \"focus@auth.meet.example.org\" }\n",
            "Component \"eventsync.meet.example.org\" \"event_sync_component\"\n",
            "    muc_component = \"conference.meet.example.org\"\n",
            "    api_prefix = \"https://dialogue.example.org/jitsi\"\n",
            "    enable-auto-owner = false\n",
            "    enableUserRolesBasedOnToken: true,\n",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        assert!(!text.contains("asap_key_server"));
        assert_eq!(text.matches("[\"Authorization\"]").count(), 2);
        // Back to Dialogue from the Jitsi address itself and after a meeting.
        for needle in [
            "    welcomePage: { disabled: false, customUrl: \"https://dialogue.example.org/\" },\n",
            "    enableClosePage: true,\n",
            "# File /etc/nginx/sites-available/meet.example.org.conf: inside the server { } block that listens on 443",
            "location = / {\n    return 302 https://dialogue.example.org/;\n}\n",
            "location = /static/close.html {\n    return 302 https://dialogue.example.org/;\n}\n",
            "location = /static/close2.html {\n",
            "location = /static/close3.html {\n",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
    }

    #[test]
    fn urls_are_escaped_for_javascript_and_nginx() {
        assert_eq!(js_str("https://d.example/"), "\"https://d.example/\"");
        assert_eq!(js_str("a\"b\\c\u{2028}"), "\"a\\\"b\\\\c\u{2028}\"");
        assert_eq!(nginx_url("https://d.example:8443/"), "https://d.example:8443/");
        assert_eq!(
            nginx_url("https://d.example/$x; {\"'#"),
            "https://d.example/%24x%3B%20%7B%22%27%23"
        );
        assert_eq!(dialogue_home("https://d.example//"), "https://d.example/");
    }

    #[test]
    fn every_block_is_preceded_by_one_file_comment() {
        let mode = hs256();
        let sections = config_sections(&input(&mode));
        assert_eq!(sections.len(), 6);
        let text = prosody_config(&input(&mode));
        for s in &sections {
            assert!(s.comment.contains(&s.file), "{}", s.comment);
            assert!(!s.comment.contains('\n'));
            let marker = match s.syntax {
                ConfigSyntax::Lua => "-- ",
                ConfigSyntax::Hocon => "# ",
                ConfigSyntax::JavaScript => "// ",
                ConfigSyntax::Nginx | ConfigSyntax::Text => "# ",
            };
            assert!(s.comment.starts_with(marker), "{}", s.comment);
            assert!(text.contains(&format!("{}\n{}", s.comment, s.body)));
        }
        assert!(sections.iter().any(|s| s.file == "/etc/jitsi/jicofo/jicofo.conf"));
        assert!(
            sections
                .iter()
                .any(|s| s.file == "/etc/jitsi/meet/meet.example.org-config.js")
        );
        assert!(
            sections
                .iter()
                .any(|s| s.file == "/etc/nginx/sites-available/meet.example.org.conf")
        );
    }

    #[test]
    fn rs256_config_points_at_the_key_server() {
        let mode = rs256();
        let mut inp = input(&mode);
        inp.tenant = Some("acme");
        inp.muc_domain = Some("muc.meet.example.org");
        let text = prosody_config(&inp);
        assert!(text.contains("    asap_key_server = \"https://dialogue.example.org/jitsi/asap\"\n"));
        assert!(text.contains(&format!(
            "https://dialogue.example.org/jitsi/asap/{}",
            asap_key_path("dialogue-2026")
        )));
        assert!(!text.contains("app_secret"));
        assert!(text.contains("tenant acme"));
        assert!(text.contains("Component \"muc.meet.example.org\" \"muc\""));
        assert!(text.contains("    muc_component = \"muc.meet.example.org\"\n"));
    }

    #[test]
    fn jaas_prints_a_note_instead() {
        let mode = TokenMode::Jaas {
            app_id: "0123abcd".into(),
            key_id: "4f4910".into(),
            key: SigningKey::from_pem(PKCS8).unwrap(),
        };
        let text = prosody_config(&input(&mode));
        assert!(text.contains("No Prosody, Jicofo or config.js settings are needed"));
        assert!(text.contains("-----BEGIN PUBLIC KEY-----"));
        assert!(text.contains("\"vpaas-magic-cookie-0123abcd/4f4910\""));
        assert!(text.contains("https://8x8.vc/vpaas-magic-cookie-0123abcd/<room>"));
        assert!(!text.contains("VirtualHost"));
        assert!(!text.contains("PRIVATE"));
    }

    #[test]
    fn lua_strings_are_escaped() {
        assert_eq!(lua_str("a\"b\\c\nd\u{1}"), "\"a\\\"b\\\\c\\nd\\001\"");
        assert_eq!(lua_comment("a\nb"), "a b");
    }

    /// Balanced `{}`/`()`/`[]` outside strings and comments, and closed strings.
    fn balanced(text: &str, line_comments: &[&str]) -> Result<(), String> {
        let mut stack = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let mut quote: Option<char> = None;
            let mut escaped = false;
            let mut rest = line;
            while let Some(c) = rest.chars().next() {
                if quote.is_none() && line_comments.iter().any(|m| rest.starts_with(m)) {
                    break;
                }
                rest = &rest[c.len_utf8()..];
                match quote {
                    Some(q) => {
                        if escaped {
                            escaped = false;
                        } else if c == '\\' {
                            escaped = true;
                        } else if c == q {
                            quote = None;
                        }
                    }
                    None => match c {
                        '"' | '\'' | '`' => quote = Some(c),
                        '{' | '(' | '[' => stack.push(c),
                        '}' | ')' | ']' => {
                            let open = stack.pop();
                            let want = match c {
                                '}' => '{',
                                ')' => '(',
                                _ => '[',
                            };
                            if open != Some(want) {
                                return Err(format!("line {}: unbalanced {c:?}", n + 1));
                            }
                        }
                        _ => {}
                    },
                }
            }
            if quote.is_some() {
                return Err(format!("line {}: unclosed string", n + 1));
            }
        }
        if stack.is_empty() {
            Ok(())
        } else {
            Err(format!("unclosed {stack:?}"))
        }
    }

    #[test]
    fn balance_checker_can_fail() {
        assert!(balanced("a = { \"x\" }", &["--"]).is_ok());
        assert!(balanced("a = { \"x\" ", &["--"]).is_err());
        assert!(balanced("a = \"x", &["--"]).is_err());
        assert!(balanced("a = { -- }", &["--"]).is_err());
    }

    #[test]
    fn hocon_and_javascript_blocks_are_balanced() {
        for mode in [hs256(), rs256()] {
            for s in config_sections(&input(&mode)) {
                let comments: &[&str] = match s.syntax {
                    ConfigSyntax::Lua => &["--"],
                    ConfigSyntax::Hocon => &["#", "//"],
                    ConfigSyntax::JavaScript => &["//"],
                    ConfigSyntax::Nginx => &["#"],
                    ConfigSyntax::Text => &[],
                };
                if s.syntax != ConfigSyntax::Text {
                    balanced(&s.body, comments).unwrap_or_else(|e| panic!("{}: {e}\n{}", s.file, s.body));
                }
            }
        }
        // config.js lines must be object members: `key: value,`.
        let mode = hs256();
        let js = config_sections(&input(&mode))
            .into_iter()
            .find(|s| s.syntax == ConfigSyntax::JavaScript)
            .unwrap();
        for line in js.body.lines() {
            let (key, value) = line.trim().split_once(": ").unwrap();
            assert!(key.chars().all(|c| c.is_ascii_alphanumeric()), "{line}");
            assert!(value.ends_with(','), "{line}");
        }
    }

    fn luac() -> &'static str {
        for candidate in ["luac", "luac5.4", "luac5.3", "luac5.2", "luac5.1"] {
            if Command::new(candidate)
                .arg("-v")
                .output()
                .is_ok_and(|o| o.status.success())
            {
                return candidate;
            }
        }
        panic!(
            "luac (the Lua compiler) is needed to check the Prosody configuration's syntax: \
             install it with `apt-get install -y lua5.4`"
        );
    }

    fn luac_check(source: &str) -> Result<(), String> {
        let dir = std::env::temp_dir().join(format!("jitsi-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{:016x}.cfg.lua", {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            source.hash(&mut h);
            h.finish()
        }));
        std::fs::write(&path, source).unwrap();
        let out = Command::new(luac()).arg("-p").arg(&path).output().unwrap();
        let _ = std::fs::remove_file(&path);
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    #[test]
    fn prosody_blocks_parse_with_luac() {
        assert!(
            luac_check("VirtualHost \"x\"\n  modules_enabled = {\n").is_err(),
            "luac must catch errors"
        );
        let jaas = TokenMode::Jaas {
            app_id: "abc".into(),
            key_id: "k".into(),
            key: SigningKey::from_pem(PKCS8).unwrap(),
        };
        for mode in [hs256(), rs256(), jaas] {
            let mut inp = input(&mode);
            inp.tenant = Some("acme");
            inp.api_secret = "se\"cr\\et\nwith newline";
            let lua: String = config_sections(&inp)
                .into_iter()
                .filter(|s| s.syntax == ConfigSyntax::Lua)
                .map(|s| format!("{}\n{}", s.comment, s.body))
                .collect();
            // The header line is a Lua comment too.
            let header = prosody_config(&inp).lines().next().unwrap().to_owned();
            luac_check(&format!("{header}\n{lua}")).unwrap_or_else(|e| panic!("{e}\n{lua}"));
        }
    }

    fn secure(admin_jid: &str) -> SecureDomainInput<'_> {
        SecureDomainInput {
            server_name: "salle",
            xmpp_domain: "meet.example.org",
            admin_jid,
        }
    }

    #[test]
    fn secure_domain_config_contents() {
        let text = secure_domain_config(&secure("dialogue@meet.example.org"));
        let first = text.lines().next().unwrap();
        assert!(first.starts_with("-- Dialogue jitsi-config for Jitsi server \"salle\" (secure domain). Assumes: "));
        assert!(first.contains("mod_admin_adhoc"));
        for needle in [
            "VirtualHost \"meet.example.org\"\n",
            "    authentication = \"internal_hashed\"",
            "    admins = { \"dialogue@meet.example.org\" }\n",
            "prosodyctl register dialogue meet.example.org '<its password>'",
            "    c2s_require_encryption = true\n",
            "        \"admin_adhoc\";",
            "VirtualHost \"guest.meet.example.org\"\n    authentication = \"anonymous\"\n    c2s_require_encryption = false\n",
            "  authentication {\n    enabled = true\n    type = XMPP\n    login-url = \"meet.example.org\"\n  }\n",
            "        anonymousdomain: \"guest.meet.example.org\",\n",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        // No token settings on a server without tokens.
        for absent in [
            "app_secret",
            "asap_key_server",
            "token_verification",
            "allow_empty_token",
            "\"token\"",
        ] {
            assert!(!text.contains(absent), "{absent:?} in\n{text}");
        }
        // The main host's authentication is set once, before the guest host's.
        assert_eq!(text.matches("authentication = \"internal_hashed\"").count(), 1);
        assert!(text.find("internal_hashed").unwrap() < text.find("\"anonymous\"").unwrap());
    }

    #[test]
    fn secure_domain_blocks_name_their_file_and_are_balanced() {
        let sections = secure_domain_sections(&secure("dialogue@meet.example.org"));
        assert_eq!(sections.len(), 4);
        let text = secure_domain_config(&secure("dialogue@meet.example.org"));
        for s in &sections {
            assert!(s.comment.contains(&s.file), "{}", s.comment);
            assert!(!s.comment.contains('\n'));
            assert!(text.contains(&format!("{}\n{}", s.comment, s.body)));
            let comments: &[&str] = match s.syntax {
                ConfigSyntax::Lua => &["--"],
                ConfigSyntax::Hocon => &["#", "//"],
                ConfigSyntax::JavaScript => &["//"],
                ConfigSyntax::Nginx => &["#"],
                ConfigSyntax::Text => &[],
            };
            balanced(&s.body, comments).unwrap_or_else(|e| panic!("{}: {e}\n{}", s.file, s.body));
        }
        let js = sections.last().unwrap();
        assert_eq!(js.syntax, ConfigSyntax::JavaScript);
        for line in js.body.lines() {
            let (key, value) = line.trim().split_once(": ").unwrap();
            assert!(key.chars().all(|c| c.is_ascii_alphanumeric()), "{line}");
            assert!(value.ends_with(','), "{line}");
        }
    }

    #[test]
    fn secure_domain_blocks_parse_with_luac() {
        for admin in [
            "dialogue@meet.example.org",
            "we\"ird\\ad\nmin@meet.example.org",
            "no-at-sign",
        ] {
            let input = secure(admin);
            let lua: String = secure_domain_sections(&input)
                .into_iter()
                .filter(|s| s.syntax == ConfigSyntax::Lua)
                .map(|s| format!("{}\n{}", s.comment, s.body))
                .collect();
            let header = secure_domain_config(&input).lines().next().unwrap().to_owned();
            luac_check(&format!("{header}\n{lua}")).unwrap_or_else(|e| panic!("{e}\n{lua}"));
        }
    }

    #[test]
    fn js_strings_are_escaped() {
        assert_eq!(js_str("a\"b\\c\n"), "\"a\\\"b\\\\c\\n\"");
        assert_eq!(guest_domain("meet.example.org"), "guest.meet.example.org");
    }

    /// nginx, the Jitsi site's web server, or a panic saying how to install it.
    fn nginx() -> &'static str {
        for candidate in ["/usr/sbin/nginx", "nginx"] {
            if Command::new(candidate)
                .arg("-v")
                .output()
                .is_ok_and(|o| o.status.success())
            {
                return candidate;
            }
        }
        panic!("nginx is needed to check the printed redirections: install it with `apt-get install -y nginx-light`");
    }

    /// A test nginx's directory, and the server once started: both go when dropped.
    struct Nginx {
        child: Option<std::process::Child>,
        dir: std::path::PathBuf,
    }

    impl Drop for Nginx {
        fn drop(&mut self) {
            if let Some(child) = self.child.as_mut() {
                let _ = child.kill();
                let _ = child.wait();
            }
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    /// `GET path` over HTTP/1.0: the status code and the `Location` header.
    fn get(port: u16, path: &str) -> (u16, Option<String>, String) {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(stream, "GET {path} HTTP/1.0\r\nHost: meet.example.org\r\n\r\n").unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("not an HTTP answer: {answer}"));
        let location = answer
            .lines()
            .find_map(|l| l.strip_prefix("Location: "))
            .map(str::to_owned);
        let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
        (status, location, body)
    }

    #[test]
    fn nginx_sends_the_jitsi_root_and_close_pages_back_to_dialogue() {
        let nginx = nginx();
        let mode = hs256();
        let section = config_sections(&input(&mode))
            .into_iter()
            .find(|s| s.syntax == ConfigSyntax::Nginx)
            .unwrap();
        let dir = std::env::temp_dir().join(format!("jitsi-config-nginx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = Nginx {
            child: None,
            dir: dir.clone(),
        };
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        // The locations of Jitsi's Debian nginx site that could catch these paths first (static
        // files, the tenant rewrite, room names), then the printed block, pasted at the end.
        let d = dir.display();
        let conf = format!(
            r#"daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 16; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location ~ ^/(libs|css|static|images|fonts|lang|sounds|.well-known)/(.*)$ {{
            return 200 "jitsi file $2";
        }}
        location ~ ^/([^/?&:'"]+)/(.*)$ {{
            rewrite ^/([^/?&:'"]+)/(.*)$ /$2;
        }}
        location ~ ^/([^/?&:'"]+)$ {{
            return 200 "jitsi room $1";
        }}
        location / {{
            return 200 "jitsi";
        }}
{comment}
{body}    }}
}}
"#,
            comment = section.comment,
            body = section.body
        );
        let conf_path = dir.join("nginx.conf");
        std::fs::write(&conf_path, &conf).unwrap();
        let prefix = format!("{d}/");
        let test = Command::new(nginx)
            .args(["-t", "-c"])
            .arg(&conf_path)
            .args(["-p", &prefix])
            .output()
            .unwrap();
        assert!(
            test.status.success(),
            "nginx -t refused the printed block: {}\n{conf}",
            String::from_utf8_lossy(&test.stderr)
        );
        server.child = Some(
            Command::new(nginx)
                .arg("-c")
                .arg(&conf_path)
                .args(["-p", &prefix])
                .spawn()
                .unwrap(),
        );
        let mut up = false;
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                up = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        assert!(
            up,
            "nginx did not listen: {}",
            std::fs::read_to_string(server.dir.join("error.log")).unwrap_or_default()
        );
        let home = Some("https://dialogue.example.org/".to_owned());
        for path in REDIRECTED_JITSI_PATHS
            .iter()
            .copied()
            .chain(["/acme/static/close2.html", "/acme/"])
        {
            let (status, location, _) = get(port, path);
            assert_eq!((status, &location), (302, &home), "{path}");
        }
        // Everything else is still Jitsi's.
        assert_eq!(get(port, "/static/close.js").2, "jitsi file close.js");
        assert_eq!(get(port, "/rust-2026").2, "jitsi room rust-2026");
        assert_eq!(get(port, "/acme/rust-2026").2, "jitsi room rust-2026");
        drop(server);
    }
}
