//! The OpenAPI 3.1 document at `/api/v1/openapi.json`, derived from the API's types and handlers
//! with utoipa ([`ApiDoc`]), then completed with the limits this server enforces, read from its
//! configuration ([`document`]): the document describes the running server, not a default one.

use axum::Json;
use axum::extract::State;
use axum::http::request::Parts;
use domain::booking::BookingLimits;
use jiff::fmt::friendly::{Designator, SpanPrinter};
use serde_json::{Map, Value, json};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::contacts::ContactBody;
use super::courses::CourseBody;
use super::jitsi::ServerBody;
use super::sessions::{MAX_LIMIT, SessionChange};
use super::{ApiError, attendance, contacts, course_attendance, courses, gdpr, import, jitsi, me, rooms, sessions};
use crate::http::error::AppError;
use crate::http::state::AppState;

/// What utoipa derives from the handlers (`#[utoipa::path]`) and the types (`ToSchema`) they
/// read and answer; the schemas they use are collected from them.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Dialogue API",
        version = "1",
        description = "Courses, sessions and their participants for Dialogue, the booking front of Jitsi Meet. \
            Authenticate with a personal API token: `Authorization: Bearer <token>` (created on the profile page \
            or with `dialogue token create --user EMAIL`). Errors are RFC 9457 problem details in the caller's \
            language (Accept-Language, else the token holder's). The limits stated are this server's \
            configuration. No text in a request may contain a NUL character (U+0000): such a request is \
            refused (422), and a path with one names nothing (404)."
    ),
    servers((url = "/api/v1")),
    security(("bearer" = [])),
    paths(
        me::me,
        me::jitsi_logins,
        me::renew_jitsi_login,
        sessions::list,
        sessions::create,
        sessions::read,
        sessions::update,
        sessions::replace_people,
        sessions::cancel,
        courses::list,
        courses::create,
        courses::read,
        courses::update,
        contacts::list,
        contacts::create,
        contacts::read,
        contacts::update,
        import::course,
        import::session,
        jitsi::list,
        jitsi::create,
        jitsi::read,
        jitsi::update,
        jitsi::remove,
        jitsi::reissue,
        jitsi::presence,
        attendance::read,
        attendance::correct,
        attendance::verify,
        attendance::csv,
        attendance::pdf,
        gdpr::export,
        gdpr::erase,
        course_attendance::read,
        course_attendance::csv,
        course_attendance::pdf,
        course_attendance::certificate,
        course_attendance::certificates,
        rooms::read,
        rooms::save,
        rooms::remove,
        rooms::regenerate,
    ),
    components(
        schemas(super::json::ChangeScope),
        responses(
            super::Unauthorized,
            super::Forbidden,
            super::NotFound,
            super::Invalid,
            super::Conflict,
            super::BadRequest,
        )
    ),
    tags(
        (name = "me", description = "The token's account and its personal room"),
        (name = "sessions", description = "Booking: sessions and their participants"),
        (name = "courses", description = "Courses (formations): the defaults of their sessions"),
        (name = "contacts", description = "The address book: people without accounts"),
        (name = "jitsi", description = "Jitsi servers, personal links and who came"),
        (name = "attendance", description = "Attendance, corrections, signatures and their exports"),
        (name = "gdpr", description = "A person's data: export and erasure"),
    ),
    modifiers(&BearerScheme),
)]
pub struct ApiDoc;

/// The `bearer` security scheme every operation requires.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        doc.components
            .get_or_insert_with(Default::default)
            .add_security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)));
    }
}

/// The document as this server serves it: [`ApiDoc`] with the limits of `limits` (and the API's
/// own) on the fields they bound, and descriptions as Markdown paragraphs.
pub fn document(limits: &BookingLimits) -> Result<Value, AppError> {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).map_err(|e| AppError::internal(format!("openapi: {e}")))?;
    declare_limits(&mut doc, limits)?;
    unwrap_lines(&mut doc);
    Ok(doc)
}

