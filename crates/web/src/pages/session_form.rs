//! The session form as typed: its fields (repeated ones for people rows and weekdays), read
//! from the URL-encoded body, and turned into the booking service's requests. Form-level
//! problems (a date that is not a date, an unreadable line of a pasted list) are recorded per
//! field; the booking rules themselves are `domain::booking`'s.

use domain::Locale;
use domain::booking::{PersonInput, SessionRequest, StartSpec, parse_people_list};
use domain::localtime::Ambiguity;
use domain::repeat::{MonthlyBy, Repeat, RepeatChoice, RepeatEnd, build_rule, weekday};
use jiff::civil::{Date, Time};

use crate::http::error::Message;
use crate::http::forms::FieldErrors;
use service::booking::PeopleInput;
use service::messages::rule as rule_message;

/// A URL-encoded body as its pairs, in order (repeated names kept).
#[derive(Debug, Clone, Default)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// The first value of `name` (`""` when absent).
    pub fn get(&self, name: &str) -> String {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// Every value of `name`, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
}

/// A name and an email typed in a row of the participants editor.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonRow {
    pub name: String,
    pub email: String,
}

impl PersonRow {
    fn is_blank(&self) -> bool {
        self.name.trim().is_empty() && self.email.trim().is_empty()
    }
}

/// A role edited by rows and a pasted list: its name, the rows' field prefix, the legend's
/// catalogue key, the pasted list's field.
#[derive(Debug, Clone, Copy)]
pub struct PeopleRole {
    pub role: &'static str,
    pub singular: &'static str,
    pub legend: &'static str,
    pub paste: &'static str,
}

/// The roles edited by rows and pasted lists.
pub const PEOPLE_ROLES: [PeopleRole; 3] = [
    PeopleRole {
        role: "moderators",
        singular: "moderator",
        legend: "session.form.list.moderators",
        paste: "moderators_paste",
    },
    PeopleRole {
        role: "learners",
        singular: "learner",
        legend: "session.form.list.learners",
        paste: "learners_paste",
    },
    PeopleRole {
        role: "guests",
        singular: "guest",
        legend: "session.form.list.guests",
        paste: "guests_paste",
    },
];

/// The participants part of a form.
#[derive(Debug, Clone, Default)]
pub struct PeopleForm {
    /// Emails of the trainer accounts ticked.
    pub trainers: Vec<String>,
    pub moderators: Vec<PersonRow>,
    pub learners: Vec<PersonRow>,
    pub guests: Vec<PersonRow>,
    pub moderators_paste: String,
    pub learners_paste: String,
    pub guests_paste: String,
    /// Blank rows to show under each list.
    pub blank: usize,
    pub finder: Finder,
}

/// The address book searched from a people editor without JavaScript: "find" shows the
/// contacts matching `contact_q`, each with a button that adds them as a learner ("pick"); both
/// only show the form again. (With JavaScript, the email inputs offer the same matches as one
/// types, through `/contacts/suggest`.)
#[derive(Debug, Clone, Default)]
pub struct Finder {
    pub q: String,
    pub found: Vec<store::Contact>,
    /// Whether a search was asked (then an empty `found` says "nobody").
    pub searched: bool,
}

impl Finder {
    pub fn parse(fields: &Fields) -> Finder {
        Finder {
            q: fields.get("contact_q").trim().chars().take(200).collect(),
            ..Finder::default()
        }
    }

    /// Whether the post only asks the finder (the form is shown again, nothing saved).
    pub fn asked(fields: &Fields) -> bool {
        fields.has("find") || fields.has("pick")
    }

    /// Searches when asked, and adds the picked contact (one `actor` may see) to `learners`.
    pub async fn run(
        &mut self,
        app: &crate::http::state::AppState,
        actor: &domain::Actor,
        fields: &Fields,
        learners: &mut Vec<PersonRow>,
    ) -> Result<(), crate::http::error::AppError> {
        if fields.has("find") {
            self.found = service::contacts::suggest(app.service(), actor, &self.q).await?;
            self.searched = true;
        }
        let picked = fields.get("pick");
        let picked = picked.trim();
        if !picked.is_empty() && !learners.iter().any(|r| r.email.trim().eq_ignore_ascii_case(picked)) {
            let contact = service::contacts::suggest(app.service(), actor, picked)
                .await?
                .into_iter()
                .find(|c| c.email.eq_ignore_ascii_case(picked));
            if let Some(c) = contact {
                learners.push(PersonRow {
                    name: c.full_name(),
                    email: c.email,
                });
            }
        }
        Ok(())
    }
}

