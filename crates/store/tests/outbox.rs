//! The mail outbox contract, on SQLite and PostgreSQL: messages written with the booking change
//! that causes them, claimed under leases, superseded by later changes; reminders; answers;
//! calendar-feed keys.

use std::collections::BTreeSet;

use domain::booking::Person;
use domain::{DisplayName, Email, Locale, Role};
use jiff::{SignedDuration, Timestamp};
use store::{
    AuditEntry, ConnectOptions, MailKind, MailPolicy, NewSessions, OutboxMessage, OutboxStatus, People, Rsvp,
    RsvpCounts, SessionDetail, SessionUpdate, Store, StoreError, User, reason,
};
use testkit::{Backend, TestDb, both_backends};

async fn open(backend: Backend) -> (TestDb, Store) {
    let db = TestDb::new(backend).await;
    let mut store = Store::connect(&db.url, &ConnectOptions::default()).await.unwrap();
    store.migrate(jiff::Timestamp::now()).await.unwrap();
    store.set_link_secret(&[42; 32]);
    store.set_mail_policy(MailPolicy::default());
    (db, store)
}

fn audit() -> AuditEntry {
    AuditEntry::new("test", None, "test", None)
}

async fn account(store: &Store, email: &str, role: Role, locale: Locale, zone: &str) -> User {
    let new = store::NewUser {
        email: Email::parse(email).unwrap(),
        display_name: DisplayName::parse(email.split('@').next().unwrap()).unwrap(),
        role,
        locale,
        time_zone: zone.into(),
        password_hash: None,
        auth_source: "local".into(),
        external_id: None,
    };
    store.create_user(&new, jiff::Timestamp::now(), &audit()).await.unwrap()
}

fn person(name: &str, email: &str) -> Person {
    Person {
        name: DisplayName::parse(name).unwrap(),
        email: Email::parse(email).unwrap(),
    }
}

/// Whole minutes, `hours` from now.
fn at(hours: i64) -> Timestamp {
    let now = Timestamp::now().as_second() / 60 * 60;
    Timestamp::from_second(now + hours * 3600).unwrap()
}

fn people(learners: &[(&str, &str)]) -> People {
    People {
        trainers: vec![Email::parse("theo@example.org").unwrap()],
        moderators: vec![],
        learners: learners.iter().map(|(n, e)| person(n, e)).collect(),
        guests: vec![person("Guest", "guest@elsewhere.example")],
        external_moderators_only: false,
        ..Default::default()
    }
}

fn single(start: Timestamp, creator: &str) -> NewSessions {
    NewSessions {
        course_id: None,
        title: "Excel avancé".into(),
        notes: String::new(),
        time_zone: "Europe/Paris".into(),
        times: vec![(start, start + SignedDuration::from_mins(90))],
        rrule: None,
        people: people(&[("Léa", "lea@example.org"), ("Max", "max@example.org")]),
        created_by: creator.into(),
        jitsi_server_id: None,
    }
}

/// A manager and a trainer, and a session `hours` ahead with four participants.
async fn booked(store: &Store, hours: i64) -> (User, SessionDetail) {
    let manager = match store.user_by_email("m@example.org").await.unwrap() {
        Some(m) => m,
        None => {
            account(store, "theo@example.org", Role::Trainer, Locale::En, "America/New_York").await;
            account(store, "m@example.org", Role::Manager, Locale::Fr, "Europe/Paris").await
        }
    };
    let detail = store
        .book_sessions(&single(at(hours), &manager.id), jiff::Timestamp::now(), &audit())
        .await
        .unwrap()
        .remove(0);
    (manager, detail)
}

fn of_kind(messages: &[OutboxMessage], kind: MailKind, status: OutboxStatus) -> Vec<&OutboxMessage> {
    messages
        .iter()
        .filter(|m| m.kind == kind && m.status == status)
        .collect()
}

fn recipients(messages: &[&OutboxMessage]) -> BTreeSet<String> {
    messages.iter().map(|m| m.recipient_email.clone()).collect()
}

/// Delivers (claims and marks sent) everything due at `now`.
async fn deliver_all(store: &Store, now: Timestamp) -> Vec<OutboxMessage> {
    let mut all = Vec::new();
    loop {
        let claimed = store
            .claim_outbox("worker", now, SignedDuration::from_mins(5), 100)
            .await
            .unwrap();
        if claimed.is_empty() {
            return all;
        }
        for m in &claimed {
            assert!(store.outbox_sent(&m.id, "worker", now, "subject").await.unwrap());
        }
        all.extend(claimed);
    }
}

both_backends!(
    a_series_is_one_invitation_kept_while_the_series_lasts,
    booking_writes_invitations_in_its_transaction,
    workers_claim_under_a_lease,
    concurrent_workers_never_share_a_row,
    messages_of_a_thread_leave_in_order,
    changes_after_delivery_send_updates_and_cancellations,
    changes_before_delivery_supersede_queued_messages,
    reminders_are_scheduled_moved_and_sent_once,
    failed_messages_are_retried_on_demand,
    answers_are_recorded_by_personal_link,
    feed_keys_and_sessions,
    a_welcome_holds_its_token_sealed_until_finished,
);

