//! The Jitsi part of the storage contract, on SQLite and PostgreSQL: servers and their default,
//! sessions pinned at booking, the one-query join lookup, links re-issued, reservations and
//! events stored once each.

use std::collections::BTreeMap;

use domain::booking::Person;
use domain::{DisplayName, Email, Locale, Role};
use jiff::{SignedDuration, Timestamp};
use store::{
    AuditEntry, ConnectOptions, JitsiEventKind, JitsiRefusal, JitsiServerInput, NewJitsiEvent, NewSessions, People,
    ReservationOutcome, Store, StoreError, TokenModeKind, User,
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
    AuditEntry::new("test", None, "test", None)
}

async fn account(store: &Store, email: &str, role: Role) -> User {
    let new = store::NewUser {
        email: Email::parse(email).unwrap(),
        display_name: DisplayName::parse(email.split('@').next().unwrap()).unwrap(),
        role,
        locale: Locale::En,
        time_zone: "America/New_York".into(),
        password_hash: None,
        auth_source: "local".into(),
        external_id: None,
    };
    store.create_user(&new, jiff::Timestamp::now(), &audit()).await.unwrap()
}

fn server(name: &str, default: bool) -> JitsiServerInput {
    JitsiServerInput {
        name: name.into(),
        base_url: "https://meet.example.org".into(),
        domain: "meet.example.org".into(),
        tenant: None,
        token_mode: TokenModeKind::Hs256,
        app_id: "dialogue".into(),
        key_id: None,
        app_secret_enc: Some("sealed-app-secret".into()),
        private_key_enc: None,
        public_key_pem: None,
        api_secret_enc: "sealed-api-secret".into(),
        webhook_secret_enc: None,
        moderator_features: BTreeMap::from([("recording".into(), true)]),
        participant_features: BTreeMap::from([("recording".into(), false)]),
        lobby: false,
        max_occupants: None,
        xmpp: None,
        is_default: default,
    }
}

fn person(name: &str, email: &str) -> Person {
    Person {
        name: DisplayName::parse(name).unwrap(),
        email: Email::parse(email).unwrap(),
    }
}

async fn book(store: &Store, creator: &User, hours: i64) -> store::SessionDetail {
    let now = Timestamp::now().as_second() / 60 * 60;
    let start = Timestamp::from_second(now + hours * 3600).unwrap();
    let new = NewSessions {
        course_id: None,
        title: "Jitsi".into(),
        notes: String::new(),
        time_zone: "Europe/Paris".into(),
        times: vec![(start, start + SignedDuration::from_mins(60))],
        rrule: None,
        people: People {
            trainers: vec![Email::parse("theo@example.org").unwrap()],
            moderators: vec![],
            learners: vec![person("Léa", "lea@example.org")],
            guests: vec![],
            external_moderators_only: false,
            ..Default::default()
        },
        created_by: creator.id.clone(),
        jitsi_server_id: None,
    };
    store
        .book_sessions(&new, jiff::Timestamp::now(), &audit())
        .await
        .unwrap()
        .into_iter()
        .next()
        .unwrap()
}

both_backends!(
    servers_keep_one_default_and_unique_names,
    sessions_are_pinned_and_servers_in_use_are_kept,
    the_join_lookup_finds_everything_in_one_query,
    reissued_links_revoke_the_old_one,
    join_lookups_never_outlive_a_write,
    one_active_reservation_per_session,
    events_are_stored_once_and_make_presence,
);