fn rows(fields: &Fields, role: &str) -> Vec<PersonRow> {
    let singular = role.trim_end_matches('s');
    let names = fields.all(&format!("{singular}_name"));
    let emails = fields.all(&format!("{singular}_email"));
    names
        .into_iter()
        .zip(emails)
        .map(|(name, email)| PersonRow { name, email })
        .filter(|r| !r.is_blank())
        .collect()
}

impl PeopleForm {
    pub fn parse(fields: &Fields) -> PeopleForm {
        PeopleForm {
            trainers: fields
                .all("trainer")
                .into_iter()
                .filter(|t| !t.trim().is_empty())
                .collect(),
            moderators: rows(fields, "moderators"),
            learners: rows(fields, "learners"),
            guests: rows(fields, "guests"),
            moderators_paste: fields.get("moderators_paste"),
            learners_paste: fields.get("learners_paste"),
            guests_paste: fields.get("guests_paste"),
            blank: if fields.get("more").is_empty() { 2 } else { 5 },
            finder: Finder::parse(fields),
        }
    }

    /// The rows of a role (`moderators`, `learners`, `guests`).
    pub fn rows_of(&self, role: &str) -> &[PersonRow] {
        match role {
            "moderators" => &self.moderators,
            "learners" => &self.learners,
            _ => &self.guests,
        }
    }

    pub fn paste_of(&self, role: &str) -> &str {
        match role {
            "moderators" => &self.moderators_paste,
            "learners" => &self.learners_paste,
            _ => &self.guests_paste,
        }
    }

    pub fn has_trainer(&self, email: &str) -> bool {
        self.trainers.iter().any(|t| t.eq_ignore_ascii_case(email))
    }

    /// The people typed and pasted. Within a role, the same email twice is merged (the first
    /// kept); each unreadable pasted line is recorded with its line number.
    pub fn input(&self, errors: &mut FieldErrors, locale: Locale) -> PeopleInput {
        let mut merged = |role: &'static str, rows: &[PersonRow], paste: &str| {
            let mut seen = std::collections::BTreeSet::new();
            let mut out = Vec::new();
            for row in rows {
                if seen.insert(row.email.trim().to_lowercase()) {
                    out.push(PersonInput {
                        name: row.name.trim().to_owned(),
                        email: row.email.trim().to_owned(),
                        ..Default::default()
                    });
                }
            }
            let (people, bad) = parse_people_list(paste);
            for person in people {
                if seen.insert(person.email.normalized()) {
                    out.push(PersonInput {
                        name: person.name.as_str().to_owned(),
                        email: person.email.as_str().to_owned(),
                        ..Default::default()
                    });
                }
            }
            let field = match role {
                "moderators" => "moderators_paste",
                "learners" => "learners_paste",
                _ => "guests_paste",
            };
            for line in bad {
                let why = service::messages::user_input(&line.error).render(locale);
                errors.add(
                    field,
                    Message::new("session.form.paste_line")
                        .arg("line", line.line)
                        .arg("text", &line.text)
                        .arg("why", why)
                        .render(locale),
                );
            }
            out
        };
        PeopleInput {
            trainers: self.trainers.iter().map(|t| t.trim().to_owned()).collect(),
            moderators: merged("moderators", &self.moderators, &self.moderators_paste),
            learners: merged("learners", &self.learners, &self.learners_paste),
            guests: merged("guests", &self.guests, &self.guests_paste),
        }
    }

    /// The form showing `people` (a session's, or a course's defaults).
    pub fn of(input: &PeopleInput) -> PeopleForm {
        let rows = |list: &[PersonInput]| {
            list.iter()
                .map(|p| PersonRow {
                    name: p.name.clone(),
                    email: p.email.clone(),
                })
                .collect()
        };
        PeopleForm {
            trainers: input.trainers.clone(),
            moderators: rows(&input.moderators),
            learners: rows(&input.learners),
            guests: rows(&input.guests),
            blank: 2,
            ..Default::default()
        }
    }
}

/// When and how often: the part of the form shared by booking and editing.
#[derive(Debug, Clone, Default)]
pub struct WhenForm {
    pub date: String,
    pub time: String,
    pub duration: String,
    pub time_zone: String,
    /// `""` (ask), `earlier` or `later`.
    pub ambiguity: String,
}

impl WhenForm {
    pub fn parse(fields: &Fields) -> WhenForm {
        WhenForm {
            date: fields.get("date").trim().to_owned(),
            time: fields.get("time").trim().to_owned(),
            duration: fields.get("duration").trim().to_owned(),
            time_zone: fields.get("time_zone").trim().to_owned(),
            ambiguity: fields.get("ambiguity"),
        }
    }

