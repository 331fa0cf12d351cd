//! Operations, read from the real binary's log: an SMTP outage logged as one WARN and one
//! recovery line (not a line per attempt), and a PostgreSQL start without the migration
//! bookkeeping's NOTICEs.

use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use serde_json::Value;
use testkit::{Backend, TestDb, both_backends};

use crate::mail_faults::{book_from_outside, serve_logging};
use crate::mailkit::Smtp;

both_backends!(an_smtp_outage_is_one_warning_and_one_recovery_line);

/// The JSON lines of a log file.
fn json_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn message(line: &Value) -> &str {
    line["message"].as_str().unwrap_or_default()
}

/// Waits (60 s at most) until the log has a line with this message.
async fn logged(path: &Path, text: &str) -> Vec<Value> {
    for _ in 0..600 {
        let lines = json_lines(path);
        if lines.iter().any(|l| message(l) == text) {
            return lines;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "no {text:?} in the log:\n{}",
        std::fs::read_to_string(path).unwrap_or_default()
    );
}

fn stop(mut child: Child) {
    let stopped = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    assert!(child.wait().unwrap().success(), "a graceful stop");
}

async fn an_smtp_outage_is_one_warning_and_one_recovery_line(backend: Backend) {
    let mut smtp = Smtp::down(testkit::free_port());
    let db = TestDb::new(backend).await;
    let dir = testkit::temp_dir("outage");
    let log = dir.join("dialogue.log");
    let port = testkit::free_port();
    let mut env = smtp.env();
    env.extend(
        [
            ("DIALOGUE_LISTEN", format!("127.0.0.1:{port}")),
            ("DIALOGUE_DATABASE_URL", db.url.clone()),
            ("DIALOGUE_DATA_DIR", dir.join("data").display().to_string()),
            ("DIALOGUE_LOG_FORMAT", "json".to_owned()),
            ("DIALOGUE_LOG_LEVEL", "info".to_owned()),
        ]
        .map(|(k, v)| (k.to_owned(), v)),
    );
    let child = serve_logging(&env, std::fs::File::create(&log).unwrap());
    testkit::wait_for_port(port, "dialogue").await;
    // Eleven messages (a trainer, ten learners), nobody listening on the SMTP port.
    let learners: Vec<(String, String)> = (0..10)
        .map(|i| (format!("Personne {i}"), format!("personne{i}@example.org")))
        .collect();
    let learners: Vec<(&str, &str)> = learners.iter().map(|(n, e)| (n.as_str(), e.as_str())).collect();
    let (store, first) = book_from_outside(&db.url, &dir.join("data"), "Pendant la panne", 48, &learners).await;
    logged(
        &log,
        "mail server outage: messages are waiting and retried with backoff",
    )
    .await;
    for _ in 0..600 {
        let rows = store.session_outbox(&first.session.id).await.unwrap();
        if rows.len() == 11 && rows.iter().all(|m| m.attempts >= 1 && m.last_error.is_some()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The server is back: the next message goes through, and the recovery is said once.
    smtp.restart().await;
    book_from_outside(
        &db.url,
        &dir.join("data"),
        "Après la panne",
        72,
        &[("Léa", "lea@example.org")],
    )
    .await;
    let lines = logged(&log, "mail delivery recovered").await;
    let rows = store.session_outbox(&first.session.id).await.unwrap();
    let attempts: i64 = rows.iter().map(|m| m.attempts).sum();
    assert!(attempts >= 11, "{rows:?}");
    // (The other WARN of a first start is the setup link: no administrator yet.)
    let warnings: Vec<&Value> = lines
        .iter()
        .filter(|l| l["level"] == "WARN" && !message(l).starts_with("no administrator yet"))
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "one WARN for the outage, nothing else: {warnings:#?}"
    );
    assert_eq!(
        message(warnings[0]),
        "mail server outage: messages are waiting and retried with backoff"
    );
    assert!(warnings[0]["failures"].as_u64().unwrap() >= 10, "{:?}", warnings[0]);
    assert!(warnings[0]["error"].as_str().is_some_and(|e| !e.is_empty()));
    let count = |text: &str| lines.iter().filter(|l| message(l) == text).count();
    assert_eq!(count("mail server not accepting messages: retrying later"), 1);
    assert_eq!(count("mail delivery recovered"), 1);
    // Each message's retry is not at INFO any more.
    assert_eq!(count("message delayed"), 0);
    let recovered = lines.iter().find(|l| message(l) == "mail delivery recovered").unwrap();
    assert_eq!(recovered["level"], "INFO");
    assert!(recovered["failures"].as_u64().unwrap() >= 11, "{recovered:?}");
    stop(child);
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// `dialogue serve` on PostgreSQL, started twice on one database: neither start logs
/// PostgreSQL's "relation \"schema_migrations\" already exists, skipping" (sqlx logs server
/// NOTICEs at INFO, target `sqlx::postgres::notice`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgresql_start_logs_no_migration_notices() {
    let db = TestDb::new(Backend::Postgres).await;
    let dir = testkit::temp_dir("notices");
    let port = testkit::free_port();
    let env: Vec<(String, String)> = [
        ("DIALOGUE_LISTEN", format!("127.0.0.1:{port}")),
        ("DIALOGUE_DATABASE_URL", db.url.clone()),
        ("DIALOGUE_DATA_DIR", dir.join("data").display().to_string()),
        ("DIALOGUE_LOG_LEVEL", "info".to_owned()),
    ]
    .map(|(k, v)| (k.to_owned(), v))
    .into();
    for start in ["first", "second"] {
        let log = dir.join(format!("{start}.log"));
        let child = serve_logging(&env, std::fs::File::create(&log).unwrap());
        testkit::wait_for_port(port, "dialogue").await;
        // The log is there, at INFO (the notices would be INFO lines too), up to the worker.
        for _ in 0..600 {
            if std::fs::read_to_string(&log)
                .unwrap()
                .contains("mail outbox worker started")
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        stop(child);
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.contains("mail outbox worker started"), "{start} start:\n{text}");
        assert!(!text.contains("already exists"), "{start} start:\n{text}");
        assert!(!text.contains("sqlx::postgres::notice"), "{start} start:\n{text}");
    }
    let _ = std::fs::remove_dir_all(dir);
}
