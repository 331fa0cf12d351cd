//! `/api/v1/contacts`: the address book — list and search with pages, create, read, change
//! (including archiving). Admins and managers manage it; a trainer reads the people of the
//! sessions they teach (any other id names nothing: 404), as on the pages.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use domain::contact::ContactRequest;
use serde::{Deserialize, Serialize};
use service::Problem;
use service::contacts::{self, MAX_PAGE_SIZE, PAGE_SIZE};
use store::Contact;
use utoipa::{IntoParams, ToSchema};

use super::json::{self, Changes};
use super::{ApiCaller, ApiError, BadRequest, Conflict, ForCaller, Forbidden, Invalid, NotFound, Unauthorized};
use crate::http::error::Message;
use crate::http::state::AppState;

pub fn routes() -> Vec<(&'static str, MethodRouter<AppState>)> {
    vec![
        ("/contacts", get(list).post(create)),
        ("/contacts/{id}", get(read).patch(update)),
    ]
}

/// A person of the address book.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactJson {
    pub id: String,
    /// The family name (or the whole name when it was never split)
    pub name: String,
    pub first_name: String,
    #[schema(format = Email)]
    pub email: String,
    pub company: String,
    /// `fr` or `en`; null: the default language
    pub locale: Option<String>,
    /// IANA zone; null: the session's zone
    pub time_zone: Option<String>,
    pub notes: String,
    pub archived: bool,
    /// The contact this one was merged into
    pub merged_into: Option<String>,
}

impl ContactJson {
    fn of(c: &Contact) -> ContactJson {
        ContactJson {
            id: c.id.clone(),
            name: c.name.clone(),
            first_name: c.first_name.clone(),
            email: c.email.clone(),
            company: c.company.clone(),
            locale: c.locale.clone(),
            time_zone: c.time_zone.clone(),
            notes: c.notes.clone(),
            archived: c.archived,
            merged_into: c.merged_into.clone(),
        }
    }
}

/// A page of contacts.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactList {
    pub items: Vec<ContactJson>,
    /// How many match in all
    pub total: i64,
}

/// The search and page of `GET /contacts`.
#[derive(Debug, Default, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactQuery {
    /// Matched against the name, first name, email and organisation, case-insensitively
    pub q: Option<String>,
    /// Include archived contacts
    #[param(default = false)]
    pub archived: Option<bool>,
    #[param(default = 50, minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    #[param(default = 0, minimum = 0)]
    pub offset: Option<i64>,
}

fn number(
    fields: &crate::pages::session_form::Fields,
    name: &'static str,
    min: i64,
    max: i64,
) -> Result<Option<i64>, Problem> {
    match json::given(fields, name) {
        None => Ok(None),
        Some(v) => match v.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => Ok(Some(n)),
            _ => Err(Problem::new(
                name,
                Message::new("api.error.number")
                    .arg("value", v)
                    .arg("min", min)
                    .arg("max", max),
            )),
        },
    }
}

impl ContactQuery {
    fn read(raw: Option<String>) -> Result<ContactQuery, Vec<Problem>> {
        let fields = crate::pages::sessions::query(raw);
        let mut errors = Vec::new();
        let archived = json::flag(&fields, "archived")
            .map_err(|p| errors.push(p))
            .ok()
            .flatten();
        let limit = number(&fields, "limit", 1, MAX_PAGE_SIZE)
            .map_err(|p| errors.push(p))
            .ok()
            .flatten();
        let offset = number(&fields, "offset", 0, i64::from(i32::MAX))
            .map_err(|p| errors.push(p))
            .ok()
            .flatten();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ContactQuery {
            q: json::given(&fields, "q"),
            archived,
            limit,
            offset,
        })
    }
}

/// Contacts by name, a page at a time (a trainer: the people of the sessions they teach)
#[utoipa::path(
    get,
    path = "/contacts",
    operation_id = "listContacts",
    params(ContactQuery),
    responses(
        (status = 200, description = "The contacts", body = ContactList),
        (status = 401, response = Unauthorized),
        (status = 422, response = Invalid),
    )
)]
pub async fn list(
    State(app): State<AppState>,
    caller: ApiCaller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = ContactQuery::read(raw).map_err(|e| caller.fail(service::Error::Invalid(e)))?;
    let page = contacts::list(
        app.service(),
        &caller.actor(),
        query.q.as_deref().unwrap_or(""),
        query.archived.unwrap_or(false),
        query.limit.unwrap_or(PAGE_SIZE),
        query.offset.unwrap_or(0),
    )
    .await
    .api(&caller)?;
    Ok(Json(ContactList {
        items: page.items.iter().map(ContactJson::of).collect(),
        total: page.total,
    })
    .into_response())
}

