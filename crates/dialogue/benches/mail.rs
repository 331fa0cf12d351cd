//! Mail and calendar figures, measured on the real application (in-process, SQLite):
//!
//! 1. Delivery throughput: 500 invitations (20 sessions × 25 people) written by one booking,
//!    delivered by the outbox worker to a local aiosmtpd (`tests/it/smtp_server.py`) with 1, 4
//!    and 8 deliveries at a time, and to `.eml` files; from the booking's commit to the last
//!    message marked sent.
//! 2. A trainer's feed of 1,000 sessions: `GET /ical/{key}.ics` over HTTP (database, render,
//!    ETag), the same with `If-None-Match` (304), and the render alone.
//!
//! Run: `bash bench/mail/run.sh` (or `cargo bench -p dialogue --bench mail`).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use dialogue::Application;
use dialogue::config::{Sources, load};
use domain::booking::Person;
use domain::{DisplayName, Email, Locale, Role};
use jiff::{SignedDuration, Timestamp};
use store::{AuditEntry, NewSessions, NewUser, People, Store, User};

const SESSIONS: usize = 20;
const LEARNERS: usize = 24;
const FEED_SESSIONS: usize = 1_000;
const FEED_RUNS: usize = 30;

struct Running {
    state: web::AppState,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    _db: testkit::TestDb,
    data: std::path::PathBuf,
}

async fn start(env: &[(&str, String)]) -> Running {
    let db = testkit::TestDb::new(testkit::Backend::Sqlite).await;
    let data = testkit::temp_dir("bench-data");
    let mut all: Vec<(String, String)> = vec![
        ("DIALOGUE_LISTEN".into(), "127.0.0.1:0".into()),
        ("DIALOGUE_DATABASE_URL".into(), db.url.clone()),
        ("DIALOGUE_DATA_DIR".into(), data.display().to_string()),
        ("DIALOGUE_LOG_LEVEL".into(), "warn".into()),
        ("DIALOGUE_MAIL_POLL_SECONDS".into(), "1".into()),
        ("DIALOGUE_MAIL_REMINDERS".into(), String::new()),
    ];
    all.extend(env.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    let (config, _) = load(&Sources { file: None, env: all }).expect("configuration");
    let app = Application::build(&config, service::Clock::system())
        .await
        .expect("start");
    let state = app.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    Running {
        state,
        stop,
        task,
        _db: db,
        data,
    }
}

impl Running {
    async fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
        let _ = std::fs::remove_dir_all(&self.data);
    }
}

async fn account(store: &Store, email: &str, role: Role) -> User {
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
    store
        .create_user(
            &new,
            jiff::Timestamp::now(),
            &AuditEntry::new("bench", None, "bench", None),
        )
        .await
        .unwrap()
}

/// Books `times` with one trainer and `learners` learners each, in one transaction.
async fn book(store: &Store, times: Vec<(Timestamp, Timestamp)>, learners: usize) -> (User, Vec<store::SessionDetail>) {
    let trainer = account(store, "theo@example.org", Role::Trainer).await;
    let manager = account(store, "manon@example.org", Role::Manager).await;
    let people = People {
        trainers: vec![Email::parse("theo@example.org").unwrap()],
        moderators: vec![],
        learners: (0..learners)
            .map(|i| Person {
                name: DisplayName::parse(&format!("Apprenant·e {i}")).unwrap(),
                email: Email::parse(&format!("learner{i}@example.org")).unwrap(),
            })
            .collect(),
        guests: vec![],
        external_moderators_only: false,
        ..Default::default()
    };
    let booked = store
        .book_sessions(
            &NewSessions {
                course_id: None,
                title: "Tableur avancé — révisions".into(),
                notes: "Apportez un casque.".into(),
                time_zone: "Europe/Paris".into(),
                times,
                rrule: None,
                people,
                created_by: manager.id,
                jitsi_server_id: None,
            },
            jiff::Timestamp::now(),
            &AuditEntry::new("bench", None, "bench", None),
        )
        .await
        .unwrap();
    (trainer, booked)
}

/// Sessions from tomorrow on, `per_day` a day at 09:00, 11:00, 14:00… (90 minutes each).
fn times(count: usize, per_day: usize) -> Vec<(Timestamp, Timestamp)> {
    let base = Timestamp::from_second((Timestamp::now().as_second() / 86_400 + 1) * 86_400 + 8 * 3600).unwrap();
    (0..count)
        .map(|i| {
            let start = base
                + SignedDuration::from_hours(24 * (i / per_day) as i64)
                + SignedDuration::from_hours(2 * (i % per_day) as i64);
            (start, start + SignedDuration::from_mins(90))
        })
        .collect()
}