/// A welcome is written with its account; the row holds the token sealed (not in clear, and not
/// opening under another row's id), and forgets it once finished, whichever way.
async fn a_welcome_holds_its_token_sealed_until_finished(backend: Backend) {
    let (db, store) = open(backend).await;
    let now = Timestamp::now();
    let welcome = |email: &str, token: &'static str| {
        let new = store::NewUser {
            email: Email::parse(email).unwrap(),
            display_name: DisplayName::parse("Nina").unwrap(),
            role: Role::Trainer,
            locale: Locale::En,
            time_zone: "Europe/Paris".into(),
            password_hash: None,
            auth_source: "local".into(),
            external_id: None,
        };
        (new, token)
    };
    let mut ids = Vec::new();
    for (email, token) in [
        ("nina@example.org", "TOKENnina0123456789"),
        ("omar@example.org", "TOKENomar0123456789"),
        ("pia@example.org", "TOKENpia01234567890"),
    ] {
        let (new, token) = welcome(email, token);
        let hash = domain::links::sha256_hex(token);
        let link = store::WelcomeLink {
            token,
            token_hash: &hash,
            expires_at: now + SignedDuration::from_hours(72),
            audit: &audit(),
        };
        store.create_user_welcomed(&new, &link, now, &audit()).await.unwrap();
        assert!(db.find_text(token).await.unwrap().is_empty(), "{token} stored in clear");
    }
    // The same address again: refused, and nothing written.
    let (again, token) = welcome("NINA@example.org", "TOKENagain012345678");
    let hash = "hash-again".to_owned();
    let link = store::WelcomeLink {
        token,
        token_hash: &hash,
        expires_at: now + SignedDuration::from_hours(72),
        audit: &audit(),
    };
    assert!(matches!(
        store.create_user_welcomed(&again, &link, now, &audit()).await,
        Err(StoreError::EmailTaken)
    ));
    let claimed = store
        .claim_outbox("w", now, SignedDuration::from_mins(5), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    for m in &claimed {
        assert_eq!(m.kind, MailKind::Welcome);
        assert!(m.session_id.is_none());
        let token = store.welcome_token(m, now).await.unwrap().unwrap();
        assert!(token.starts_with("TOKEN") && m.recipient_email.starts_with(&token[5..8]));
        assert!(m.snapshot.link_expires_at.is_some());
        ids.push(m.id.clone());
    }
    // Sealed for its own row only.
    let mut moved = claimed[0].clone();
    moved.id = claimed[1].id.clone();
    assert!(store.welcome_token(&moved, now).await.is_err());
    // A newer link for Pia (issued from her account page) makes her welcome pointless.
    let pia = store.user_by_email("pia@example.org").await.unwrap().unwrap();
    store
        .create_one_time_token(
            "newer",
            store::TokenPurpose::SetPassword,
            Some(&pia.id),
            now,
            now + SignedDuration::from_hours(1),
            None,
        )
        .await
        .unwrap();
    assert_eq!(store.welcome_token(&claimed[2], now).await.unwrap(), None);
    assert!(store.welcome_token(&claimed[1], now).await.unwrap().is_some());
    // Expired: pointless too.
    assert_eq!(
        store
            .welcome_token(&claimed[1], now + SignedDuration::from_hours(73))
            .await
            .unwrap(),
        None
    );
    store.outbox_sent(&ids[0], "w", now, "S").await.unwrap();
    store
        .outbox_failed(&ids[1], "w", now, Some("S"), "550 no")
        .await
        .unwrap();
    store.outbox_superseded(&ids[2], "w", now, reason::GONE).await.unwrap();
    for id in &ids {
        let m = store.outbox_message(id).await.unwrap().unwrap();
        assert_eq!(m.snapshot, store::MailSnapshot::default(), "{:?}", m.status);
        assert_eq!(store.welcome_token(&m, now).await.unwrap(), None);
    }
    assert!(db.find_text("sealed_token").await.unwrap().is_empty());
    // Listed without a session; a failed one is not queued again.
    let lines = store.list_outbox(&[], 10, 0).await.unwrap();
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l.session_title.is_empty()));
    assert!(store.retry_outbox(&ids[1], now, &audit()).await.is_err());
}