async fn servers_keep_one_default_and_unique_names(backend: Backend) {
    let (_db, store) = open(backend).await;
    assert!(store.default_jitsi_server().await.unwrap().is_none());
    let a = store
        .create_jitsi_server("a1", &server("Alpha", false), jiff::Timestamp::now(), &audit())
        .await
        .unwrap();
    assert!(a.is_default, "the first server is the default");
    assert!(a.moderator_features["recording"]);
    let b = store
        .create_jitsi_server("b1", &server("Beta", false), jiff::Timestamp::now(), &audit())
        .await
        .unwrap();
    assert!(!b.is_default);
    let taken = store
        .create_jitsi_server("c1", &server("ALPHA", false), jiff::Timestamp::now(), &audit())
        .await;
    assert!(
        matches!(taken, Err(StoreError::Jitsi(JitsiRefusal::NameTaken { .. }))),
        "{taken:?}"
    );
    // Making Beta the default takes it from Alpha; unticking it on Beta keeps it there.
    let b = store
        .update_jitsi_server("b1", &server("Beta", true), jiff::Timestamp::now(), &audit())
        .await
        .unwrap();
    assert!(b.is_default);
    assert!(!store.jitsi_server("a1").await.unwrap().unwrap().is_default);
    let b2 = store
        .update_jitsi_server("b1", &server("Beta", false), jiff::Timestamp::now(), &audit())
        .await
        .unwrap();
    assert!(b2.is_default);
    assert_ne!(b.revision, b2.revision, "every write changes the revision");
    let list = store.list_jitsi_servers().await.unwrap();
    assert_eq!(
        list.iter().map(|s| (s.name.as_str(), s.is_default)).collect::<Vec<_>>(),
        [("Beta", true), ("Alpha", false)]
    );
    assert_eq!(store.jitsi_server_by_name(" beta ").await.unwrap().unwrap().id, "b1");
    // The default goes last.
    let refused = store.delete_jitsi_server("b1", Timestamp::now(), &audit()).await;
    assert!(matches!(refused, Err(StoreError::Jitsi(JitsiRefusal::DefaultInUse))));
    store
        .delete_jitsi_server("a1", Timestamp::now(), &audit())
        .await
        .unwrap();
    store
        .delete_jitsi_server("b1", Timestamp::now(), &audit())
        .await
        .unwrap();
    assert!(store.list_jitsi_servers().await.unwrap().is_empty());
    assert!(matches!(
        store.delete_jitsi_server("b1", Timestamp::now(), &audit()).await,
        Err(StoreError::NotFound)
    ));
}

async fn sessions_are_pinned_and_servers_in_use_are_kept(backend: Backend) {
    let (_db, store) = open(backend).await;
    let manager = account(&store, "m@example.org", Role::Manager).await;
    account(&store, "theo@example.org", Role::Trainer).await;
    // Booked before any server exists: no pin, the default is used at join time.
    let early = book(&store, &manager, 24).await;
    assert_eq!(store.session_jitsi_server(&early.session.id).await.unwrap(), None);
    let room = store.room_session_by_id(&early.session.id).await.unwrap().unwrap();
    assert_eq!(room.server, None);
    let a = store
        .create_jitsi_server("a1", &server("Alpha", true), jiff::Timestamp::now(), &audit())
        .await
        .unwrap();
    let room = store.room_session_by_id(&early.session.id).await.unwrap().unwrap();
    assert_eq!(room.server, Some(("a1".into(), a.revision.clone())));
    // Booked now: pinned to the default.
    let pinned = book(&store, &manager, 30).await;
    assert_eq!(
        store.session_jitsi_server(&pinned.session.id).await.unwrap().as_deref(),
        Some("a1")
    );
    store
        .create_jitsi_server("b1", &server("Beta", false), jiff::Timestamp::now(), &audit())
        .await
        .unwrap();
    store
        .set_session_jitsi_server(&pinned.session.id, Some("b1"), jiff::Timestamp::now(), &audit())
        .await
        .unwrap();
    let room = store.room_session(&pinned.session.room).await.unwrap().unwrap();
    assert_eq!(room.server.unwrap().0, "b1");
    assert!(matches!(
        store
            .set_session_jitsi_server(&pinned.session.id, Some("zz"), jiff::Timestamp::now(), &audit())
            .await,
        Err(StoreError::Jitsi(JitsiRefusal::UnknownServer))
    ));
    // Beta has an upcoming session: kept. Once it has ended, Beta may go, and the session falls
    // back to the default.
    let refused = store.delete_jitsi_server("b1", Timestamp::now(), &audit()).await;
    assert!(
        matches!(refused, Err(StoreError::Jitsi(JitsiRefusal::InUse { sessions: 1 }))),
        "{refused:?}"
    );
    let later = Timestamp::now() + SignedDuration::from_hours(40);
    store.delete_jitsi_server("b1", later, &audit()).await.unwrap();
    assert_eq!(store.session_jitsi_server(&pinned.session.id).await.unwrap(), None);
    let room = store.room_session(&pinned.session.room).await.unwrap().unwrap();
    assert_eq!(room.server.unwrap().0, "a1");
    // The default, last one, is kept while sessions without a pin rely on it.
    let refused = store.delete_jitsi_server("a1", Timestamp::now(), &audit()).await;
    assert!(matches!(
        refused,
        Err(StoreError::Jitsi(JitsiRefusal::InUse { sessions: 2 }))
    ));
}

