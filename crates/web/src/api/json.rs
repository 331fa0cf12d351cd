//! The JSON shapes of the API: what it answers and what it reads. Their names are a contract:
//! the OpenAPI document (`openapi.rs`) is derived from these types, so what is served and what is
//! documented cannot drift apart. Also the reading of request bodies into problem details when
//! they are not what is expected.

use domain::booking::PersonInput;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use service::booking::Scope;
use store::{Course, CourseDetail, Participant, Session, SessionDetail, SessionSummary};
use utoipa::ToSchema;

use super::{ApiCaller, ApiError};
use crate::http::error::{AppError, Message};
use crate::pages::session_form::Fields;
use service::Problem;

/// A `201 Created` answer with its JSON body and, when the new thing has its own address, a
/// `Location` header (`/api/v1/…`).
pub fn created<T: Serialize>(body: T, location: Option<String>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let mut response = (axum::http::StatusCode::CREATED, axum::Json(body)).into_response();
    if let Some(value) = location.and_then(|l| axum::http::HeaderValue::from_str(&l).ok()) {
        response.headers_mut().insert(axum::http::header::LOCATION, value);
    }
    response
}

/// Reads a JSON body ([`read`]), with the API's message for what is not the JSON expected.
pub fn body<T: DeserializeOwned>(caller: &ApiCaller, bytes: &[u8]) -> Result<T, ApiError> {
    read(caller, bytes, "api.error.json", None)
}

/// Reads the JSON body of a change, refused when it changes nothing ([`Changes`]).
pub fn change<T: DeserializeOwned>(caller: &ApiCaller, bytes: &[u8], changes: &Changes) -> Result<T, ApiError> {
    read(caller, bytes, "api.error.json", Some(changes))
}

/// Reads a JSON body: an object (an empty body reads as `{}`; `null` only where the type is
/// optional). What is not JSON of the expected shape is a 400 problem with `bad_json`'s message
/// naming what is wrong (serde would also read a struct from an array of its fields: the document
/// says object, so an array is refused too). A change that changes nothing is a 422. (Text with a
/// NUL character never arrives here: the HTTP edge refuses it, naming its field.)
pub fn read<T: DeserializeOwned>(
    caller: &ApiCaller,
    bytes: &[u8],
    bad_json: &'static str,
    changes: Option<&Changes>,
) -> Result<T, ApiError> {
    // No body at all reads as `{}` (a POST that needs nothing); whitespace alone is not JSON
    // and is refused like any other bad body (the fuzzer's `\r` for PUT /me/room was a 200).
    let text = if bytes.is_empty() { &b"{}"[..] } else { bytes };
    let bad = |detail: String| caller.fail(AppError::BadRequest(Message::new(bad_json).arg("detail", detail)));
    let value: serde_json::Value = serde_json::from_slice(text).map_err(|e| bad(e.to_string()))?;
    if !(value.is_object() || value.is_null()) {
        return Err(bad("expected a JSON object".into()));
    }
    let typed = T::deserialize(&value).map_err(|e| bad(e.to_string()))?;
    if let Some(changes) = changes
        && !changes.given_in(&value)
    {
        return Err(caller.fail(service::Error::invalid(
            "",
            Message::new("api.error.nothing_to_change").arg("fields", changes.fields.join(", ")),
        )));
    }
    Ok(typed)
}

/// The fields of a change (`PATCH`): at least one must be given a value, or `null` for those of
/// `null_changes` (the others read `null` as absent); a request that changes nothing is refused.
/// The server's check ([`change`], with [`Changes::given_in`]) and the document's `anyOf`
/// ([`Changes::any_of`]) both come from these lists.
pub struct Changes {
    pub fields: &'static [&'static str],
    pub null_changes: &'static [&'static str],
}

impl Changes {
    /// Whether the JSON `body` changes something.
    pub fn given_in(&self, body: &serde_json::Value) -> bool {
        self.fields.iter().any(|f| match body.get(f) {
            None => false,
            Some(serde_json::Value::Null) => self.null_changes.contains(f),
            Some(_) => true,
        })
    }

    /// The document's `anyOf` branches saying the same.
    pub fn any_of(&self) -> Vec<serde_json::Value> {
        self.fields
            .iter()
            .map(|f| {
                if self.null_changes.contains(f) {
                    serde_json::json!({ "required": [f] })
                } else {
                    serde_json::json!({ "required": [f], "properties": { *f: { "not": { "type": "null" } } } })
                }
            })
            .collect()
    }
}

/// A query parameter as given (the first value), `None` when absent.
pub fn given(fields: &Fields, name: &str) -> Option<String> {
    fields.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
}

/// A boolean query parameter: exactly `true` or `false`, as the document says.
pub fn flag(fields: &Fields, name: &'static str) -> Result<Option<bool>, Problem> {
    match given(fields, name).as_deref() {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(other) => Err(Problem::new(
            name,
            Message::new("api.error.boolean").arg("value", other),
        )),
    }
}

