//! Welcome mail for new staff accounts, over a real SMTP server (aiosmtpd): the admin creates an
//! account without a password, the account gets its set-password link by mail in its language
//! (and the admin still sees it to copy); the link works; once the message is finished the
//! database holds the token nowhere, and a refused delivery does not put it in `last_error` or
//! in the server's logs.

use std::process::{Command, Stdio};

use domain::{DisplayName, Email, Locale, Role};
use jiff::SignedDuration;
use reqwest::StatusCode;
use store::{AuditEntry, ConnectOptions, MailKind, NewUser, OutboxStatus, Store, WelcomeLink};
use testkit::{Backend, TestDb, both_backends};

use crate::helpers::PASSWORD;
use crate::mailkit::*;

both_backends!(
    a_new_trainer_gets_one_welcome_in_their_language_whose_link_works,
    a_refused_welcome_leaks_its_link_neither_in_the_row_nor_in_the_logs,
    on_default_settings_the_welcome_names_dialogue_once,
);

fn account<'a>(email: &'a str, name: &'a str, role: &'a str, locale: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("email", email),
        ("display_name", name),
        ("role", role),
        ("locale", locale),
        ("time_zone", "America/New_York"),
        ("password", ""),
    ]
}

/// The set-password link shown on the page.
fn shown_link(body: &str, base: &str) -> String {
    let start = body
        .find(&format!("{base}/password/"))
        .expect("the link is shown to the admin");
    body[start..].split(['<', '"', ' ', '\n']).next().unwrap().to_owned()
}

