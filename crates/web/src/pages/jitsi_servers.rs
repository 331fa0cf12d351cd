//! Jitsi servers, for admins: list, create, edit, delete, the default one. Secrets (app secret,
//! private key, Prosody's bearer) are write-only: a blank field keeps the current value, and
//! nothing secret is ever put back in a page, except the generated bearer, shown once.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use axum::{Form, Router, routing::get, routing::post};
use service::jitsi_servers::{self, KNOWN_FEATURES, ServerChange, default_features, jaas_webhook_url, key_server_url};
use service::{Error, Problem};
use store::{JitsiServer, TokenModeKind};

use crate::http::context::Ctx;
use crate::http::error::{AppError, AppResult, Message};
use crate::http::forms::FieldErrors;
use crate::http::page::{Page, html, html_status};
use crate::http::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/jitsi-servers", get(list).post(create))
        .route("/jitsi-servers/new", get(new_form))
        .route("/jitsi-servers/{id}", get(show).post(update))
        .route("/jitsi-servers/{id}/delete", post(delete))
}

fn require_admin(ctx: &Ctx) -> Result<(), AppError> {
    if ctx.actor()?.may_manage_jitsi_servers() {
        Ok(())
    } else {
        Err(AppError::FORBIDDEN)
    }
}

/// The form again with the error's messages, or the error page when it explains no field.
fn refused(app: &AppState, ctx: &Ctx, server: Option<JitsiServer>, form: ServerForm, error: Error) -> AppResult {
    if error.problems().is_empty() {
        return Err(error.into());
    }
    let mut errors = FieldErrors::default();
    let status = errors.record(&error, ctx.locale, &app.config().default_time_zone, |f| f);
    html_status(status, &form_page(app, ctx, server, form, errors))
}

#[derive(Template)]
#[template(path = "jitsi/servers/list.html")]
struct ListPage {
    page: Page,
    servers: Vec<JitsiServer>,
}

async fn list(State(app): State<AppState>, ctx: Ctx) -> AppResult {
    require_admin(&ctx)?;
    html(&ListPage {
        page: Page::new(&ctx, "jitsi.servers.title", &app.config().default_time_zone),
        servers: jitsi_servers::list(app.service(), &ctx.actor()?).await?,
    })
}

/// The form as typed (secrets never put back).
#[derive(Debug, Clone, Default)]
pub struct ServerForm {
    pub name: String,
    pub token_mode: String,
    pub base_url: String,
    pub domain: String,
    pub tenant: String,
    pub app_id: String,
    pub key_id: String,
    pub moderator: BTreeMap<String, bool>,
    pub participant: BTreeMap<String, bool>,
    pub lobby: bool,
    pub max_occupants: String,
    pub is_default: bool,
    pub xmpp_host: String,
    pub xmpp_port: String,
    pub admin_jid: String,
    pub xmpp_ca_pem: String,
}

impl ServerForm {
    fn from_server(s: &JitsiServer) -> ServerForm {
        ServerForm {
            name: s.name.clone(),
            token_mode: s.token_mode.as_str().to_owned(),
            base_url: s.base_url.clone(),
            domain: s.domain.clone(),
            tenant: s.tenant.clone().unwrap_or_default(),
            app_id: s.app_id.clone(),
            key_id: s.key_id.clone().unwrap_or_default(),
            moderator: s.moderator_features.clone(),
            participant: s.participant_features.clone(),
            lobby: s.lobby,
            max_occupants: s.max_occupants.map(|n| n.to_string()).unwrap_or_default(),
            is_default: s.is_default,
            xmpp_host: s.xmpp.as_ref().map(|x| x.host.clone()).unwrap_or_default(),
            xmpp_port: s.xmpp.as_ref().map(|x| x.port.to_string()).unwrap_or_default(),
            admin_jid: s.xmpp.as_ref().map(|x| x.admin_jid.clone()).unwrap_or_default(),
            xmpp_ca_pem: s.xmpp.as_ref().and_then(|x| x.ca_pem.clone()).unwrap_or_default(),
        }
    }