async fn the_join_lookup_finds_everything_in_one_query(backend: Backend) {
    let (_db, store) = open(backend).await;
    let manager = account(&store, "m@example.org", Role::Manager).await;
    account(&store, "theo@example.org", Role::Trainer).await;
    let a = store
        .create_jitsi_server("a1", &server("Alpha", true), jiff::Timestamp::now(), &audit())
        .await
        .unwrap();
    let detail = book(&store, &manager, 24).await;
    for p in &detail.participants {
        let key = store.join_key(&p.id, p.link_version).unwrap();
        let target = store.join_target(&Store::link_hash(&key)).await.unwrap().unwrap();
        assert_eq!(&target.participant, p);
        assert_eq!(target.session, detail.session);
        assert_eq!(target.server, Some(("a1".to_owned(), a.revision.clone())));
        if p.user_id.is_some() {
            // The trainer's account says their zone and language.
            assert_eq!(target.zone.as_deref(), Some("America/New_York"));
            assert_eq!(target.locale.as_deref(), Some("en"));
        } else {
            // A new contact: nothing known yet.
            assert_eq!((&target.zone, &target.locale), (&None, &None));
        }
    }
    assert!(store.join_target(&Store::link_hash("unknown")).await.unwrap().is_none());
}

async fn reissued_links_revoke_the_old_one(backend: Backend) {
    let (_db, store) = open(backend).await;
    let manager = account(&store, "m@example.org", Role::Manager).await;
    account(&store, "theo@example.org", Role::Trainer).await;
    let detail = book(&store, &manager, 24).await;
    let learner = detail
        .participants
        .iter()
        .find(|p| p.email == "lea@example.org")
        .unwrap();
    let old = store.join_key(&learner.id, learner.link_version).unwrap();
    let renewed = store
        .reissue_link(&detail.session.id, &learner.id, Timestamp::now(), &audit())
        .await
        .unwrap();
    assert_eq!(renewed.link_version, learner.link_version + 1);
    let new = store.join_key(&renewed.id, renewed.link_version).unwrap();
    assert_ne!(old, new);
    assert!(store.join_target(&Store::link_hash(&old)).await.unwrap().is_none());
    let found = store.join_target(&Store::link_hash(&new)).await.unwrap().unwrap();
    assert_eq!(found.participant.id, learner.id);
    assert_eq!(found.participant.link_version, renewed.link_version);
    // Another session's participant id is not found through this session.
    assert!(matches!(
        store
            .reissue_link("other-session", &learner.id, Timestamp::now(), &audit())
            .await,
        Err(StoreError::NotFound)
    ));
    let log = store.audit_log(5, None).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.action == "test" && e.target_type.as_deref() == Some("participant"))
    );
}

