//! Booking and a trainer's dashboard with 1,000 and with 100,000 sessions in the database (1,000
//! trainers), measured in one run over HTTP against the real server: `bash bench/booking/run.sh`.
//!
//! ```text
//! cargo run --release --example booking_bench -- [--backend sqlite|postgres] [--sessions 100000]
//!     [--trainers 1000] [--samples 1000]
//! ```
//!
//! Two servers run in this process, each on its own database of the chosen backend: one holding
//! 1,000 sessions, the other 100,000. Their requests alternate (small, large, large, small, …),
//! one at a time, so both sizes are measured under the same load of a shared machine and the
//! ratio between them means something even when the machine is busy.
//!
//! In both databases the measured trainer has the same five upcoming sessions, so their
//! dashboard shows the same page; in the large one they also have 95 past sessions, and every
//! other trainer about a hundred spread over two years (one each in the small one). A booking
//! goes through `POST /api/v1/sessions` (token check, validation, conflict check against that
//! trainer's sessions, the writes, the answer) for one of the other trainers at a free time.
//! PostgreSQL: `DIALOGUE_TEST_POSTGRES_URL` as for the tests. `BENCH_KEEP=1` keeps the
//! databases and prints where they are.
//!
//! Last, the largest booking one request may make (the default budget of 2,000 participations:
//! ten daily sessions of one trainer and 199 learners) is posted to the small server while the
//! measured trainer reloads their dashboard in a loop: what a big legitimate booking costs the
//! others (review finding 2 asked that it not stall them for seconds).

use std::time::{Duration, Instant};

use dialogue::Application;
use dialogue::config::{Sources, load};
use domain::booking::Person;
use domain::{DisplayName, Email, Locale, Role};
use jiff::{SignedDuration, Timestamp};
use store::{AuditEntry, NewSessions, NewUser, People, Store};
use testkit::{Backend, TestDb};

struct Args {
    backend: Backend,
    sessions: usize,
    trainers: usize,
    samples: usize,
}

