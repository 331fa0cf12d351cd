//! `dialogue backup` and `dialogue restore` with the real binary: a copy taken while sessions are
//! being booked, refused restores (server running, not a Dialogue database), a restore into a
//! fresh data directory with the same secret key where every row is and the sealed Jitsi
//! secrets open (`dialogue check`), and with another key, where they do not.

use std::process::Command;

use domain::Role;
use testkit::Backend;

use crate::helpers::TestApp;
use crate::jitsi_support::*;

const BIN: &str = env!("CARGO_BIN_EXE_dialogue");

fn run(env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(BIN);
    cmd.args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("DIALOGUE_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("DIALOGUE_CONFIG", "").env("DIALOGUE_LOG_LEVEL", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_under_booking_load_then_restore_elsewhere_with_the_same_key() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    server(&app, hs256("Meet", "https://meet.example.org")).await;
    let manager = app.user("marie@example.org", Role::Manager).await;
    let trainer = app.user("theo@example.org", Role::Trainer).await;
    let data = app.data_dir.display().to_string();
    let env = [
        ("DIALOGUE_DATABASE_URL", app.db.url.as_str()),
        ("DIALOGUE_DATA_DIR", data.as_str()),
    ];

    // Bookings go on while the copies are taken.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let booker = {
        let (store, stop) = (app.store().clone(), stop.clone());
        let (trainer, manager) = (trainer.clone(), manager.clone());
        tokio::spawn(async move {
            let mut booked = 0u32;
            let start = minutes_from_now(48 * 60);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let at = start + jiff::SignedDuration::from_hours(i64::from(booked) * 2);
                book_into(&store, &trainer, &manager, at).await;
                booked += 1;
            }
            booked
        })
    };
    let dir = testkit::temp_dir("backups");
    let mut copies = Vec::new();
    for i in 0..3 {
        let path = dir.join(format!("copy-{i}.db"));
        let p = path.display().to_string();
        let out = tokio::task::spawn_blocking({
            let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            move || {
                let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                run(&env, &["backup", &p])
            }
        })
        .await
        .unwrap();
        assert_eq!(out.0, 0, "{out:?}");
        assert!(out.1.contains("backup written to"), "{out:?}");
        assert!(out.2.contains("secret key"), "the key's role said loudly: {out:?}");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        copies.push(path);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let booked = booker.await.unwrap();
    assert!(booked >= 2, "bookings ran during the backups ({booked})");
    // Each copy is whole and consistent: every session has its participants and invitations.
    let mut last = 0;
    for copy in &copies {
        let info = store::inspect_backup(copy).await.unwrap();
        assert!(info.sessions >= last, "later copies hold at least as much");
        assert_eq!(info.accounts, 2);
        assert_eq!(info.jitsi_servers, 1);
        last = info.sessions;
    }
    assert!(last <= i64::from(booked));

    // A copy onto an existing file is refused, and the file left alone.
    let (code, _, err) = run(&env, &["backup", &copies[0].display().to_string()]);
    assert_ne!(code, 0);
    assert!(err.contains("exists already"), "{err}");

    // Restoring over the running server's database is refused.
    let latest = copies[2].display().to_string();
    let (code, _, err) = run(&env, &["restore", &latest]);
    assert_ne!(code, 0);
    assert!(err.contains("in use by a running Dialogue"), "{err}");

    // Into a fresh data directory with the same secret key: every row, and the secrets open.
    let fresh = testkit::temp_dir("restored");
    std::fs::copy(app.data_dir.join("secret.key"), fresh.join("secret.key")).unwrap();
    let fresh_data = fresh.display().to_string();
    let fresh_env = [("DIALOGUE_DATA_DIR", fresh_data.as_str())];
    // Not a Dialogue database: refused, nothing created.
    let junk = dir.join("junk.db");
    std::fs::write(&junk, b"not a database at all").unwrap();
    let (code, _, err) = run(&fresh_env, &["restore", &junk.display().to_string()]);
    assert_ne!(code, 0);
    assert!(err.contains("not a Dialogue database"), "{err}");
    assert!(!fresh.join("dialogue.db").exists());
    let (code, out, err) = run(&fresh_env, &["restore", &latest]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("secrets open with this secret key"), "{out}");
    assert!(err.contains("IMPORTANT"), "{err}");
    let restored = store::inspect_backup(&fresh.join("dialogue.db")).await.unwrap();
    assert_eq!(restored, store::inspect_backup(&copies[2]).await.unwrap());
    let (code, out, err) = run(&fresh_env, &["check"]);
    assert!(out.contains("ok   Jitsi server \"Meet\""), "{out}{err}");
    let _ = code;
    // The restored database runs: the server opens it and the accounts log in.
    let url = format!("sqlite:{}", fresh.join("dialogue.db").display());
    let s = store::Store::connect(&url, &store::ConnectOptions::default())
        .await
        .unwrap();
    s.migrate(jiff::Timestamp::now()).await.unwrap();
    assert!(s.user_by_email("theo@example.org").await.unwrap().is_some());
    s.close().await;

    // Another key: the restore says the secrets do not open.
    let other = testkit::temp_dir("other-key");
    let other_data = other.display().to_string();
    let (code, out, err) = run(&[("DIALOGUE_DATA_DIR", other_data.as_str())], &["restore", &latest]);
    assert_ne!(code, 0, "{out}{err}");
    assert!(
        out.contains("do not open with this secret key") || err.contains("secret key"),
        "{out}{err}"
    );
    assert!(err.contains("cannot be opened with the secret key"), "{err}");
}

#[tokio::test]
async fn postgres_backups_are_pg_dump() {
    let db = testkit::TestDb::new(Backend::Postgres).await;
    let dir = testkit::temp_dir("pg-backup");
    let path = dir.join("x.db");
    let (code, _, err) = run(
        &[("DIALOGUE_DATABASE_URL", db.url.as_str())],
        &["backup", &path.display().to_string()],
    );
    assert_ne!(code, 0);
    assert!(err.contains("pg_dump") && err.contains("pg_restore"), "{err}");
    assert!(!path.exists());
}

async fn book_into(store: &store::Store, trainer: &store::User, manager: &store::User, start: jiff::Timestamp) {
    use domain::Email;
    let new = store::NewSessions {
        course_id: None,
        title: "Sauvegarde".into(),
        notes: String::new(),
        time_zone: "Europe/Paris".into(),
        times: vec![(start, start + jiff::SignedDuration::from_mins(60))],
        rrule: None,
        people: store::People {
            trainers: vec![Email::parse(&trainer.email).unwrap()],
            moderators: vec![],
            learners: vec![],
            guests: vec![],
            external_moderators_only: false,
            ..Default::default()
        },
        created_by: manager.id.clone(),
        jitsi_server_id: None,
    };
    store
        .book_sessions(
            &new,
            jiff::Timestamp::now(),
            &store::AuditEntry::new("session.book", None, "test", None),
        )
        .await
        .unwrap();
}