/// For `PATCH` fields where `null` (remove) differs from absent (keep): absent is `None`,
/// `null` is `Some(None)`.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A person named in a request.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[schema(as = PersonInput)]
pub struct PersonJson {
    /// Display name; empty or absent: the email's local part
    #[serde(default)]
    pub name: String,
    #[schema(format = Email)]
    pub email: String,
    /// The language of their mails and pages, `fr` or `en` (kept on their address-book entry; an
    /// account's own settings win). Absent: unchanged.
    #[serde(default)]
    #[schema(example = "en")]
    pub locale: Option<String>,
    /// The IANA time zone their mails and pages show times in (kept like `locale`). Absent:
    /// unchanged.
    #[serde(default)]
    #[schema(example = "America/Montreal")]
    pub time_zone: Option<String>,
}

impl From<PersonJson> for PersonInput {
    fn from(p: PersonJson) -> Self {
        PersonInput {
            name: p.name,
            email: p.email,
            locale: p.locale,
            time_zone: p.time_zone,
        }
    }
}

/// People as the domain takes them.
pub fn people(list: Option<Vec<PersonJson>>) -> Option<Vec<PersonInput>> {
    list.map(|l| l.into_iter().map(PersonInput::from).collect())
}

/// Which sessions of a series a change applies to.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(default = "this")]
pub enum ChangeScope {
    /// This session only.
    #[default]
    This,
    /// This session and the following ones of its series.
    Following,
}

impl From<ChangeScope> for Scope {
    fn from(s: ChangeScope) -> Self {
        match s {
            ChangeScope::This => Scope::This,
            ChangeScope::Following => Scope::Following,
        }
    }
}

/// For a local `starts_at` (without offset) that happens twice when the clocks go back: which
/// one. Absent: refused with both candidates named.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Ambiguity {
    Earlier,
    Later,
    Reject,
}

impl From<Ambiguity> for domain::localtime::Ambiguity {
    fn from(a: Ambiguity) -> Self {
        match a {
            Ambiguity::Earlier => Self::Earlier,
            Ambiguity::Later => Self::Later,
            Ambiguity::Reject => Self::Reject,
        }
    }
}

/// A participant's part in a session.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ParticipantRole {
    Trainer,
    Moderator,
    Learner,
    Guest,
}

impl From<store::ParticipantRole> for ParticipantRole {
    fn from(r: store::ParticipantRole) -> Self {
        match r {
            store::ParticipantRole::Trainer => Self::Trainer,
            store::ParticipantRole::Moderator => Self::Moderator,
            store::ParticipantRole::Learner => Self::Learner,
            store::ParticipantRole::Guest => Self::Guest,
        }
    }
}

/// Whether a session takes place.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    Scheduled,
    Cancelled,
}

impl From<store::SessionStatus> for SessionStatus {
    fn from(s: store::SessionStatus) -> Self {
        match s {
            store::SessionStatus::Scheduled => Self::Scheduled,
            store::SessionStatus::Cancelled => Self::Cancelled,
        }
    }
}

/// A participant of a session.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Participant)]
pub struct ParticipantJson {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: ParticipantRole,
    /// Trainers and account moderators have an account; the others are external people
    pub account: bool,
    /// The person's personal link `/j/{key}`; only for callers who manage the session's
    /// participants (admins, managers, its trainers), while it is neither over nor cancelled
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, format = "uri")]
    pub join_url: Option<String>,
}

impl From<&Participant> for ParticipantJson {
    fn from(p: &Participant) -> Self {
        ParticipantJson {
            id: p.id.clone(),
            email: p.email.clone(),
            name: p.name.clone(),
            role: p.role.into(),
            account: p.user_id.is_some(),
            join_url: None,
        }
    }
}

/// A session, as every answer that returns sessions gives it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Session)]
pub struct SessionJson {
    pub id: String,
    pub title: String,
    pub notes: String,
    pub status: SessionStatus,
    /// Its end has passed: archived, read-only
    pub ended: bool,
    /// UTC
    #[schema(format = DateTime)]
    pub starts_at: String,
    /// UTC
    #[schema(format = DateTime)]
    pub ends_at: String,
    pub duration_minutes: i64,
    /// IANA zone of the session
    pub time_zone: String,
    /// The start on the clocks of `time_zone` (YYYY-MM-DDTHH:MM:SS)
    pub local_start: String,
    /// Jitsi room name, chosen by the server: [a-z0-9-]
    pub room: String,
    #[schema(required = true)]
    pub course_id: Option<String>,
    #[schema(required = true)]
    pub series_id: Option<String>,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// The Jitsi server the session is pinned to (given when one session is read or booked;
    /// absent when there is no server)
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub jitsi_server_id: Option<String>,
    /// In answers about one session or the sessions just changed
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub participants: Option<Vec<ParticipantJson>>,
    /// In lists: the trainers' names
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub trainers: Option<Vec<String>>,
    /// In lists: how many learners and guests
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub attendees: Option<i64>,
}