    /// Every feature to offer: the known ones, then any other the server has.
    pub fn feature_names(&self) -> Vec<String> {
        let mut names: Vec<String> = KNOWN_FEATURES.iter().map(|f| (*f).to_owned()).collect();
        for k in self.moderator.keys().chain(self.participant.keys()) {
            if !names.contains(k) {
                names.push(k.clone());
            }
        }
        names
    }

    pub fn on(&self, moderator: bool, feature: &str) -> bool {
        let map = if moderator { &self.moderator } else { &self.participant };
        map.get(feature).copied().unwrap_or(false)
    }
}

/// Reads the posted fields (checkboxes are present only when ticked).
fn read_form(fields: &[(String, String)]) -> (ServerForm, ServerChange) {
    let get = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let ticked = |name: &str| fields.iter().any(|(k, _)| k == name);
    let features = |prefix: &str| -> BTreeMap<String, bool> {
        let offered: Vec<String> = fields
            .iter()
            .filter_map(|(k, _)| k.strip_prefix("offered.").map(str::to_owned))
            .collect();
        let mut map: BTreeMap<String, bool> = offered.iter().map(|f| (f.clone(), false)).collect();
        for (k, _) in fields {
            if let Some(f) = k.strip_prefix(prefix) {
                map.insert(f.to_owned(), true);
            }
        }
        map
    };
    let form = ServerForm {
        name: get("name"),
        token_mode: get("token_mode"),
        base_url: get("base_url"),
        domain: get("domain"),
        tenant: get("tenant"),
        app_id: get("app_id"),
        key_id: get("key_id"),
        moderator: features("mod."),
        participant: features("part."),
        lobby: ticked("lobby"),
        max_occupants: get("max_occupants"),
        is_default: ticked("is_default"),
        xmpp_host: get("xmpp_host"),
        xmpp_port: get("xmpp_port"),
        admin_jid: get("admin_jid"),
        xmpp_ca_pem: get("xmpp_ca_pem"),
    };
    let change = ServerChange {
        name: Some(form.name.clone()),
        base_url: Some(form.base_url.clone()),
        domain: Some(form.domain.clone()),
        tenant: Some(form.tenant.clone()),
        token_mode: Some(form.token_mode.clone()),
        app_id: Some(form.app_id.clone()),
        key_id: Some(form.key_id.clone()),
        app_secret: Some(get("app_secret")),
        private_key: Some(get("private_key")),
        api_secret: Some(get("api_secret")),
        webhook_secret: Some(get("webhook_secret")),
        moderator_features: Some(form.moderator.clone()),
        participant_features: Some(form.participant.clone()),
        lobby: Some(form.lobby),
        max_occupants: None,
        is_default: Some(form.is_default),
        xmpp_host: Some(form.xmpp_host.clone()),
        // Blank: the default port; not a number: a port no server has, refused with its field.
        xmpp_port: match form.xmpp_port.trim() {
            "" => None,
            t => Some(t.parse().unwrap_or(0)),
        },
        admin_jid: Some(form.admin_jid.clone()),
        admin_password: Some(get("admin_password")),
        // Not a secret: the form shows it, so what is posted replaces it (blank clears it).
        xmpp_ca_pem: fields.iter().find(|(k, _)| k == "xmpp_ca_pem").map(|(_, v)| v.clone()),
    };
    (form, change)
}

/// `max_occupants` as typed: blank is none.
fn parse_limit(text: &str) -> Result<Option<i64>, ()> {
    let t = text.trim();
    if t.is_empty() {
        Ok(None)
    } else {
        t.parse::<i64>().map(Some).map_err(|_| ())
    }
}

#[derive(Template)]
#[template(path = "jitsi/servers/form.html")]
struct FormPage {
    page: Page,
    /// `None` for a new server.
    server: Option<JitsiServer>,
    form: ServerForm,
    modes: [TokenModeKind; 4],
    errors: FieldErrors,
    key_server: Option<String>,
    config_command: Option<String>,
    /// JaaS: where its webhooks go.
    webhook_url: Option<String>,
}

