//! The storage contract: every test runs against SQLite and against PostgreSQL, through the one
//! `Store` interface the rest of Dialogue uses.

use domain::{DisplayName, Email, Locale, Role};
use jiff::{SignedDuration, Timestamp};
use store::{
    AuditEntry, ConnectOptions, NewUser, ProfileUpdate, Store, StoreError, Throttle, TokenPurpose, UserFilter,
};
use testkit::{Backend, TestDb, both_backends};

async fn open(backend: Backend) -> (TestDb, Store) {
    let db = TestDb::new(backend).await;
    let store = Store::connect(&db.url, &ConnectOptions::default())
        .await
        .expect("connect");
    store.migrate(jiff::Timestamp::now()).await.expect("migrate");
    (db, store)
}

fn new_user(email: &str, role: Role) -> NewUser {
    NewUser {
        email: Email::parse(email).unwrap(),
        display_name: DisplayName::parse("Zoé Ünïcode 李 🎓").unwrap(),
        role,
        locale: Locale::Fr,
        time_zone: "Europe/Paris".into(),
        password_hash: Some("$argon2id$fake".into()),
        auth_source: "local".into(),
        external_id: None,
    }
}

fn audit(action: &str) -> AuditEntry {
    AuditEntry::new(action, None, "test", Some("192.0.2.1"))
}

both_backends!(
    parallel_login_attempts_never_pass_the_limit,
    migrations_are_idempotent,
    users_are_unique_by_email_case_insensitively,
    users_are_listed_by_role_and_activity,
    profiles_change_and_keep_emails_unique,
    the_last_admin_is_kept,
    concurrent_demotions_keep_one_admin,
    login_sessions_expire,
    setup_links_work_once,
    password_links_set_the_password_and_end_sessions,
    password_links_die_when_the_account_changes,
    failed_logins_lock_then_clear,
    the_audit_log_pages_newest_first,
    concurrent_writes_all_land,
);

async fn migrations_are_idempotent(backend: Backend) {
    let (_db, store) = open(backend).await;
    assert_eq!(
        store.migrate(jiff::Timestamp::now()).await.unwrap(),
        0,
        "a second run applies nothing"
    );
    store.ping().await.unwrap();
    assert_eq!(
        store.backend() == store::Backend::Postgres,
        backend == Backend::Postgres
    );
}

async fn users_are_unique_by_email_case_insensitively(backend: Backend) {
    let (_db, store) = open(backend).await;
    let user = store
        .create_user(
            &new_user("Zoe@Example.org", Role::Trainer),
            jiff::Timestamp::now(),
            &audit("user.create"),
        )
        .await
        .unwrap();
    assert_eq!(user.email, "Zoe@Example.org");
    assert_eq!(user.display_name, "Zoé Ünïcode 李 🎓");
    assert!(user.active && user.has_password);
    let again = store
        .create_user(
            &new_user("zoe@EXAMPLE.org", Role::Admin),
            jiff::Timestamp::now(),
            &audit("user.create"),
        )
        .await;
    assert!(matches!(again, Err(StoreError::EmailTaken)), "{again:?}");
    let found = store.user_by_email(" ZOE@example.ORG ").await.unwrap().unwrap();
    assert_eq!(found.id, user.id);
    let (with_hash, hash) = store.login_credentials("zoe@example.org").await.unwrap().unwrap();
    assert_eq!(with_hash.id, user.id);
    assert_eq!(hash.as_deref(), Some("$argon2id$fake"));
    assert!(store.user("nope").await.unwrap().is_none());
    // The failed insert wrote no audit entry; the successful one did, with its target.
    let log = store.audit_log(10, None).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].target_id.as_deref(), Some(user.id.as_str()));
}

