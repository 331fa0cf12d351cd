//! Operations, read from the real binary's log: an SMTP outage logged as one WARN and one
//! recovery line (not a line per attempt), a PostgreSQL start without the migration
//! bookkeeping's NOTICEs, two live processes refused the same instance name, and a SIGTERM sent
//! the moment the port answers taken as a graceful stop.

use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use serde_json::Value;
use testkit::{Backend, TestDb, both_backends};

use crate::mail_faults::{book_from_outside, serve_logging};
use crate::mailkit::Smtp;

both_backends!(
    an_smtp_outage_is_one_warning_and_one_recovery_line,
    two_live_instances_never_share_a_name,
);

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

/// A stop asked the moment the port answers (a `systemctl stop` right after a start) is a
/// graceful one: the signal handlers are in place before the listener is bound. They were taken
/// over lazily, when the server first waited for them, and such a SIGTERM killed the process
/// (seen on CI in the test above).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_as_soon_as_the_port_answers_is_graceful() {
    let dir = testkit::temp_dir("early-stop");
    for round in 0..5 {
        let port = testkit::free_port();
        let env: Vec<(String, String)> = [
            ("DIALOGUE_LISTEN", format!("127.0.0.1:{port}")),
            ("DIALOGUE_DATA_DIR", dir.join("data").display().to_string()),
            ("DIALOGUE_LOG_LEVEL", "info".to_owned()),
        ]
        .map(|(k, v)| (k.to_owned(), v))
        .into();
        let log = dir.join(format!("{round}.log"));
        let child = serve_logging(&env, std::fs::File::create(&log).unwrap());
        let mut answered = false;
        for _ in 0..5000 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                answered = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(answered, "round {round}: the port did not answer within 10 s");
        stop(child);
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(text.contains("SIGTERM received"), "round {round}:\n{text}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Waits (60 s at most) for the process to exit by itself.
async fn exited(child: &mut Child) -> std::process::ExitStatus {
    for _ in 0..600 {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    panic!("still running after 60 s");
}

/// Another process's claim of an instance name, as `dialogue serve` on some host records it.
fn holder(name: &str, host: &str, pid: i64, heartbeat_at: jiff::Timestamp) -> store::InstanceHolder {
    store::InstanceHolder {
        name: name.to_owned(),
        boot_id: format!("boot-{host}-{pid}"),
        host: host.to_owned(),
        pid,
        started_at: heartbeat_at,
        heartbeat_at,
        heartbeat_seconds: 2,
    }
}

/// `mail.instance` names the owner of an instance's outbox leases, which it takes back at
/// start: two live processes under one name would take back each other's messages. So a start
/// under a name whose holder is alive (heartbeat fresh; on this host its pid running) is
/// refused, naming that holder; a holder gone (silent on another host, or killed here) is
/// taken over at once; and a running instance whose name is taken says so once at ERROR,
/// counts it in `/metrics`, and keeps running.
async fn two_live_instances_never_share_a_name(backend: Backend) {
    let db = TestDb::new(backend).await;
    let dir = testkit::temp_dir("instance");
    let store = store::Store::connect(&db.url, &store::ConnectOptions::default())
        .await
        .unwrap();
    store.migrate(jiff::Timestamp::now()).await.unwrap();
    let (port_a, port_b) = (testkit::free_port(), testkit::free_port());
    let env = |port: u16| -> Vec<(String, String)> {
        [
            ("DIALOGUE_LISTEN", format!("127.0.0.1:{port}")),
            ("DIALOGUE_DATABASE_URL", db.url.clone()),
            ("DIALOGUE_DATA_DIR", dir.join("data").display().to_string()),
            ("DIALOGUE_MAIL_INSTANCE", "salle-a".to_owned()),
            ("DIALOGUE_MAIL_HEARTBEAT_SECONDS", "2".to_owned()),
            ("DIALOGUE_LOG_FORMAT", "json".to_owned()),
            ("DIALOGUE_LOG_LEVEL", "info".to_owned()),
        ]
        .map(|(k, v)| (k.to_owned(), v))
        .into()
    };
    let log = |n: &str| dir.join(format!("{n}.log"));
    let start = |port: u16, n: &str| serve_logging(&env(port), std::fs::File::create(log(n)).unwrap());
    let refused = |n: &str| std::fs::read_to_string(log(n)).unwrap();
    let alive_only = |_: &store::InstanceHolder| true;

    // A live process on another host holds the name: refused, and told who and what to do.
    let elsewhere = holder("salle-a", "autre-serveur", 4242, jiff::Timestamp::now());
    let claim = store.claim_instance(&elsewhere, &alive_only).await.unwrap();
    assert_eq!(claim, store::InstanceClaim::Taken { previous: None });
    let mut first = start(port_a, "refused-elsewhere");
    assert!(!exited(&mut first).await.success());
    assert_eq!(
        setup_tokens(&db),
        0,
        "a refused start wrote nothing, not even the first administrator's setup link"
    );
    let text = refused("refused-elsewhere");
    for part in [
        "\"salle-a\"",
        "mail.instance",
        "process 4242 on host autre-serveur",
        "DIALOGUE_MAIL_INSTANCE",
    ] {
        assert!(text.contains(part), "{part:?} in:\n{text}");
    }
    // Silent for longer than three heartbeats: gone; the start takes the name over.
    let silent = holder(
        "salle-a",
        "autre-serveur",
        4242,
        jiff::Timestamp::now() - jiff::SignedDuration::from_mins(5),
    );
    store.claim_instance(&silent, &alive_only).await.unwrap();
    let mut a = start(port_a, "a");
    testkit::wait_for_port(port_a, "dialogue").await;
    assert_eq!(
        setup_tokens(&db),
        1,
        "a start that takes the name writes its setup link"
    );
    let lines = logged(&log("a"), "instance name taken over from a process that is gone").await;
    let taken = lines
        .iter()
        .find(|l| message(l) == "instance name taken over from a process that is gone")
        .unwrap();
    assert_eq!(taken["previous_host"], "autre-serveur", "{taken:?}");

    // A second process under the same name on this host, while the first runs: refused,
    // naming the first one's pid and host.
    let mut b = start(port_b, "refused-here");
    assert!(!exited(&mut b).await.success());
    let text = refused("refused-here");
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let here = format!("process {} on host {}", a.id(), host.trim());
    assert!(text.contains(&here), "{here:?} in:\n{text}");
    assert!(
        testkit::get(format!("http://127.0.0.1:{port_a}/healthz"))
            .await
            .unwrap()
            .status()
            .is_success()
    );

    // The first one killed (kill -9): a start right after takes the name over at once.
    a.kill().unwrap();
    a.wait().unwrap();
    let b = start(port_b, "b");
    testkit::wait_for_port(port_b, "dialogue").await;
    let lines = logged(&log("b"), "instance name taken over from a process that is gone").await;
    let taken = lines
        .iter()
        .find(|l| message(l) == "instance name taken over from a process that is gone")
        .unwrap();
    assert_eq!(taken["previous_pid"], a.id(), "{taken:?}");

    // Another process takes the name while this one runs (as one would after this one went
    // silent): it says so once at ERROR, counts it, and goes on serving.
    let intruder = holder("salle-a", "intrus", 77, jiff::Timestamp::now());
    let never_alive = |_: &store::InstanceHolder| false;
    store.claim_instance(&intruder, &never_alive).await.unwrap();
    let error = "another process took this instance's name (mail.instance): two live instances share it; give each \
                 its own mail.instance. This one now leases mail under a random owner and takes nothing back";
    logged(&log("b"), error).await;
    let metrics = crate::metrics::scrape_url(&format!("http://127.0.0.1:{port_b}")).await;
    assert_eq!(
        crate::metrics::value(&metrics, "dialogue_instance_name_conflicts_total", &[]),
        1.0
    );
    // Still once after more heartbeats.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let lines = json_lines(&log("b"));
    let errors: Vec<&Value> = lines.iter().filter(|l| l["level"] == "ERROR").collect();
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0]["other_host"], "intrus");
    stop(b);
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
}

/// The first administrator's setup links in the database, counted by its command-line client.
fn setup_tokens(db: &TestDb) -> u32 {
    let query = "SELECT COUNT(*) FROM one_time_tokens WHERE purpose = 'setup'";
    let out = match db.url.strip_prefix("sqlite:") {
        Some(file) => Command::new("sqlite3").arg(file).arg(query).output(),
        None => Command::new("psql").arg(&db.url).args(["-Atc", query]).output(),
    }
    .expect("sqlite3 and psql (apt-get install -y sqlite3 postgresql-client)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}