    pub fn ambiguity(&self) -> Ambiguity {
        match self.ambiguity.as_str() {
            "earlier" => Ambiguity::Earlier,
            "later" => Ambiguity::Later,
            // Ask, don't guess: the page then offers both.
            _ => Ambiguity::Reject,
        }
    }

    pub fn parse_date(&self, errors: &mut FieldErrors, locale: Locale) -> Option<Date> {
        match self.date.parse::<Date>() {
            Ok(d) => Some(d),
            Err(_) => {
                errors.add("date", Message::new("session.form.date_invalid").render(locale));
                None
            }
        }
    }

    pub fn parse_time(&self, errors: &mut FieldErrors, locale: Locale) -> Option<Time> {
        // Browsers send HH:MM; seconds are dropped.
        match self.time.parse::<Time>() {
            Ok(t) => Some(Time::constant(t.hour(), t.minute(), 0, 0)),
            Err(_) => {
                errors.add("time", Message::new("session.form.time_invalid").render(locale));
                None
            }
        }
    }

    pub fn parse_duration(&self, errors: &mut FieldErrors, locale: Locale) -> Option<i64> {
        match self.duration.parse::<i64>() {
            Ok(m) => Some(m),
            Err(_) => {
                errors.add("duration", Message::new("session.form.duration_invalid").render(locale));
                None
            }
        }
    }
}

/// The recurrence part of the booking form.
#[derive(Debug, Clone, Default)]
pub struct RepeatForm {
    /// `none`, `daily`, `weekly`, `monthly`.
    pub repeat: String,
    pub interval: String,
    /// `MO`…`SU`.
    pub weekdays: Vec<String>,
    /// `monthday` or `weekday`.
    pub monthly_by: String,
    /// `count` or `until`.
    pub end: String,
    pub count: String,
    pub until: String,
}

impl RepeatForm {
    pub fn parse(fields: &Fields) -> RepeatForm {
        RepeatForm {
            repeat: fields.get("repeat"),
            interval: fields.get("interval").trim().to_owned(),
            weekdays: fields.all("weekday"),
            monthly_by: fields.get("monthly_by"),
            end: fields.get("end"),
            count: fields.get("count").trim().to_owned(),
            until: fields.get("until").trim().to_owned(),
        }
    }

    pub fn has_weekday(&self, code: &str) -> bool {
        self.weekdays.iter().any(|w| w == code)
    }

    /// The RRULE these choices make for a series starting on `first`; `None` for one session.
    pub fn rule(&self, first: Date, errors: &mut FieldErrors, locale: Locale) -> Option<Option<String>> {
        let repeat = Repeat::parse(&self.repeat);
        if repeat == Repeat::Never {
            return Some(None);
        }
        let mut ok = true;
        let interval = if self.interval.is_empty() {
            1
        } else {
            match self.interval.parse::<u32>() {
                Ok(n) => n,
                Err(_) => {
                    errors.add("interval", Message::new("session.form.interval_invalid").render(locale));
                    ok = false;
                    1
                }
            }
        };
        let end = match self.end.as_str() {
            "until" => match self.until.parse::<Date>() {
                Ok(d) => Some(RepeatEnd::Until(d)),
                Err(_) => {
                    errors.add("until", Message::new("session.form.until_invalid").render(locale));
                    ok = false;
                    None
                }
            },
            "count" => match self.count.parse::<u32>() {
                Ok(n) => Some(RepeatEnd::Count(n)),
                Err(_) => {
                    errors.add("count", Message::new("session.form.count_invalid").render(locale));
                    ok = false;
                    None
                }
            },
            _ => None,
        };
        let choice = RepeatChoice {
            repeat,
            interval,
            weekdays: self.weekdays.iter().filter_map(|w| weekday(w)).collect(),
            monthly_by: if self.monthly_by == "weekday" {
                MonthlyBy::Weekday
            } else {
                MonthlyBy::MonthDay
            },
            end,
        };
        if !ok {
            return None;
        }
        match build_rule(&choice, first) {
            Ok(rule) => Some(rule.map(|r| r.to_string())),
            Err(e) => {
                errors.add("recurrence", rule_message(&e).render(locale));
                None
            }
        }
    }
}

/// The whole booking form.
#[derive(Debug, Clone, Default)]
pub struct BookForm {
    pub title: String,
    pub notes: String,
    pub course_id: String,
    /// The Jitsi server chosen (empty: the default one).
    pub jitsi_server: String,
    pub when: WhenForm,
    pub repeat: RepeatForm,
    pub people: PeopleForm,
}

impl BookForm {
    pub fn parse(fields: &Fields) -> BookForm {
        BookForm {
            title: fields.get("title"),
            notes: fields.get("notes"),
            course_id: fields.get("course_id").trim().to_owned(),
            jitsi_server: fields.get("jitsi_server").trim().to_owned(),
            when: WhenForm::parse(fields),
            repeat: RepeatForm::parse(fields),
            people: PeopleForm::parse(fields),
        }
    }

