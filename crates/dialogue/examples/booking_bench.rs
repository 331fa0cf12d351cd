//! Booking and a trainer's dashboard with 1,000 and then 100,000 sessions in the database (1,000
//! trainers), measured in one run over HTTP against the real server: `bash bench/booking/run.sh`.
//!
//! ```text
//! cargo run --release --example booking_bench -- [--backend sqlite|postgres] [--sessions 100000]
//!     [--trainers 1000] [--samples 400]
//! ```
//!
//! The measured trainer has the same five upcoming sessions at both sizes (so the dashboard shows
//! the same page); at the larger size they also have 95 sessions in the past, and every other
//! trainer about a hundred spread over two years. A booking goes through `POST /api/v1/sessions`
//! (token check, validation, conflict check against that trainer's sessions, the writes) for
//! one of the other trainers, at a free time. Each request waits for the previous one: the
//! figures are latencies, not throughput. PostgreSQL: `DIALOGUE_TEST_POSTGRES_URL` as for the
//! tests.

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
        samples: 400,
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
        out.trainers >= 2 && out.sessions >= 1000 + 100,
        "--trainers 2+, --sessions 1100+"
    );
    out
}

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
            &audit(),
        )
        .await
        .unwrap()
        .id
}

fn learners(seed: usize) -> Vec<Person> {
    (0..3)
        .map(|j| Person {
            name: DisplayName::parse(&format!("Apprenant·e {}", (seed * 7 + j * 613) % 2000)).unwrap(),
            email: Email::parse(&format!("l{}@example.org", (seed * 7 + j * 613) % 2000)).unwrap(),
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
            },
            &audit(),
        )
        .await
        .unwrap();
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

struct Figures {
    sessions: usize,
    book: (f64, f64),
    dashboard: (f64, f64),
}

#[allow(clippy::too_many_arguments)]
async fn measure(
    http: &reqwest::Client,
    api: &reqwest::Client,
    url: &str,
    token: &str,
    trainers: &[String],
    phase: i64,
    samples: usize,
    day0: Timestamp,
) -> ((f64, f64), (f64, f64)) {
    let warmup = samples / 8;
    let mut book = Vec::with_capacity(samples);
    let mut dash = Vec::with_capacity(samples);
    for s in 0..warmup + samples {
        // A free time for one of the other trainers, after all their sessions.
        let trainer = &trainers[s % trainers.len()];
        let day = 400 + phase * 20 + (s / trainers.len()) as i64;
        let start = day0 + SignedDuration::from_hours(24 * day + 10);
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
            .post(format!("{url}/api/v1/sessions"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status();
        let _ = r.bytes().await.unwrap();
        let elapsed = t.elapsed();
        assert_eq!(status.as_u16(), 201, "booking failed");
        let t = Instant::now();
        let r = http.get(format!("{url}/")).send().await.unwrap();
        let status = r.status();
        let page = r.text().await.unwrap();
        let shown = t.elapsed();
        assert_eq!(status.as_u16(), 200);
        assert!(
            page.contains("Mes séances") && page.matches("class=\"session-card\" data-session").count() == 5,
            "{page}"
        );
        if s >= warmup {
            book.push(elapsed);
            dash.push(shown);
        }
    }
    (percentiles(book), percentiles(dash))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = args();
    let db = TestDb::new(args.backend).await;
    let data = testkit::temp_dir("bench-booking");
    let env: Vec<(String, String)> = [
        ("DIALOGUE_LISTEN", "127.0.0.1:0".to_owned()),
        ("DIALOGUE_DATABASE_URL", db.url.clone()),
        ("DIALOGUE_DATA_DIR", data.display().to_string()),
        ("DIALOGUE_LOG_LEVEL", "warn".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let (config, _) = load(&Sources { file: None, env }).expect("configuration");
    let app = Application::build(&config, web::Clock::system()).await.expect("server");
    let url = format!("http://{}", app.local_addr());
    let store = app.state().store().clone();
    tokio::spawn(app.run_until(std::future::pending()));

    let password = "bench password 2026";
    let manager = account(&store, "manager@example.org", Role::Manager, None).await;
    let hash = web::crypto::hash_password(password).unwrap();
    account(&store, "bench@example.org", Role::Trainer, Some(hash)).await;
    let others: Vec<String> = (0..args.trainers - 1).map(|i| format!("t{i}@example.org")).collect();
    for email in &others {
        account(&store, email, Role::Trainer, None).await;
    }
    let token = web::crypto::random_token();
    store
        .create_api_token(&manager, "bench", &web::crypto::storage_hash(&token), &audit())
        .await
        .unwrap();
    // Whole hours, from midnight UTC of today.
    let now = Timestamp::now();
    let day0 = Timestamp::from_second(now.as_second() / 86_400 * 86_400).unwrap();
    let hour = |day: i64, h: i64| day0 + SignedDuration::from_hours(24 * day + h);
    let slot = |day: i64, h: i64| (hour(day, h), hour(day, h) + SignedDuration::from_hours(1));

    // Size 1 (1,000): the measured trainer's five upcoming sessions, one each for 995 others.
    fill(
        &store,
        "bench@example.org",
        (1..=5).map(|d| slot(d, 9)).collect(),
        0,
        &manager,
    )
    .await;
    let per_trainer = (args.sessions - 100).div_ceil(others.len());
    // The phase-1 session of each is near the middle of its history (a week or two ahead).
    let k0 = 53.min(per_trainer - 1);
    let phase1: Vec<usize> = (0..others.len().min(995)).collect();
    let day_of = |i: usize, k: usize| -364 + (k as i64) * 7 + (i % 7) as i64;
    let hour_of = |i: usize| 8 + (i % 10) as i64;
    let started = Instant::now();
    for &i in &phase1 {
        fill(&store, &others[i], vec![slot(day_of(i, k0), hour_of(i))], i, &manager).await;
    }
    let client = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let login = client
        .get(format!("{url}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = {
        let at = login.find("name=\"_csrf\" value=\"").unwrap() + 20;
        login[at..at + login[at..].find('"').unwrap()].to_owned()
    };
    let r = client
        .post(format!("{url}/login"))
        .form(&[
            ("_csrf", csrf.as_str()),
            ("email", "bench@example.org"),
            ("password", password),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success() || r.status().is_redirection());
    let api = reqwest::Client::new();
    let count = |store: Store| async move {
        store
            .list_sessions(&store::SessionFilter {
                include_cancelled: true,
                limit: i64::MAX,
                ..Default::default()
            })
            .await
            .unwrap()
            .len()
    };
    let n1 = count(store.clone()).await;
    eprintln!(
        "bench: {n1} sessions after {:.1}s; measuring",
        started.elapsed().as_secs_f64()
    );
    let (book1, dash1) = measure(&client, &api, &url, &token, &others, 0, args.samples, day0).await;
    let first = Figures {
        sessions: n1,
        book: book1,
        dashboard: dash1,
    };

    // Size 2: the measured trainer's 95 past sessions, then the others' whole histories.
    fill(
        &store,
        "bench@example.org",
        (1..=95).map(|d| slot(-d, 9)).collect(),
        1,
        &manager,
    )
    .await;
    let target = args.sessions;
    let mut total = count(store.clone()).await;
    for (i, email) in others.iter().enumerate() {
        if total >= target {
            break;
        }
        let times: Vec<_> = (0..per_trainer)
            .filter(|k| !(i < phase1.len() && *k == k0))
            .take(target - total)
            .map(|k| slot(day_of(i, k), hour_of(i)))
            .collect();
        total += times.len();
        fill(&store, email, times, i, &manager).await;
        if i % 100 == 99 {
            eprintln!("bench: {total} sessions after {:.0}s", started.elapsed().as_secs_f64());
        }
    }
    let n2 = count(store.clone()).await;
    eprintln!("bench: {n2} sessions; measuring");
    let (book2, dash2) = measure(&client, &api, &url, &token, &others, 1, args.samples, day0).await;
    let second = Figures {
        sessions: n2,
        book: book2,
        dashboard: dash2,
    };
    let backend = match args.backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    };
    println!("| backend | sessions in the database | booking p50 | booking p99 | dashboard p50 | dashboard p99 |");
    println!("|---|---|---|---|---|---|");
    for f in [&first, &second] {
        println!(
            "| {backend} | {} | {:.2} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
            f.sessions, f.book.0, f.book.1, f.dashboard.0, f.dashboard.1
        );
    }
    println!(
        "\n{backend}: p99 growth from {} to {} sessions: booking ×{:.2}, dashboard ×{:.2} ({} samples each, {} trainers).",
        first.sessions,
        second.sessions,
        second.book.1 / first.book.1,
        second.dashboard.1 / first.dashboard.1,
        args.samples,
        args.trainers
    );
    let _ = std::fs::remove_dir_all(&data);
    if std::env::var_os("BENCH_KEEP").is_some() {
        eprintln!("bench: database kept at {}", db.url);
        std::mem::forget(db);
    }
}