async fn users_are_listed_by_role_and_activity(backend: Backend) {
    let (_db, store) = open(backend).await;
    let a = store
        .create_user(
            &new_user("a@example.org", Role::Admin),
            jiff::Timestamp::now(),
            &audit("x"),
        )
        .await
        .unwrap();
    let t = store
        .create_user(
            &new_user("t@example.org", Role::Trainer),
            jiff::Timestamp::now(),
            &audit("x"),
        )
        .await
        .unwrap();
    store
        .create_user(
            &new_user("m@example.org", Role::Manager),
            jiff::Timestamp::now(),
            &audit("x"),
        )
        .await
        .unwrap();
    store
        .set_active(&t.id, false, jiff::Timestamp::now(), &audit("user.disable"))
        .await
        .unwrap();
    let all = store
        .list_users(&UserFilter {
            include_inactive: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
    let active = store.list_users(&UserFilter::default()).await.unwrap();
    assert_eq!(active.len(), 2);
    let trainers = store
        .list_users(&UserFilter {
            roles: vec![Role::Trainer],
            include_inactive: true,
        })
        .await
        .unwrap();
    assert_eq!(
        trainers.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        vec![t.id.as_str()]
    );
    assert!(!trainers[0].active);
    assert_eq!(store.count_active_admins().await.unwrap(), 1);
    assert_eq!(store.user(&a.id).await.unwrap().unwrap().role, Role::Admin);
}

async fn profiles_change_and_keep_emails_unique(backend: Backend) {
    let (_db, store) = open(backend).await;
    let a = store
        .create_user(
            &new_user("a@example.org", Role::Trainer),
            jiff::Timestamp::now(),
            &audit("x"),
        )
        .await
        .unwrap();
    store
        .create_user(
            &new_user("b@example.org", Role::Trainer),
            jiff::Timestamp::now(),
            &audit("x"),
        )
        .await
        .unwrap();
    let update = ProfileUpdate {
        email: Email::parse("A.New@example.org").unwrap(),
        display_name: DisplayName::parse("Ana <b>Nova</b>").unwrap(),
        locale: Locale::En,
        time_zone: "America/New_York".into(),
    };
    let changed = store
        .update_profile(&a.id, &update, jiff::Timestamp::now(), &audit("user.update"))
        .await
        .unwrap();
    assert_eq!(changed.email, "A.New@example.org");
    assert_eq!(changed.display_name, "Ana <b>Nova</b>");
    assert_eq!(changed.locale, Locale::En);
    assert_eq!(changed.time_zone, "America/New_York");
    let log = store.audit_log(1, None).await.unwrap();
    let detail: serde_json::Value = serde_json::from_str(log[0].detail.as_deref().unwrap()).unwrap();
    assert_eq!(detail["email"]["from"], "a@example.org");
    assert_eq!(detail["locale"]["to"], "en");
    let taken = ProfileUpdate {
        email: Email::parse("B@example.org").unwrap(),
        ..update
    };
    assert!(matches!(
        store
            .update_profile(&a.id, &taken, jiff::Timestamp::now(), &audit("user.update"))
            .await,
        Err(StoreError::EmailTaken)
    ));
    assert_eq!(
        store.user(&a.id).await.unwrap().unwrap().email,
        "A.New@example.org",
        "nothing changed"
    );
    assert!(matches!(
        store
            .update_profile("missing", &taken, jiff::Timestamp::now(), &audit("x"))
            .await,
        Err(StoreError::NotFound)
    ));
}

async fn the_last_admin_is_kept(backend: Backend) {
    let (_db, store) = open(backend).await;
    let a = store
        .create_user(
            &new_user("a@example.org", Role::Admin),
            jiff::Timestamp::now(),
            &audit("x"),
        )
        .await
        .unwrap();
    assert!(matches!(
        store
            .set_role(&a.id, Role::Manager, jiff::Timestamp::now(), &audit("user.role"))
            .await,
        Err(StoreError::LastAdmin)
    ));
    assert!(matches!(
        store
            .set_active(&a.id, false, jiff::Timestamp::now(), &audit("user.disable"))
            .await,
        Err(StoreError::LastAdmin)
    ));
    assert_eq!(store.user(&a.id).await.unwrap().unwrap().role, Role::Admin);
    let b = store
        .create_user(
            &new_user("b@example.org", Role::Manager),
            jiff::Timestamp::now(),
            &audit("x"),
        )
        .await
        .unwrap();
    store
        .set_role(&b.id, Role::Admin, jiff::Timestamp::now(), &audit("user.role"))
        .await
        .unwrap();
    let demoted = store
        .set_role(&a.id, Role::Trainer, jiff::Timestamp::now(), &audit("user.role"))
        .await
        .unwrap();
    assert_eq!(demoted.role, Role::Trainer);
    assert!(matches!(
        store
            .set_active(&b.id, false, jiff::Timestamp::now(), &audit("user.disable"))
            .await,
        Err(StoreError::LastAdmin)
    ));
    let log = store.audit_log(10, None).await.unwrap();
    let roles: Vec<_> = log.iter().filter(|e| e.action == "user.role").collect();
    assert_eq!(roles.len(), 2, "only the changes that happened are logged");
}

async fn concurrent_demotions_keep_one_admin(backend: Backend) {
    let (_db, store) = open(backend).await;
    let mut ids = Vec::new();
    for i in 0..6 {
        let u = store
            .create_user(
                &new_user(&format!("a{i}@example.org"), Role::Admin),
                jiff::Timestamp::now(),
                &audit("x"),
            )
            .await
            .unwrap();
        ids.push(u.id);
    }
    let tasks: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| {
            let store = store.clone();
            let id = id.clone();
            tokio::spawn(async move {
                if i % 2 == 0 {
                    store
                        .set_role(&id, Role::Trainer, jiff::Timestamp::now(), &audit("user.role"))
                        .await
                        .map(|_| ())
                } else {
                    store
                        .set_active(&id, false, jiff::Timestamp::now(), &audit("user.disable"))
                        .await
                        .map(|_| ())
                }
            })
        })
        .collect();
    let mut refused = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(()) => {}
            Err(StoreError::LastAdmin) => refused += 1,
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(refused, 1, "exactly one change is refused");
    assert_eq!(store.count_active_admins().await.unwrap(), 1);
}

async fn login_sessions_expire(backend: Backend) {
    let (_db, store) = open(backend).await;
    let u = store
        .create_user(
            &new_user("u@example.org", Role::Trainer),
            jiff::Timestamp::now(),
            &audit("x"),
        )
        .await
        .unwrap();
    let now = Timestamp::now();
    let in_hours = |h: i64| now + SignedDuration::from_hours(h);
    store
        .create_login_session("h1", &u.id, "password", now, in_hours(12), Some("ua"), &audit("login"))
        .await
        .unwrap();
    let (session, user) = store.session_user("h1", now, 1800).await.unwrap().unwrap();
    assert_eq!((session.via.as_str(), user.id.as_str()), ("password", u.id.as_str()));
    // Idle for longer than the idle timeout.
    assert!(
        store
            .session_user("h1", now + SignedDuration::from_secs(1801), 1800)
            .await
            .unwrap()
            .is_none()
    );
    store
        .touch_session("h1", now + SignedDuration::from_secs(1700))
        .await
        .unwrap();
    assert!(
        store
            .session_user("h1", now + SignedDuration::from_secs(3000), 1800)
            .await
            .unwrap()
            .is_some()
    );
    // Past the absolute expiry, however active.
    store.touch_session("h1", in_hours(12)).await.unwrap();
    assert!(store.session_user("h1", in_hours(12), 1800).await.unwrap().is_none());
    // Disabling the account ends its sessions.
    store
        .create_login_session("h2", &u.id, "password", now, in_hours(1), None, &audit("login"))
        .await
        .unwrap();
    store
        .set_active(&u.id, false, jiff::Timestamp::now(), &audit("user.disable"))
        .await
        .unwrap();
    store
        .set_active(&u.id, true, jiff::Timestamp::now(), &audit("user.enable"))
        .await
        .unwrap();
    assert!(store.session_user("h2", now, 1800).await.unwrap().is_none());
    store
        .create_login_session("h3", &u.id, "password", now, in_hours(1), None, &audit("login"))
        .await
        .unwrap();
    store
        .delete_session("h3", jiff::Timestamp::now(), Some(&audit("logout")))
        .await
        .unwrap();
    assert!(store.session_user("h3", now, 1800).await.unwrap().is_none());
    store
        .create_login_session("h4", &u.id, "password", now, in_hours(1), None, &audit("login"))
        .await
        .unwrap();
    // h1 and h2 ended when the account was disabled, h3 at logout: only h4 is left to purge.
    assert_eq!(store.purge_expired(in_hours(2), 1800).await.unwrap(), 1);
}

async fn setup_links_work_once(backend: Backend) {
    let (_db, store) = open(backend).await;
    let now = Timestamp::now();
    let hour = now + SignedDuration::from_hours(1);
    store
        .create_one_time_token("s1", TokenPurpose::Setup, None, now, hour, None)
        .await
        .unwrap();
    store
        .create_one_time_token("s2", TokenPurpose::Setup, None, now, hour, None)
        .await
        .unwrap();
    store
        .create_one_time_token("old", TokenPurpose::Setup, None, now, now, None)
        .await
        .unwrap();
    assert!(
        store
            .one_time_token("s1", TokenPurpose::Setup, now)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .one_time_token("s1", TokenPurpose::SetPassword, now)
            .await
            .unwrap()
            .is_none(),
        "purpose is checked"
    );
    assert!(
        store
            .one_time_token("old", TokenPurpose::Setup, now)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    let expired = store
        .complete_setup("old", &new_user("x@example.org", Role::Admin), now, &audit("setup"))
        .await;
    assert!(matches!(expired, Err(StoreError::NotFound)));
    let admin = store
        .complete_setup("s1", &new_user("a@example.org", Role::Admin), now, &audit("setup"))
        .await
        .unwrap();
    assert_eq!(admin.role, Role::Admin);
    let reused = store
        .complete_setup("s1", &new_user("b@example.org", Role::Admin), now, &audit("setup"))
        .await;
    assert!(matches!(reused, Err(StoreError::NotFound)));
    // Another live link cannot create a second "first" admin.
    let second = store
        .complete_setup("s2", &new_user("c@example.org", Role::Admin), now, &audit("setup"))
        .await;
    assert!(matches!(second, Err(StoreError::NotFound)));
    assert_eq!(store.count_active_admins().await.unwrap(), 1);
}

async fn password_links_set_the_password_and_end_sessions(backend: Backend) {
    let (_db, store) = open(backend).await;
    let mut nu = new_user("u@example.org", Role::Trainer);
    nu.password_hash = None;
    let u = store
        .create_user(&nu, jiff::Timestamp::now(), &audit("x"))
        .await
        .unwrap();
    assert!(!u.has_password);
    let now = Timestamp::now();
    let later = now + SignedDuration::from_hours(48);
    store
        .create_login_session("h1", &u.id, "proxy", now, later, None, &audit("login"))
        .await
        .unwrap();
    store
        .create_one_time_token(
            "p1",
            TokenPurpose::SetPassword,
            Some(&u.id),
            now,
            later,
            Some(&audit("user.password_link")),
        )
        .await
        .unwrap();
    let token = store
        .one_time_token("p1", TokenPurpose::SetPassword, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(token.user_id.as_deref(), Some(u.id.as_str()));
    let done = store
        .complete_password_link("p1", "$argon2id$new", now, &audit("user.password"))
        .await
        .unwrap();
    assert_eq!(done.id, u.id);
    let (_, hash) = store.login_credentials("u@example.org").await.unwrap().unwrap();
    assert_eq!(hash.as_deref(), Some("$argon2id$new"));
    assert!(
        store.session_user("h1", now, 1800).await.unwrap().is_none(),
        "sessions end"
    );
    assert!(matches!(
        store
            .complete_password_link("p1", "$argon2id$again", now, &audit("user.password"))
            .await,
        Err(StoreError::NotFound)
    ));
    // Changing one's password keeps the current session and ends the others.
    store
        .create_login_session("keep", &u.id, "password", now, later, None, &audit("login"))
        .await
        .unwrap();
    store
        .create_login_session("other", &u.id, "password", now, later, None, &audit("login"))
        .await
        .unwrap();
    store
        .set_password_hash(
            &u.id,
            "$argon2id$third",
            Some("keep"),
            jiff::Timestamp::now(),
            &audit("user.password"),
        )
        .await
        .unwrap();
    assert!(store.session_user("keep", now, 1800).await.unwrap().is_some());
    assert!(store.session_user("other", now, 1800).await.unwrap().is_none());
}

async fn failed_logins_lock_then_clear(backend: Backend) {
    let (_db, store) = open(backend).await;
    let rule = Throttle {
        max_failures: 3,
        window_secs: 900,
        lockout_secs: 60,
    };
    let now = Timestamp::now();
    assert_eq!(store.record_login_failure("acct:a", now, &rule).await.unwrap(), None);
    assert_eq!(store.record_login_failure("acct:a", now, &rule).await.unwrap(), None);
    let until = store.record_login_failure("acct:a", now, &rule).await.unwrap().unwrap();
    assert_eq!(until.as_second() - now.as_second(), 60);
    assert_eq!(
        store.throttled_until(&["ip:x", "acct:a"], now).await.unwrap(),
        Some(until)
    );
    // A further failure doubles the lock.
    let until = store.record_login_failure("acct:a", now, &rule).await.unwrap().unwrap();
    assert_eq!(until.as_second() - now.as_second(), 120);
    assert!(
        store
            .throttled_until(&["acct:a"], now + SignedDuration::from_secs(121))
            .await
            .unwrap()
            .is_none()
    );
    store.clear_login_failures("acct:a").await.unwrap();
    assert!(store.throttled_until(&["acct:a"], now).await.unwrap().is_none());
    // Old failures outside the window do not count.
    store.record_login_failure("ip:y", now, &rule).await.unwrap();
    store.record_login_failure("ip:y", now, &rule).await.unwrap();
    let later = now + SignedDuration::from_secs(901);
    assert_eq!(store.record_login_failure("ip:y", later, &rule).await.unwrap(), None);
}

async fn parallel_login_attempts_never_pass_the_limit(backend: Backend) {
    let (_db, store) = open(backend).await;
    let account = Throttle {
        max_failures: 3,
        window_secs: 900,
        lockout_secs: 60,
    };
    let address = Throttle {
        max_failures: 2,
        window_secs: 900,
        lockout_secs: 60,
    };
    let now = Timestamp::now();
    // Forty guesses at once at one account: only as many as its limit get to check a
    // password; the others are refused with the lock's end.
    let attempts: Vec<_> = (0..40)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .begin_login_attempt(("acct:a", &account), "ip:x", now)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut allowed = 0;
    for attempt in attempts {
        if attempt.await.unwrap().is_none() {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 3, "exactly the limit of attempts went through");
    let until = store.throttled_until(&["acct:a"], now).await.unwrap().unwrap();
    assert_eq!(until.as_second() - now.as_second(), 60);
    // Many people from one address at once are not counted against it before their
    // passwords are checked: all of them get through.
    let people: Vec<_> = (0..20)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let key = format!("acct:person{i}");
                store
                    .begin_login_attempt((&key, &account), "ip:office", now)
                    .await
                    .unwrap()
            })
        })
        .collect();
    for person in people {
        assert_eq!(person.await.unwrap(), None);
    }
    // A success forgets the account's failures.
    store.login_succeeded("acct:person0").await.unwrap();
    for _ in 0..2 {
        store
            .begin_login_attempt(("acct:person0", &account), "ip:office", now)
            .await
            .unwrap();
    }
    assert!(store.throttled_until(&["acct:person0"], now).await.unwrap().is_none());
    // A locked address refuses every account, and changes nothing.
    store.record_login_failure("ip:y", now, &address).await.unwrap();
    store.record_login_failure("ip:y", now, &address).await.unwrap();
    assert!(
        store
            .begin_login_attempt(("acct:fresh", &account), "ip:y", now)
            .await
            .unwrap()
            .is_some()
    );
    for _ in 0..2 {
        store
            .begin_login_attempt(("acct:fresh", &account), "ip:z", now)
            .await
            .unwrap();
    }
    assert!(
        store.throttled_until(&["acct:fresh"], now).await.unwrap().is_none(),
        "the refused attempt counted nothing: two failures, not three"
    );
    // An abandoned attempt (the server too busy to decide) counts nothing either.
    store
        .begin_login_attempt(("acct:f", &account), "ip:z", now)
        .await
        .unwrap();
    store.abandon_login_attempt(("acct:f", &account)).await.unwrap();
    for _ in 0..2 {
        store
            .begin_login_attempt(("acct:f", &account), "ip:z", now)
            .await
            .unwrap();
    }
    assert!(
        store.throttled_until(&["acct:f"], now).await.unwrap().is_none(),
        "two failures counted, not three"
    );
    // At the limit, with its lock over: the attempt that would lock again, abandoned, does not.
    let later = now + SignedDuration::from_secs(61);
    assert!(store.throttled_until(&["acct:a"], later).await.unwrap().is_none());
    assert_eq!(
        store
            .begin_login_attempt(("acct:a", &account), "ip:z", later)
            .await
            .unwrap(),
        None
    );
    assert!(store.throttled_until(&["acct:a"], later).await.unwrap().is_some());
    store.abandon_login_attempt(("acct:a", &account)).await.unwrap();
    assert!(
        store.throttled_until(&["acct:a"], later).await.unwrap().is_none(),
        "an abandoned attempt leaves no lock"
    );
}