async fn booking_writes_invitations_in_its_transaction(backend: Backend) {
    let (_db, store) = open(backend).await;
    account(
        &store,
        "theo@example.org",
        Role::Trainer,
        Locale::En,
        "America/New_York",
    )
    .await;
    let manager = account(&store, "m@example.org", Role::Manager, Locale::Fr, "Europe/Paris").await;
    // Léa's address-book entry has a language and zone before she is invited.
    let mut first = single(at(24 * 10), &manager.id);
    first.people.learners.truncate(1);
    let detail = store
        .book_sessions(&first, jiff::Timestamp::now(), &audit())
        .await
        .unwrap()
        .remove(0);
    store
        .set_contact_preferences(
            "LEA@example.org",
            Some("en"),
            Some("America/Montreal"),
            jiff::Timestamp::now(),
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .set_contact_preferences("nobody@example.org", Some("en"), None, jiff::Timestamp::now())
            .await,
        Err(StoreError::NotFound)
    ));
    let messages = store.session_outbox(&detail.session.id).await.unwrap();
    assert_eq!(messages.len(), 3, "{messages:#?}");
    let (_, detail) = booked(&store, 48).await;
    let messages = store.session_outbox(&detail.session.id).await.unwrap();
    let invitations = of_kind(&messages, MailKind::Invitation, OutboxStatus::Queued);
    assert_eq!(invitations.len(), 4);
    assert_eq!(
        recipients(&invitations),
        BTreeSet::from([
            "theo@example.org".to_owned(),
            "lea@example.org".to_owned(),
            "max@example.org".to_owned(),
            "guest@elsewhere.example".to_owned(),
        ])
    );
    let by = |email: &str| messages.iter().find(|m| m.recipient_email == email).unwrap();
    // Accounts and address-book entries give language and zone; otherwise the session's zone and
    // the default language.
    assert_eq!(
        (
            by("theo@example.org").locale.as_deref(),
            by("theo@example.org").time_zone.as_str()
        ),
        (Some("en"), "America/New_York")
    );
    assert_eq!(
        (
            by("lea@example.org").locale.as_deref(),
            by("lea@example.org").time_zone.as_str()
        ),
        (Some("en"), "America/Montreal")
    );
    assert_eq!(
        (
            by("max@example.org").locale.as_deref(),
            by("max@example.org").time_zone.as_str()
        ),
        (None, "Europe/Paris")
    );
    for m in &messages {
        assert_eq!(m.attempts, 0);
        assert_eq!(m.snapshot, store::MailSnapshot::default());
        assert_eq!(m.give_up_at.as_second() - m.created_at.as_second(), 24 * 3600);
        let p = detail.participants.iter().find(|p| p.id == m.participant_id).unwrap();
        assert_eq!(p.email, m.recipient_email);
    }
    // A refused booking (the trainer is busy then) writes no message.
    let before = store.outbox_counts().await.unwrap();
    let refused = store
        .book_sessions(&single(at(48), &manager.id), jiff::Timestamp::now(), &audit())
        .await;
    assert!(matches!(refused, Err(StoreError::Booking(_))), "{refused:?}");
    assert_eq!(store.outbox_counts().await.unwrap(), before);
    assert_eq!(before.queued, 7);
}

async fn workers_claim_under_a_lease(backend: Backend) {
    let (_db, store) = open(backend).await;
    let (_, detail) = booked(&store, 48).await;
    let now = Timestamp::now();
    let lease = SignedDuration::from_mins(5);
    let a = store.claim_outbox("a", now, lease, 100).await.unwrap();
    assert_eq!(a.len(), 4);
    assert!(a.iter().all(|m| m.status == OutboxStatus::Sending && m.attempts == 1));
    assert!(store.claim_outbox("b", now, lease, 100).await.unwrap().is_empty());
    // A finishes one; another is given up; the others stay held.
    assert!(store.outbox_sent(&a[0].id, "a", now, "Convocation").await.unwrap());
    assert!(!store.outbox_sent(&a[0].id, "a", now, "again").await.unwrap());
    assert!(
        store
            .outbox_failed(&a[1].id, "a", now, Some("S"), "550 no such user")
            .await
            .unwrap()
    );
    // A's lease expires (A died): B takes the rest, counting the attempt.
    let later = now + lease + SignedDuration::from_secs(1);
    let b = store.claim_outbox("b", later, lease, 100).await.unwrap();
    assert_eq!(b.len(), 2);
    assert!(b.iter().all(|m| m.attempts == 2));
    // A comes back: it holds nothing any more.
    assert!(!store.outbox_sent(&b[0].id, "a", later, "x").await.unwrap());
    assert!(store.outbox_sent(&b[0].id, "b", later, "Convocation").await.unwrap());
    let next = later + SignedDuration::from_mins(1);
    assert!(
        store
            .outbox_retry_later(&b[1].id, "b", later, next, None, "421 try later")
            .await
            .unwrap()
    );
    assert!(store.claim_outbox("b", later, lease, 100).await.unwrap().is_empty());
    let again = store.claim_outbox("c", next, lease, 100).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].last_error.as_deref(), Some("421 try later"));
    assert!(
        store
            .outbox_superseded(&again[0].id, "c", next, reason::UNCHANGED)
            .await
            .unwrap()
    );
    let messages = store.session_outbox(&detail.session.id).await.unwrap();
    let statuses: Vec<OutboxStatus> = messages.iter().map(|m| m.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == OutboxStatus::Sent).count(), 2);
    assert_eq!(statuses.iter().filter(|s| **s == OutboxStatus::Failed).count(), 1);
    assert_eq!(statuses.iter().filter(|s| **s == OutboxStatus::Superseded).count(), 1);
    let sent = messages.iter().find(|m| m.status == OutboxStatus::Sent).unwrap();
    assert_eq!(sent.subject.as_deref(), Some("Convocation"));
    assert!(sent.sent_at.is_some() && sent.last_error.is_none());
    let failed = messages.iter().find(|m| m.status == OutboxStatus::Failed).unwrap();
    assert_eq!(failed.last_error.as_deref(), Some("550 no such user"));
    let counts = store.outbox_counts().await.unwrap();
    assert_eq!(
        (counts.sent, counts.failed, counts.superseded, counts.queued),
        (2, 1, 1, 0)
    );
    let listed = store.list_outbox(&[OutboxStatus::Failed], 10, 0).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].session_title, "Excel avancé");
    assert_eq!(store.list_outbox(&[], 10, 0).await.unwrap().len(), 4);
    assert_eq!(
        store
            .list_outbox(&[OutboxStatus::Sent, OutboxStatus::Failed], 10, 0)
            .await
            .unwrap()
            .len(),
        3
    );
}