/// Sets each limit the server enforces on the schema of the field it bounds.
fn declare_limits(doc: &mut Value, limits: &BookingLimits) -> Result<(), AppError> {
    let minutes = json!({
        "minimum": limits.min_duration.as_mins(),
        "maximum": limits.max_duration.as_mins(),
    });
    let title = json!({ "maxLength": limits.max_title_chars });
    let notes = json!({ "maxLength": limits.max_notes_chars });
    let moderators = json!({ "maxItems": limits.max_moderators });
    let participants = json!({ "maxItems": limits.max_participants });
    let schema = |name: &str, property: &str| format!("/components/schemas/{name}/properties/{property}");
    for name in ["NewSession", "SessionChange"] {
        merge(doc, &schema(name, "duration_minutes"), &minutes)?;
        merge(doc, &schema(name, "title"), &title)?;
        merge(doc, &schema(name, "notes"), &notes)?;
    }
    for name in ["NewSession", "ParticipantsInput"] {
        merge(doc, &schema(name, "trainers"), &moderators)?;
        merge(doc, &schema(name, "moderators"), &moderators)?;
        merge(doc, &schema(name, "learners"), &participants)?;
        merge(doc, &schema(name, "guests"), &participants)?;
    }
    merge(doc, &schema("CourseInput", "default_duration_minutes"), &minutes)?;
    merge(doc, &schema("CourseInput", "title"), &title)?;
    merge(
        doc,
        &schema("CourseInput", "description"),
        &json!({ "maxLength": domain::course::MAX_DESCRIPTION_CHARS }),
    )?;
    merge(
        doc,
        &schema("CourseInput", "code"),
        &json!({ "maxLength": domain::course::MAX_CODE_CHARS }),
    )?;
    merge(
        doc,
        &schema("JitsiServerInput", "name"),
        &json!({ "maxLength": jitsi::MAX_NAME_CHARS }),
    )?;
    append(
        doc,
        &schema("NewSession", "recurrence"),
        &format!(
            "At most {} occurrences, the last at most {} after the first.",
            limits.recurrence.max_occurrences,
            SpanPrinter::new()
                .designator(Designator::Verbose)
                .span_to_string(&limits.recurrence.max_span)
        ),
    )?;
    let sums = format!(
        "Trainers and moderators together: at most {}; learners and guests together: at most {}.",
        limits.max_moderators, limits.max_participants
    );
    append(doc, "/components/schemas/NewSession", &sums)?;
    append(doc, "/components/schemas/ParticipantsInput", &sums)?;
    // A request that changes nothing is refused.
    for (name, changes) in [
        ("SessionChange", SessionChange::CHANGES),
        ("CourseInput", CourseBody::CHANGES),
        ("ContactInput", ContactBody::CHANGES),
        ("JitsiServerInput", ServerBody::CHANGES),
    ] {
        merge(
            doc,
            &format!("/components/schemas/{name}"),
            &json!({ "anyOf": changes.any_of() }),
        )?;
    }
    let list = "/paths/~1sessions/get/parameters";
    merge(
        doc,
        &parameter(doc, list, "limit")?,
        &json!({ "minimum": 1, "maximum": MAX_LIMIT }),
    )?;
    merge(doc, &parameter(doc, list, "offset")?, &json!({ "minimum": 0 }))?;
    Ok(())
}

/// The pointer to the schema of the query parameter `name` among the `parameters` at `list`.
fn parameter(doc: &Value, list: &str, name: &str) -> Result<String, AppError> {
    doc.pointer(list)
        .and_then(Value::as_array)
        .and_then(|ps| ps.iter().position(|p| p["name"] == name))
        .map(|i| format!("{list}/{i}/schema"))
        .ok_or_else(|| AppError::internal(format!("openapi: no parameter {name} at {list}")))
}

fn object<'a>(doc: &'a mut Value, pointer: &str) -> Result<&'a mut Map<String, Value>, AppError> {
    doc.pointer_mut(pointer)
        .and_then(Value::as_object_mut)
        .ok_or_else(|| AppError::internal(format!("openapi: no object at {pointer}")))
}