async fn the_audit_log_pages_newest_first(backend: Backend) {
    let (_db, store) = open(backend).await;
    for i in 0..5 {
        store
            .audit(
                &AuditEntry::new(&format!("event.{i}"), Some("u1"), "a@example.org", Some("2001:db8::1")),
                jiff::Timestamp::now(),
            )
            .await
            .unwrap();
    }
    let first = store.audit_log(3, None).await.unwrap();
    assert_eq!(
        first.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["event.4", "event.3", "event.2"]
    );
    assert_eq!(first[0].ip.as_deref(), Some("2001:db8::1"));
    assert_eq!(first[0].actor_id.as_deref(), Some("u1"));
    let next = store.audit_log(3, Some(first[2].seq)).await.unwrap();
    assert_eq!(
        next.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(),
        ["event.1", "event.0"]
    );
}

/// Many writers at once: every write lands, none meets "database is locked".
async fn concurrent_writes_all_land(backend: Backend) {
    let (_db, store) = open(backend).await;
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let u = store
                    .create_user(
                        &new_user(&format!("user{i}@example.org"), Role::Trainer),
                        jiff::Timestamp::now(),
                        &audit("user.create"),
                    )
                    .await?;
                let now = Timestamp::now();
                store
                    .create_login_session(
                        &format!("h{i}"),
                        &u.id,
                        "password",
                        now,
                        now + SignedDuration::from_hours(1),
                        None,
                        &audit("login"),
                    )
                    .await?;
                store
                    .record_login_failure(
                        "ip:shared",
                        now,
                        &Throttle {
                            max_failures: 1000,
                            window_secs: 900,
                            lockout_secs: 60,
                        },
                    )
                    .await?;
                Ok::<_, StoreError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(store.list_users(&UserFilter::default()).await.unwrap().len(), 50);
    assert_eq!(store.audit_log(1000, None).await.unwrap().len(), 100);
}