/// A contact
#[utoipa::path(
    get,
    path = "/contacts/{id}",
    operation_id = "readContact",
    params(("id" = String, Path, description = "The contact")),
    responses(
        (status = 200, description = "The contact", body = ContactJson),
        (status = 401, response = Unauthorized),
        (status = 404, response = NotFound),
    )
)]
pub async fn read(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let contact = contacts::view(app.service(), &caller.actor(), &id).await.api(&caller)?;
    Ok(Json(ContactJson::of(&contact)).into_response())
}

/// A contact to create, or what changes in one (at least one field).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[schema(as = ContactInput)]
pub struct ContactBody {
    /// Required to create
    pub name: Option<String>,
    pub first_name: Option<String>,
    /// Required to create; unique, compared case-insensitively
    #[schema(format = Email)]
    pub email: Option<String>,
    pub company: Option<String>,
    /// `fr` or `en`; null: the default language
    #[serde(default, deserialize_with = "json::nullable")]
    pub locale: Option<Option<String>>,
    /// IANA zone; null: the session's zone
    #[serde(default, deserialize_with = "json::nullable")]
    pub time_zone: Option<Option<String>>,
    pub notes: Option<String>,
    pub archived: Option<bool>,
}

impl ContactBody {
    pub const CHANGES: Changes = Changes {
        fields: &[
            "name",
            "first_name",
            "email",
            "company",
            "locale",
            "time_zone",
            "notes",
            "archived",
        ],
        null_changes: &["locale", "time_zone"],
    };

    fn over(self, base: ContactRequest) -> ContactRequest {
        ContactRequest {
            name: self.name.unwrap_or(base.name),
            first_name: self.first_name.unwrap_or(base.first_name),
            email: self.email.unwrap_or(base.email),
            company: self.company.unwrap_or(base.company),
            locale: match self.locale {
                Some(l) => l.unwrap_or_default(),
                None => base.locale,
            },
            time_zone: match self.time_zone {
                Some(z) => z.unwrap_or_default(),
                None => base.time_zone,
            },
            notes: self.notes.unwrap_or(base.notes),
        }
    }

    fn touches_fields(&self) -> bool {
        self.name.is_some()
            || self.first_name.is_some()
            || self.email.is_some()
            || self.company.is_some()
            || self.locale.is_some()
            || self.time_zone.is_some()
            || self.notes.is_some()
    }
}

/// Create a contact (admins and managers)
#[utoipa::path(
    post,
    path = "/contacts",
    operation_id = "createContact",
    request_body(content = ContactBody, description = "The contact"),
    responses(
        (status = 201, description = "The contact; `Location` names it", body = ContactJson,
            headers(("Location" = String, description = "The contact"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn create(State(app): State<AppState>, caller: ApiCaller, bytes: Bytes) -> Result<Response, ApiError> {
    let body: ContactBody = json::body(&caller, &bytes)?;
    let archived = body.archived.unwrap_or(false);
    let request = body.over(ContactRequest::default());
    let booker = caller.caller();
    let mut contact = contacts::create(app.service(), &booker, &request).await.api(&caller)?;
    if archived {
        contact = contacts::set_archived(app.service(), &booker, &contact.id, true)
            .await
            .api(&caller)?;
    }
    let location = format!("/api/v1/contacts/{}", contact.id);
    Ok(json::created(ContactJson::of(&contact), Some(location)))
}

/// Change a contact; `archived: true` archives it, `false` brings it back
///
/// The fields given change, the others stay; `locale: null` or `time_zone: null` go back to the
/// defaults. A request that changes nothing is refused (422).
#[utoipa::path(
    patch,
    path = "/contacts/{id}",
    operation_id = "changeContact",
    params(("id" = String, Path, description = "The contact")),
    request_body(content = ContactBody, description = "The fields that change"),
    responses(
        (status = 200, description = "The contact", body = ContactJson),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 422, response = Invalid),
    )
)]
pub async fn update(
    State(app): State<AppState>,
    caller: ApiCaller,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let body: ContactBody = json::change(&caller, &bytes, &ContactBody::CHANGES)?;
    let booker = caller.caller();
    let current = contacts::view(app.service(), &caller.actor(), &id).await.api(&caller)?;
    let archived = body.archived;
    let mut contact = current.clone();
    if body.touches_fields() {
        let request = body.over(contacts::request_of(&current));
        contact = contacts::update(app.service(), &booker, &id, &request)
            .await
            .api(&caller)?;
    } else if !caller.actor().may_manage_contacts() {
        return Err(caller.fail(service::Error::Forbidden));
    }
    if let Some(archived) = archived.filter(|a| *a != contact.archived) {
        contact = contacts::set_archived(app.service(), &booker, &id, archived)
            .await
            .api(&caller)?;
    }
    Ok(Json(ContactJson::of(&contact)).into_response())
}