fn args() -> Args {
    let mut out = Args {
        backend: Backend::Sqlite,
        sessions: 100_000,
        trainers: 1000,
        samples: 1000,
    };
    let list: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < list.len() {
        let value = list.get(i + 1).cloned().unwrap_or_default();
        match list[i].as_str() {
            "--backend" => {
                out.backend = match value.as_str() {
                    "postgres" => Backend::Postgres,
                    "sqlite" => Backend::Sqlite,
                    other => panic!("--backend sqlite|postgres, not {other}"),
                }
            }
            "--sessions" => out.sessions = value.parse().expect("--sessions N"),
            "--trainers" => out.trainers = value.parse().expect("--trainers N"),
            "--samples" => out.samples = value.parse().expect("--samples N"),
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    assert!(
        out.trainers >= 2 && out.sessions >= 1100,
        "--trainers 2 or more, --sessions 1100 or more"
    );
    out
}

const PASSWORD: &str = "bench password 2026";

fn audit() -> AuditEntry {
    AuditEntry::new("bench", None, "bench", None)
}

async fn account(store: &Store, email: &str, role: Role, password_hash: Option<String>) -> String {
    store
        .create_user(
            &NewUser {
                email: Email::parse(email).unwrap(),
                display_name: DisplayName::parse(email.split('@').next().unwrap()).unwrap(),
                role,
                locale: Locale::Fr,
                time_zone: "Europe/Paris".into(),
                password_hash,
                auth_source: "local".into(),
                external_id: None,
            },
            jiff::Timestamp::now(),
            &audit(),
        )
        .await
        .unwrap()
        .id
}

fn learners(seed: usize) -> Vec<Person> {
    (0..3)
        .map(|j| {
            let n = (seed * 7 + j * 613) % 2000;
            Person {
                name: DisplayName::parse(&format!("Apprenant·e {n}")).unwrap(),
                email: Email::parse(&format!("l{n}@example.org")).unwrap(),
            }
        })
        .collect()
}

/// Books `times` for `trainer` in one transaction (each its own session).
async fn fill(store: &Store, trainer: &str, times: Vec<(Timestamp, Timestamp)>, seed: usize, creator: &str) {
    if times.is_empty() {
        return;
    }
    store
        .book_sessions(
            &NewSessions {
                course_id: None,
                title: format!("Séance {seed}"),
                notes: String::new(),
                time_zone: "Europe/Paris".into(),
                times,
                rrule: None,
                people: People {
                    trainers: vec![Email::parse(trainer).unwrap()],
                    learners: learners(seed),
                    ..Default::default()
                },
                created_by: creator.into(),
                jitsi_server_id: None,
            },
            jiff::Timestamp::now(),
            &audit(),
        )
        .await
        .unwrap();
}

/// One server on its own database, with a logged-in trainer and a manager's API token.
struct Server {
    url: String,
    /// Logged in as the measured trainer.
    browser: reqwest::Client,
    token: String,
    others: Vec<String>,
    sessions: usize,
    db: TestDb,
    data: std::path::PathBuf,
}

/// Midnight UTC today plus `day` days and `h` hours, for one hour.
fn slot(day0: Timestamp, day: i64, h: i64) -> (Timestamp, Timestamp) {
    let start = day0 + SignedDuration::from_hours(24 * day + h);
    (start, start + SignedDuration::from_hours(1))
}

/// The seed's messages and reminders as if they had gone out when due.
const STEADY_OUTBOX: &str = "UPDATE outbox SET status = 'sent', sent_at = updated_at WHERE status IN ('queued', 'sending'); \
     UPDATE reminders SET enqueued_at = due_at WHERE enqueued_at IS NULL";

async fn server(args: &Args, large: bool, day0: Timestamp, password_hash: &str) -> Server {
    let db = TestDb::new(args.backend).await;
    let data = testkit::temp_dir("bench-booking");
    let env: Vec<(String, String)> = [
        ("DIALOGUE_LISTEN", "127.0.0.1:0".to_owned()),
        ("DIALOGUE_DATABASE_URL", db.url.clone()),
        ("DIALOGUE_DATA_DIR", data.display().to_string()),
        ("DIALOGUE_LOG_LEVEL", "warn".to_owned()),
        // One manager books thousands of sessions here within minutes, which the hourly budget
        // (5,000 participations per account) is there to refuse; the per-request one stays.
        ("DIALOGUE_BOOKING_MAX_PARTICIPATIONS_PER_HOUR", "10000000".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let (config, _) = load(&Sources { file: None, env }).expect("configuration");
    let app = Application::build(&config, service::Clock::system())
        .await
        .expect("server");
    let url = format!("http://{}", app.local_addr());
    let store = app.state().service().store().clone();
    tokio::spawn(app.run_until(std::future::pending()));

    let manager = account(&store, "manager@example.org", Role::Manager, None).await;
    account(
        &store,
        "bench@example.org",
        Role::Trainer,
        Some(password_hash.to_owned()),
    )
    .await;
    let others: Vec<String> = (0..args.trainers - 1).map(|i| format!("t{i}@example.org")).collect();
    for email in &others {
        account(&store, email, Role::Trainer, None).await;
    }
    let token = service::crypto::random_token();
    store
        .create_api_token(
            &manager,
            "bench",
            &service::crypto::storage_hash(&token),
            jiff::Timestamp::now(),
            &audit(),
        )
        .await
        .unwrap();

    // Both: the measured trainer's five upcoming sessions.
    fill(
        &store,
        "bench@example.org",
        (1..=5).map(|d| slot(day0, d, 9)).collect(),
        0,
        &manager,
    )
    .await;
    // Every other trainer's history: week k of the last and the next year, on their own weekday
    // and hour. The small database has one of them each (for 995 trainers: 1,000 in all).
    let per_trainer = (args.sessions - 100).div_ceil(others.len());
    let k0 = 53.min(per_trainer - 1);
    let day_of = |i: usize, k: usize| -364 + (k as i64) * 7 + (i % 7) as i64;
    let hour_of = |i: usize| 8 + (i % 10) as i64;
    let started = Instant::now();
    let mut total = 5;
    if large {
        fill(
            &store,
            "bench@example.org",
            (1..=95).map(|d| slot(day0, -d, 9)).collect(),
            1,
            &manager,
        )
        .await;
        total += 95;
        for (i, email) in others.iter().enumerate() {
            let times: Vec<_> = (0..per_trainer)
                .take(args.sessions - total)
                .map(|k| slot(day0, day_of(i, k), hour_of(i)))
                .collect();
            total += times.len();
            fill(&store, email, times, i, &manager).await;
            if i % 200 == 199 {
                eprintln!("bench: {total} sessions after {:.0}s", started.elapsed().as_secs_f64());
            }
        }
    } else {
        for (i, email) in others.iter().enumerate().take(995) {
            fill(&store, email, vec![slot(day0, day_of(i, k0), hour_of(i))], i, &manager).await;
            total += 1;
        }
    }

    // A real database's past invitations went out when they were booked: without this the
    // mail worker delivers the seed's hundreds of thousands during the measurement, and
    // bookings wait behind its commits (BENCHMARKS.md, 2026-12-02).
    db.execute(STEADY_OUTBOX)
        .await
        .expect("the seed's mail marked delivered");

    let browser = testkit::http().cookie_store(true).build().unwrap();
    let login = browser
        .get(format!("{url}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let needle = "name=\"_csrf\" value=\"";
    let at = login.find(needle).unwrap() + needle.len();
    let csrf = login[at..at + login[at..].find('"').unwrap()].to_owned();
    let r = browser
        .post(format!("{url}/login"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("email", "bench@example.org"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "login");
    Server {
        url,
        browser,
        token,
        others,
        sessions: total,
        db,
        data,
    }
}

/// p50 and p99 of durations, in milliseconds.
fn percentiles(mut d: Vec<Duration>) -> (f64, f64) {
    d.sort();
    let at = |q: f64| {
        let i = ((d.len() as f64 - 1.0) * q).round() as usize;
        d[i].as_secs_f64() * 1000.0
    };
    (at(0.50), at(0.99))
}

/// Books one session for another trainer at a free time (after all their sessions).
async fn book(api: &reqwest::Client, s: &Server, n: usize, day0: Timestamp) -> Duration {
    let trainer = &s.others[n % s.others.len()];
    let day = 400 + (n / s.others.len()) as i64;
    let (start, _) = slot(day0, day, 10);
    let body = serde_json::json!({
        "title": "Réservation mesurée",
        "starts_at": start.to_string(),
        "time_zone": "Europe/Paris",
        "duration_minutes": 60,
        "trainers": [trainer],
        "learners": [{ "name": "Léa", "email": "lea@example.org" }, { "name": "Max", "email": "max@example.org" }],
    });
    let t = Instant::now();
    let r = api
        .post(format!("{}/api/v1/sessions", s.url))
        .bearer_auth(&s.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let _ = r.bytes().await.unwrap();
    let elapsed = t.elapsed();
    assert_eq!(status.as_u16(), 201, "booking failed");
    elapsed
}

/// Renders the measured trainer's dashboard.
async fn dashboard(s: &Server) -> Duration {
    dashboard_at(&s.url, &s.browser).await
}

async fn dashboard_at(url: &str, browser: &reqwest::Client) -> Duration {
    let t = Instant::now();
    let r = browser.get(format!("{url}/")).send().await.unwrap();
    let status = r.status();
    let page = r.text().await.unwrap();
    let elapsed = t.elapsed();
    assert_eq!(status.as_u16(), 200);
    assert!(
        page.contains("Mes séances") && page.matches("class=\"session-card\" data-session").count() == 5,
        "the dashboard shows the five upcoming sessions"
    );
    elapsed
}

/// Posts the largest booking the default budget allows while the dashboard reloads in a loop,
/// and prints what it took and what the dashboard saw meanwhile (`before`: its p50 and p99 in
/// the main run).
async fn largest_booking(s: &Server, day0: Timestamp, before: &(f64, f64)) {
    let (start, _) = slot(day0, 800, 14);
    let learners: Vec<_> = (0..199)
        .map(|i| serde_json::json!({ "name": format!("Apprenant {i}"), "email": format!("large{i}@example.org") }))
        .collect();
    let body = serde_json::json!({
        "title": "La plus grande réservation permise",
        "starts_at": start.to_string(),
        "time_zone": "Europe/Paris",
        "duration_minutes": 60,
        "trainers": [&s.others[0]],
        "learners": learners,
        "recurrence": "FREQ=DAILY;COUNT=10",
    });
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reloads = {
        let done = done.clone();
        let (url, browser) = (s.url.clone(), s.browser.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                seen.push(dashboard_at(&url, &browser).await);
            }
            seen
        })
    };
    // Let the loop start before the booking does.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t = Instant::now();
    let r = testkit::client()
        .post(format!("{}/api/v1/sessions", s.url))
        .bearer_auth(&s.token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status();
    let _ = r.bytes().await.unwrap();
    let took = t.elapsed();
    assert_eq!(status.as_u16(), 201, "the largest booking is within the budget");
    tokio::time::sleep(Duration::from_millis(200)).await;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = reloads.await.unwrap();
    let worst = seen.iter().max().copied().unwrap_or_default();
    let (p50, p99) = percentiles(seen.clone());
    println!(
        "\nThe largest booking one request may make (10 daily sessions × 200 people = 2,000 participations \
         and invitations): {:.0} ms. The dashboard meanwhile ({} reloads, from 200 ms before to 200 ms after): \
         p50 {p50:.2} ms, p99 {p99:.2} ms, worst {:.1} ms (main run: p50 {:.2} ms, p99 {:.2} ms).",
        took.as_secs_f64() * 1000.0,
        seen.len(),
        worst.as_secs_f64() * 1000.0,
        before.0,
        before.1
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = args();
    let now = Timestamp::now();
    let day0 = Timestamp::from_second(now.as_second() / 86_400 * 86_400).unwrap();
    let hash = service::crypto::hash_password(PASSWORD).unwrap();
    let started = Instant::now();
    let small = server(&args, false, day0, &hash).await;
    let large = server(&args, true, day0, &hash).await;
    eprintln!(
        "bench: {} and {} sessions ready after {:.0}s; measuring",
        small.sessions,
        large.sessions,
        started.elapsed().as_secs_f64()
    );
    let api = testkit::client();
    let warmup = args.samples / 10;
    let mut times: [[Vec<Duration>; 2]; 2] = Default::default();
    for n in 0..warmup + args.samples {
        // Alternate which size goes first, so neither always follows the other.
        let order: [(usize, &Server); 2] = if n % 2 == 0 {
            [(0, &small), (1, &large)]
        } else {
            [(1, &large), (0, &small)]
        };
        for (size, server) in order {
            let b = book(&api, server, n, day0).await;
            let d = dashboard(server).await;
            if n >= warmup {
                times[size][0].push(b);
                times[size][1].push(d);
            }
        }
    }
    let backend = match args.backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    };
    let figures: Vec<[(f64, f64); 2]> = times
        .iter()
        .map(|[b, d]| [percentiles(b.clone()), percentiles(d.clone())])
        .collect();
    println!("| backend | sessions in the database | booking p50 | booking p99 | dashboard p50 | dashboard p99 |");
    println!("|---|---|---|---|---|---|");
    for (server, [b, d]) in [&small, &large].iter().zip(&figures) {
        println!(
            "| {backend} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
            server.sessions, b.0, b.1, d.0, d.1
        );
    }
    let ratio = |what: usize, q: fn(&(f64, f64)) -> f64| q(&figures[1][what]) / q(&figures[0][what]);
    println!(
        "\n{backend}, {} → {} sessions: p99 ×{:.2} booking, ×{:.2} dashboard; p50 ×{:.2} booking, ×{:.2} dashboard \
         ({} samples of each, interleaved; {} trainers).",
        small.sessions,
        large.sessions,
        ratio(0, |f| f.1),
        ratio(1, |f| f.1),
        ratio(0, |f| f.0),
        ratio(1, |f| f.0),
        args.samples,
        args.trainers
    );
    largest_booking(&small, day0, &figures[0][1]).await;
    for server in [small, large] {
        let _ = std::fs::remove_dir_all(&server.data);
        if std::env::var_os("BENCH_KEEP").is_some() {
            eprintln!("bench: database kept at {}", server.db.url);
            std::mem::forget(server.db);
        }
    }
}
