//! The JSON shapes of the booking API (their names are a contract: see `openapi/booking.json`)
//! and the reading of request bodies into problem details when they are not what is expected.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use store::{Course, CourseDetail, Participant, Session, SessionDetail, SessionSummary};

use super::{ApiCaller, ApiError};
use crate::http::error::{AppError, Message};

/// Reads a JSON body; an empty body reads as `{}`. A body that is not JSON of the expected shape
/// is a 400 problem naming what is wrong.
pub fn body<T: DeserializeOwned>(caller: &ApiCaller, bytes: &[u8]) -> Result<T, ApiError> {
    let text = if bytes.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        bytes
    };
    serde_json::from_slice(text)
        .map_err(|e| caller.fail(AppError::BadRequest(Message::new("api.error.json").arg("detail", e))))
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

#[derive(Debug, Serialize)]
pub struct ParticipantJson {
    pub id: String,
    pub email: String,
    pub name: String,
    /// `trainer`, `moderator`, `learner`, `guest`.
    pub role: &'static str,
    /// Whether the person has an account (trainers, account moderators).
    pub account: bool,
    /// The personal link, for callers who manage the session's participants.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join_url: Option<String>,
}

impl From<&Participant> for ParticipantJson {
    fn from(p: &Participant) -> Self {
        ParticipantJson {
            id: p.id.clone(),
            email: p.email.clone(),
            name: p.name.clone(),
            role: p.role.as_str(),
            account: p.user_id.is_some(),
            join_url: None,
        }
    }
}

/// A session, as every answer that returns sessions gives it.
#[derive(Debug, Serialize)]
pub struct SessionJson {
    pub id: String,
    pub title: String,
    pub notes: String,
    /// `scheduled` or `cancelled`.
    pub status: &'static str,
    /// Its end has passed: read-only.
    pub ended: bool,
    /// UTC, RFC 3339.
    pub starts_at: String,
    pub ends_at: String,
    pub duration_minutes: i64,
    pub time_zone: String,
    /// The start on the clocks of `time_zone`, without offset.
    pub local_start: String,
    pub room: String,
    pub course_id: Option<String>,
    pub series_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// The Jitsi server the session is pinned to, where the answer says it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jitsi_server_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participants: Option<Vec<ParticipantJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trainers: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
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
            status: s.status.as_str(),
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
#[derive(Debug, Serialize)]
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

/// A page of a list.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub limit: i64,
    pub offset: i64,
    /// The `offset` of the next page, `null` on the last one.
    pub next_offset: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct CourseTrainerJson {
    pub id: String,
    pub email: String,
    pub name: String,
}

#[derive(Debug, Serialize)]
pub struct CourseLearnerJson {
    pub id: String,
    pub email: String,
    pub name: String,
    pub company: String,
}

#[derive(Debug, Serialize)]
pub struct CourseJson {
    pub id: String,
    pub title: String,
    pub code: Option<String>,
    pub description: String,
    pub default_duration_minutes: i64,
    pub archived: bool,
    pub owner_id: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trainers: Option<Vec<CourseTrainerJson>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub learners: Option<Vec<CourseLearnerJson>>,
}

impl CourseJson {
    pub fn of(c: &Course) -> CourseJson {
        CourseJson {
            id: c.id.clone(),
            title: c.title.clone(),
            code: c.code.clone(),
            description: c.description.clone(),
            default_duration_minutes: c.default_duration_minutes,
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