fn form_page(
    app: &AppState,
    ctx: &Ctx,
    server: Option<JitsiServer>,
    form: ServerForm,
    errors: FieldErrors,
) -> FormPage {
    let title = if server.is_some() {
        "jitsi.servers.edit"
    } else {
        "jitsi.servers.new"
    };
    let mut page = Page::new(ctx, title, &app.config().default_time_zone);
    if let Some(s) = &server {
        page = page.titled(s.name.clone());
    }
    let key_server = server.as_ref().and_then(|s| match (s.token_mode, &s.key_id) {
        (TokenModeKind::Rs256, Some(kid)) => Some(key_server_url(&app.config().public_url, kid)),
        _ => None,
    });
    let webhook_url = server
        .as_ref()
        .filter(|s| s.token_mode == TokenModeKind::Jaas)
        .map(|s| jaas_webhook_url(&app.config().public_url, &s.id));
    let config_command = server
        .as_ref()
        .filter(|s| s.token_mode != TokenModeKind::Jaas)
        .map(|s| format!("dialogue jitsi-config --server {:?}", s.name));
    FormPage {
        page,
        server,
        form,
        modes: TokenModeKind::ALL,
        errors,
        key_server,
        config_command,
        webhook_url,
    }
}

async fn new_form(State(app): State<AppState>, ctx: Ctx) -> AppResult {
    require_admin(&ctx)?;
    let form = ServerForm {
        token_mode: "hs256".into(),
        moderator: default_features(true),
        participant: default_features(false),
        ..Default::default()
    };
    html(&form_page(&app, &ctx, None, form, FieldErrors::default()))
}

#[derive(Template)]
#[template(path = "jitsi/servers/secret.html")]
struct SecretPage {
    page: Page,
    server: JitsiServer,
    secret: String,
}

/// Reads the form; a limit that is not a number is a problem of its own, reported with the rest.
fn read_change(fields: &[(String, String)]) -> (ServerForm, ServerChange, Vec<Problem>) {
    let (form, mut change) = read_form(fields);
    let mut problems = Vec::new();
    match parse_limit(&form.max_occupants) {
        Ok(limit) => change.max_occupants = Some(limit),
        Err(()) => problems.push(Problem::new("max_occupants", Message::new("jitsi.error.max_occupants"))),
    }
    (form, change, problems)
}

async fn create(State(app): State<AppState>, ctx: Ctx, Form(fields): Form<Vec<(String, String)>>) -> AppResult {
    require_admin(&ctx)?;
    let (form, change, problems) = read_change(&fields);
    match jitsi_servers::create(app.service(), &ctx.caller()?, &change, problems).await {
        Ok(created) => match created.generated_api_secret {
            Some(secret) => html(&SecretPage {
                page: Page::new(&ctx, "jitsi.servers.created", &app.config().default_time_zone),
                server: created.server,
                secret,
            }),
            None => Ok(Redirect::to(&format!("/jitsi-servers/{}?notice=saved", created.server.id)).into_response()),
        },
        Err(e) => refused(&app, &ctx, None, form, e),
    }
}

async fn show(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    let server = jitsi_servers::get(app.service(), &ctx.actor()?, &id).await?;
    let form = ServerForm::from_server(&server);
    html(&form_page(&app, &ctx, Some(server), form, FieldErrors::default()))
}

async fn update(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> AppResult {
    let current = jitsi_servers::get(app.service(), &ctx.actor()?, &id).await?;
    let (form, change, problems) = read_change(&fields);
    match jitsi_servers::update(app.service(), &ctx.caller()?, &id, &change, problems).await {
        Ok(_) => Ok(Redirect::to(&format!("/jitsi-servers/{id}?notice=saved")).into_response()),
        Err(e) => refused(&app, &ctx, Some(current), form, e),
    }
}

async fn delete(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    let current = jitsi_servers::get(app.service(), &ctx.actor()?, &id).await?;
    match jitsi_servers::delete(app.service(), &ctx.caller()?, &id).await {
        Ok(()) => Ok(Redirect::to("/jitsi-servers?notice=server_deleted").into_response()),
        Err(e) => {
            let form = ServerForm::from_server(&current);
            refused(&app, &ctx, Some(current), form, e)
        }
    }
}
