//! The booking contract, on SQLite and PostgreSQL.

use domain::booking::Person;
use domain::{DisplayName, Email, Locale, Role};
use jiff::{SignedDuration, Timestamp};
use store::{
    AuditEntry, BookingRefusal, ConnectOptions, CourseInput, NewSessions, ParticipantRole, People, SessionFilter,
    SessionStatus, SessionUpdate, Store, StoreError, User,
};
use testkit::{Backend, TestDb, both_backends};

async fn open(backend: Backend) -> (TestDb, Store) {
    let db = TestDb::new(backend).await;
    let mut store = Store::connect(&db.url, &ConnectOptions::default()).await.unwrap();
    store.migrate(jiff::Timestamp::now()).await.unwrap();
    store.set_link_secret(&[42; 32]);
    (db, store)
}

fn audit() -> AuditEntry {
    AuditEntry::new("session.book", None, "test", None)
}

async fn account(store: &Store, email: &str, role: Role) -> User {
    let new = store::NewUser {
        email: Email::parse(email).unwrap(),
        display_name: DisplayName::parse(email.split('@').next().unwrap()).unwrap(),
        role,
        locale: Locale::Fr,
        time_zone: "Europe/Paris".into(),
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

fn at(hours_from_now: i64) -> Timestamp {
    // Whole minutes, in the future.
    let now = Timestamp::now().as_second() / 60 * 60;
    Timestamp::from_second(now + hours_from_now * 3600).unwrap()
}

fn single(trainer: &str, start: Timestamp, minutes: i64, creator: &str) -> NewSessions {
    NewSessions {
        course_id: None,
        title: "Excel avancé — 表計算 🎓".into(),
        notes: "Bring a laptop".into(),
        time_zone: "Europe/Paris".into(),
        times: vec![(start, start + SignedDuration::from_mins(minutes))],
        rrule: None,
        people: People {
            trainers: vec![Email::parse(trainer).unwrap()],
            moderators: vec![person("Co Trainer", "co@partner.example")],
            learners: vec![person("Léa", "lea@example.org"), person("Max", "max@example.org")],
            guests: vec![person("Guest", "guest@elsewhere.example")],
            external_moderators_only: false,
            ..Default::default()
        },
        created_by: creator.into(),
        jitsi_server_id: None,
    }
}

both_backends!(
    a_session_is_booked_with_its_people_and_links,
    trainers_must_be_trainer_accounts,
    overlapping_bookings_of_a_trainer_are_refused,
    exactly_one_of_many_concurrent_conflicting_bookings_wins,
    series_are_booked_whole_and_moved_in_part,
    participants_are_replaced_keeping_links,
    ended_and_cancelled_sessions_are_read_only,
    sessions_are_listed_by_teacher_range_and_page,
    courses_and_api_tokens,
    a_listing_is_one_row_per_session_with_every_trainer,
    a_moved_session_is_found_and_conflicts_at_its_new_time,
    checkpoints_run_beside_readers_and_writers,
    crossing_changes_of_two_series_queue_instead_of_deadlocking,
);

async fn a_session_is_booked_with_its_people_and_links(backend: Backend) {
    let (_db, store) = open(backend).await;
    let manager = account(&store, "m@example.org", Role::Manager).await;
    account(&store, "theo@example.org", Role::Trainer).await;
    let start = at(48);
    let booked = store
        .book_sessions(
            &single("THEO@example.org", start, 90, &manager.id),
            jiff::Timestamp::now(),
            &audit(),
        )
        .await
        .unwrap();
    assert_eq!(booked.len(), 1);
    let detail = &booked[0];
    let s = &detail.session;
    assert_eq!(s.title, "Excel avancé — 表計算 🎓");
    assert_eq!((s.starts_at, s.duration_minutes()), (start, 90));
    assert_eq!(s.status, SessionStatus::Scheduled);
    assert!(s.room.starts_with("excel-avance-") && s.room.len() > 26, "{}", s.room);
    assert!(
        s.room
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    );
    assert_ne!(s.uid, s.id);
    let roles: Vec<(ParticipantRole, &str)> = detail.participants.iter().map(|p| (p.role, p.email.as_str())).collect();
    assert_eq!(
        roles,
        [
            (ParticipantRole::Trainer, "theo@example.org"),
            (ParticipantRole::Moderator, "co@partner.example"),
            (ParticipantRole::Learner, "lea@example.org"),
            (ParticipantRole::Learner, "max@example.org"),
            (ParticipantRole::Guest, "guest@elsewhere.example"),
        ]
    );
    assert!(detail.participants[0].user_id.is_some() && detail.participants[1].user_id.is_none());
    // Each participant's link: derived by the server, found by its hash, distinct.
    let mut keys = std::collections::BTreeSet::new();
    for p in &detail.participants {
        let key = store.join_key(&p.id, p.link_version).unwrap();
        assert_eq!(key.len(), 43);
        let (found, session) = store
            .participant_by_link(&Store::link_hash(&key))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((found.id.as_str(), session.id.as_str()), (p.id.as_str(), s.id.as_str()));
        keys.insert(key);
    }
    assert_eq!(keys.len(), 5);
    assert!(
        store
            .participant_by_link(&Store::link_hash("nope"))
            .await
            .unwrap()
            .is_none()
    );
    // The address book learned the external people.
    let found = store.search_contacts("LÉA", 10).await.unwrap();
    assert!(found.is_empty() || found[0].email == "lea@example.org");
    assert_eq!(store.search_contacts("example.org", 10).await.unwrap().len(), 2);
    assert_eq!(store.session_by_room(&s.room).await.unwrap().unwrap().id, s.id);
}

async fn trainers_must_be_trainer_accounts(backend: Backend) {
    let (_db, store) = open(backend).await;
    let manager = account(&store, "m@example.org", Role::Manager).await;
    let refused = store
        .book_sessions(
            &single("nobody@example.org", at(24), 60, &manager.id),
            jiff::Timestamp::now(),
            &audit(),
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::Booking(BookingRefusal::UnknownTrainer { .. }))),
        "{refused:?}"
    );
    let refused = store
        .book_sessions(
            &single("m@example.org", at(24), 60, &manager.id),
            jiff::Timestamp::now(),
            &audit(),
        )
        .await;
    assert!(matches!(
        refused,
        Err(StoreError::Booking(BookingRefusal::NotATrainer {
            role: Role::Manager,
            ..
        }))
    ));
    assert!(
        store.list_sessions(&SessionFilter::default()).await.unwrap().is_empty(),
        "nothing was written"
    );
    assert!(
        store.search_contacts("", 10).await.unwrap().is_empty(),
        "not even contacts"
    );
}

