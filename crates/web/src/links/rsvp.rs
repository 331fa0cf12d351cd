//! Answers to invitations: `/j/{key}/rsvp`, reached from the accept and decline links of a
//! mail (and the waiting page). `GET` only shows the session and two buttons — mail scanners
//! fetch every link they see, so a `GET` must never answer for the person; the `POST` of a
//! button records the answer (CSRF-checked by the page middleware like every form).
//!
//! For session pages: [`summary`] gives the answers and their counts, which
//! `templates/mail/_rsvp.html` shows (include it where `page` and `rsvp` are in scope).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::{Form, Router, routing::get};
use serde::Deserialize;
use store::{Participant, ParticipantRole, Rsvp, RsvpCounts, Session, SessionDetail, SessionStatus};

use crate::http::context::Ctx;
use crate::http::error::{AppError, AppResult};
use crate::http::page::{Page, html, html_status};
use crate::http::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/j/{key}/rsvp", get(show).post(answer))
}

/// One person's answer, for the session page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsvpLine {
    pub name: String,
    pub email: String,
    pub role: ParticipantRole,
    pub answer: Rsvp,
}

impl RsvpLine {
    /// The catalogue key of the answer, in the words of an invitation (accepted, declined),
    /// not of presence: the session page shows real attendance beside it.
    pub fn answer_key(&self) -> &'static str {
        match self.answer {
            Rsvp::Accepted => "rsvp.staff.accepted",
            Rsvp::Declined => "rsvp.staff.declined",
            Rsvp::Pending => "rsvp.staff.pending",
        }
    }

    /// The catalogue key of the role.
    pub fn role_key(&self) -> &'static str {
        match self.role {
            ParticipantRole::Trainer => "rsvp.role.trainer",
            ParticipantRole::Moderator => "rsvp.role.moderator",
            ParticipantRole::Learner => "rsvp.role.learner",
            ParticipantRole::Guest => "rsvp.role.guest",
        }
    }

    /// A class for the badge: `ok`, `off` or `warn`.
    pub fn badge(&self) -> &'static str {
        match self.answer {
            Rsvp::Accepted => "",
            Rsvp::Declined => "off",
            Rsvp::Pending => "warn",
        }
    }
}

/// The answers of a session's participants (learners, guests and external moderators: those
/// who were asked) and their counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsvpSummary {
    pub counts: RsvpCounts,
    pub people: Vec<RsvpLine>,
}

/// What the session page shows of the answers.
pub fn summary(detail: &SessionDetail) -> RsvpSummary {
    let s = service::rsvp::summary(detail);
    RsvpSummary {
        counts: s.counts,
        people: s
            .people
            .into_iter()
            .map(|l| RsvpLine {
                name: l.name,
                email: l.email,
                role: l.role,
                answer: l.answer,
            })
            .collect(),
    }
}

/// The catalogue key that names `answer`.
pub(crate) fn answer_key(answer: Rsvp) -> &'static str {
    match answer {
        Rsvp::Accepted => "rsvp.answer.accepted",
        Rsvp::Declined => "rsvp.answer.declined",
        Rsvp::Pending => "rsvp.answer.pending",
    }
}

#[derive(Template)]
#[template(path = "mail/rsvp.html")]
struct RsvpPage {
    page: Page,
    key: String,
    participant: Participant,
    session: Session,
    when: String,
    /// The answer the mail's link suggested (highlighted, not recorded).
    suggested: Option<&'static str>,
    /// The answer just recorded.
    recorded: bool,
    /// Why no answer can be given any more.
    closed: Option<&'static str>,
    error: Option<String>,
    /// The answer is for every session of the series still ahead (the series invitation's
    /// buttons), not this one only.
    series: bool,
}

impl RsvpPage {
    fn current_key(&self) -> &'static str {
        answer_key(self.participant.rsvp)
    }

    fn recorded_message(&self) -> String {
        let answer = self.page.t(self.current_key());
        self.page.t1("rsvp.recorded", "answer", &answer)
    }

    fn suggests(&self, answer: &str) -> bool {
        self.suggested == Some(answer)
    }
}

