//! Importing learners from a CSV or XLSX file into a course (its enrolled learners) or a session
//! (learners of that occurrence, invited as when added by hand), or a session and the following
//! ones of its series (as the people form's scope: each newcomer is added to every one of them
//! in one transaction, so gets one invitation to the series, not one per session).
//!
//! Two steps, both from the file itself: [`preview`] reads it, maps its columns (guessed from
//! the header, or as the user chose) and says what each line would do, writing nothing;
//! [`confirm`] does all of that again from the bytes sent (nothing the preview showed is
//! trusted) and writes the valid lines in one transaction. Who may: the planners for a course
//! (to anyone else a course names nothing); for a session, whoever may edit its participants
//! (`domain::perm`: the planners, and a trainer for the sessions they teach).

use std::collections::BTreeSet;

use documents::TableError;
use domain::Actor;
use domain::SessionAction;
use domain::booking::PersonInput;
use domain::contact::ContactPlan;
use domain::import::{
    Field, ImportLine, LineOutcome, LineProblem, MappingError, check_mapping, guess_mapping, plan_lines,
};
use store::{ContactInput, ParticipantRole};

use crate::booking::{PeopleInput, Scope, parse_people};
use crate::error::{Error, Problem, Result};
use crate::{Caller, Message, Service, messages};

/// Largest file read (the page's form carries it back once more, encoded, under the body limit).
pub const MAX_FILE_BYTES: usize = 256 * 1024;
/// Most lines read after the header.
pub const MAX_LINES: usize = 500;

/// Where people are imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Course(String),
    /// A session, or with [`Scope::Following`] it and the following ones of its series.
    Session(String, Scope),
}

/// What a line would do, for display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Add,
    Already,
    Invalid,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Add => "add",
            Status::Already => "already",
            Status::Invalid => "invalid",
        }
    }
}

/// One line of the file as the preview shows it.
#[derive(Debug, Clone)]
pub struct LineView {
    pub line: usize,
    pub name: String,
    pub first_name: String,
    pub email: String,
    pub company: String,
    pub locale: String,
    pub time_zone: String,
    pub status: Status,
    pub problems: Vec<Message>,
}

/// What an import would do.
#[derive(Debug, Clone)]
pub struct Preview {
    /// The course's title, or the session's.
    pub title: String,
    pub header: Vec<String>,
    /// The field of each header column (`None`: ignored).
    pub mapping: Vec<Option<Field>>,
    /// Why the mapping cannot be used (then nothing can be imported).
    pub mapping_problems: Vec<Message>,
    pub lines: Vec<LineView>,
    /// How many sessions the learners go into (0 for a course).
    pub sessions: usize,
    pub to_add: usize,
    pub already: usize,
    pub invalid: usize,
}

/// What a confirmed import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    pub added: usize,
    pub already: usize,
    /// Lines refused (not written).
    pub invalid: usize,
}

fn table_error(e: &TableError) -> Error {
    let message = match e {
        TableError::Empty => Message::new("import.error.empty"),
        TableError::Unreadable => Message::new("import.error.unreadable"),
        TableError::TooManyRows { .. } => Message::new("import.error.too_many_lines").arg("max", MAX_LINES),
    };
    Error::invalid("file", message)
}

fn mapping_message(e: &MappingError) -> Message {
    match e {
        MappingError::NoEmail => Message::new("import.error.no_email_column"),
        MappingError::NoName => Message::new("import.error.no_name_column"),
        MappingError::Twice(f) => Message::new("import.error.column_twice").term("field", field_key(*f)),
    }
}

/// The catalogue key naming a field.
pub fn field_key(f: Field) -> &'static str {
    match f {
        Field::Name => "contact.field.name",
        Field::FirstName => "contact.field.first_name",
        Field::Email => "field.email",
        Field::Company => "contact.field.company",
        Field::Locale => "field.locale",
        Field::TimeZone => "field.time_zone",
    }
}

fn problem_message(p: &LineProblem) -> Message {
    match p {
        LineProblem::Contact(domain::contact::ContactError::Input { error, .. }) => messages::user_input(error),
        LineProblem::Contact(domain::contact::ContactError::TooLong { max, .. }) => {
            Message::new("contact.error.too_long").arg("max", max)
        }
        LineProblem::Duplicate { first_line } => Message::new("import.error.duplicate").arg("line", first_line),
    }
}

