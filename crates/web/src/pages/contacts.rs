//! The address book: `/contacts` (search on the server with `?q=`, pages, archived ones on
//! demand), `/contacts/new`, `/contacts/{id}` (the entry, its sessions; edit, archive and merge
//! for admins and managers), and `/contacts/suggest?q=` (the people offered while typing a
//! participant on the booking form: options of a `<datalist>`, or a page of links without
//! JavaScript). A trainer reads the entries of the people of the sessions they teach; every
//! change is the service's to refuse.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect};
use axum::{Router, routing::get, routing::post};
use domain::Locale;
use domain::contact::ContactRequest;
use store::{Contact, ContactSession};

use crate::http::context::Ctx;
use crate::http::error::{AppError, AppResult};
use crate::http::forms::FieldErrors;
use crate::http::page::{Page, html, html_status};
use crate::http::state::AppState;
use crate::pages::session_form::Fields;
use crate::pages::sessions::{Pager, body, query};
use service::Error;
use service::contacts::{self, PAGE_SIZE};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/contacts", get(list).post(create))
        .route("/contacts/new", get(new_form))
        .route("/contacts/suggest", get(suggest))
        .route("/contacts/{id}", get(show).post(update))
        .route("/contacts/{id}/archive", post(archive))
        .route("/contacts/{id}/unarchive", post(unarchive))
        .route("/contacts/{id}/merge", post(merge))
}

/// Beyond any real address book.
const MAX_PAGE: i64 = 100_000;

fn page_number(fields: &Fields) -> i64 {
    fields
        .get("page")
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 1)
        .unwrap_or(1)
        .min(MAX_PAGE)
}

/// Links to the previous and next pages of a list, keeping its search.
fn pager(fields: &Fields, number: i64, has_more: bool) -> Pager {
    let link = |n: i64| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for key in ["q", "archived"] {
            let value = fields.get(key);
            if !value.trim().is_empty() {
                q.append_pair(key, value.trim());
            }
        }
        q.append_pair("page", &n.to_string());
        format!("/contacts?{}", q.finish())
    };
    Pager {
        previous: (number > 1).then(|| link(number - 1)),
        next: has_more.then(|| link(number + 1)),
        number,
    }
}

#[derive(Template)]
#[template(path = "contacts/list.html")]
struct ListPage {
    page: Page,
    contacts: Vec<Contact>,
    total: i64,
    search: String,
    archived: bool,
    manage: bool,
    pager: Pager,
}

async fn list(State(app): State<AppState>, ctx: Ctx, RawQuery(raw): RawQuery) -> AppResult {
    let actor = ctx.actor()?;
    let fields = query(raw);
    let search = fields.get("q").trim().to_owned();
    let archived = !fields.get("archived").is_empty();
    let number = page_number(&fields);
    let found = contacts::list(
        app.service(),
        &actor,
        &search,
        archived,
        PAGE_SIZE,
        (number - 1) * PAGE_SIZE,
    )
    .await?;
    let has_more = number * PAGE_SIZE < found.total;
    html(&ListPage {
        page: Page::new(&ctx, "contacts.title", &app.config().default_time_zone),
        contacts: found.items,
        total: found.total,
        search,
        archived,
        manage: actor.may_manage_contacts(),
        pager: pager(&fields, number, has_more),
    })
}

/// The contact form as typed.
#[derive(Debug, Clone, Default)]
pub struct ContactForm {
    pub name: String,
    pub first_name: String,
    pub email: String,
    pub company: String,
    pub locale: String,
    pub time_zone: String,
    pub notes: String,
}

impl ContactForm {
    fn parse(fields: &Fields) -> ContactForm {
        ContactForm {
            name: fields.get("name"),
            first_name: fields.get("first_name"),
            email: fields.get("email"),
            company: fields.get("company"),
            locale: fields.get("locale"),
            time_zone: fields.get("time_zone"),
            notes: fields.get("notes"),
        }
    }