async fn overlapping_bookings_of_a_trainer_are_refused(backend: Backend) {
    let (_db, store) = open(backend).await;
    let manager = account(&store, "m@example.org", Role::Manager).await;
    account(&store, "theo@example.org", Role::Trainer).await;
    account(&store, "ana@example.org", Role::Trainer).await;
    let start = at(24);
    let first = store
        .book_sessions(
            &single("theo@example.org", start, 60, &manager.id),
            jiff::Timestamp::now(),
            &audit(),
        )
        .await
        .unwrap();
    // Overlapping by one minute.
    let overlap = store
        .book_sessions(
            &single(
                "theo@example.org",
                start + SignedDuration::from_mins(59),
                60,
                &manager.id,
            ),
            jiff::Timestamp::now(),
            &audit(),
        )
        .await;
    match overlap {
        Err(StoreError::Booking(BookingRefusal::Conflict(with))) => {
            assert_eq!(
                (with.email.as_str(), with.session_id.as_str()),
                ("theo@example.org", first[0].session.id.as_str())
            );
            assert_eq!(with.title, first[0].session.title);
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    // Back to back is fine; another trainer at the same time is fine.
    store
        .book_sessions(
            &single(
                "theo@example.org",
                start + SignedDuration::from_mins(60),
                60,
                &manager.id,
            ),
            jiff::Timestamp::now(),
            &audit(),
        )
        .await
        .unwrap();
    store
        .book_sessions(
            &single("ana@example.org", start, 60, &manager.id),
            jiff::Timestamp::now(),
            &audit(),
        )
        .await
        .unwrap();
    // An account moderator is checked too.
    let mut as_moderator = single(
        "ana@example.org",
        start + SignedDuration::from_hours(5),
        60,
        &manager.id,
    );
    as_moderator.people.moderators = vec![person("Theo", "theo@example.org")];
    as_moderator.times = vec![(
        start + SignedDuration::from_mins(30),
        start + SignedDuration::from_mins(90),
    )];
    assert!(matches!(
        store
            .book_sessions(&as_moderator, jiff::Timestamp::now(), &audit())
            .await,
        Err(StoreError::Booking(BookingRefusal::Conflict(_)))
    ));
    // A cancelled session frees the slot.
    store
        .cancel_sessions(&[first[0].session.id.clone()], None, Timestamp::now(), &audit())
        .await
        .unwrap();
    store
        .book_sessions(
            &single("theo@example.org", start, 30, &manager.id),
            jiff::Timestamp::now(),
            &audit(),
        )
        .await
        .unwrap();
}

async fn exactly_one_of_many_concurrent_conflicting_bookings_wins(backend: Backend) {
    let (_db, store) = open(backend).await;
    let manager = account(&store, "m@example.org", Role::Manager).await;
    account(&store, "theo@example.org", Role::Trainer).await;
    let start = at(72);
    let mut tasks = Vec::new();
    for i in 0..24 {
        let store = store.clone();
        let creator = manager.id.clone();
        // All overlap each other: starts spread over 23 minutes, each 60 minutes long.
        let s = start + SignedDuration::from_mins(i);
        tasks.push(tokio::spawn(async move {
            store
                .book_sessions(
                    &single("theo@example.org", s, 60, &creator),
                    jiff::Timestamp::now(),
                    &audit(),
                )
                .await
        }));
    }
    let (mut won, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => won += 1,
            Err(StoreError::Booking(BookingRefusal::Conflict(_))) => refused += 1,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!((won, refused), (1, 23));
    assert_eq!(store.list_sessions(&SessionFilter::default()).await.unwrap().len(), 1);
}

async fn series_are_booked_whole_and_moved_in_part(backend: Backend) {
    let (_db, store) = open(backend).await;
    let manager = account(&store, "m@example.org", Role::Manager).await;
    account(&store, "theo@example.org", Role::Trainer).await;
    let start = at(24);
    let week = SignedDuration::from_hours(24 * 7);
    let mut series = single("theo@example.org", start, 60, &manager.id);
    series.times = (0..4)
        .map(|i| (start + week * i, start + week * i + SignedDuration::from_mins(60)))
        .collect();
    series.rrule = Some("FREQ=WEEKLY;COUNT=4".into());
    let booked = store
        .book_sessions(&series, jiff::Timestamp::now(), &audit())
        .await
        .unwrap();
    assert_eq!(booked.len(), 4);
    let series_id = booked[0].session.series_id.clone().unwrap();
    assert!(
        booked
            .iter()
            .all(|d| d.session.series_id.as_deref() == Some(series_id.as_str()))
    );
    let rooms: std::collections::BTreeSet<_> = booked.iter().map(|d| d.session.room.clone()).collect();
    assert_eq!(rooms.len(), 4, "each occurrence has its own room");
    // A series that conflicts anywhere is refused whole.
    let mut clash = single("theo@example.org", start + week * 3, 60, &manager.id);
    clash.times.insert(0, (at(500), at(501)));
    assert!(
        store
            .book_sessions(&clash, jiff::Timestamp::now(), &audit())
            .await
            .is_err()
    );
    assert!(
        store
            .list_sessions(&SessionFilter::default())
            .await
            .unwrap()
            .iter()
            .all(|s| s.session.starts_at != at(500))
    );
    // Move the second occurrence alone by an hour: sequence bumps.
    let second = &booked[1].session;
    let moved = store
        .update_sessions(
            &[SessionUpdate {
                id: second.id.clone(),
                times: Some((
                    second.starts_at + SignedDuration::from_hours(1),
                    second.ends_at + SignedDuration::from_hours(1),
                )),
                ..Default::default()
            }],
            Timestamp::now(),
            &audit(),
        )
        .await
        .unwrap();
    assert_eq!(moved[0].session.sequence, 1);
    // This and following: the two last, shifted by 30 minutes together (they may overlap
    // their own old times).
    let following = store
        .series_sessions(&series_id, booked[2].session.starts_at)
        .await
        .unwrap();
    assert_eq!(following.len(), 2);
    let updates: Vec<SessionUpdate> = following
        .iter()
        .map(|s| SessionUpdate {
            id: s.id.clone(),
            title: Some("Excel — suite".into()),
            times: Some((
                s.starts_at + SignedDuration::from_mins(30),
                s.ends_at + SignedDuration::from_mins(30),
            )),
            ..Default::default()
        })
        .collect();
    let changed = store
        .update_sessions(&updates, Timestamp::now(), &audit())
        .await
        .unwrap();
    assert!(
        changed
            .iter()
            .all(|d| d.session.title == "Excel — suite" && d.session.sequence == 1)
    );
    assert_eq!(
        store
            .session(&booked[0].session.id)
            .await
            .unwrap()
            .unwrap()
            .session
            .sequence,
        0
    );
    // Moving onto another of the trainer's sessions is refused, nothing changes.
    let onto = SessionUpdate {
        id: booked[0].session.id.clone(),
        times: Some((changed[0].session.starts_at, changed[0].session.ends_at)),
        ..Default::default()
    };
    assert!(matches!(
        store.update_sessions(&[onto], Timestamp::now(), &audit()).await,
        Err(StoreError::Booking(BookingRefusal::Conflict(_)))
    ));
}

async fn participants_are_replaced_keeping_links(backend: Backend) {
    let (_db, store) = open(backend).await;
    let manager = account(&store, "m@example.org", Role::Manager).await;
    account(&store, "theo@example.org", Role::Trainer).await;
    let booked = store
        .book_sessions(
            &single("theo@example.org", at(24), 60, &manager.id),
            jiff::Timestamp::now(),
            &audit(),
        )
        .await
        .unwrap();
    let session = &booked[0].session;
    let lea = booked[0]
        .participants
        .iter()
        .find(|p| p.email == "lea@example.org")
        .unwrap()
        .clone();
    let people = People {
        trainers: vec![Email::parse("theo@example.org").unwrap()],
        moderators: vec![],
        learners: vec![person("Léa", "LEA@example.org"), person("Nina", "nina@example.org")],
        guests: vec![],
        external_moderators_only: false,
        ..Default::default()
    };
    let after = store
        .replace_participants(std::slice::from_ref(&session.id), &people, Timestamp::now(), &audit())
        .await
        .unwrap();
    let emails: Vec<&str> = after[0].participants.iter().map(|p| p.email.as_str()).collect();
    assert_eq!(emails, ["theo@example.org", "lea@example.org", "nina@example.org"]);
    let kept = after[0]
        .participants
        .iter()
        .find(|p| p.email == "lea@example.org")
        .unwrap();
    assert_eq!(kept.id, lea.id, "Léa keeps her row and link");
    let key = store.join_key(&lea.id, lea.link_version).unwrap();
    assert!(
        store
            .participant_by_link(&Store::link_hash(&key))
            .await
            .unwrap()
            .is_some()
    );
}

async fn ended_and_cancelled_sessions_are_read_only(backend: Backend) {
    let (_db, store) = open(backend).await;
    let manager = account(&store, "m@example.org", Role::Manager).await;
    account(&store, "theo@example.org", Role::Trainer).await;
    let booked = store
        .book_sessions(
            &single("theo@example.org", at(1), 60, &manager.id),
            jiff::Timestamp::now(),
            &audit(),
        )
        .await
        .unwrap();
    let id = booked[0].session.id.clone();
    let later = at(3);
    let update = SessionUpdate {
        id: id.clone(),
        title: Some("x".into()),
        ..Default::default()
    };
    assert!(matches!(
        store
            .update_sessions(std::slice::from_ref(&update), later, &audit())
            .await,
        Err(StoreError::Booking(BookingRefusal::Ended))
    ));
    assert!(matches!(
        store
            .cancel_sessions(std::slice::from_ref(&id), None, later, &audit())
            .await,
        Err(StoreError::Booking(BookingRefusal::Ended))
    ));
    store
        .cancel_sessions(std::slice::from_ref(&id), None, Timestamp::now(), &audit())
        .await
        .unwrap();
    let cancelled = store.session(&id).await.unwrap().unwrap().session;
    assert_eq!((cancelled.status, cancelled.sequence), (SessionStatus::Cancelled, 1));
    assert!(matches!(
        store.update_sessions(&[update], Timestamp::now(), &audit()).await,
        Err(StoreError::Booking(BookingRefusal::Cancelled))
    ));
}

async fn sessions_are_listed_by_teacher_range_and_page(backend: Backend) {
    let (_db, store) = open(backend).await;
    let manager = account(&store, "m@example.org", Role::Manager).await;
    let theo = account(&store, "theo@example.org", Role::Trainer).await;
    account(&store, "ana@example.org", Role::Trainer).await;
    for h in [10, 30, 50] {
        store
            .book_sessions(
                &single("theo@example.org", at(h), 60, &manager.id),
                jiff::Timestamp::now(),
                &audit(),
            )
            .await
            .unwrap();
    }
    let ana = store
        .book_sessions(
            &single("ana@example.org", at(20), 60, &manager.id),
            jiff::Timestamp::now(),
            &audit(),
        )
        .await
        .unwrap();
    let mine = store
        .list_sessions(&SessionFilter {
            teacher: Some(theo.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(mine.len(), 3);
    assert!(mine.windows(2).all(|w| w[0].session.starts_at < w[1].session.starts_at));
    assert_eq!(mine[0].trainers, vec!["theo".to_owned()]);
    assert_eq!(mine[0].attendees, 3);
    let window = store
        .list_sessions(&SessionFilter {
            from: Some(at(15)),
            to: Some(at(40)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(window.len(), 2);
    let page = store
        .list_sessions(&SessionFilter {
            limit: 2,
            offset: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 2);
    let newest = store
        .list_sessions(&SessionFilter {
            newest_first: true,
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(newest[0].session.starts_at, at(50));
    store
        .cancel_sessions(&[ana[0].session.id.clone()], None, Timestamp::now(), &audit())
        .await
        .unwrap();
    assert_eq!(store.list_sessions(&SessionFilter::default()).await.unwrap().len(), 3);
    assert_eq!(
        store
            .list_sessions(&SessionFilter {
                include_cancelled: true,
                ..Default::default()
            })
            .await
            .unwrap()
            .len(),
        4
    );
}

async fn courses_and_api_tokens(backend: Backend) {
    let (_db, store) = open(backend).await;
    let manager = account(&store, "m@example.org", Role::Manager).await;
    let theo = account(&store, "theo@example.org", Role::Trainer).await;
    let input = CourseInput {
        title: "Gestion de projet".into(),
        code: Some("GP-101".into()),
        description: "Trois jours".into(),
        default_duration_minutes: 180,
        owner_id: manager.id.clone(),
        action_nature: Default::default(),
        trainer_ids: vec![theo.id.clone()],
        learners: vec![person("Léa", "lea@example.org")],
    };
    let course = store
        .create_course(&input, jiff::Timestamp::now(), &audit())
        .await
        .unwrap();
    assert_eq!(course.trainers[0].id, theo.id);
    assert_eq!(course.learners[0].email, "lea@example.org");
    let again = store.create_course(&input, jiff::Timestamp::now(), &audit()).await;
    assert!(matches!(
        again,
        Err(StoreError::Booking(BookingRefusal::CourseCodeTaken { .. }))
    ));
    let with_manager = CourseInput {
        trainer_ids: vec![manager.id.clone()],
        code: None,
        ..input.clone()
    };
    assert!(matches!(
        store
            .update_course(&course.course.id, &with_manager, jiff::Timestamp::now(), &audit())
            .await,
        Err(StoreError::Booking(BookingRefusal::NotATrainer { .. }))
    ));
    let mut s = single("theo@example.org", at(5), 60, &manager.id);
    s.course_id = Some(course.course.id.clone());
    store.book_sessions(&s, jiff::Timestamp::now(), &audit()).await.unwrap();
    let of_course = store
        .list_sessions(&SessionFilter {
            course_id: Some(course.course.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(of_course.len(), 1);
    s.course_id = Some("missing".into());
    assert!(matches!(
        store.book_sessions(&s, jiff::Timestamp::now(), &audit()).await,
        Err(StoreError::Booking(BookingRefusal::CourseNotFound))
    ));
    store
        .set_course_archived(&course.course.id, true, jiff::Timestamp::now(), &audit())
        .await
        .unwrap();
    assert!(store.list_courses(false).await.unwrap().is_empty());
    assert_eq!(store.list_courses(true).await.unwrap().len(), 1);

    let token_id = store
        .create_api_token(&theo.id, "LMS", "hash-1", jiff::Timestamp::now(), &audit())
        .await
        .unwrap();
    let (id, used, user) = store.api_token_user("hash-1").await.unwrap().unwrap();
    assert!(used.is_none());
    assert_eq!((id.as_str(), user.id.as_str()), (token_id.as_str(), theo.id.as_str()));
    store.touch_api_token(&token_id, Timestamp::now()).await.unwrap();
    let tokens = store.api_tokens(&theo.id).await.unwrap();
    assert!(tokens[0].last_used_at.is_some() && !tokens[0].revoked);
    assert!(matches!(
        store
            .revoke_api_token(&manager.id, &token_id, jiff::Timestamp::now(), &audit())
            .await,
        Err(StoreError::NotFound)
    ));
    store
        .revoke_api_token(&theo.id, &token_id, jiff::Timestamp::now(), &audit())
        .await
        .unwrap();
    assert!(store.api_token_user("hash-1").await.unwrap().is_none());
}

async fn a_listing_is_one_row_per_session_with_every_trainer(backend: Backend) {
    let (_db, store) = open(backend).await;
    let manager = account(&store, "m@example.org", Role::Manager).await;
    let theo = account(&store, "theo@example.org", Role::Trainer).await;
    account(&store, "ana@example.org", Role::Trainer).await;
    let course = store
        .create_course(
            &CourseInput {
                title: "Tableurs — 表計算".into(),
                code: None,
                description: String::new(),
                default_duration_minutes: 60,
                owner_id: manager.id.clone(),
                action_nature: Default::default(),
                trainer_ids: vec![],
                learners: vec![],
            },
            jiff::Timestamp::now(),
            &audit(),
        )
        .await
        .unwrap();
    let mut two = single("theo@example.org", at(10), 60, &manager.id);
    two.people.trainers.push(Email::parse("ana@example.org").unwrap());
    two.course_id = Some(course.course.id.clone());
    store
        .book_sessions(&two, jiff::Timestamp::now(), &audit())
        .await
        .unwrap();
    store
        .book_sessions(
            &single("theo@example.org", at(20), 60, &manager.id),
            jiff::Timestamp::now(),
            &audit(),
        )
        .await
        .unwrap();
    let all = store.list_sessions(&SessionFilter::default()).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].trainers, ["ana", "theo"]);
    assert_eq!(all[0].attendees, 3);
    assert_eq!(all[0].course_title.as_deref(), Some("Tableurs — 表計算"));
    assert_eq!(all[1].course_title, None);
    // The course's sessions, newest first; a page of one.
    let of_course = store
        .list_sessions(&SessionFilter {
            course_id: Some(course.course.id.clone()),
            newest_first: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(of_course.len(), 1);
    let page = store
        .list_sessions(&SessionFilter {
            teacher: Some(theo.id.clone()),
            limit: 1,
            offset: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!((page.len(), page[0].session.starts_at), (1, at(20)));
    // `from` keeps a session in progress; `ended_by` keeps only those over by then.
    let running = store
        .list_sessions(&SessionFilter {
            from: Some(at(10) + SignedDuration::from_mins(30)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(running.len(), 2);
    let over = store
        .list_sessions(&SessionFilter {
            ended_by: Some(at(11)),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(over.len(), 1);
    // Longer than a day is refused by the store itself.
    let long = single("theo@example.org", at(100), 25 * 60, &manager.id);
    assert!(matches!(
        store.book_sessions(&long, jiff::Timestamp::now(), &audit()).await,
        Err(StoreError::Corrupt(_))
    ));
}

async fn a_moved_session_is_found_and_conflicts_at_its_new_time(backend: Backend) {
    let (_db, store) = open(backend).await;
    let manager = account(&store, "m@example.org", Role::Manager).await;
    let theo = account(&store, "theo@example.org", Role::Trainer).await;
    let ana = account(&store, "ana@example.org", Role::Trainer).await;
    let booked = store
        .book_sessions(
            &single("theo@example.org", at(10), 60, &manager.id),
            jiff::Timestamp::now(),
            &audit(),
        )
        .await
        .unwrap();
    let id = booked[0].session.id.clone();
    // Ana joins as a second trainer, then the session moves a day later.
    let mut people = single("theo@example.org", at(10), 60, &manager.id).people;
    people.trainers.push(Email::parse("ana@example.org").unwrap());
    store
        .replace_participants(std::slice::from_ref(&id), &people, Timestamp::now(), &audit())
        .await
        .unwrap();
    store
        .update_sessions(
            &[SessionUpdate {
                id: id.clone(),
                times: Some((at(34), at(35))),
                ..Default::default()
            }],
            Timestamp::now(),
            &audit(),
        )
        .await
        .unwrap();
    for teacher in [&theo.id, &ana.id] {
        let window = |from: i64, to: i64| SessionFilter {
            teacher: Some(teacher.clone()),
            from: Some(at(from)),
            to: Some(at(to)),
            ..Default::default()
        };
        assert!(
            store.list_sessions(&window(9, 12)).await.unwrap().is_empty(),
            "not at the old time"
        );
        assert_eq!(
            store.list_sessions(&window(33, 36)).await.unwrap().len(),
            1,
            "at the new time"
        );
    }
    // The old time is free again for both; the new one is taken for both.
    for trainer in ["theo@example.org", "ana@example.org"] {
        let mut other = single(trainer, at(10), 60, &manager.id);
        other.people.moderators.clear();
        other.people.learners.clear();
        other.people.guests.clear();
        store
            .book_sessions(&other, jiff::Timestamp::now(), &audit())
            .await
            .unwrap();
        other.times = vec![(at(34) + SignedDuration::from_mins(30), at(36))];
        assert!(matches!(
            store.book_sessions(&other, jiff::Timestamp::now(), &audit()).await,
            Err(StoreError::Booking(BookingRefusal::Conflict(_)))
        ));
    }
}

async fn checkpoints_run_beside_readers_and_writers(backend: Backend) {
    let (_db, store) = open(backend).await;
    let manager = account(&store, "m@example.org", Role::Manager).await;
    account(&store, "theo@example.org", Role::Trainer).await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let writer = store.clone();
        let creator = manager.id.clone();
        tasks.push(tokio::spawn(async move {
            writer
                .book_sessions(
                    &single("theo@example.org", at(10 + 2 * i), 60, &creator),
                    jiff::Timestamp::now(),
                    &audit(),
                )
                .await
                .map(|_| ())
        }));
        let checkpointer = store.clone();
        tasks.push(tokio::spawn(async move { checkpointer.checkpoint().await }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    store.checkpoint().await.unwrap();
    assert_eq!(store.list_sessions(&SessionFilter::default()).await.unwrap().len(), 10);
}

/// Two changes that each move one session of trainer A and one of trainer B, listed in opposite
/// orders, run at once many times: on PostgreSQL, locks taken in list order would deadlock (and
/// PostgreSQL would abort one with an error); every change must succeed.
async fn crossing_changes_of_two_series_queue_instead_of_deadlocking(backend: Backend) {
    let (_db, store) = open(backend).await;
    let manager = account(&store, "marie@example.org", Role::Manager).await;
    account(&store, "a@example.org", Role::Trainer).await;
    account(&store, "b@example.org", Role::Trainer).await;
    let mut a = Vec::new();
    let mut b = Vec::new();
    for day in 0..8 {
        let start = at(48 + 24 * day);
        let book = |email: &str, start: Timestamp| {
            let mut new = single(email, start, 60, &manager.id);
            new.people.moderators.clear();
            new.people.learners.clear();
            new.people.guests.clear();
            new
        };
        a.push(
            store
                .book_sessions(&book("a@example.org", start), jiff::Timestamp::now(), &audit())
                .await
                .unwrap()[0]
                .session
                .clone(),
        );
        b.push(
            store
                .book_sessions(
                    &book("b@example.org", start + SignedDuration::from_hours(2)),
                    jiff::Timestamp::now(),
                    &audit(),
                )
                .await
                .unwrap()[0]
                .session
                .clone(),
        );
    }
    let moved = |s: &store::Session| SessionUpdate {
        id: s.id.clone(),
        times: Some((
            s.starts_at + SignedDuration::from_mins(15),
            s.ends_at + SignedDuration::from_mins(15),
        )),
        ..Default::default()
    };
    let mut tasks = Vec::new();
    for (sa, sb) in a.iter().zip(&b) {
        for forward in [true, false] {
            let store = store.clone();
            let updates = if forward {
                vec![moved(sa), moved(sb)]
            } else {
                vec![moved(sb), moved(sa)]
            };
            tasks.push(tokio::spawn(async move {
                store.update_sessions(&updates, Timestamp::now(), &audit()).await
            }));
        }
    }
    for task in tasks {
        let result = task.await.unwrap();
        assert!(result.is_ok(), "a change failed: {:?}", result.err());
    }
}