impl SessionJson {
    fn of(s: &Session, now: jiff::Timestamp) -> SessionJson {
        let local = s
            .starts_at
            .to_zoned(jiff::tz::TimeZone::get(&s.time_zone).unwrap_or(jiff::tz::TimeZone::UTC));
        SessionJson {
            id: s.id.clone(),
            title: s.title.clone(),
            notes: s.notes.clone(),
            status: s.status.into(),
            ended: s.ended(now),
            starts_at: s.starts_at.to_string(),
            ends_at: s.ends_at.to_string(),
            duration_minutes: s.duration_minutes(),
            time_zone: s.time_zone.clone(),
            local_start: local.datetime().strftime("%Y-%m-%dT%H:%M:%S").to_string(),
            room: s.room.clone(),
            course_id: s.course_id.clone(),
            series_id: s.series_id.clone(),
            created_at: s.created_at.to_string(),
            updated_at: s.updated_at.to_string(),
            jitsi_server_id: None,
            participants: None,
            trainers: None,
            attendees: None,
        }
    }

    /// A session with its participants.
    pub fn detail(d: &SessionDetail, now: jiff::Timestamp) -> SessionJson {
        SessionJson {
            participants: Some(d.participants.iter().map(ParticipantJson::from).collect()),
            ..SessionJson::of(&d.session, now)
        }
    }

    /// A line of a list: trainers' names and the number of learners and guests.
    pub fn summary(s: &SessionSummary, now: jiff::Timestamp) -> SessionJson {
        SessionJson {
            trainers: Some(s.trainers.clone()),
            attendees: Some(s.attendees),
            ..SessionJson::of(&s.session, now)
        }
    }
}

/// `{"sessions": [...]}`: what booking, changing and cancelling answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Sessions {
    pub sessions: Vec<SessionJson>,
}

impl Sessions {
    pub fn of(details: &[SessionDetail], now: jiff::Timestamp) -> Sessions {
        Sessions {
            sessions: details.iter().map(|d| SessionJson::detail(d, now)).collect(),
        }
    }
}

/// A page of sessions.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionPage {
    pub items: Vec<SessionJson>,
    pub limit: i64,
    pub offset: i64,
    /// The offset of the next page; null on the last
    #[schema(required = true)]
    pub next_offset: Option<i64>,
}

/// A default trainer of a course.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CourseTrainer)]
pub struct CourseTrainerJson {
    pub id: String,
    pub email: String,
    pub name: String,
}

/// A learner enrolled in a course.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CourseLearner)]
pub struct CourseLearnerJson {
    pub id: String,
    pub email: String,
    pub name: String,
    pub company: String,
}

/// A course (formation): the defaults of its new sessions.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Course)]
pub struct CourseJson {
    pub id: String,
    pub title: String,
    #[schema(required = true)]
    pub code: Option<String>,
    pub description: String,
    pub default_duration_minutes: i64,
    /// What its certificates of completion state
    #[schema(value_type = ActionNature)]
    pub action_nature: &'static str,
    pub archived: bool,
    pub owner_id: String,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
    /// Not in lists
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub trainers: Option<Vec<CourseTrainerJson>>,
    /// Not in lists
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub learners: Option<Vec<CourseLearnerJson>>,
}

/// The nature of the action, as the ministry's model of the certificate of completion lists
/// them: action de formation, bilan de compétences, action de VAE, action de formation par
/// apprentissage.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionNature {
    Training,
    SkillsAssessment,
    Vae,
    Apprenticeship,
}

/// The courses.
#[derive(Debug, Serialize, ToSchema)]
pub struct CourseList {
    pub items: Vec<CourseJson>,
}

impl CourseJson {
    pub fn of(c: &Course) -> CourseJson {
        CourseJson {
            id: c.id.clone(),
            title: c.title.clone(),
            code: c.code.clone(),
            description: c.description.clone(),
            default_duration_minutes: c.default_duration_minutes,
            action_nature: c.action_nature.as_str(),
            archived: c.archived,
            owner_id: c.owner_id.clone(),
            created_at: c.created_at.to_string(),
            updated_at: c.updated_at.to_string(),
            trainers: None,
            learners: None,
        }
    }

    pub fn detail(d: &CourseDetail) -> CourseJson {
        CourseJson {
            trainers: Some(
                d.trainers
                    .iter()
                    .map(|t| CourseTrainerJson {
                        id: t.id.clone(),
                        email: t.email.clone(),
                        name: t.display_name.clone(),
                    })
                    .collect(),
            ),
            learners: Some(
                d.learners
                    .iter()
                    .map(|l| CourseLearnerJson {
                        id: l.id.clone(),
                        email: l.email.clone(),
                        name: l.name.clone(),
                        company: l.company.clone(),
                    })
                    .collect(),
            ),
            ..CourseJson::of(&d.course)
        }
    }
}