async fn a_new_trainer_gets_one_welcome_in_their_language_whose_link_works(backend: Backend) {
    let smtp = Smtp::start().await;
    let app = spawn(backend, &smtp.env()).await;
    let (admin, _) = app.logged_in("root@example.org", Role::Admin).await;
    let page = admin
        .post("/users", &account("ada@example.com", "Ada Lovelace", "trainer", "en"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let link = shown_link(&page.body, &app.url);
    let token = link.rsplit('/').next().unwrap().to_owned();
    // An admin created the same way gets hers in French.
    let page = admin
        .post("/users", &account("odile@example.org", "Odile Admin", "admin", "fr"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let admin_link = shown_link(&page.body, &app.url);
    // An account created with a password gets no welcome.
    let with_password = vec![
        ("email", "paul@example.org"),
        ("display_name", "Paul"),
        ("role", "manager"),
        ("locale", "fr"),
        ("time_zone", "Europe/Paris"),
        ("password", PASSWORD),
    ];
    assert_eq!(admin.post("/users", &with_password).await.status, StatusCode::OK);

    let lines = wait_delivered(&app).await;
    let welcomes: Vec<_> = lines.iter().filter(|l| l.message.kind == MailKind::Welcome).collect();
    assert_eq!(welcomes.len(), 2, "one welcome per account without a password");
    assert!(
        welcomes
            .iter()
            .all(|l| l.message.status == OutboxStatus::Sent && l.message.session_id.is_none())
    );
    let mails = smtp.wait_for(2).await;
    assert_eq!(
        mails.len(),
        2,
        "{:?}",
        mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
    let mail = one_to(&mails, "ada@example.com", "Your Dialogue account at Formation Exemple");
    assert!(mail.defects.is_empty(), "{:?}", mail.defects);
    assert_eq!(mail.content_language.as_deref(), Some("en"));
    assert!(mail.calendars.is_empty());
    let text = mail.text();
    assert!(text.contains("Hello Ada Lovelace"), "{text}");
    assert!(
        text.contains(&link),
        "the mailed link is the one the admin saw:\n{text}"
    );
    assert!(mail.html().contains(&link));
    assert!(
        text.contains("expires on") && text.contains("secretariat@example.org, 01 23 45 67 89"),
        "{text}"
    );
    assert!(!text.contains("Bonjour"));
    let french = one_to(
        &mails,
        "odile@example.org",
        "Votre compte Dialogue chez Formation Exemple",
    );
    assert_eq!(french.content_language.as_deref(), Some("fr"));
    assert!(french.text().contains(&admin_link) && french.text().contains("expire le"));

    // Finished: the token is nowhere in the database (only its hash), nor its sealed copy.
    let hits = app.db.find_text(&token).await.unwrap();
    assert!(hits.is_empty(), "the token is still stored in {hits:?}");
    assert!(app.db.find_text("sealed_token").await.unwrap().is_empty());
    let row = app
        .store()
        .outbox_message(&welcomes[0].message.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.snapshot, store::MailSnapshot::default());

    // The mailed link sets the password, then the trainer logs in.
    let path = link.strip_prefix(&app.url).unwrap().to_owned();
    let ada = app.browser().speaking("en");
    assert!(ada.get(&path).await.contains("ada@example.com"));
    let done = ada
        .post(&path, &[("password", PASSWORD), ("password_confirm", PASSWORD)])
        .await;
    assert_eq!(done.path, "/login", "{}", done.body);
    assert_eq!(ada.login("ada@example.com", PASSWORD).await.path, "/");
    assert_eq!(app.browser().get(&path).await.status, StatusCode::NOT_FOUND);

    // The admin's mail page lists them though they are about no session.
    let outbox_page = admin.get("/mail").await;
    assert_eq!(outbox_page.status, StatusCode::OK);
    assert!(outbox_page.contains("ada@example.com") && outbox_page.contains("Bienvenue"));
    assert!(!outbox_page.contains(&token));
}

async fn a_refused_welcome_leaks_its_link_neither_in_the_row_nor_in_the_logs(backend: Backend) {
    let smtp = Smtp::refusing(&["nina@example.org"]).await;
    let db = TestDb::new(backend).await;
    let dir = testkit::temp_dir("welcome");
    let port = testkit::free_port();
    let log = dir.join("server.log");
    let mut env = smtp.env();
    env.extend(
        [
            ("DIALOGUE_LISTEN", format!("127.0.0.1:{port}")),
            ("DIALOGUE_DATABASE_URL", db.url.clone()),
            ("DIALOGUE_DATA_DIR", dir.join("data").display().to_string()),
            ("DIALOGUE_PUBLIC_URL", format!("http://127.0.0.1:{port}")),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dialogue"));
    for (k, _) in std::env::vars() {
        if k.starts_with("DIALOGUE_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("DIALOGUE_CONFIG", "").env("DIALOGUE_LOG", "debug");
    for (k, v) in &env {
        cmd.env(k, v);
    }
    let file = std::fs::File::create(&log).unwrap();
    let mut child = cmd
        .arg("serve")
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .expect("start dialogue");
    testkit::wait_for_port(port, "dialogue").await;
    // The account is created with the server's own secret, as the service does.
    let secret = std::fs::read_to_string(dir.join("data/secret.key")).unwrap();
    let key = service::SecretKey::new(&hex_decode(secret.trim()));
    let mut store = Store::connect(&db.url, &ConnectOptions::default()).await.unwrap();
    store.set_link_secret(key.link_secret());
    let token = service::crypto::random_token();
    let hash = service::crypto::storage_hash(&token);
    let audit = AuditEntry::new("test", None, "test", None);
    let now = jiff::Timestamp::now();
    let new = NewUser {
        email: Email::parse("nina@example.org").unwrap(),
        display_name: DisplayName::parse("Nina").unwrap(),
        role: Role::Trainer,
        locale: Locale::En,
        time_zone: "Europe/Paris".into(),
        password_hash: None,
        auth_source: "local".into(),
        external_id: None,
    };
    let link = WelcomeLink {
        token: &token,
        token_hash: &hash,
        expires_at: now + SignedDuration::from_hours(72),
        audit: &audit,
    };
    store.create_user_welcomed(&new, &link, now, &audit).await.unwrap();
    let mut failed = None;
    for _ in 0..600 {
        let lines = store.list_outbox(&[OutboxStatus::Failed], 10, 0).await.unwrap();
        if let Some(line) = lines.into_iter().next() {
            failed = Some(line);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    let failed = failed.expect("the refused welcome is failed");
    let error = failed.message.last_error.clone().unwrap_or_default();
    assert!(error.contains("550"), "the reason is kept: {error}");
    assert!(!error.contains(&token));
    assert_eq!(failed.message.snapshot, store::MailSnapshot::default(), "wiped");
    assert!(db.find_text(&token).await.unwrap().is_empty());
    assert!(db.find_text("sealed_token").await.unwrap().is_empty());
    let logs = std::fs::read_to_string(&log).unwrap();
    assert!(logs.contains(&failed.message.id), "the delivery is logged:\n{logs}");
    assert!(!logs.contains(&token), "the token is in the logs");
    assert!(!logs.contains("sealed_token"));
    // An admin cannot queue it again (the link is gone): a new link is issued instead.
    assert!(
        store
            .retry_outbox(&failed.message.id, jiff::Timestamp::now(), &audit)
            .await
            .is_err()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn hex_decode(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// Default settings name no organisation: the welcome says "your Dialogue account", not "your
/// Dialogue account at Dialogue", in its subject, its text and its footer (issue 12).
async fn on_default_settings_the_welcome_names_dialogue_once(backend: Backend) {
    let smtp = Smtp::start().await;
    let env: Vec<(String, String)> = smtp
        .env()
        .into_iter()
        .filter(|(k, _)| !matches!(k.as_str(), "DIALOGUE_MAIL_ORGANIZATION" | "DIALOGUE_MAIL_CONTACT"))
        .map(|(k, v)| match k.as_str() {
            "DIALOGUE_MAIL_FROM" => (k, "formation@example.org".to_owned()),
            _ => (k, v),
        })
        .collect();
    let app = spawn(backend, &env).await;
    let (admin, _) = app.logged_in("root@example.org", Role::Admin).await;
    for (email, name, locale) in [
        ("ada@example.com", "Ada Lovelace", "en"),
        ("odile@example.org", "Odile Formatrice", "fr"),
    ] {
        let page = admin.post("/users", &account(email, name, "trainer", locale)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    }
    wait_delivered(&app).await;
    let mails = smtp.wait_for(2).await;
    let subjects: Vec<&str> = mails.iter().map(|m| m.subject.as_str()).collect();
    let french = mails
        .iter()
        .find(|m| m.to_addresses.iter().any(|a| a == "odile@example.org"))
        .expect("the French welcome");
    let english = mails
        .iter()
        .find(|m| m.to_addresses.iter().any(|a| a == "ada@example.com"))
        .expect("the English welcome");
    assert_eq!(french.subject, "Votre compte Dialogue", "{subjects:?}");
    assert_eq!(english.subject, "Your Dialogue account", "{subjects:?}");
    for mail in [french, english] {
        assert!(mail.defects.is_empty(), "{:?}", mail.defects);
        let text = mail.text();
        for doubled in [
            "Dialogue chez Dialogue",
            "Dialogue at Dialogue",
            "Dialogue avec Dialogue",
            "Dialogue with Dialogue",
        ] {
            assert!(
                !text.contains(doubled) && !mail.html().contains(doubled),
                "{doubled}: {text}"
            );
        }
        assert_eq!(
            text.matches("Dialogue a créé").count() + text.matches("Dialogue has created").count(),
            0,
            "{text}"
        );
    }
    assert!(
        french
            .text()
            .contains("Votre compte Dialogue (odile@example.org) vient d’être créé"),
        "{}",
        french.text()
    );
    assert!(
        french.text().contains("Message envoyé par Dialogue."),
        "{}",
        french.text()
    );
    assert!(english.text().contains("Sent by Dialogue."), "{}", english.text());
}