async fn concurrent_workers_never_share_a_row(backend: Backend) {
    let (_db, store) = open(backend).await;
    for i in 0..10 {
        booked(&store, 48 + i * 3).await;
    }
    let now = Timestamp::now();
    let mut tasks = Vec::new();
    for w in 0..4 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let owner = format!("w{w}");
            let mut mine = Vec::new();
            loop {
                let claimed = store
                    .claim_outbox(&owner, now, SignedDuration::from_mins(5), 3)
                    .await
                    .unwrap();
                if claimed.is_empty() {
                    return mine;
                }
                for m in claimed {
                    assert!(store.outbox_sent(&m.id, &owner, now, "s").await.unwrap());
                    mine.push(m.id);
                }
            }
        }));
    }
    let mut seen = BTreeSet::new();
    for task in tasks {
        for id in task.await.unwrap() {
            assert!(seen.insert(id.clone()), "{id} was delivered twice");
        }
    }
    assert_eq!(seen.len(), 40);
    assert_eq!(store.outbox_counts().await.unwrap().sent, 40);
}

async fn messages_of_a_thread_leave_in_order(backend: Backend) {
    let (_db, store) = open(backend).await;
    let (manager, detail) = booked(&store, 48).await;
    let now = Timestamp::now();
    let lease = SignedDuration::from_mins(5);
    // Every invitation fails for now and will be retried in an hour.
    let claimed = store.claim_outbox("w", now, lease, 100).await.unwrap();
    let retry_at = now + SignedDuration::from_hours(1);
    for m in &claimed {
        store
            .outbox_retry_later(&m.id, "w", now, retry_at, Some("S"), "421 busy")
            .await
            .unwrap();
    }
    // The session moves meanwhile: an update is written (the invitations may have left)…
    let start = detail.session.starts_at + SignedDuration::from_hours(2);
    let update = SessionUpdate {
        id: detail.session.id.clone(),
        times: Some((start, start + SignedDuration::from_mins(90))),
        ..SessionUpdate::default()
    };
    let _ = manager;
    store.update_sessions(&[update], now, &audit()).await.unwrap();
    let messages = store.session_outbox(&detail.session.id).await.unwrap();
    assert_eq!(of_kind(&messages, MailKind::Update, OutboxStatus::Queued).len(), 4);
    // …but it does not overtake the invitations it follows.
    assert!(store.claim_outbox("w", now, lease, 100).await.unwrap().is_empty());
    let first = store.claim_outbox("w", retry_at, lease, 100).await.unwrap();
    assert_eq!(first.len(), 4);
    assert!(first.iter().all(|m| m.kind == MailKind::Invitation));
    for m in &first {
        store.outbox_sent(&m.id, "w", retry_at, "S").await.unwrap();
    }
    let second = store.claim_outbox("w", retry_at, lease, 100).await.unwrap();
    assert_eq!(second.len(), 4);
    assert!(second.iter().all(|m| m.kind == MailKind::Update));
    let old = &second[0].snapshot;
    assert_eq!(old.old_starts_at, Some(detail.session.starts_at.as_second()));
    assert_eq!(old.old_ends_at, Some(detail.session.ends_at.as_second()));
}

async fn changes_after_delivery_send_updates_and_cancellations(backend: Backend) {
    let (_db, store) = open(backend).await;
    let (_, detail) = booked(&store, 48).await;
    let id = detail.session.id.clone();
    let now = Timestamp::now();
    assert_eq!(deliver_all(&store, now).await.len(), 4);
    // A new title is not news.
    let edit = SessionUpdate {
        id: id.clone(),
        title: Some("Excel expert".into()),
        notes: Some("Apportez un casque".into()),
        ..SessionUpdate::default()
    };
    store.update_sessions(&[edit], now, &audit()).await.unwrap();
    assert_eq!(store.session_outbox(&id).await.unwrap().len(), 4);
    // A new time is: one update each, remembering the old times.
    let start = detail.session.starts_at + SignedDuration::from_hours(24);
    let mv = SessionUpdate {
        id: id.clone(),
        times: Some((start, start + SignedDuration::from_mins(60))),
        ..SessionUpdate::default()
    };
    store
        .update_sessions(std::slice::from_ref(&mv), now, &audit())
        .await
        .unwrap();
    let messages = store.session_outbox(&id).await.unwrap();
    let updates = of_kind(&messages, MailKind::Update, OutboxStatus::Queued);
    assert_eq!(updates.len(), 4);
    assert!(
        updates
            .iter()
            .all(|m| m.snapshot.old_starts_at == Some(detail.session.starts_at.as_second()))
    );
    // Moved again before the updates left: no second update (the queued one shows the latest).
    let start2 = start + SignedDuration::from_hours(1);
    let mv2 = SessionUpdate {
        id: id.clone(),
        times: Some((start2, start2 + SignedDuration::from_mins(60))),
        ..SessionUpdate::default()
    };
    store.update_sessions(&[mv2], now, &audit()).await.unwrap();
    assert_eq!(store.session_outbox(&id).await.unwrap().len(), 8);
    assert_eq!(deliver_all(&store, now).await.len(), 4);
    // Max leaves, Zoé comes: a cancellation for him, an invitation for her.
    let mut new_people = people(&[("Léa", "lea@example.org"), ("Zoé", "zoe@example.org")]);
    new_people.guests.clear();
    store
        .replace_participants(std::slice::from_ref(&id), &new_people, now, &audit())
        .await
        .unwrap();
    let messages = store.session_outbox(&id).await.unwrap();
    let cancellations = of_kind(&messages, MailKind::Cancellation, OutboxStatus::Queued);
    assert_eq!(
        recipients(&cancellations),
        BTreeSet::from(["max@example.org".to_owned(), "guest@elsewhere.example".to_owned()])
    );
    let max = cancellations
        .iter()
        .find(|m| m.recipient_email == "max@example.org")
        .unwrap();
    assert_eq!(max.recipient_name, "Max");
    assert_eq!(max.snapshot.removed_role.as_deref(), Some("learner"));
    let invitations = of_kind(&messages, MailKind::Invitation, OutboxStatus::Queued);
    assert_eq!(recipients(&invitations), BTreeSet::from(["zoe@example.org".to_owned()]));
    assert_eq!(deliver_all(&store, now).await.len(), 3);
    // Cancelled: everyone still invited hears it.
    store
        .cancel_sessions(std::slice::from_ref(&id), None, now, &audit())
        .await
        .unwrap();
    let messages = store.session_outbox(&id).await.unwrap();
    let cancellations = of_kind(&messages, MailKind::Cancellation, OutboxStatus::Queued);
    assert_eq!(
        recipients(&cancellations),
        BTreeSet::from([
            "theo@example.org".to_owned(),
            "lea@example.org".to_owned(),
            "zoe@example.org".to_owned()
        ])
    );
}