    fn of(contact: &Contact) -> ContactForm {
        let r = contacts::request_of(contact);
        ContactForm {
            name: r.name,
            first_name: r.first_name,
            email: r.email,
            company: r.company,
            locale: r.locale,
            time_zone: r.time_zone,
            notes: r.notes,
        }
    }

    fn request(&self) -> ContactRequest {
        ContactRequest {
            name: self.name.clone(),
            first_name: self.first_name.clone(),
            email: self.email.clone(),
            company: self.company.clone(),
            locale: self.locale.clone(),
            time_zone: self.time_zone.clone(),
            notes: self.notes.clone(),
        }
    }
}

/// The fields of a contact form (new, or on the contact's page).
struct FormView {
    form: ContactForm,
    errors: FieldErrors,
    locales: [Locale; 2],
    zones: &'static [String],
}

impl FormView {
    fn new(form: ContactForm, errors: FieldErrors) -> FormView {
        FormView {
            form,
            errors,
            locales: Locale::ALL,
            zones: crate::http::i18n::time_zone_names(),
        }
    }
}

#[derive(Template)]
#[template(path = "contacts/new.html")]
struct NewPage {
    page: Page,
    view: FormView,
    errors: FieldErrors,
}

fn new_page(app: &AppState, ctx: &Ctx, form: ContactForm, errors: FieldErrors) -> NewPage {
    NewPage {
        page: Page::new(ctx, "contacts.new", &app.config().default_time_zone),
        view: FormView::new(form, errors.clone()),
        errors,
    }
}

async fn new_form(State(app): State<AppState>, ctx: Ctx) -> AppResult {
    if !ctx.actor()?.may_manage_contacts() {
        return Err(AppError::FORBIDDEN);
    }
    html(&new_page(&app, &ctx, ContactForm::default(), FieldErrors::default()))
}

/// The error's messages by field, and the status to answer with; `None` when it explains no
/// field (then it is the error page's).
fn recorded(app: &AppState, ctx: &Ctx, error: &Error) -> Option<(FieldErrors, StatusCode)> {
    if error.problems().is_empty() {
        return None;
    }
    let mut errors = FieldErrors::default();
    let zone = ctx.zone(app);
    let status = errors.record(
        error,
        ctx.locale,
        zone,
        |field| if field.is_empty() { "form" } else { field },
    );
    Some((errors, status))
}

async fn create(State(app): State<AppState>, ctx: Ctx, bytes: Bytes) -> AppResult {
    let caller = ctx.caller()?;
    let form = ContactForm::parse(&body(&bytes));
    match contacts::create(app.service(), &caller, &form.request()).await {
        Ok(contact) => Ok(Redirect::to(&format!("/contacts/{}?notice=contact_created", contact.id)).into_response()),
        Err(error) => match recorded(&app, &ctx, &error) {
            Some((errors, status)) => html_status(status, &new_page(&app, &ctx, form, errors)),
            None => Err(error.into()),
        },
    }
}

#[derive(Template)]
#[template(path = "contacts/show.html")]
struct ShowPage {
    page: Page,
    contact: Contact,
    /// The entry this one was merged into, when it was.
    merged_into: Option<Contact>,
    sessions: Vec<ContactSession>,
    manage: bool,
    view: FormView,
    errors: FieldErrors,
    merge_into: String,
}

impl ShowPage {
    fn role(&self, s: &ContactSession) -> &'static str {
        self.page.t(crate::pages::room::role_key(s.role))
    }

    fn locale_label(&self) -> &'static str {
        match self.contact.locale.as_deref().and_then(|l| l.parse::<Locale>().ok()) {
            Some(l) => l.native_name(),
            None => self.page.t("contact.locale_default"),
        }
    }
}