    /// The course chosen, if any.
    pub fn course(&self) -> Option<String> {
        (!self.course_id.is_empty()).then(|| self.course_id.clone())
    }

    /// The Jitsi server chosen, if any.
    pub fn server(&self) -> Option<String> {
        (!self.jitsi_server.is_empty()).then(|| self.jitsi_server.clone())
    }

    /// The booking request, or `None` when its date, time, duration or recurrence cannot be
    /// read. Other problems of the form itself (an unreadable pasted line) are recorded in
    /// `errors` while the request is still returned, so the booking rules can report theirs
    /// at the same time: book only when `errors` is empty.
    pub fn request(&self, errors: &mut FieldErrors, locale: Locale) -> Option<SessionRequest> {
        let date = self.when.parse_date(errors, locale);
        let time = self.when.parse_time(errors, locale);
        let duration = self.when.parse_duration(errors, locale);
        let recurrence = date.and_then(|d| self.repeat.rule(d, errors, locale));
        let people = self.people.input(errors, locale);
        let (Some(date), Some(time), Some(duration_minutes), Some(recurrence)) = (date, time, duration, recurrence)
        else {
            return None;
        };
        Some(SessionRequest {
            title: self.title.clone(),
            notes: self.notes.clone(),
            start: StartSpec::Local {
                date,
                time,
                ambiguity: self.when.ambiguity(),
            },
            time_zone: self.when.time_zone.clone(),
            duration_minutes,
            recurrence,
            trainers: people.trainers,
            moderators: people.moderators,
            learners: people.learners,
            guests: people.guests,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        Fields(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn a_full_form_becomes_a_request() {
        let f = fields(&[
            ("title", "Atelier 🎓"),
            ("date", "2030-10-21"),
            ("time", "09:00"),
            ("duration", "90"),
            ("time_zone", "Europe/Paris"),
            ("repeat", "weekly"),
            ("interval", "1"),
            ("weekday", "MO"),
            ("weekday", "WE"),
            ("end", "count"),
            ("count", "6"),
            ("trainer", "theo@example.org"),
            ("moderator_name", "Co"),
            ("moderator_email", "co@partner.example"),
            ("moderator_name", ""),
            ("moderator_email", ""),
            ("learner_name", "Léa"),
            ("learner_email", "lea@example.org"),
            ("learners_paste", "LEA@example.org\nmax@example.org\nnot an email"),
        ]);
        let form = BookForm::parse(&f);
        let mut errors = FieldErrors::default();
        let request = form.request(&mut errors, Locale::En);
        assert!(request.is_some(), "still checked against the booking rules");
        assert_eq!(errors.all().count(), 1);
        assert!(
            errors.get("learners_paste").unwrap().starts_with("Line 3"),
            "{errors:?}"
        );
        let mut f2 = f.clone();
        f2.0.retain(|(k, _)| k != "learners_paste");
        f2.0.push(("learners_paste".into(), "LEA@example.org\nmax@example.org".into()));
        let mut errors = FieldErrors::default();
        let request = BookForm::parse(&f2).request(&mut errors, Locale::En).unwrap();
        assert_eq!(request.recurrence.as_deref(), Some("FREQ=WEEKLY;BYDAY=MO,WE;COUNT=6"));
        assert_eq!(request.moderators.len(), 1);
        let learners: Vec<&str> = request.learners.iter().map(|p| p.email.as_str()).collect();
        assert_eq!(learners, ["lea@example.org", "max@example.org"]);
        assert!(matches!(
            request.start,
            StartSpec::Local {
                ambiguity: Ambiguity::Reject,
                ..
            }
        ));
    }

    #[test]
    fn unreadable_fields_are_named() {
        let f = fields(&[
            ("date", "21/10/2030"),
            ("time", "9h"),
            ("duration", "une heure"),
            ("repeat", "daily"),
            ("end", "until"),
            ("until", "bientôt"),
        ]);
        let mut errors = FieldErrors::default();
        assert!(BookForm::parse(&f).request(&mut errors, Locale::Fr).is_none());
        for field in ["date", "time", "duration"] {
            assert!(errors.has(field), "{field}: {errors:?}");
        }
        let f = fields(&[("repeat", "daily"), ("interval", "0"), ("end", "count"), ("count", "3")]);
        let mut errors = FieldErrors::default();
        RepeatForm::parse(&f).rule(jiff::civil::date(2030, 1, 1), &mut errors, Locale::Fr);
        assert!(errors.has("recurrence"));
    }
}