async fn changes_before_delivery_supersede_queued_messages(backend: Backend) {
    let (_db, store) = open(backend).await;
    let (_, detail) = booked(&store, 48).await;
    let id = detail.session.id.clone();
    let now = Timestamp::now();
    // Moved before anything left: the queued invitations will show the new time.
    let start = detail.session.starts_at + SignedDuration::from_hours(3);
    let mv = SessionUpdate {
        id: id.clone(),
        times: Some((start, start + SignedDuration::from_mins(90))),
        ..SessionUpdate::default()
    };
    store.update_sessions(&[mv], now, &audit()).await.unwrap();
    assert_eq!(store.session_outbox(&id).await.unwrap().len(), 4);
    // Max removed before his invitation left: it is superseded, and no cancellation follows.
    let mut fewer = people(&[("Léa", "lea@example.org")]);
    fewer.guests.clear();
    store
        .replace_participants(std::slice::from_ref(&id), &fewer, now, &audit())
        .await
        .unwrap();
    let messages = store.session_outbox(&id).await.unwrap();
    assert_eq!(messages.len(), 4);
    let removed = of_kind(&messages, MailKind::Invitation, OutboxStatus::Superseded);
    assert_eq!(
        recipients(&removed),
        BTreeSet::from(["max@example.org".to_owned(), "guest@elsewhere.example".to_owned()])
    );
    assert!(removed.iter().all(|m| m.last_error.as_deref() == Some(reason::REMOVED)));
    // Max comes back before anything left: a new invitation (new link).
    let mut again = people(&[("Léa", "lea@example.org"), ("Max", "max@example.org")]);
    again.guests.clear();
    store
        .replace_participants(std::slice::from_ref(&id), &again, now, &audit())
        .await
        .unwrap();
    let messages = store.session_outbox(&id).await.unwrap();
    assert_eq!(of_kind(&messages, MailKind::Invitation, OutboxStatus::Queued).len(), 3);
    // One invitation has left; then the session is cancelled.
    let claimed = store
        .claim_outbox("w", now, SignedDuration::from_mins(5), 1)
        .await
        .unwrap();
    store.outbox_sent(&claimed[0].id, "w", now, "S").await.unwrap();
    store
        .cancel_sessions(std::slice::from_ref(&id), None, now, &audit())
        .await
        .unwrap();
    let messages = store.session_outbox(&id).await.unwrap();
    let superseded = of_kind(&messages, MailKind::Invitation, OutboxStatus::Superseded);
    assert_eq!(superseded.len(), 4);
    assert_eq!(
        superseded
            .iter()
            .filter(|m| m.last_error.as_deref() == Some(reason::CANCELLED))
            .count(),
        2
    );
    let cancellations = of_kind(&messages, MailKind::Cancellation, OutboxStatus::Queued);
    assert_eq!(
        recipients(&cancellations),
        BTreeSet::from([claimed[0].recipient_email.clone()]),
        "only who may have heard of the session hears of its cancellation"
    );
}