async fn wait_sent(store: &Store, n: i64) {
    loop {
        let counts = store.outbox_counts().await.unwrap();
        if counts.sent + counts.failed >= n {
            assert_eq!(counts.failed, 0, "{counts:?}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn aiosmtpd(port: u16, maildir: &Path) -> Child {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/smtp_server.py");
    Command::new("python3")
        .arg(script)
        .args(["--port", &port.to_string(), "--maildir", &maildir.display().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with aiosmtpd (python3 -m pip install aiosmtpd)")
}

fn median(mut d: Vec<Duration>) -> (Duration, Duration, Duration) {
    d.sort();
    (d[d.len() / 2], d[0], d[d.len() - 1])
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let messages = (SESSIONS * (LEARNERS + 1)) as i64;
    println!(
        "## delivery: {messages} invitations ({SESSIONS} sessions × {} people)",
        LEARNERS + 1
    );
    let smtp_port = testkit::free_port();
    let smtp_dir = testkit::temp_dir("bench-smtp");
    let mut smtp = aiosmtpd(smtp_port, &smtp_dir.join("maildir"));
    testkit::wait_for_port(smtp_port, "aiosmtpd").await;
    let mut runs: Vec<(String, Vec<(&str, String)>)> = [1, 4, 8]
        .into_iter()
        .map(|c| {
            (
                format!("SMTP (aiosmtpd), {c} at a time"),
                vec![
                    ("DIALOGUE_MAIL_TRANSPORT", "smtp".to_owned()),
                    ("DIALOGUE_MAIL_SMTP_HOST", "127.0.0.1".to_owned()),
                    ("DIALOGUE_MAIL_SMTP_PORT", smtp_port.to_string()),
                    ("DIALOGUE_MAIL_SMTP_SECURITY", "none".to_owned()),
                    ("DIALOGUE_MAIL_CONCURRENCY", c.to_string()),
                ],
            )
        })
        .collect();
    runs.push((
        ".eml files, 4 at a time".to_owned(),
        vec![("DIALOGUE_MAIL_CONCURRENCY", "4".to_owned())],
    ));
    for (label, env) in runs {
        let app = start(&env).await;
        let store = app.state.service().store().clone();
        let (_, _) = book(&store, times(SESSIONS, 4), LEARNERS).await;
        let started = Instant::now();
        store.wake_outbox();
        wait_sent(&store, messages).await;
        let took = started.elapsed();
        println!(
            "{label}: {} for {messages} messages, {:.0} messages/s",
            ms(took),
            messages as f64 / took.as_secs_f64()
        );
        app.finish().await;
    }
    let _ = smtp.kill();
    let _ = smtp.wait();
    let _ = std::fs::remove_dir_all(&smtp_dir);

    println!("## feed: a trainer teaching {FEED_SESSIONS} sessions (3 a day, a year ahead)");
    let app = start(&[]).await;
    let store = app.state.service().store().clone();
    let (trainer, _) = book(&store, times(FEED_SESSIONS, 3), 2).await;
    // Let the 3,000 invitations leave first, so that they do not share the CPU with the feed.
    wait_sent(&store, (FEED_SESSIONS * 3) as i64).await;
    let url = service::feeds::feed_url(app.state.service(), &trainer).await.unwrap();
    let client = testkit::client();
    let first = client.get(&url).send().await.unwrap();
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let body = first.text().await.unwrap();
    println!(
        "feed: {} bytes, {} events",
        body.len(),
        body.matches("BEGIN:VEVENT").count()
    );
    let mut full = Vec::new();
    let mut cached = Vec::new();
    for _ in 0..FEED_RUNS {
        let t = Instant::now();
        let r = client.get(&url).send().await.unwrap();
        let _ = r.bytes().await.unwrap();
        full.push(t.elapsed());
        let t = Instant::now();
        let r = client.get(&url).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(r.status(), 304);
        cached.push(t.elapsed());
    }
    let now = Timestamp::now();
    let sessions = store
        .feed_sessions(
            &trainer.id,
            false,
            now - SignedDuration::from_hours(24 * 30),
            now + SignedDuration::from_hours(24 * 365),
        )
        .await
        .unwrap();
    let series = service::feeds::feed_series(app.state.service(), &sessions)
        .await
        .unwrap();
    let mut render = Vec::new();
    let mut query = Vec::new();
    for _ in 0..FEED_RUNS {
        let t = Instant::now();
        let s = store
            .feed_sessions(
                &trainer.id,
                false,
                now - SignedDuration::from_hours(24 * 30),
                now + SignedDuration::from_hours(24 * 365),
            )
            .await
            .unwrap();
        query.push(t.elapsed());
        std::hint::black_box(s);
        let t = Instant::now();
        std::hint::black_box(service::feeds::render_feed(
            app.state.service(),
            &trainer,
            &sessions,
            &series,
        ));
        render.push(t.elapsed());
    }
    for (label, d) in [
        ("GET /ical/{key}.ics (200)", full),
        ("GET with If-None-Match (304)", cached),
        ("  of which the two queries", query),
        ("  of which rendering (events, links, VTIMEZONE, folding)", render),
    ] {
        let (mid, min, max) = median(d);
        println!(
            "{label}: median {} (min {}, max {}, {FEED_RUNS} runs)",
            ms(mid),
            ms(min),
            ms(max)
        );
    }
    app.finish().await;
}
