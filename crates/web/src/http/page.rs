//! The frame every page shares: language, title, navigation by role, the CSRF token for forms,
//! and helpers templates call (`page.t("key")`, dates in the viewer's zone).

use domain::{Locale, Role};
use jiff::Timestamp;

use crate::http::context::Ctx;
use crate::http::i18n;

/// A link of the main navigation.
#[derive(Debug, Clone)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
    /// Shown under "Administration" (a disclosure that keeps the bar on one line).
    pub admin: bool,
}

/// What the layout needs.
#[derive(Debug, Clone)]
pub struct Page {
    pub locale: Locale,
    pub title: String,
    pub csrf: String,
    pub user_name: Option<String>,
    pub user_role: Option<Role>,
    pub nav: Vec<NavItem>,
    /// A confirmation to show once (after a redirect), already translated.
    pub notice: Option<&'static str>,
    /// The path of this page (for the language switch to come back).
    pub path: String,
    /// The zone dates are shown in.
    pub time_zone: String,
}

/// Confirmations that a redirect may ask for with `?notice=NAME`.
const NOTICES: &[&str] = &[
    "saved",
    "created",
    "disabled",
    "enabled",
    "role_changed",
    "password_changed",
    "password_set",
    "logged_out",
    "link_reissued",
    "server_deleted",
    "feed_reset",
    "retried",
    "booked",
    "session_saved",
    "participants_saved",
    "session_cancelled",
    "course_created",
    "course_saved",
    "course_archived",
    "course_unarchived",
    "token_revoked",
    "contact_created",
    "imported",
    "contact_saved",
    "contact_archived",
    "contact_unarchived",
    "contact_merged",
    "jitsi_login_renewed",
];

impl Page {
    /// Whether the navigation has an "Administration" group, and whether this page is in it.
    pub fn admin_nav(&self) -> Option<bool> {
        self.nav
            .iter()
            .any(|i| i.admin)
            .then(|| self.nav.iter().any(|i| i.admin && i.current))
    }

    /// A page titled by the catalogue key `title_key`.
    pub fn new(ctx: &Ctx, title_key: &str, default_time_zone: &str) -> Page {
        let locale = ctx.locale;
        let user = ctx.user();
        let path_only = ctx.path.split('?').next().unwrap_or("/");
        let mut nav = Vec::new();
        if let Some(user) = user {
            let mut add_to = |href: &'static str, key: &str, admin: bool| {
                let current = if href == "/" {
                    path_only == "/"
                } else {
                    path_only.starts_with(href)
                };
                nav.push(NavItem {
                    href,
                    label: locale.t(key),
                    current,
                    admin,
                });
            };
            let mut add = |href: &'static str, key: &str| add_to(href, key, false);
            add("/", "nav.dashboard");
            add("/sessions", "nav.sessions");
            add("/calendar", "nav.calendar");
            if user.role >= Role::Manager {
                add("/courses", "nav.courses");
            }
            add("/contacts", "nav.contacts");
            add("/archives", "nav.archives");
            add("/room", "nav.room");
            add("/profile", "nav.profile");
            if user.role >= Role::Manager {
                add_to("/users", "nav.users", true);
                add_to("/gdpr", "nav.gdpr", true);
            }
            if user.role == Role::Admin {
                add_to("/jitsi-servers", "nav.jitsi_servers", true);
                add_to("/audit", "nav.audit", true);
                add_to("/mail", "nav.mail", true);
            }
        }
        let notice = ctx
            .path
            .split_once("notice=")
            .map(|(_, rest)| rest.split('&').next().unwrap_or(""))
            .and_then(|name| NOTICES.iter().find(|n| **n == name))
            .map(|name| locale.t(&format!("notice.{name}")));
        Page {
            locale,
            title: locale.t(title_key).to_owned(),
            csrf: ctx.csrf.clone(),
            user_name: user.map(|u| u.display_name.clone()),
            user_role: user.map(|u| u.role),
            nav,
            notice,
            path: ctx.path.clone(),
            time_zone: user.map_or_else(|| default_time_zone.to_owned(), |u| u.time_zone.clone()),
        }
    }

    /// A page whose title is already text.
    pub fn titled(mut self, title: impl Into<String>) -> Page {
        self.title = title.into();
        self
    }

    /// A catalogue message.
    pub fn t(&self, key: &str) -> &'static str {
        self.locale.t(key)
    }

    /// A catalogue message with one argument.
    pub fn t1(&self, key: &str, name: &str, value: &dyn std::fmt::Display) -> String {
        self.locale.tf(key, &[(name, value)])
    }

    pub fn lang(&self) -> &'static str {
        self.locale.as_str()
    }

    pub fn role_name(&self, role: &Role) -> &'static str {
        self.t(role_key(*role))
    }

    pub fn locale_name(&self, locale: &Locale) -> &'static str {
        locale.native_name()
    }

    /// A date and time in the viewer's zone, naming the zone.
    pub fn datetime(&self, at: &Timestamp) -> String {
        i18n::format_datetime(*at, &self.time_zone, self.locale)
    }

    /// A compact date and time in the viewer's zone (tables name the zone in their header).
    pub fn short(&self, at: &Timestamp) -> String {
        i18n::format_short(*at, &self.time_zone, self.locale)
    }

    /// The other languages, for the switch in the footer: (code, native name).
    pub fn other_locales(&self) -> Vec<(&'static str, &'static str)> {
        Locale::ALL
            .iter()
            .filter(|l| **l != self.locale)
            .map(|l| (l.as_str(), l.native_name()))
            .collect()
    }

    /// The current path, URL-encoded, to come back to after switching language.
    pub fn here(&self) -> String {
        form_urlencoded::byte_serialize(self.path.as_bytes()).collect()
    }

    pub fn css(&self) -> String {
        crate::http::assets::css_url()
    }

    pub fn js(&self) -> String {
        crate::http::assets::js_url()
    }

    pub fn icon(&self) -> String {
        crate::http::assets::icon_url()
    }
}

pub fn role_key(role: Role) -> &'static str {
    match role {
        Role::Admin => "role.admin",
        Role::Manager => "role.manager",
        Role::Trainer => "role.trainer",
    }
}

/// Renders a template into an HTML response.
pub fn html(template: &impl askama::Template) -> crate::http::error::AppResult {
    use axum::response::IntoResponse;
    Ok(axum::response::Html(template.render()?).into_response())
}

/// Renders a template with a status (a form shown again with its errors: 422). The templates
/// mark each refused field and tie it to its message (`_field.html`).
pub fn html_status(status: axum::http::StatusCode, template: &impl askama::Template) -> crate::http::error::AppResult {
    use axum::response::IntoResponse;
    Ok((status, axum::response::Html(template.render()?)).into_response())
}