async fn show_page(
    app: &AppState,
    ctx: &Ctx,
    id: &str,
    form: Option<ContactForm>,
    errors: FieldErrors,
    merge_into: String,
) -> Result<ShowPage, AppError> {
    let actor = ctx.actor()?;
    let contact = contacts::view(app.service(), &actor, id).await?;
    let sessions = contacts::sessions(app.service(), &actor, id).await?;
    let merged_into = match &contact.merged_into {
        Some(other) => contacts::view(app.service(), &actor, other).await.ok(),
        None => None,
    };
    let form = form.unwrap_or_else(|| ContactForm::of(&contact));
    Ok(ShowPage {
        page: Page::new(ctx, "contacts.title", &app.config().default_time_zone).titled(contact.full_name()),
        manage: actor.may_manage_contacts(),
        view: FormView::new(form, errors.clone()),
        errors,
        contact,
        merged_into,
        sessions,
        merge_into,
    })
}

async fn show(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    html(&show_page(&app, &ctx, &id, None, FieldErrors::default(), String::new()).await?)
}

async fn update(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> AppResult {
    let caller = ctx.caller()?;
    let form = ContactForm::parse(&body(&bytes));
    match contacts::update(app.service(), &caller, &id, &form.request()).await {
        Ok(_) => Ok(Redirect::to(&format!("/contacts/{id}?notice=contact_saved")).into_response()),
        Err(error) => match recorded(&app, &ctx, &error) {
            Some((errors, status)) => html_status(
                status,
                &show_page(&app, &ctx, &id, Some(form), errors, String::new()).await?,
            ),
            None => Err(error.into()),
        },
    }
}

async fn set_archived(app: AppState, ctx: Ctx, id: String, archived: bool) -> AppResult {
    let caller = ctx.caller()?;
    contacts::set_archived(app.service(), &caller, &id, archived).await?;
    let notice = if archived {
        "contact_archived"
    } else {
        "contact_unarchived"
    };
    Ok(Redirect::to(&format!("/contacts/{id}?notice={notice}")).into_response())
}

async fn archive(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    set_archived(app, ctx, id, true).await
}

async fn unarchive(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>) -> AppResult {
    set_archived(app, ctx, id, false).await
}

/// Merges this contact (the duplicate) into the one named by `into` (an email or an id).
async fn merge(State(app): State<AppState>, ctx: Ctx, Path(id): Path<String>, bytes: Bytes) -> AppResult {
    let caller = ctx.caller()?;
    let into = body(&bytes).get("into").trim().to_owned();
    match contacts::merge(app.service(), &caller, &id, &into).await {
        Ok(outcome) => {
            Ok(Redirect::to(&format!("/contacts/{}?notice=contact_merged", outcome.kept.id)).into_response())
        }
        Err(error) => match recorded(&app, &ctx, &error) {
            Some((errors, status)) => html_status(status, &show_page(&app, &ctx, &id, None, errors, into).await?),
            None => Err(error.into()),
        },
    }
}

#[derive(Template)]
#[template(path = "contacts/suggest.html")]
struct SuggestPage {
    page: Page,
    search: String,
    contacts: Vec<Contact>,
}

#[derive(Template)]
#[template(path = "contacts/_options.html")]
struct SuggestOptions {
    contacts: Vec<Contact>,
}

/// The people matching `?q=`: `<option>`s for the booking form's `<datalist>` when asked with
/// `?format=options` (its script), otherwise a page listing them (without JavaScript).
async fn suggest(State(app): State<AppState>, ctx: Ctx, RawQuery(raw): RawQuery) -> AppResult {
    let actor = ctx.actor()?;
    let fields = query(raw);
    let search = fields.get("q").trim().to_owned();
    let found = contacts::suggest(app.service(), &actor, &search).await?;
    if fields.get("format") == "options" {
        let fragment = SuggestOptions { contacts: found }.render()?;
        return Ok((
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            fragment,
        )
            .into_response());
    }
    html(&SuggestPage {
        page: Page::new(&ctx, "contacts.suggest.title", &app.config().default_time_zone),
        search,
        contacts: found,
    })
}