async fn join_lookups_never_outlive_a_write(backend: Backend) {
    let (_db, store) = open(backend).await;
    let manager = account(&store, "m@example.org", Role::Manager).await;
    account(&store, "theo@example.org", Role::Trainer).await;
    let detail = book(&store, &manager, 24).await;
    let learner = detail
        .participants
        .iter()
        .find(|p| p.email == "lea@example.org")
        .unwrap();
    let hash = Store::link_hash(&store.join_key(&learner.id, learner.link_version).unwrap());
    let first = store.join_target(&hash).await.unwrap().unwrap();
    assert_eq!(first.server, None);
    assert_eq!(
        store.join_target(&hash).await.unwrap().unwrap(),
        first,
        "asked twice, same answer"
    );
    // A server appears: the lookup sees it.
    store
        .create_jitsi_server("a1", &server("Alpha", true), jiff::Timestamp::now(), &audit())
        .await
        .unwrap();
    assert_eq!(
        store
            .join_target(&hash)
            .await
            .unwrap()
            .unwrap()
            .server
            .as_ref()
            .unwrap()
            .0,
        "a1"
    );
    // The session moves, then is cancelled: each lookup says so at once.
    let later = detail.session.starts_at + SignedDuration::from_hours(2);
    store
        .update_sessions(
            &[store::SessionUpdate {
                id: detail.session.id.clone(),
                times: Some((later, later + SignedDuration::from_mins(30))),
                ..Default::default()
            }],
            Timestamp::now(),
            &audit(),
        )
        .await
        .unwrap();
    assert_eq!(
        store.join_target(&hash).await.unwrap().unwrap().session.starts_at,
        later
    );
    store
        .cancel_sessions(
            std::slice::from_ref(&detail.session.id),
            None,
            Timestamp::now(),
            &audit(),
        )
        .await
        .unwrap();
    assert_eq!(
        store.join_target(&hash).await.unwrap().unwrap().session.status,
        store::SessionStatus::Cancelled
    );
    // The link is re-issued: the old key finds nobody, even though it was just looked up.
    store
        .reissue_link(&detail.session.id, &learner.id, Timestamp::now(), &audit())
        .await
        .unwrap();
    assert!(store.join_target(&hash).await.unwrap().is_none());
}

async fn one_active_reservation_per_session(backend: Backend) {
    let (_db, store) = open(backend).await;
    let manager = account(&store, "m@example.org", Role::Manager).await;
    account(&store, "theo@example.org", Role::Trainer).await;
    store
        .create_jitsi_server("a1", &server("Alpha", true), jiff::Timestamp::now(), &audit())
        .await
        .unwrap();
    let detail = book(&store, &manager, 24).await;
    let s = &detail.session;
    let first = match store
        .create_reservation(
            &s.id,
            "a1",
            &s.room,
            "x@meet.example.org",
            1_000,
            jiff::Timestamp::now(),
        )
        .await
        .unwrap()
    {
        ReservationOutcome::Created(r) => r,
        other => panic!("{other:?}"),
    };
    assert_eq!((first.name.as_str(), first.start_time), (s.room.as_str(), 1_000));
    // Asked again (a retry, a restarted Prosody): the same one, as a conflict.
    match store
        .create_reservation(
            &s.id,
            "a1",
            &s.room,
            "y@meet.example.org",
            2_000,
            jiff::Timestamp::now(),
        )
        .await
        .unwrap()
    {
        ReservationOutcome::Existing(r) => assert_eq!(r, first),
        other => panic!("{other:?}"),
    }
    assert_eq!(store.reservation(&first.id).await.unwrap().unwrap(), first);
    let now = Timestamp::now();
    store.delete_reservation(&first.id, now).await.unwrap();
    store.delete_reservation(&first.id, now).await.unwrap();
    assert!(
        store
            .reservation(&first.id)
            .await
            .unwrap()
            .unwrap()
            .deleted_at
            .is_some()
    );
    // Once the room is gone, a new reservation may be made.
    assert!(matches!(
        store.create_reservation(&s.id, "a1", &s.room, "x@meet.example.org", 3_000, jiff::Timestamp::now()).await.unwrap(),
        ReservationOutcome::Created(r) if r.id != first.id
    ));
}