async fn reminders_are_scheduled_moved_and_sent_once(backend: Backend) {
    let (_db, store) = open(backend).await;
    let (_, detail) = booked(&store, 48).await;
    let id = detail.session.id.clone();
    let start = detail.session.starts_at;
    let reminders = store.session_reminders(&id).await.unwrap();
    assert_eq!(reminders.len(), 8, "two per participant: {reminders:?}");
    assert!(reminders.iter().all(|(_, offset, due, spent)| {
        !spent && due.as_second() == start.as_second() - offset * 60 && (*offset == 1440 || *offset == 60)
    }));
    // Booked 2 hours ahead: the day-before reminder is already past, so only the hour-before one.
    let (_, soon) = booked(&store, 2).await;
    let soon_reminders = store.session_reminders(&soon.session.id).await.unwrap();
    assert_eq!(soon_reminders.len(), 4);
    assert!(soon_reminders.iter().all(|(_, offset, _, _)| *offset == 60));
    // Nothing is due yet.
    assert_eq!(store.promote_due_reminders(Timestamp::now()).await.unwrap(), 0);
    // The session moves a day later: the reminders move with it.
    let new_start = start + SignedDuration::from_hours(24);
    let mv = SessionUpdate {
        id: id.clone(),
        times: Some((new_start, new_start + SignedDuration::from_mins(90))),
        ..SessionUpdate::default()
    };
    store.update_sessions(&[mv], Timestamp::now(), &audit()).await.unwrap();
    let reminders = store.session_reminders(&id).await.unwrap();
    assert_eq!(reminders.len(), 8);
    assert!(
        reminders
            .iter()
            .all(|(_, offset, due, _)| due.as_second() == new_start.as_second() - offset * 60)
    );
    // A day before the new start: one reminder each, once.
    let day_before = new_start - SignedDuration::from_hours(24);
    assert_eq!(store.promote_due_reminders(day_before).await.unwrap(), 4);
    assert_eq!(store.promote_due_reminders(day_before).await.unwrap(), 0);
    let messages = store.session_outbox(&id).await.unwrap();
    let sent = of_kind(&messages, MailKind::Reminder, OutboxStatus::Queued);
    assert_eq!(sent.len(), 4);
    assert!(
        sent.iter()
            .all(|m| m.snapshot.offset_minutes == Some(1440) && m.give_up_at == new_start)
    );
    // Léa declines: no reminder for her an hour before.
    let lea = detail
        .participants
        .iter()
        .find(|p| p.email == "lea@example.org")
        .unwrap();
    let key = store.join_key(&lea.id, lea.link_version).unwrap();
    store
        .set_rsvp(&Store::link_hash(&key), Rsvp::Declined, false, Timestamp::now())
        .await
        .unwrap();
    let hour_before = new_start - SignedDuration::from_mins(59);
    assert_eq!(store.promote_due_reminders(hour_before).await.unwrap(), 3);
    let messages = store.session_outbox(&id).await.unwrap();
    let hourly: Vec<_> = messages
        .iter()
        .filter(|m| m.kind == MailKind::Reminder && m.snapshot.offset_minutes == Some(60))
        .collect();
    assert_eq!(hourly.len(), 3);
    assert!(hourly.iter().all(|m| m.recipient_email != "lea@example.org"));
    // Moving the session once more does not send the spent reminders again.
    let later = new_start + SignedDuration::from_hours(24);
    let mv = SessionUpdate {
        id: id.clone(),
        times: Some((later, later + SignedDuration::from_mins(90))),
        ..SessionUpdate::default()
    };
    store.update_sessions(&[mv], hour_before, &audit()).await.unwrap();
    assert_eq!(
        store
            .promote_due_reminders(later - SignedDuration::from_mins(30))
            .await
            .unwrap(),
        0
    );

    // After downtime: of the reminders due at once only the closest to the start is sent…
    let (_, third) = booked(&store, 100).await;
    let third_start = third.session.starts_at;
    assert_eq!(
        store
            .promote_due_reminders(third_start - SignedDuration::from_mins(30))
            .await
            .unwrap(),
        4
    );
    let messages = store.session_outbox(&third.session.id).await.unwrap();
    let reminders: Vec<_> = messages.iter().filter(|m| m.kind == MailKind::Reminder).collect();
    assert_eq!(reminders.len(), 4);
    assert!(reminders.iter().all(|m| m.snapshot.offset_minutes == Some(60)));
    // …and none once the session has started.
    let (_, fourth) = booked(&store, 120).await;
    assert_eq!(
        store
            .promote_due_reminders(fourth.session.starts_at + SignedDuration::from_mins(1))
            .await
            .unwrap(),
        0
    );
    assert!(
        store
            .session_reminders(&fourth.session.id)
            .await
            .unwrap()
            .iter()
            .all(|r| r.3)
    );
    // Cancelled: the reminders still pending go.
    let (_, fifth) = booked(&store, 150).await;
    store
        .cancel_sessions(
            std::slice::from_ref(&fifth.session.id),
            None,
            Timestamp::now(),
            &audit(),
        )
        .await
        .unwrap();
    assert!(store.session_reminders(&fifth.session.id).await.unwrap().is_empty());
    // Removed participants' reminders go with them.
    let (_, sixth) = booked(&store, 180).await;
    let mut fewer = people(&[("Léa", "lea@example.org")]);
    fewer.guests.clear();
    store
        .replace_participants(
            std::slice::from_ref(&sixth.session.id),
            &fewer,
            Timestamp::now(),
            &audit(),
        )
        .await
        .unwrap();
    assert_eq!(store.session_reminders(&sixth.session.id).await.unwrap().len(), 4);
}

