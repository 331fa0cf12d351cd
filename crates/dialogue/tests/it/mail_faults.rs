//! Mail when things go wrong: the SMTP server down for a while, a recipient refused for good,
//! a message failing for a day, the server process killed in the middle of a delivery. And
//! the admin page that shows it all, with its retry button.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use domain::booking::Person;
use domain::{DisplayName, Email, Locale, Role};
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use store::{AuditEntry, ConnectOptions, NewSessions, NewUser, OutboxStatus, People, Store};
use testkit::{Backend, TestDb, both_backends};

use crate::mail::{EVERYONE, cast, session_request};
use crate::mailkit::*;

both_backends!(
    a_server_down_for_a_while_loses_nothing_and_sends_nothing_twice,
    a_message_failing_for_a_day_is_given_up_then_retried_by_an_admin,
    a_refused_recipient_fails_with_the_reason_and_the_others_arrive,
    the_binary_killed_mid_delivery_resumes_after_a_restart,
);

async fn a_server_down_for_a_while_loses_nothing_and_sends_nothing_twice(backend: Backend) {
    let port = testkit::free_port();
    let mut smtp = Smtp::down(port);
    let app = spawn(backend, &smtp_env(port)).await;
    let people = cast(&app).await;
    book(&app, &people.manager, &session_request(3)).await;
    // Every delivery fails (nobody listens) and waits for a retry.
    let lines = wait_outbox(&app, "every message tried and waiting", |lines| {
        lines.len() == 5
            && lines.iter().all(|l| {
                l.message.status == OutboxStatus::Queued && l.message.attempts >= 1 && l.message.last_error.is_some()
            })
    })
    .await;
    assert!(lines.iter().all(|l| l.message.next_attempt_at > app.state.now()));
    assert_eq!(smtp.count(), 0);
    // The server comes back; time passes (more than the longest backoff).
    smtp.restart().await;
    app.clock.advance(SignedDuration::from_hours(2));
    let mails = smtp.wait_for(5).await;
    let lines = wait_delivered(&app).await;
    assert!(
        lines
            .iter()
            .all(|l| l.message.status == OutboxStatus::Sent && l.message.attempts >= 2)
    );
    // Nothing lost, nothing twice.
    assert_eq!(mails.len(), 5);
    let mut per_person: BTreeMap<String, usize> = BTreeMap::new();
    for m in &mails {
        *per_person.entry(m.to_addresses.join(",")).or_default() += 1;
    }
    assert_eq!(per_person.len(), 5);
    assert!(per_person.values().all(|n| *n == 1), "{per_person:?}");
    // More time passing sends nothing more.
    app.clock.advance(SignedDuration::from_hours(3));
    app.store().wake_outbox();
    wait_delivered(&app).await;
    assert_eq!(smtp.count(), 5);
}

async fn a_message_failing_for_a_day_is_given_up_then_retried_by_an_admin(backend: Backend) {
    let port = testkit::free_port();
    let mut smtp = Smtp::down(port);
    let app = spawn(backend, &smtp_env(port)).await;
    let people = cast(&app).await;
    book(&app, &people.manager, &session_request(3)).await;
    wait_outbox(&app, "every message tried", |lines| {
        lines.len() == 5 && lines.iter().all(|l| l.message.attempts >= 1)
    })
    .await;
    // A day and more later, still nobody listens: given up, with the reason.
    app.clock.advance(SignedDuration::from_hours(25));
    let lines = wait_outbox(&app, "all failed", |lines| {
        lines.iter().all(|l| l.message.status == OutboxStatus::Failed)
    })
    .await;
    for l in &lines {
        let error = l.message.last_error.as_deref().unwrap();
        assert!(error.starts_with("gave up after "), "{error}");
        assert!(l.message.subject.is_some(), "the subject is kept for the admin page");
    }
    // The admin sees them and retries one once the server is back.
    let (admin, _) = app.logged_in("root@example.org", Role::Admin).await;
    let page = admin.get("/mail?status=failed").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.body.matches("action=\"/mail/").count(), 5, "a retry button each");
    assert!(page.contains("gave up after"));
    smtp.restart().await;
    let zoe = lines
        .iter()
        .find(|l| l.message.recipient_email == "zoe@example.org")
        .unwrap();
    let page = admin.post(&format!("/mail/{}/retry", zoe.message.id), &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.contains("Le message est de nouveau en file d’attente."),
        "{}",
        page.body
    );
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails[0].to_addresses, ["zoe@example.org"]);
    let lines = wait_outbox(&app, "Zoé's sent", |lines| {
        lines
            .iter()
            .any(|l| l.message.recipient_email == "zoe@example.org" && l.message.status == OutboxStatus::Sent)
    })
    .await;
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.message.status == OutboxStatus::Failed)
            .count(),
        4
    );
    assert_eq!(smtp.count(), 1);
}