/// Adds the keys of `keywords` to the schema at `pointer`.
fn merge(doc: &mut Value, pointer: &str, keywords: &Value) -> Result<(), AppError> {
    let target = object(doc, pointer)?;
    if let Some(keywords) = keywords.as_object() {
        for (k, v) in keywords {
            target.insert(k.clone(), v.clone());
        }
    }
    Ok(())
}

/// Adds a sentence to the description of the schema at `pointer`.
fn append(doc: &mut Value, pointer: &str, sentence: &str) -> Result<(), AppError> {
    let target = object(doc, pointer)?;
    let text = match target.get("description").and_then(Value::as_str) {
        Some(before) => format!("{before} {sentence}"),
        None => sentence.to_owned(),
    };
    target.insert("description".into(), Value::String(text));
    Ok(())
}

/// Descriptions and summaries come from doc comments, wrapped at 100 columns: a single line break
/// is a space (as in Markdown), an empty line a new paragraph.
fn unwrap_lines(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    Value::String(text) if key == "description" || key == "summary" => {
                        *text = text
                            .split("\n\n")
                            .map(|paragraph| paragraph.split('\n').map(str::trim).collect::<Vec<_>>().join(" "))
                            .collect::<Vec<_>>()
                            .join("\n\n");
                    }
                    other => unwrap_lines(other),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(unwrap_lines),
        _ => {}
    }
}

/// `GET /api/v1/openapi.json`.
pub async fn serve(State(app): State<AppState>, parts: Parts) -> Result<Json<Value>, ApiError> {
    document(&app.config().booking.limits)
        .map(Json)
        .map_err(|e| ApiError::bare(e, &parts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_carries_the_configured_limits() {
        let limits = BookingLimits {
            min_duration: jiff::SignedDuration::from_mins(30),
            max_duration: jiff::SignedDuration::from_mins(240),
            max_moderators: 3,
            max_participants: 12,
            ..BookingLimits::default()
        };
        let doc = document(&limits).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let new = &doc["components"]["schemas"]["NewSession"]["properties"];
        assert_eq!(new["duration_minutes"]["minimum"], 30);
        assert_eq!(new["duration_minutes"]["maximum"], 240);
        assert_eq!(new["trainers"]["maxItems"], 3);
        assert_eq!(new["guests"]["maxItems"], 12);
        assert_eq!(new["title"]["maxLength"], 200);
        let course = &doc["components"]["schemas"]["CourseInput"]["properties"];
        assert_eq!(course["default_duration_minutes"]["maximum"], 240);
        let limit = doc["paths"]["/sessions"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "limit")
            .unwrap();
        assert_eq!(
            (&limit["schema"]["minimum"], &limit["schema"]["maximum"]),
            (&json!(1), &json!(200))
        );
        assert!(doc["components"]["schemas"]["SessionChange"]["anyOf"].is_array());
        assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
        // What a change must give names the fields of its type (a field added to the type and
        // forgotten there could not be changed alone).
        for (name, changes, how) in [
            ("SessionChange", SessionChange::CHANGES, &["scope", "ambiguity"][..]),
            ("CourseInput", CourseBody::CHANGES, &[][..]),
            ("ContactInput", ContactBody::CHANGES, &[][..]),
            ("JitsiServerInput", ServerBody::CHANGES, &[][..]),
        ] {
            let mut properties: Vec<&str> = doc["components"]["schemas"][name]["properties"]
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .filter(|p| !how.contains(p))
                .collect();
            let mut fields = changes.fields.to_vec();
            properties.sort_unstable();
            fields.sort_unstable();
            assert_eq!(properties, fields, "{name}");
            assert!(changes.null_changes.iter().all(|f| fields.contains(f)), "{name}");
        }
        // Doc comments read as paragraphs.
        let text = doc.to_string();
        assert!(!text.contains("the following ones of its series\\n"), "{text}");
    }
}