async fn failed_messages_are_retried_on_demand(backend: Backend) {
    let (_db, store) = open(backend).await;
    let (_, detail) = booked(&store, 48).await;
    let now = Timestamp::now();
    let claimed = store
        .claim_outbox("w", now, SignedDuration::from_mins(5), 2)
        .await
        .unwrap();
    store
        .outbox_failed(&claimed[0].id, "w", now, Some("S"), "550 mailbox unavailable")
        .await
        .unwrap();
    store.outbox_sent(&claimed[1].id, "w", now, "S").await.unwrap();
    let later = Timestamp::from_second(now.as_second() + 30 * 3600).unwrap();
    store.retry_outbox(&claimed[0].id, later, &audit()).await.unwrap();
    let m = store.outbox_message(&claimed[0].id).await.unwrap().unwrap();
    assert_eq!((m.status, m.attempts), (OutboxStatus::Queued, 0));
    assert_eq!(m.next_attempt_at, later);
    assert_eq!(m.give_up_at, later + SignedDuration::from_hours(24));
    assert_eq!(m.last_error.as_deref(), Some("550 mailbox unavailable"));
    // Only a failed message can be retried.
    assert!(matches!(
        store.retry_outbox(&claimed[1].id, later, &audit()).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.retry_outbox("nope", later, &audit()).await,
        Err(StoreError::NotFound)
    ));
    assert!(store.outbox_message("nope").await.unwrap().is_none());
    let again = store
        .claim_outbox("w", later, SignedDuration::from_mins(5), 10)
        .await
        .unwrap();
    assert!(again.iter().any(|c| c.id == claimed[0].id));
    assert_eq!(detail.participants.len(), 4);
    // Old rows go only once their session is over, and only finished ones.
    for m in &again {
        store.outbox_sent(&m.id, "w", later, "S").await.unwrap();
    }
    assert_eq!(
        store.purge_outbox(later + SignedDuration::from_hours(1)).await.unwrap(),
        0
    );
    let over = detail.session.ends_at + SignedDuration::from_hours(24 * 91);
    let (_, upcoming) = booked(&store, 24 * 200).await;
    assert_eq!(store.purge_outbox(over).await.unwrap(), 4);
    assert!(store.session_outbox(&detail.session.id).await.unwrap().is_empty());
    assert_eq!(store.session_outbox(&upcoming.session.id).await.unwrap().len(), 4);
}

async fn answers_are_recorded_by_personal_link(backend: Backend) {
    let (_db, store) = open(backend).await;
    let (_, detail) = booked(&store, 48).await;
    let now = Timestamp::now();
    let key_of = |email: &str| {
        let p = detail.participants.iter().find(|p| p.email == email).unwrap();
        Store::link_hash(&store.join_key(&p.id, p.link_version).unwrap())
    };
    let (lea, session, _) = store
        .set_rsvp(&key_of("lea@example.org"), Rsvp::Accepted, false, now)
        .await
        .unwrap();
    assert_eq!((lea.email.as_str(), lea.rsvp), ("lea@example.org", Rsvp::Accepted));
    assert_eq!(session.id, detail.session.id);
    store
        .set_rsvp(&key_of("max@example.org"), Rsvp::Declined, false, now)
        .await
        .unwrap();
    let detail = store.session(&detail.session.id).await.unwrap().unwrap();
    let counts = RsvpCounts::of(&detail.participants, false);
    assert_eq!((counts.accepted, counts.declined, counts.pending), (1, 1, 1));
    assert_eq!(counts.total(), 3);
    assert_eq!(RsvpCounts::of(&detail.participants, true).pending, 2);
    // Changing one's mind is allowed until the session is over.
    store
        .set_rsvp(&key_of("max@example.org"), Rsvp::Accepted, false, now)
        .await
        .unwrap();
    assert!(matches!(
        store.set_rsvp("0000", Rsvp::Accepted, false, now).await,
        Err(StoreError::NotFound)
    ));
    let after = detail.session.ends_at + SignedDuration::from_mins(1);
    assert!(matches!(
        store
            .set_rsvp(&key_of("lea@example.org"), Rsvp::Declined, false, after)
            .await,
        Err(StoreError::Booking(store::BookingRefusal::Ended))
    ));
    store
        .cancel_sessions(std::slice::from_ref(&detail.session.id), None, now, &audit())
        .await
        .unwrap();
    assert!(matches!(
        store
            .set_rsvp(&key_of("lea@example.org"), Rsvp::Declined, false, now)
            .await,
        Err(StoreError::Booking(store::BookingRefusal::Cancelled))
    ));
}