/// Where an import goes, as read before planning it.
struct State {
    /// The course's title, or the (first) session's.
    title: String,
    /// The emails already there (normalised): for sessions, those in every one of them (someone
    /// missing from one is added there).
    already: BTreeSet<String>,
    /// The sessions (none for a course), the one named first.
    sessions: Vec<store::SessionDetail>,
}

/// Reads where an import goes; refuses who may not import there (each session of the scope must
/// allow it, as for the people form).
async fn target_state(svc: &Service, actor: &Actor, target: &Target) -> Result<State> {
    match target {
        Target::Course(id) => {
            let detail = crate::courses::view(svc, actor, id).await?;
            let emails = detail.learners.iter().map(|l| l.email.to_lowercase()).collect();
            Ok(State {
                title: detail.course.title,
                already: emails,
                sessions: Vec::new(),
            })
        }
        Target::Session(id, scope) => {
            let (detail, facts) = crate::booking::view(svc, actor, id).await?;
            crate::booking::require(svc, actor, SessionAction::EditParticipants, facts)?;
            let scoped = crate::booking::scoped(svc, actor, SessionAction::EditParticipants, &detail, *scope).await?;
            let mut sessions = vec![detail.clone()];
            for s in scoped.iter().skip(1) {
                sessions.push(svc.store().session(&s.id).await?.ok_or(Error::NotFound)?);
            }
            let mut already: Option<BTreeSet<String>> = None;
            for d in &sessions {
                let here: BTreeSet<String> = d.participants.iter().map(|p| p.email.to_lowercase()).collect();
                already = Some(match already {
                    None => here,
                    Some(before) => before.intersection(&here).cloned().collect(),
                });
            }
            Ok(State {
                title: detail.session.title,
                already: already.unwrap_or_default(),
                sessions,
            })
        }
    }
}

/// A file read: its header, the field of each column, why that mapping is unusable, the lines.
type Read = (Vec<String>, Vec<Option<Field>>, Vec<MappingError>, Vec<ImportLine>);

/// Reads the file and plans its lines.
fn read(bytes: &[u8], mapping: Option<&[Option<Field>]>, already: &BTreeSet<String>) -> Result<Read> {
    if bytes.is_empty() {
        return Err(Error::invalid("file", Message::new("import.error.no_file")));
    }
    if bytes.len() > MAX_FILE_BYTES {
        return Err(Error::invalid(
            "file",
            Message::new("import.error.too_large").arg("max", MAX_FILE_BYTES / 1024),
        ));
    }
    let mut rows = documents::read_table(bytes, MAX_LINES + 1).map_err(|e| table_error(&e))?;
    let header = rows.remove(0);
    let header: Vec<String> = header.into_iter().map(|h| h.trim().to_owned()).collect();
    let width = rows.iter().map(Vec::len).chain([header.len()]).max().unwrap_or(0);
    let mut header = header;
    header.resize(width, String::new());
    let mapping: Vec<Option<Field>> = match mapping {
        Some(m) => (0..width).map(|i| m.get(i).copied().flatten()).collect(),
        None => guess_mapping(&header),
    };
    let problems = check_mapping(&mapping).err().unwrap_or_default();
    let lines = if problems.is_empty() {
        plan_lines(&rows, &mapping, already)
    } else {
        Vec::new()
    };
    Ok((header, mapping, problems, lines))
}

fn view(line: &ImportLine) -> LineView {
    let (status, problems) = match &line.outcome {
        LineOutcome::Add(_) => (Status::Add, Vec::new()),
        LineOutcome::Already(_) => (Status::Already, Vec::new()),
        LineOutcome::Invalid(p) => (Status::Invalid, p.iter().map(problem_message).collect()),
    };
    let r = &line.request;
    LineView {
        line: line.line,
        name: r.name.clone(),
        first_name: r.first_name.clone(),
        email: r.email.clone(),
        company: r.company.clone(),
        locale: r.locale.clone(),
        time_zone: r.time_zone.clone(),
        status,
        problems,
    }
}

/// What importing `bytes` into `target` would do; writes nothing. `mapping`: the field of each
/// column as the user chose it, or `None` to guess from the header.
pub async fn preview(
    svc: &Service,
    actor: &Actor,
    target: &Target,
    bytes: &[u8],
    mapping: Option<&[Option<Field>]>,
) -> Result<Preview> {
    let state = target_state(svc, actor, target).await?;
    let (header, mapping, problems, lines) = read(bytes, mapping, &state.already)?;
    let lines: Vec<LineView> = lines.iter().map(view).collect();
    let count = |s: Status| lines.iter().filter(|l| l.status == s).count();
    Ok(Preview {
        title: state.title,
        sessions: state.sessions.len(),
        to_add: count(Status::Add),
        already: count(Status::Already),
        invalid: count(Status::Invalid),
        header,
        mapping,
        mapping_problems: problems.iter().map(mapping_message).collect(),
        lines,
    })
}

