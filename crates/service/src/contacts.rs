//! The address book, for the pages and the JSON API: admins and managers manage it
//! (`domain::perm`); a trainer reads the entries of the people of the sessions they teach, and
//! to them any other entry names nothing (404).

use domain::Actor;
use domain::contact::{ContactError, ContactRequest, plan_contact};
use store::{Contact, ContactFilter, ContactInput, ContactPage, ContactSession, MergeOutcome, StoreError};

use crate::error::{Error, Problem, Result};
use crate::{Caller, Message, Service, messages};

/// Contacts per page of a list.
pub const PAGE_SIZE: i64 = 50;
/// Largest page an API caller may ask for.
pub const MAX_PAGE_SIZE: i64 = 200;
/// Suggestions offered while typing.
pub const SUGGESTIONS: i64 = 10;

fn message(e: &ContactError) -> Message {
    match e {
        ContactError::Input { error, .. } => messages::user_input(error),
        ContactError::TooLong { max, .. } => Message::new("contact.error.too_long").arg("max", max),
    }
}

/// Every problem of an invalid contact, each with its field.
pub fn invalid(errors: &[ContactError]) -> Error {
    Error::Invalid(errors.iter().map(|e| Problem::new(e.field(), message(e))).collect())
}

/// A taken address, explained.
fn email_taken(e: StoreError, email: &str) -> Error {
    match e {
        StoreError::EmailTaken => Error::conflict(
            "email",
            Message::new("contact.error.email_taken").arg("email", email.trim()),
        ),
        other => other.into(),
    }
}

/// The account whose sessions bound what `actor` sees: none for the staff, their own for a
/// trainer.
fn taught_by(actor: &Actor) -> Option<String> {
    (!actor.may_manage_contacts()).then(|| actor.user_id.clone())
}

/// A page of contacts matching `search` (everyone when empty), by name.
pub async fn list(
    svc: &Service,
    actor: &Actor,
    search: &str,
    include_archived: bool,
    limit: i64,
    offset: i64,
) -> Result<ContactPage> {
    Ok(svc
        .store()
        .list_contacts(&ContactFilter {
            search: search.to_owned(),
            include_archived,
            taught_by: taught_by(actor),
            limit: limit.clamp(1, MAX_PAGE_SIZE),
            offset: offset.max(0),
        })
        .await?)
}

/// A few active contacts matching `search`, for the booking form's suggestions.
pub async fn suggest(svc: &Service, actor: &Actor, search: &str) -> Result<Vec<Contact>> {
    if search.trim().is_empty() {
        return Ok(Vec::new());
    }
    Ok(list(svc, actor, search, false, SUGGESTIONS, 0).await?.items)
}

/// A contact the actor may see.
pub async fn view(svc: &Service, actor: &Actor, id: &str) -> Result<Contact> {
    let contact = svc.store().contact(id).await?.ok_or(Error::NotFound)?;
    if let Some(trainer) = taught_by(actor)
        && !svc.store().contact_taught_by(id, &trainer).await?
    {
        return Err(Error::NotFound);
    }
    Ok(contact)
}

/// The sessions of a contact the actor may see (a trainer: those they teach), newest first.
pub async fn sessions(svc: &Service, actor: &Actor, id: &str) -> Result<Vec<ContactSession>> {
    view(svc, actor, id).await?;
    Ok(svc
        .store()
        .contact_sessions(id, taught_by(actor).as_deref(), 100)
        .await?)
}

fn input(request: &ContactRequest) -> Result<ContactInput> {
    let plan = plan_contact(request).map_err(|e| invalid(&e))?;
    Ok(ContactInput {
        name: plan.name.into_string(),
        first_name: plan.first_name,
        email: plan.email.into_string(),
        company: plan.company,
        locale: plan.locale.map(|l| l.as_str().to_owned()),
        time_zone: plan.time_zone,
        notes: plan.notes,
    })
}

fn manage(actor: &Actor) -> Result<()> {
    if actor.may_manage_contacts() {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

pub async fn create(svc: &Service, caller: &Caller, request: &ContactRequest) -> Result<Contact> {
    manage(&caller.actor)?;
    let input = input(request)?;
    svc.store()
        .create_contact(&input, svc.now(), &caller.audit("contact.create"))
        .await
        .map_err(|e| email_taken(e, &input.email))
}

/// Replaces a contact's fields.
pub async fn update(svc: &Service, caller: &Caller, id: &str, request: &ContactRequest) -> Result<Contact> {
    view(svc, &caller.actor, id).await?;
    manage(&caller.actor)?;
    let input = input(request)?;
    svc.store()
        .update_contact(id, &input, svc.now(), &caller.audit("contact.update"))
        .await
        .map_err(|e| email_taken(e, &input.email))
}

pub async fn set_archived(svc: &Service, caller: &Caller, id: &str, archived: bool) -> Result<Contact> {
    view(svc, &caller.actor, id).await?;
    manage(&caller.actor)?;
    let action = if archived {
        "contact.archive"
    } else {
        "contact.unarchive"
    };
    Ok(svc
        .store()
        .set_contact_archived(id, archived, svc.now(), &caller.audit(action))
        .await?)
}

/// Merges the contact `duplicate` into `keep` (found by id or by email): the duplicate's
/// participations and enrolments move to `keep`, the duplicate is archived.
pub async fn merge(svc: &Service, caller: &Caller, duplicate: &str, keep: &str) -> Result<MergeOutcome> {
    view(svc, &caller.actor, duplicate).await?;
    manage(&caller.actor)?;
    let unknown = || {
        Error::invalid(
            "into",
            Message::new("contact.error.merge_unknown").arg("value", keep.trim()),
        )
    };
    let kept = if keep.contains('@') {
        svc.store().contact_by_email(keep).await?.ok_or_else(unknown)?
    } else {
        svc.store().contact(keep.trim()).await?.ok_or_else(unknown)?
    };
    Ok(svc
        .store()
        .merge_contacts(&kept.id, duplicate, svc.now(), &caller.audit("contact.merge"))
        .await?)
}

/// The request a contact's current state would make (to edit it, or as an API PATCH base).
pub fn request_of(contact: &Contact) -> ContactRequest {
    ContactRequest {
        name: contact.name.clone(),
        first_name: contact.first_name.clone(),
        email: contact.email.clone(),
        company: contact.company.clone(),
        locale: contact.locale.clone().unwrap_or_default(),
        time_zone: contact.time_zone.clone().unwrap_or_default(),
        notes: contact.notes.clone(),
    }
}