async fn feed_keys_and_sessions(backend: Backend) {
    let (_db, store) = open(backend).await;
    let (manager, first) = booked(&store, 48).await;
    let (_, second) = booked(&store, 24 * 60).await;
    let theo = store.user_by_email("theo@example.org").await.unwrap().unwrap();
    let other = account(&store, "ines@example.org", Role::Trainer, Locale::Fr, "Europe/Paris").await;
    // Versions start at 1 and each reset moves on.
    assert_eq!(store.feed_version(&theo.id).await.unwrap(), 1);
    assert_eq!(store.reset_feed(&theo.id, Timestamp::now(), &audit()).await.unwrap(), 2);
    assert_eq!(store.reset_feed(&theo.id, Timestamp::now(), &audit()).await.unwrap(), 3);
    assert_eq!(store.feed_version(&theo.id).await.unwrap(), 3);
    assert_eq!(store.feed_version(&other.id).await.unwrap(), 1);
    // The trainer's feed: what they teach, within the range, cancelled ones too.
    store
        .cancel_sessions(
            std::slice::from_ref(&second.session.id),
            None,
            Timestamp::now(),
            &audit(),
        )
        .await
        .unwrap();
    let now = Timestamp::now();
    let year = now + SignedDuration::from_hours(24 * 365);
    let feed = store.feed_sessions(&theo.id, false, now, year).await.unwrap();
    let ids: Vec<&str> = feed.iter().map(|d| d.session.id.as_str()).collect();
    assert_eq!(ids, [first.session.id.as_str(), second.session.id.as_str()]);
    assert_eq!(feed[0].participants.len(), 4);
    assert_eq!(feed[0].participants[0].email, "theo@example.org");
    let near = store
        .feed_sessions(&theo.id, false, now, now + SignedDuration::from_hours(24 * 30))
        .await
        .unwrap();
    assert_eq!(near.len(), 1);
    assert!(
        store
            .feed_sessions(&other.id, true, now, year)
            .await
            .unwrap()
            .is_empty()
    );
    // A manager's: what they booked, when asked.
    assert!(
        store
            .feed_sessions(&manager.id, false, now, year)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.feed_sessions(&manager.id, true, now, year).await.unwrap().len(),
        2
    );
}

/// Four weekly sessions booked at once: one invitation per person for the series (with its id),
/// kept by the purge while a session of the series lasts; the series' answer covers the
/// sessions ahead; a session's own cancellation is per session and reaches those who heard.
async fn a_series_is_one_invitation_kept_while_the_series_lasts(backend: Backend) {
    let (_db, store) = open(backend).await;
    let (manager, _) = booked(&store, 24).await;
    let before = deliver_all(&store, Timestamp::now()).await.len();
    let first = at(48);
    let week = SignedDuration::from_hours(7 * 24);
    let mut new = single(first, &manager.id);
    new.times = (0..4)
        .map(|k| (first + week * k, first + week * k + SignedDuration::from_mins(90)))
        .collect();
    new.rrule = Some("FREQ=WEEKLY;COUNT=4".into());
    let series = store.book_sessions(&new, Timestamp::now(), &audit()).await.unwrap();
    let series_id = series[0].session.series_id.clone().unwrap();
    let sent = deliver_all(&store, Timestamp::now()).await;
    assert_eq!(before, 4);
    assert_eq!(sent.len(), 4, "one per person, not one per person and session");
    assert!(
        sent.iter()
            .all(|m| m.kind == MailKind::Invitation && m.series_id.as_deref() == Some(&series_id))
    );
    assert!(
        sent.iter()
            .all(|m| m.session_id.as_deref() == Some(series[0].session.id.as_str()))
    );
    let view = store
        .series_view(
            &series_id,
            &sent[0].participant_id,
            &sent[0].recipient_email.to_lowercase(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(view.occurrences.len(), 4);
    assert_eq!(view.theirs().count(), 4, "the person is in every session");
    assert_eq!(view.series.first_at, first);
    assert!(
        view.occurrences
            .iter()
            .zip(&series)
            .all(|(o, d)| o.occurrence_at == d.session.starts_at)
    );
    assert!(store.heard_as_series(&series_id, "lea@example.org").await.unwrap());

    // Cancelling week 2 cancels it for everyone who heard of the series.
    store
        .cancel_sessions(
            std::slice::from_ref(&series[1].session.id),
            None,
            Timestamp::now(),
            &audit(),
        )
        .await
        .unwrap();
    let cancellations = deliver_all(&store, Timestamp::now()).await;
    assert_eq!(cancellations.len(), 4);
    assert!(
        cancellations
            .iter()
            .all(|m| m.kind == MailKind::Cancellation && m.series_id.is_none())
    );

    // Léa answers for the series from week 1's link: weeks 1, 3 and 4 (not the cancelled one).
    let lea = series[0]
        .participants
        .iter()
        .find(|p| p.email == "lea@example.org")
        .unwrap();
    let key = Store::link_hash(&store.join_key(&lea.id, lea.link_version).unwrap());
    let (_, _, answered) = store
        .set_rsvp(&key, Rsvp::Declined, true, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(answered, 3);
    for (i, d) in series.iter().enumerate() {
        let now = store.session(&d.session.id).await.unwrap().unwrap();
        let rsvp = |email: &str| now.participants.iter().find(|p| p.email == email).unwrap().rsvp;
        let want = if i == 1 { Rsvp::Pending } else { Rsvp::Declined };
        assert_eq!(rsvp("lea@example.org"), want, "week {}", i + 1);
        assert_eq!(rsvp("max@example.org"), Rsvp::Pending);
    }

    // Long after week 1 (its session) but before week 4 ends, the invitation stays.
    let after_week1 = series[0].session.ends_at + SignedDuration::from_hours(24);
    store.purge_outbox(after_week1).await.unwrap();
    assert_eq!(store.session_outbox(&series[0].session.id).await.unwrap().len(), 4);
    assert!(store.heard_as_series(&series_id, "lea@example.org").await.unwrap());
    let over = series[3].session.ends_at + SignedDuration::from_hours(24);
    store.purge_outbox(over).await.unwrap();
    assert!(store.session_outbox(&series[0].session.id).await.unwrap().is_empty());
}