fn contact_input(plan: &ContactPlan) -> ContactInput {
    ContactInput {
        name: plan.name.as_str().to_owned(),
        first_name: plan.first_name.clone(),
        email: plan.email.as_str().to_owned(),
        company: plan.company.clone(),
        locale: plan.locale.map(|l| l.as_str().to_owned()),
        time_zone: plan.time_zone.clone(),
        notes: String::new(),
    }
}

/// Reads `bytes` again, checks every line again, and writes the valid ones (all in one
/// transaction); refused lines are left out. Nothing is written when the mapping is unusable
/// or no line is valid.
pub async fn confirm(
    svc: &Service,
    caller: &Caller,
    target: &Target,
    bytes: &[u8],
    mapping: Option<&[Option<Field>]>,
) -> Result<Imported> {
    let actor = &caller.actor;
    let state = target_state(svc, actor, target).await?;
    let (_, _, problems, lines) = read(bytes, mapping, &state.already)?;
    if !problems.is_empty() {
        return Err(Error::Invalid(
            problems
                .iter()
                .map(|p| Problem::new("mapping", mapping_message(p)))
                .collect(),
        ));
    }
    let plans: Vec<&ContactPlan> = lines.iter().filter_map(ImportLine::plan).collect();
    let outcome = Imported {
        added: plans.len(),
        already: lines
            .iter()
            .filter(|l| matches!(l.outcome, LineOutcome::Already(_)))
            .count(),
        invalid: lines
            .iter()
            .filter(|l| matches!(l.outcome, LineOutcome::Invalid(_)))
            .count(),
    };
    if plans.is_empty() {
        return Err(Error::invalid("file", Message::new("import.error.nothing_to_add")));
    }
    let inputs: Vec<ContactInput> = plans.iter().map(|p| contact_input(p)).collect();
    match target {
        Target::Course(id) => {
            let added = svc
                .store()
                .import_course_learners(id, &inputs, svc.now(), &caller.audit("course.import"))
                .await?;
            Ok(Imported { added, ..outcome })
        }
        Target::Session(..) => {
            let detail = state.sessions.first().ok_or(Error::NotFound)?;
            let person = |p: &store::Participant| PersonInput {
                name: p.name.clone(),
                email: p.email.clone(),
                ..Default::default()
            };
            let mut input = PeopleInput {
                trainers: detail
                    .with_role(ParticipantRole::Trainer)
                    .map(|p| p.email.clone())
                    .collect(),
                moderators: detail.with_role(ParticipantRole::Moderator).map(person).collect(),
                learners: detail.with_role(ParticipantRole::Learner).map(person).collect(),
                guests: detail.with_role(ParticipantRole::Guest).map(person).collect(),
            };
            input.learners.extend(plans.iter().map(|p| PersonInput {
                name: domain::contact::full_name(&p.first_name, p.name.as_str()),
                email: p.email.as_str().to_owned(),
                ..Default::default()
            }));
            // Checked as the people form would check the first session with them (limits,
            // addresses), then only the newcomers are added: to each session of the scope
            // where they are not yet, everyone else there kept as they are.
            let checked =
                parse_people(&input, &svc.config().booking.limits).map_err(|e| crate::booking::invalid(&e))?;
            let new: BTreeSet<String> = plans.iter().map(|p| p.email.normalized()).collect();
            let people = store::People {
                learners: checked
                    .learners
                    .into_iter()
                    .filter(|l| new.contains(&l.email.normalized()))
                    .collect(),
                external_moderators_only: actor.role == domain::Role::Trainer,
                ..store::People::default()
            };
            let ids: Vec<String> = state.sessions.iter().map(|d| d.session.id.clone()).collect();
            svc.store()
                .add_participants_with(&ids, &people, &inputs, svc.now(), &caller.audit("session.import"))
                .await?;
            Ok(outcome)
        }
    }
}

/// The title of the course or session `actor` may import into (refused otherwise), and whether
/// it is a session of a series (then the form offers "this session and the following ones").
pub async fn preview_title(svc: &Service, actor: &Actor, target: &Target) -> Result<(String, bool)> {
    let state = target_state(svc, actor, target).await?;
    let in_series = state.sessions.first().is_some_and(|d| d.session.series_id.is_some());
    Ok((state.title, in_series))
}