/// A set-password link is worth only what its issuer could do when it was issued: a newer link,
/// a change of role, of email, a disabled account or a password set some other way kills it.
async fn password_links_die_when_the_account_changes(backend: Backend) {
    let (_db, store) = open(backend).await;
    store
        .create_user(
            &new_user("admin@example.org", Role::Admin),
            jiff::Timestamp::now(),
            &audit("x"),
        )
        .await
        .unwrap();
    let mut nu = new_user("t@example.org", Role::Trainer);
    nu.password_hash = None;
    let t = store
        .create_user(&nu, jiff::Timestamp::now(), &audit("x"))
        .await
        .unwrap();
    let now = Timestamp::now();
    let later = now + SignedDuration::from_hours(72);
    let issue = |hash: &'static str| {
        let store = store.clone();
        let id = t.id.clone();
        async move {
            store
                .create_one_time_token(hash, TokenPurpose::SetPassword, Some(&id), now, later, None)
                .await
                .unwrap();
        }
    };
    let live = |hash: &'static str| {
        let store = store.clone();
        async move {
            store
                .one_time_token(hash, TokenPurpose::SetPassword, now)
                .await
                .unwrap()
                .is_some()
        }
    };
    issue("by-manager").await;
    assert!(live("by-manager").await);
    // The trainer becomes an admin: the manager's link must not set an admin's password.
    store
        .set_role(&t.id, Role::Admin, jiff::Timestamp::now(), &audit("user.role"))
        .await
        .unwrap();
    assert!(!live("by-manager").await);
    assert!(matches!(
        store
            .complete_password_link("by-manager", "$argon2id$x", now, &audit("user.password"))
            .await,
        Err(StoreError::NotFound)
    ));
    // A newer link replaces the older one.
    issue("first").await;
    issue("second").await;
    assert!(!live("first").await);
    assert!(live("second").await);
    // A new email address: the link may have gone to the old one.
    let mut update = ProfileUpdate {
        email: Email::parse("t2@example.org").unwrap(),
        display_name: DisplayName::parse("T").unwrap(),
        locale: Locale::Fr,
        time_zone: "Europe/Paris".into(),
    };
    store
        .update_profile(&t.id, &update, jiff::Timestamp::now(), &audit("user.update"))
        .await
        .unwrap();
    assert!(!live("second").await);
    // The same email again (a name change only) keeps a link.
    issue("third").await;
    update.display_name = DisplayName::parse("T. Two").unwrap();
    store
        .update_profile(&t.id, &update, jiff::Timestamp::now(), &audit("user.update"))
        .await
        .unwrap();
    assert!(live("third").await);
    // Disabling the account.
    store
        .set_active(&t.id, false, jiff::Timestamp::now(), &audit("user.disable"))
        .await
        .unwrap();
    assert!(!live("third").await);
    store
        .set_active(&t.id, true, jiff::Timestamp::now(), &audit("user.enable"))
        .await
        .unwrap();
    // A password set another way (the profile page, the command line).
    issue("fourth").await;
    store
        .set_password_hash(
            &t.id,
            "$argon2id$own",
            None,
            jiff::Timestamp::now(),
            &audit("user.password"),
        )
        .await
        .unwrap();
    assert!(!live("fourth").await);
}