#[derive(Deserialize, Default)]
pub struct RsvpQuery {
    #[serde(default)]
    answer: Option<String>,
    #[serde(default)]
    done: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct RsvpForm {
    #[serde(default)]
    answer: String,
    #[serde(default)]
    scope: String,
}

/// Whether a `scope` parameter asks for the whole series (of a session that has one).
fn whole_series(scope: Option<&str>, session: &Session) -> bool {
    scope == Some("series") && session.series_id.is_some()
}

fn page_for(
    app: &AppState,
    ctx: &Ctx,
    key: String,
    (participant, session): (Participant, Session),
    suggested: Option<Rsvp>,
    recorded: bool,
    error: Option<String>,
) -> RsvpPage {
    let closed = if session.status == SessionStatus::Cancelled {
        Some("rsvp.closed.cancelled")
    } else if session.ended(app.now()) {
        Some("rsvp.closed.ended")
    } else {
        None
    };
    let mut page = Page::new(ctx, "rsvp.title", &session.time_zone);
    page.time_zone = session.time_zone.clone();
    RsvpPage {
        when: page.datetime(&session.starts_at),
        page: page.titled(ctx.locale.tf("rsvp.heading", &[("title", &session.title)])),
        key,
        participant,
        session,
        suggested: suggested.map(|a| match a {
            Rsvp::Accepted => "accepted",
            Rsvp::Declined => "declined",
            Rsvp::Pending => "",
        }),
        recorded,
        closed,
        error,
        series: false,
    }
}

async fn show(State(app): State<AppState>, ctx: Ctx, Path(key): Path<String>, Query(q): Query<RsvpQuery>) -> AppResult {
    let found = service::rsvp::find(app.service(), &key).await?;
    let suggested = q.answer.as_deref().and_then(service::rsvp::parse_answer);
    let recorded = q.done.is_some();
    let series = whole_series(q.scope.as_deref(), &found.1);
    let mut page = page_for(&app, &ctx, key, found, suggested, recorded, None);
    page.series = series;
    html(&page)
}

async fn answer(
    State(app): State<AppState>,
    ctx: Ctx,
    Path(key): Path<String>,
    Form(form): Form<RsvpForm>,
) -> AppResult {
    let found = service::rsvp::find(app.service(), &key).await?;
    let series = whole_series(Some(form.scope.as_str()), &found.1);
    match service::rsvp::answer(app.service(), &key, &form.answer, series).await {
        Ok(_) if series => Ok(Redirect::to(&format!("/j/{key}/rsvp?done=1&scope=series")).into_response()),
        Ok(_) => Ok(Redirect::to(&format!("/j/{key}/rsvp?done=1")).into_response()),
        Err(e) if !e.problems().is_empty() => {
            let problem = AppError::Service(e).problem(app.now());
            let error = problem.message.render(ctx.locale);
            let mut page = page_for(&app, &ctx, key, found, None, false, Some(error));
            page.series = series;
            html_status(problem.status, &page)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a session page does: includes the partial with `page` and `rsvp` in scope.
    #[derive(Template)]
    #[template(source = "{% include \"mail/_rsvp.html\" %}", ext = "html")]
    struct WithPartial {
        page: Page,
        rsvp: RsvpSummary,
    }

    fn participant(id: &str, role: ParticipantRole, name: &str, rsvp: Rsvp) -> Participant {
        Participant {
            id: id.into(),
            session_id: "s".into(),
            role,
            user_id: None,
            contact_id: None,
            name: name.into(),
            email: format!("{id}@example.org"),
            link_version: 1,
            rsvp,
            created_at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn the_partial_shows_answers_and_counts() {
        let at: jiff::Timestamp = "2026-10-26T08:00:00Z".parse().unwrap();
        let detail = SessionDetail {
            session: Session {
                id: "s".into(),
                uid: "u".into(),
                course_id: None,
                series_id: None,
                title: "T".into(),
                starts_at: at,
                ends_at: at + jiff::SignedDuration::from_hours(1),
                time_zone: "Europe/Paris".into(),
                status: SessionStatus::Scheduled,
                room: "r".into(),
                notes: String::new(),
                sequence: 0,
                created_by: None,
                created_at: at,
                updated_at: at,
            },
            participants: vec![
                participant("t", ParticipantRole::Trainer, "Théo", Rsvp::Pending),
                participant("a", ParticipantRole::Learner, "Anne <b>", Rsvp::Accepted),
                participant("b", ParticipantRole::Learner, "Bob", Rsvp::Declined),
                participant("c", ParticipantRole::Guest, "Chloé", Rsvp::Pending),
                participant("d", ParticipantRole::Moderator, "Dan", Rsvp::Accepted),
            ],
        };
        let rsvp = summary(&detail);
        assert_eq!(
            (rsvp.counts.accepted, rsvp.counts.declined, rsvp.counts.pending),
            (2, 1, 1)
        );
        assert_eq!(rsvp.people.len(), 4, "trainers are not asked");
        let ctx = Ctx {
            ip: "127.0.0.1".parse().unwrap(),
            locale: domain::Locale::Fr,
            auth: None,
            csrf: "x".into(),
            path: "/sessions/s".into(),
            user_agent: None,
        };
        let html = WithPartial {
            page: Page::new(&ctx, "rsvp.title", "Europe/Paris"),
            rsvp,
        }
        .render()
        .unwrap();
        assert!(
            html.contains("Anne &#60;b&#62;") || html.contains("Anne &lt;b&gt;"),
            "{html}"
        );
        assert!(html.contains("Ont accepté : 2"), "{html}");
        assert!(html.contains("Ont décliné : 1"), "{html}");
        assert!(html.contains("Sans réponse : 1"), "{html}");
        assert!(!html.contains("Théo"));
    }
}