async fn a_refused_recipient_fails_with_the_reason_and_the_others_arrive(backend: Backend) {
    let mut smtp = Smtp::refusing(&["zoe@example.org"]).await;
    let app = spawn(backend, &smtp.env()).await;
    let people = cast(&app).await;
    book(&app, &people.manager, &session_request(3)).await;
    let mails = smtp.wait_for(4).await;
    let lines = wait_delivered(&app).await;
    let zoe = lines
        .iter()
        .find(|l| l.message.recipient_email == "zoe@example.org")
        .unwrap();
    assert_eq!((zoe.message.status, zoe.message.attempts), (OutboxStatus::Failed, 1));
    let error = zoe.message.last_error.as_deref().unwrap();
    assert!(
        error.contains("550") && error.contains("Recipient address rejected"),
        "{error}"
    );
    for l in lines.iter().filter(|l| l.message.recipient_email != "zoe@example.org") {
        assert_eq!(l.message.status, OutboxStatus::Sent);
    }
    assert_eq!(mails.len(), 4);
    assert!(mails.iter().all(|m| m.to_addresses != ["zoe@example.org"]));
    let failed_id = zoe.message.id.clone();

    // The admin page: every message, the failure with its reason, a retry button.
    let (admin, _) = app.logged_in("root@example.org", Role::Admin).await;
    let home = admin.get("/").await;
    assert!(home.contains("href=\"/mail\""), "admins have a nav entry");
    let page = admin.get("/mail").await;
    assert_eq!(page.status, StatusCode::OK);
    for email in EVERYONE {
        assert!(page.contains(email), "{email} listed");
    }
    assert!(page.contains("Recipient address rejected"));
    assert!(page.contains("Convocation : Tableur avancé"));
    assert!(
        page.contains("Envoi : serveur SMTP 127.0.0.1:"),
        "where mail goes, in French: {}",
        page.body
    );
    let failed = admin.get("/mail?status=failed").await;
    assert!(failed.contains("zoe@example.org") && !failed.contains("ingrid@example.net"));
    assert!(failed.contains(&format!("action=\"/mail/{failed_id}/retry\"")));
    assert_eq!(admin.get("/mail?status=sent").await.body.matches("<tr>").count(), 1 + 4);
    assert_eq!(admin.get("/mail?status=bogus").await.status, StatusCode::NOT_FOUND);
    // Managers and trainers have no business here.
    let (manager, _) = app.logged_in("boss@example.org", Role::Manager).await;
    assert!(!manager.get("/").await.contains("href=\"/mail\""));
    assert_eq!(manager.get("/mail").await.status, StatusCode::FORBIDDEN);
    let refused = manager.post(&format!("/mail/{failed_id}/retry"), &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    // Retrying needs the form's token.
    let forged = admin.post_bare(&format!("/mail/{failed_id}/retry"), &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // The address is fixed on the mail server: the retry delivers it.
    smtp.stop();
    smtp.accept_everyone();
    smtp.restart().await;
    let page = admin.post(&format!("/mail/{failed_id}/retry"), &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    let mails = smtp.wait_for(5).await;
    assert_eq!(
        mails.iter().filter(|m| m.to_addresses == ["zoe@example.org"]).count(),
        1
    );
    let lines = wait_delivered(&app).await;
    assert!(lines.iter().all(|l| l.message.status == OutboxStatus::Sent));
    // Only failed messages can be retried.
    let again = admin.post(&format!("/mail/{failed_id}/retry"), &[]).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

/// `dialogue serve` with these settings.
fn serve(env: &[(String, String)]) -> Child {
    serve_logging(env, Stdio::null())
}

/// `dialogue serve` with these settings, its log (standard error) going to `log`.
pub(crate) fn serve_logging(env: &[(String, String)], log: impl Into<Stdio>) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dialogue"));
    for (k, _) in std::env::vars() {
        if k.starts_with("DIALOGUE_") {
            cmd.env_remove(k);
        }
    }
    // No file either: not even an installed package's /etc/dialogue/dialogue.toml.
    cmd.env("DIALOGUE_CONFIG", "");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.arg("serve")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start dialogue")
}

/// The database of a server whose data directory is `data`, with its secret (links match).
pub(crate) async fn store_of(db_url: &str, data: &std::path::Path) -> Store {
    let secret = std::fs::read_to_string(data.join("secret.key")).unwrap();
    let key = service::SecretKey::new(&hex_decode(secret.trim()));
    let mut store = Store::connect(db_url, &ConnectOptions::default()).await.unwrap();
    store.set_link_secret(key.link_secret());
    store
}

/// Books a session `hours` ahead (rounded to the minute) with a trainer and these learners, from the test, on the
/// database of a server whose data directory is `data` (with its secret, so the links match);
/// returns the store used and the session.
pub(crate) async fn book_from_outside(
    db_url: &str,
    data: &std::path::Path,
    title: &str,
    hours: i64,
    learners: &[(&str, &str)],
) -> (Store, store::SessionDetail) {
    let store = store_of(db_url, data).await;
    let audit = AuditEntry::new("test", None, "test", None);
    for (email, role) in [
        ("theo@example.org", Role::Trainer),
        ("manon@example.org", Role::Manager),
    ] {
        if store.user_by_email(email).await.unwrap().is_some() {
            continue;
        }
        let new = NewUser {
            email: Email::parse(email).unwrap(),
            display_name: DisplayName::parse("Théo Dupré").unwrap(),
            role,
            locale: Locale::Fr,
            time_zone: "Europe/Paris".into(),
            password_hash: None,
            auth_source: "local".into(),
            external_id: None,
        };
        store.create_user(&new, jiff::Timestamp::now(), &audit).await.unwrap();
    }
    let manager = store.user_by_email("manon@example.org").await.unwrap().unwrap();
    let start = Timestamp::from_second((Timestamp::now().as_second() / 60 + hours * 60) * 60).unwrap();
    let person = |name: &str, email: &str| Person {
        name: DisplayName::parse(name).unwrap(),
        email: Email::parse(email).unwrap(),
    };
    let detail = store
        .book_sessions(
            &NewSessions {
                course_id: None,
                title: title.into(),
                notes: String::new(),
                time_zone: "Europe/Paris".into(),
                times: vec![(start, start + SignedDuration::from_mins(60))],
                rrule: None,
                people: People {
                    trainers: vec![Email::parse("theo@example.org").unwrap()],
                    moderators: vec![],
                    learners: learners.iter().map(|(name, email)| person(name, email)).collect(),
                    guests: vec![],
                    external_moderators_only: false,
                    ..Default::default()
                },
                created_by: manager.id.clone(),
                jitsi_server_id: None,
            },
            jiff::Timestamp::now(),
            &audit,
        )
        .await
        .unwrap()
        .remove(0);
    (store, detail)
}

fn hex_decode(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

async fn the_binary_killed_mid_delivery_resumes_after_a_restart(backend: Backend) {
    let smtp = Smtp::stalling_first().await;
    let db = TestDb::new(backend).await;
    let dir = testkit::temp_dir("killed");
    let port = testkit::free_port();
    let mut env = smtp.env();
    env.extend(
        [
            ("DIALOGUE_LISTEN", format!("127.0.0.1:{port}")),
            ("DIALOGUE_DATABASE_URL", db.url.clone()),
            ("DIALOGUE_DATA_DIR", dir.join("data").display().to_string()),
            // One delivery at a time, and leases of an hour: the messages the dead process held
            // can only come back before the test's end if the restarted instance (same
            // `mail.instance`: by default this host and the same port) takes them back at start.
            ("DIALOGUE_MAIL_CONCURRENCY", "1".to_owned()),
            ("DIALOGUE_MAIL_TIMEOUT_SECONDS", "5".to_owned()),
            ("DIALOGUE_MAIL_LEASE_SECONDS", "3600".to_owned()),
            ("DIALOGUE_LOG_LEVEL", "warn".to_owned()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    let mut child = serve(&env);
    testkit::wait_for_port(port, "dialogue").await;
    let (store, detail) = book_from_outside(
        &db.url,
        &dir.join("data"),
        "Reprise après incident",
        48,
        &[
            ("Zoé", "zoe@example.org"),
            ("Ingrid", "ingrid@example.net"),
            ("Yann", "yann@example.org"),
        ],
    )
    .await;
    // The first message reaches the server, which never confirms it: killed right then.
    for _ in 0..600 {
        if smtp.stalled() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(smtp.stalled(), "the first delivery did not start within 60 s");
    child.kill().unwrap();
    child.wait().unwrap();
    let counts = store.outbox_counts().await.unwrap();
    assert_eq!(
        (counts.sent, counts.sending),
        (0, 4),
        "{counts:?}: held by the dead process"
    );
    assert_eq!(smtp.count(), 1);
    // Restarted: the instance takes its own leases back at once (not an hour later).
    let mut child = serve(&env);
    testkit::wait_for_port(port, "dialogue").await;
    for _ in 0..900 {
        if store.outbox_counts().await.unwrap().sent == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let counts = store.outbox_counts().await.unwrap();
    assert_eq!(counts.sent, 4, "{counts:?}");
    let mails = smtp.wait_for(5).await;
    assert_eq!(mails.len(), 5);
    // At most one duplicate: the message whose confirmation was lost, with the same Message-ID.
    let mut by_id: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for m in &mails {
        by_id
            .entry(m.message_id.as_str())
            .or_default()
            .push(m.to_addresses[0].as_str());
    }
    assert_eq!(by_id.len(), 4, "{by_id:?}");
    assert_eq!(by_id.values().filter(|to| to.len() == 2).count(), 1, "{by_id:?}");
    assert!(by_id.values().all(|to| to.len() <= 2));
    let recipients: std::collections::BTreeSet<&str> = by_id.values().map(|to| to[0]).collect();
    assert_eq!(recipients.len(), 4);
    // Counted: the four rows the dead process held, taken back at start; none by expiry.
    let metrics = crate::metrics::scrape_url(&format!("http://127.0.0.1:{port}")).await;
    let reclaimed = |how| crate::metrics::value(&metrics, "dialogue_outbox_leases_reclaimed_total", &[("how", how)]);
    assert_eq!((reclaimed("restart"), reclaimed("expired")), (4.0, 0.0));
    for m in &mails {
        assert!(m.text().contains(&{
            let p = detail
                .participants
                .iter()
                .find(|p| p.email == m.to_addresses[0])
                .unwrap();
            format!("/j/{}", store.join_key(&p.id, p.link_version).unwrap())
        }));
    }
    let stopped = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    assert!(child.wait().unwrap().success(), "a graceful stop after the restart");
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// STARTTLS or TLS from the first byte, with a private certificate authority and a password;
/// a wrong password is a permanent refusal, an unknown authority a TLS failure kept for retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_over_tls_with_authentication() {
    for mode in ["starttls", "tls"] {
        let smtp = Smtp::secured(mode, "dialogue:s3cret pass").await;
        let ca = smtp.ca_file().display().to_string();
        let mut env = smtp.env();
        env.extend(
            [
                ("DIALOGUE_MAIL_SMTP_SECURITY", mode),
                ("DIALOGUE_MAIL_SMTP_USERNAME", "dialogue"),
                ("DIALOGUE_MAIL_SMTP_PASSWORD", "s3cret pass"),
                ("DIALOGUE_MAIL_SMTP_CA_FILE", &ca),
            ]
            .map(|(k, v)| (k.to_owned(), v.to_owned())),
        );
        let app = spawn(Backend::Sqlite, &env).await;
        let people = cast(&app).await;
        book(&app, &people.manager, &session_request(3)).await;
        let mails = smtp.wait_for(5).await;
        let lines = wait_delivered(&app).await;
        assert!(lines.iter().all(|l| l.message.status == OutboxStatus::Sent), "{mode}");
        assert!(mails.iter().all(|m| m.defects.is_empty()));
        drop(app);

        // A wrong password: refused for good (535), said on the message.
        let mut wrong = env.clone();
        wrong.retain(|(k, _)| k != "DIALOGUE_MAIL_SMTP_PASSWORD");
        wrong.push(("DIALOGUE_MAIL_SMTP_PASSWORD".into(), "guess".into()));
        let app = spawn(Backend::Sqlite, &wrong).await;
        let people = cast(&app).await;
        book(&app, &people.manager, &session_request(3)).await;
        let lines = wait_delivered(&app).await;
        for l in &lines {
            assert_eq!(l.message.status, OutboxStatus::Failed, "{mode}");
            assert!(
                l.message.last_error.as_deref().unwrap().contains("535"),
                "{:?}",
                l.message.last_error
            );
        }
        drop(app);

        // The server's certificate authority unknown: nothing leaves, it is retried later.
        let mut untrusted = env.clone();
        untrusted.retain(|(k, _)| k != "DIALOGUE_MAIL_SMTP_CA_FILE");
        let app = spawn(Backend::Sqlite, &untrusted).await;
        let people = cast(&app).await;
        book(&app, &people.manager, &session_request(3)).await;
        let lines = wait_outbox(&app, "every message tried", |lines| {
            lines.len() == 5
                && lines
                    .iter()
                    .all(|l| l.message.attempts >= 1 && l.message.status == OutboxStatus::Queued)
        })
        .await;
        let error = lines[0].message.last_error.as_deref().unwrap().to_lowercase();
        assert!(
            error.contains("certificate") || error.contains("tls"),
            "{mode}: {error}"
        );
        assert_eq!(smtp.count(), 5, "{mode}: nothing more arrived");
    }
}

/// `dialogue check` reaches the mail server, or says it cannot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_reaches_the_mail_server() {
    let smtp = Smtp::start().await;
    let dir = testkit::temp_dir("check-mail");
    let run = |env: &[(String, String)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_dialogue"));
        for (k, _) in std::env::vars() {
            if k.starts_with("DIALOGUE_") {
                cmd.env_remove(k);
            }
        }
        // No file either: not even an installed package's /etc/dialogue/dialogue.toml.
        cmd.env("DIALOGUE_CONFIG", "");
        cmd.current_dir(&dir).env("DIALOGUE_LOG_LEVEL", "warn").arg("check");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap())
    };
    let (code, out) = run(&smtp.env());
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains(&format!("ok   mail: SMTP server 127.0.0.1:{} reachable", smtp.port)),
        "{out}"
    );
    let (code, out) = run(&smtp_env(testkit::free_port()));
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("FAIL mail: SMTP server 127.0.0.1:"), "{out}");
    let (code, out) = run(&[]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("ok   mail: files in ./data/outbox reachable"), "{out}");
    let _ = std::fs::remove_dir_all(dir);
}