fn occupant_event(
    kind: JitsiEventKind,
    key: &str,
    session: Option<&str>,
    jid: &str,
    who: Option<&str>,
    joined: i64,
    left: Option<i64>,
) -> NewJitsiEvent {
    NewJitsiEvent {
        idem_key: key.into(),
        server_id: Some("a1".into()),
        kind,
        room: "room".into(),
        tenant: None,
        breakout_room_id: String::new(),
        session_id: session.map(Into::into),
        occupant_jid: jid.into(),
        occupant_id: who.map(Into::into),
        occupant_name: Some("Token Name".into()),
        occupant_email: None,
        joined_at: Some(joined),
        left_at: left,
        at: left.unwrap_or(joined),
        received_at: joined,
        payload: "{}".into(),
    }
}

async fn events_are_stored_once_and_make_presence(backend: Backend) {
    let (_db, store) = open(backend).await;
    let manager = account(&store, "m@example.org", Role::Manager).await;
    account(&store, "theo@example.org", Role::Trainer).await;
    store
        .create_jitsi_server("a1", &server("Alpha", true), jiff::Timestamp::now(), &audit())
        .await
        .unwrap();
    let detail = book(&store, &manager, 24).await;
    let sid = detail.session.id.as_str();
    let learner = detail
        .participants
        .iter()
        .find(|p| p.email == "lea@example.org")
        .unwrap();
    let t0 = 1_900_000_000;
    use JitsiEventKind::*;
    // Out of order (leave first), repeated, one without a token, one naming another session's
    // participant id (not attributed), one for a room of no session.
    let events = [
        occupant_event(
            OccupantLeft,
            "k2",
            Some(sid),
            "lea/1",
            Some(&learner.id),
            t0,
            Some(t0 + 600),
        ),
        occupant_event(OccupantJoined, "k1", Some(sid), "lea/1", Some(&learner.id), t0, None),
        occupant_event(OccupantJoined, "k1", Some(sid), "lea/1", Some(&learner.id), t0, None),
        occupant_event(OccupantJoined, "k3", Some(sid), "anon/1", None, t0 + 60, None),
        occupant_event(
            OccupantJoined,
            "k4",
            Some(sid),
            "x/1",
            Some("someone-else"),
            t0 + 30,
            None,
        ),
        occupant_event(OccupantJoined, "k5", None, "y/1", None, t0, None),
    ];
    assert_eq!(store.record_jitsi_events(&events).await.unwrap(), 5);
    assert_eq!(
        store.record_jitsi_events(&events).await.unwrap(),
        0,
        "a redelivery stores nothing"
    );
    assert_eq!(store.jitsi_event_count(Some(sid)).await.unwrap(), 4);
    assert_eq!(store.jitsi_event_count(None).await.unwrap(), 1);
    let presence = domain::presence::compute_presence(
        &store.presence_events(sid).await.unwrap(),
        Timestamp::from_second(t0 + 900).unwrap(),
    );
    let lea = presence
        .attendees
        .iter()
        .find(|a| a.participant_id.as_deref() == Some(learner.id.as_str()))
        .unwrap();
    assert_eq!(
        lea.name.as_deref(),
        Some("Léa"),
        "the participant's name, not the token's"
    );
    assert_eq!(lea.role, Some(store::ParticipantRole::Learner));
    assert_eq!((lea.total_seconds, lea.present), (600, false));
    assert_eq!(lea.last_leave, Some(Timestamp::from_second(t0 + 600).unwrap()));
    let other = presence
        .attendees
        .iter()
        .find(|a| a.occupant_id.as_deref() == Some("someone-else"))
        .unwrap();
    assert!(other.participant_id.is_none() && other.present);
    assert_eq!(other.name.as_deref(), Some("Token Name"));
    assert!(presence.attendees.iter().any(|a| a.unattributed() && a.present));
    assert_eq!(presence.in_room().count(), 2);
}
