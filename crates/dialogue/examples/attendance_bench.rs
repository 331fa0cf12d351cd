//! A course's attendance at the size of issue 11's benchmark — 20 sessions × 30 learners, 10
//! connections each — measured over HTTP against the real (release) server, in one run:
//! `bash bench/attendance/run.sh`.
//!
//! ```text
//! cargo build --release -p dialogue --example attendance_bench
//! target/release/examples/attendance_bench [--backend sqlite|postgres] [--samples 100]
//!     [--pdf-every 5] [--server target/release/dialogue]
//! ```
//!
//! The bench seeds a fresh database through the store (accounts, a Jitsi server, the course and
//! its 20 daily sessions of 09:00–17:00 Europe/Paris, the last ending two days ago), starts the
//! server on it as a separate process — `--server BIN serve`, or by default this program again
//! with `--serve`, which does what `dialogue serve` does (the configuration from the
//! environment, the same logging, `Application::build` and `run_until` on a default tokio
//! runtime) without a second release link — then posts every learner's 10 connections to
//! each session (a join and a leave each: 12,000 events) to `/jitsi/events/…` exactly as
//! jitsi-contrib's event_sync sends them, with the trainer's one connection per session.
//! Signatures go through the store's evidence chain: every learner signs the morning (drawn
//! for two learners in three, typed otherwise), two in three the afternoon too, the trainer
//! both, each drawn signature a distinct 600×200 PNG as a browser canvas sends it.
//!
//! Measured in rounds, one request at a time, each round the same endpoints in turn (so all of
//! them see the same load of a shared machine): `/healthz` (the reference), the course's
//! attendance JSON, one session's attendance JSON, the course's CSV, the course page (a
//! manager logged in), and every `--pdf-every` rounds the course's PDF sheet. Median and p95
//! of each, and their ratio to `/healthz`'s median.
//!
//! Memory: the server's peak resident set (VmHWM of `/proc/<pid>/status`), reset before the
//! first PDF (`echo 5 > /proc/<pid>/clear_refs`) so the peak is that of the first (cold)
//! render, then reset again and read after the timed rounds (the peak over them, PDFs
//! included); both beside the resident set just before. VmHWM also counts the pages of
//! SQLite's database file that its memory map (`mmap_size`) brought in, which are the kernel's
//! page cache rather than the server's own memory: so the anonymous resident set (RssAnon:
//! heap and stacks) is also read every millisecond during the first PDF and the rounds, and
//! its peak given. The server runs with `MALLOC_ARENA_MAX=2`, as `dialogue` sets for itself.
//! PostgreSQL: the database named by `DIALOGUE_TEST_POSTGRES_URL` as for the tests.
//! `BENCH_KEEP=1` keeps the database.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use dialogue::config::{Sources, load};
use domain::attendance::HalfDay;
use domain::booking::Person;
use domain::evidence::{SignatureRecord, SignedContent, Signer, SignerKind, content_digest};
use domain::{DisplayName, Email, Locale, Role};
use jiff::civil::{Date, Time};
use jiff::{SignedDuration, Timestamp, ToSpan};
use serde_json::{Value, json};
use store::{AuditEntry, CourseInput, NewSessions, NewUser, People, SessionDetail, SignatureContent, Store};
use testkit::{Backend, TestDb};

const SESSIONS: usize = 20;
const LEARNERS: usize = 30;
const CONNECTIONS: i64 = 10;
const ZONE: &str = "Europe/Paris";
const PASSWORD: &str = "bench password 2026";
const MANAGER: &str = "manager@example.org";
const TRAINER: &str = "trainer@example.org";

struct Args {
    backend: Backend,
    samples: usize,
    pdf_every: usize,
    /// `dialogue` to run as the server; `None`: this program with `--serve`.
    server: Option<PathBuf>,
}

fn args() -> Args {
    let mut out = Args {
        backend: Backend::Sqlite,
        samples: 100,
        pdf_every: 5,
        server: None,
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
            "--samples" => out.samples = value.parse().expect("--samples N"),
            "--pdf-every" => out.pdf_every = value.parse().expect("--pdf-every N"),
            "--server" => out.server = Some(PathBuf::from(value)),
            other => panic!("unknown argument {other}"),
        }
        i += 2;
    }
    assert!(
        out.samples >= 10 && out.pdf_every >= 1,
        "--samples 10 or more, --pdf-every 1 or more"
    );
    out
}

fn audit() -> AuditEntry {
    AuditEntry::new("bench", None, "bench", None)
}

fn zone() -> jiff::tz::TimeZone {
    jiff::tz::TimeZone::get(ZONE).expect("Europe/Paris")
}

fn at(date: Date, hour: i8) -> Timestamp {
    date.to_datetime(Time::new(hour, 0, 0, 0).expect("an hour"))
        .to_zoned(zone())
        .expect("a local time")
        .timestamp()
}

async fn account(store: &Store, email: &str, name: &str, role: Role, password_hash: Option<String>) -> String {
    store
        .create_user(
            &NewUser {
                email: Email::parse(email).unwrap(),
                display_name: DisplayName::parse(name).unwrap(),
                role,
                locale: Locale::Fr,
                time_zone: ZONE.into(),
                password_hash,
                auth_source: "local".into(),
                external_id: None,
            },
            Timestamp::now(),
            &audit(),
        )
        .await
        .unwrap()
        .id
}

/// A browser-canvas-like PNG (600×200, transparent, a blue-black scribble that differs with
/// `seed`), as the signing page sends it.
fn drawn_signature(seed: u32) -> Vec<u8> {
    let (width, height) = (600u32, 200u32);
    let mut pixels = vec![0u8; (width * height * 4) as usize];
    for x in 40..560u32 {
        let phase = (x + seed * 37) as f32 / (18.0 + (seed % 7) as f32);
        let y = (100.0 + 55.0 * phase.sin() * ((x as f32) / 560.0)) as i64;
        for dy in -2..=2i64 {
            for dx in 0..2u32 {
                let (px, py) = (x + dx, y + dy);
                if px < width && (0..height as i64).contains(&py) {
                    let i = ((py as u32 * width + px) * 4) as usize;
                    pixels[i..i + 4].copy_from_slice(&[20, 24, 90, 255]);
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&pixels).unwrap();
    writer.finish().unwrap();
    out
}

/// The seeded database: the course, its sessions and the bearer Prosody sends.
struct Seed {
    course_id: String,
    sessions: Vec<SessionDetail>,
    prosody_bearer: String,
    api_token: String,
}

async fn seed(store: &Store, secret: &service::crypto::SecretKey) -> Seed {
    // The Jitsi server every session uses (the first one is the default).
    let runtime = service::jitsi_servers::Runtime::new(secret);
    let server_id = store::new_id();
    let prepared = service::jitsi_servers::prepare(
        runtime.sealer(),
        &server_id,
        None,
        &service::jitsi_servers::ServerChange {
            name: Some("Meet".into()),
            base_url: Some("https://meet.example.org".into()),
            domain: Some("meet.example.org".into()),
            token_mode: Some("hs256".into()),
            app_id: Some("dialogue".into()),
            app_secret: Some("bench-secret-of-at-least-32-characters".into()),
            ..Default::default()
        },
    )
    .unwrap_or_else(|p| panic!("server settings refused: {p:?}"));
    store
        .create_jitsi_server(&server_id, &prepared.input, Timestamp::now(), &audit())
        .await
        .unwrap();
    let prosody_bearer = prepared.generated_api_secret.expect("a generated bearer");

    let hash = service::crypto::hash_password(PASSWORD).unwrap();
    let manager = account(store, MANAGER, "Marie Gestion", Role::Manager, Some(hash)).await;
    let trainer = account(store, TRAINER, "Théo Formateur", Role::Trainer, None).await;
    let api_token = service::crypto::random_token();
    store
        .create_api_token(
            &manager,
            "bench",
            &service::crypto::storage_hash(&api_token),
            Timestamp::now(),
            &audit(),
        )
        .await
        .unwrap();

    let course = store
        .create_course(
            &CourseInput {
                title: "Comptabilité pour débutants".into(),
                code: None,
                description: String::new(),
                default_duration_minutes: 480,
                owner_id: manager.clone(),
                action_nature: Default::default(),
                trainer_ids: vec![trainer],
                learners: vec![],
            },
            Timestamp::now(),
            &audit(),
        )
        .await
        .unwrap();
    // 20 daily sessions from 09:00 to 17:00, the last one two days ago.
    let today = Timestamp::now().to_zoned(zone()).date();
    let times: Vec<(Timestamp, Timestamp)> = (0..SESSIONS as i64)
        .map(|n| {
            let date = today.checked_sub((SESSIONS as i64 + 1 - n).days()).unwrap();
            (at(date, 9), at(date, 17))
        })
        .collect();
    let learners: Vec<Person> = (0..LEARNERS)
        .map(|n| Person {
            name: DisplayName::parse(&format!("Apprenant·e {n:02} Lefèvre")).unwrap(),
            email: Email::parse(&format!("learner{n:02}@example.org")).unwrap(),
        })
        .collect();
    let sessions = store
        .book_sessions(
            &NewSessions {
                course_id: Some(course.course.id.clone()),
                title: "Comptabilité pour débutants".into(),
                notes: String::new(),
                time_zone: ZONE.into(),
                times,
                rrule: None,
                people: People {
                    trainers: vec![Email::parse(TRAINER).unwrap()],
                    learners,
                    ..Default::default()
                },
                created_by: manager.clone(),
                jitsi_server_id: None,
            },
            Timestamp::now(),
            &audit(),
        )
        .await
        .unwrap();
    Seed {
        course_id: course.course.id,
        sessions,
        prosody_bearer,
        api_token,
    }
}

/// The event_sync deliveries of one session: each learner's 10 connections (about 50 minutes
/// each, every 48 minutes from 5 minutes before the start, so consecutive ones overlap by two
/// minutes, as a reconnection from a second device does), the trainer's one.
fn deliveries(detail: &SessionDetail) -> Vec<(&'static str, Value)> {
    let t = detail.session.starts_at.as_second();
    let room = &detail.session.room;
    let mut out = Vec::new();
    let mut connect = |p: &store::Participant, n: i64, from: i64, until: i64| {
        let jid = format!("{}@meet.example.org/{n}", p.id);
        let occupant = |left: Option<i64>| {
            let mut o = json!({"occupant_jid": jid, "id": p.id, "name": p.name, "email": p.email,
                "joined_at": t + from});
            if let Some(l) = left {
                o["left_at"] = json!(l);
            }
            o
        };
        for (path, name, o) in [
            ("occupant/joined", "muc-occupant-joined", occupant(None)),
            ("occupant/left", "muc-occupant-left", occupant(Some(t + until))),
        ] {
            out.push((
                path,
                json!({"event_name": name, "room_name": room,
                    "room_jid": format!("{room}@conference.meet.example.org"), "is_breakout": false,
                    "occupant": o}),
            ));
        }
    };
    for p in &detail.participants {
        if p.role.is_moderator() {
            connect(p, 0, -600, 8 * 3600);
        } else {
            for n in 0..CONNECTIONS {
                let from = n * 48 * 60 - 300;
                connect(p, n, from, from + 50 * 60);
            }
        }
    }
    out
}

/// Posts every delivery to the server as event_sync does, four at a time.
async fn post_events(url: &str, bearer: &str, all: Vec<(&'static str, Value)>) -> usize {
    let n = all.len();
    let queue = Arc::new(std::sync::Mutex::new(all));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (queue, url, bearer) = (queue.clone(), url.to_owned(), bearer.to_owned());
        workers.push(tokio::spawn(async move {
            let client = testkit::client();
            loop {
                let Some((path, body)) = queue.lock().unwrap().pop() else {
                    break;
                };
                let r = client
                    .post(format!("{url}/jitsi/events/{path}"))
                    .header("user-agent", "Prosody (0.12.4; posix)")
                    .header("content-type", "application/json")
                    .header("authorization", format!("Bearer {bearer}"))
                    .body(body.to_string())
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success(), "{path}: {}", r.status());
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    n
}

/// Signatures through the store's evidence chain, as the signing page leaves them.
async fn sign(store: &Store, key: &domain::evidence::EvidenceKey, sessions: &[SessionDetail]) -> usize {
    let mut count = 0;
    let mut seed = 0u32;
    for detail in sessions {
        let s = &detail.session;
        let date = s.starts_at.to_zoned(zone()).date();
        let learners = detail.participants.iter().filter(|p| !p.role.is_moderator());
        for (n, p) in detail
            .participants
            .iter()
            .filter(|p| p.role.is_moderator())
            .chain(learners)
            .enumerate()
        {
            for half in [HalfDay::morning(date), HalfDay::afternoon(date)] {
                let trainer = p.role.is_moderator();
                if !trainer && half.half == domain::attendance::Half::Afternoon && n % 3 == 0 {
                    continue;
                }
                let content = if trainer || n % 3 != 1 {
                    seed += 1;
                    SignatureContent::Png(drawn_signature(seed))
                } else {
                    SignatureContent::Typed(p.name.clone())
                };
                let digest = match &content {
                    SignatureContent::Png(png) => content_digest(&s.id, half, SignedContent::Png(png)),
                    SignatureContent::Typed(name) => content_digest(&s.id, half, SignedContent::TypedName(name)),
                };
                let hour = if half.half == domain::attendance::Half::Morning {
                    12
                } else {
                    17
                };
                let record = SignatureRecord {
                    signer: Signer {
                        kind: SignerKind::Participant,
                        id: p.id.clone(),
                        display_name: p.name.clone(),
                    },
                    half_day: half,
                    signed_at: at(date, hour) + SignedDuration::from_secs(n as i64 * 7),
                    client_address: "203.0.113.7".parse().unwrap(),
                    user_agent: "Mozilla/5.0 (X11; Linux x86_64) bench".into(),
                    content_sha256: digest,
                };
                let outcome = store
                    .append_signature(key, &s.id, &record, &content, record.signed_at, &audit())
                    .await
                    .unwrap();
                assert!(matches!(outcome, store::SignOutcome::Signed(_)));
                count += 1;
            }
        }
    }
    count
}

/// The server process, killed when dropped.
struct ServerProcess {
    child: Child,
    url: String,
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A field of `/proc/<pid>/status` in KiB (0 when absent).
fn status_field_kib(status: &str, field: &str) -> u64 {
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)
                .and_then(|v| v.trim_start_matches(':').split_whitespace().next())
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// See [`ServerProcess::sample_anon`].
struct AnonSampler {
    stop: Arc<std::sync::atomic::AtomicBool>,
    handle: std::thread::JoinHandle<u64>,
}

impl AnonSampler {
    /// The highest anonymous resident set seen, in MiB.
    fn stop(self) -> f64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        // The sampler only reads /proc and compares numbers; a panic there is the bench's own bug.
        self.handle.join().unwrap() as f64 / 1024.0
    }
}

impl ServerProcess {
    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status_field_kib(&status, field)
    }

    fn rss_mib(&self) -> f64 {
        self.status_kib("VmRSS") as f64 / 1024.0
    }

    /// Resident anonymous memory (heap, stacks): not the pages of files mapped in, such as
    /// SQLite's database file (`mmap_size`), which VmRSS and VmHWM count too.
    fn anon_mib(&self) -> f64 {
        self.status_kib("RssAnon") as f64 / 1024.0
    }

    fn peak_mib(&self) -> f64 {
        self.status_kib("VmHWM") as f64 / 1024.0
    }

    /// Reads the anonymous resident set every millisecond until the returned sampler is
    /// stopped: its highest value is the heap's peak, which VmHWM (counting SQLite's mapped
    /// database pages too) does not give.
    fn sample_anon(&self) -> AnonSampler {
        let path = format!("/proc/{}/status", self.child.id());
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let handle = std::thread::spawn(move || {
            let mut peak = 0;
            while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(status) = std::fs::read_to_string(&path) {
                    peak = peak.max(status_field_kib(&status, "RssAnon"));
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            peak
        });
        AnonSampler { stop, handle }
    }

    /// Resets the peak resident set to the current one (Linux ≥ 4.0); false when refused.
    fn reset_peak(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5").is_ok()
    }
}

async fn start_server(bin: &Option<PathBuf>, env: &[(String, String)], log: PathBuf) -> ServerProcess {
    let port = testkit::free_port();
    let log = std::fs::File::create(log).unwrap();
    let (program, arg) = match bin {
        Some(bin) => (bin.clone(), "serve"),
        None => (std::env::current_exe().unwrap(), "--serve"),
    };
    let mut command = Command::new(&program);
    if bin.is_none() && std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // What `dialogue` sets for itself first thing (main.rs, `limit_malloc_arenas`).
        command.env("MALLOC_ARENA_MAX", "2");
    }
    let child = command
        .arg(arg)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("DIALOGUE_LISTEN", format!("127.0.0.1:{port}"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", program.display()));
    let server = ServerProcess {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..600 {
        if let Ok(r) = testkit::get(format!("{}/healthz", server.url)).await
            && r.status().is_success()
        {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server did not answer /healthz within a minute");
}

async fn login(url: &str) -> reqwest::Client {
    let browser = testkit::http().cookie_store(true).build().unwrap();
    let page = browser
        .get(format!("{url}/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let needle = "name=\"_csrf\" value=\"";
    let at = page.find(needle).unwrap() + needle.len();
    let csrf = page[at..at + page[at..].find('"').unwrap()].to_owned();
    let r = browser
        .post(format!("{url}/login"))
        .form(&[("_csrf", csrf.as_str()), ("email", MANAGER), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "login: {}", r.status());
    browser
}

/// One measured endpoint.
struct Endpoint {
    label: &'static str,
    path: String,
    /// With the manager's cookie rather than the API token.
    page: bool,
    times: Vec<Duration>,
    bytes: usize,
}

async fn fetch(
    api: &reqwest::Client,
    browser: &reqwest::Client,
    url: &str,
    e: &Endpoint,
    token: &str,
) -> (Duration, Vec<u8>) {
    let started = Instant::now();
    let request = if e.page {
        browser.get(format!("{url}{}", e.path))
    } else {
        api.get(format!("{url}{}", e.path)).bearer_auth(token)
    };
    let r = request.send().await.unwrap();
    let status = r.status();
    let body = r.bytes().await.unwrap();
    let took = started.elapsed();
    assert!(status.is_success(), "{}: {status}", e.path);
    (took, body.to_vec())
}

/// Median and p95 (nearest rank), in milliseconds.
fn quantiles(mut d: Vec<Duration>) -> (f64, f64) {
    d.sort();
    let at = |q: f64| {
        let i = ((d.len() as f64 * q).ceil() as usize).clamp(1, d.len()) - 1;
        d[i].as_secs_f64() * 1000.0
    };
    (at(0.50), at(0.95))
}

/// `--serve`: what `dialogue serve` does, configured by the environment the bench gives.
#[tokio::main]
async fn serve() {
    let sources = Sources::load(None).expect("configuration");
    let (config, _) = load(&sources).expect("configuration");
    dialogue::logging::init(&config);
    let app = dialogue::Application::build(&config, service::Clock::system())
        .await
        .expect("server");
    app.run_until(dialogue::app::shutdown_signal()).await.expect("server");
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("--serve") {
        serve();
    } else {
        bench();
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn bench() {
    let args = args();
    let started = Instant::now();
    let db = TestDb::new(args.backend).await;
    let data = testkit::temp_dir("bench-attendance");
    let env: Vec<(String, String)> = [
        ("DIALOGUE_DATABASE_URL", db.url.clone()),
        ("DIALOGUE_DATA_DIR", data.display().to_string()),
        ("DIALOGUE_LOG_LEVEL", "warn".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let (config, _) = load(&Sources {
        file: None,
        env: env.clone(),
    })
    .expect("configuration");
    std::fs::create_dir_all(&config.data_dir).unwrap();
    let mut store = dialogue::app::open_store(&config).await.expect("database");
    let secret = dialogue::app::load_secret(&config.secret_key_file).expect("secret");
    store.set_link_secret(secret.link_secret());
    let seeded = seed(&store, &secret).await;
    // A real database's invitations went out when they were booked.
    db.execute(
        "UPDATE outbox SET status = 'sent', sent_at = updated_at WHERE status IN ('queued', 'sending'); \
         UPDATE reminders SET enqueued_at = due_at WHERE enqueued_at IS NULL",
    )
    .await
    .expect("the seed's mail marked delivered");

    let server = start_server(&args.server, &env, data.join("server.log")).await;
    let url = server.url.clone();
    let all: Vec<_> = seeded.sessions.iter().flat_map(deliveries).collect();
    let events = post_events(&url, &seeded.prosody_bearer, all).await;
    let stored: i64 = {
        let mut n = 0;
        for s in &seeded.sessions {
            n += store.jitsi_event_count(Some(&s.session.id)).await.unwrap();
        }
        n
    };
    assert_eq!(stored as usize, events, "every event stored against its session");
    let signatures = sign(&store, &secret.evidence_key(), &seeded.sessions).await;
    eprintln!(
        "bench: {} sessions, {} events, {signatures} signatures seeded in {:.0}s; measuring",
        seeded.sessions.len(),
        events,
        started.elapsed().as_secs_f64()
    );

    let api = testkit::client();
    let browser = login(&url).await;
    let course = &seeded.course_id;
    let middle = &seeded.sessions[SESSIONS / 2].session.id;
    let endpoint = |label, path: String, page| Endpoint {
        label,
        path,
        page,
        times: Vec::new(),
        bytes: 0,
    };
    let mut fast = vec![
        endpoint("`GET /healthz` (reference)", "/healthz".into(), false),
        endpoint(
            "`GET /api/v1/courses/{id}/attendance` (JSON)",
            format!("/api/v1/courses/{course}/attendance"),
            false,
        ),
        endpoint(
            "`GET /api/v1/sessions/{id}/attendance` (JSON, one session)",
            format!("/api/v1/sessions/{middle}/attendance"),
            false,
        ),
        endpoint(
            "`GET /api/v1/courses/{id}/attendance.csv`",
            format!("/api/v1/courses/{course}/attendance.csv"),
            false,
        ),
        endpoint("`GET /courses/{id}` (course page)", format!("/courses/{course}"), true),
    ];
    let mut pdf = endpoint(
        "`GET /api/v1/courses/{id}/attendance.pdf` (sheet)",
        format!("/api/v1/courses/{course}/attendance.pdf"),
        false,
    );

    // What the answers say (and a warm-up of everything but the PDF).
    let token = &seeded.api_token;
    let (_, body) = fetch(&api, &browser, &url, &fast[1], token).await;
    let course_json: Value = serde_json::from_slice(&body).unwrap();
    let learners = course_json["learners"].as_array().unwrap();
    assert_eq!(course_json["sessions"].as_array().unwrap().len(), SESSIONS);
    assert_eq!(learners.len(), LEARNERS);
    let attended: i64 = learners.iter().map(|l| l["attended_minutes"].as_i64().unwrap()).sum();
    let signed: i64 = learners.iter().map(|l| l["signed_half_days"].as_i64().unwrap()).sum();
    assert!(
        attended > 0 && signed > 0,
        "the course's figures count the events and signatures"
    );
    let (_, body) = fetch(&api, &browser, &url, &fast[4], token).await;
    assert!(
        String::from_utf8_lossy(&body).contains("Apprenant·e 07 Lefèvre"),
        "the course page lists the learners"
    );
    for e in &fast {
        fetch(&api, &browser, &url, e, token).await;
    }

    // The first PDF, cold: the resident set before it and the peak during it.
    let reset = server.reset_peak();
    let rss_before_first = server.rss_mib();
    let anon_before_first = server.anon_mib();
    let sampler = server.sample_anon();
    let (first_pdf, body) = fetch(&api, &browser, &url, &pdf, token).await;
    let anon_peak_first = sampler.stop();
    let peak_first = server.peak_mib();
    let anon_after_first = server.anon_mib();
    assert!(body.starts_with(b"%PDF-"), "a PDF");
    pdf.bytes = body.len();

    let rss_before_rounds = server.rss_mib();
    server.reset_peak();
    let sampler = server.sample_anon();
    for round in 0..args.samples {
        for e in fast.iter_mut() {
            let (took, body) = fetch(&api, &browser, &url, e, token).await;
            e.times.push(took);
            e.bytes = body.len();
        }
        if round % args.pdf_every == 0 {
            let (took, _) = fetch(&api, &browser, &url, &pdf, token).await;
            pdf.times.push(took);
        }
    }
    let anon_peak_rounds = sampler.stop();
    let peak_rounds = server.peak_mib();
    let rss_after = server.rss_mib();
    let anon_after = server.anon_mib();

    let backend = match args.backend {
        Backend::Sqlite => "SQLite",
        Backend::Postgres => "PostgreSQL",
    };
    let (reference, _) = quantiles(fast[0].times.clone());
    println!("{backend}: {SESSIONS} sessions × {LEARNERS} learners, {events} events, {signatures} signatures");
    println!();
    println!("| {backend} | median | p95 | median ÷ `/healthz` median | samples | bytes |");
    println!("|---|---:|---:|---:|---:|---:|");
    for e in fast.iter().chain(std::iter::once(&pdf)) {
        let (p50, p95) = quantiles(e.times.clone());
        println!(
            "| {} | {p50:.2} ms | {p95:.2} ms | ×{:.0} | {} | {} |",
            e.label,
            p50 / reference,
            e.times.len(),
            e.bytes
        );
    }
    println!();
    println!(
        "Server memory ({}): resident {rss_before_first:.1} MiB before the first PDF, peak {peak_first:.1} MiB \
         while rendering it (cold, {:.0} ms); resident {rss_before_rounds:.1} MiB before the rounds, peak \
         {peak_rounds:.1} MiB over them ({} PDFs among them), {rss_after:.1} MiB after. Of the resident \
         set, anonymous memory (RssAnon: heap and stacks, not mapped files, read every millisecond): \
         {anon_before_first:.1} MiB before the first PDF, peak {anon_peak_first:.1} MiB while rendering it, \
         {anon_after_first:.1} MiB after it; peak {anon_peak_rounds:.1} MiB over the rounds, {anon_after:.1} MiB \
         after them.",
        if reset {
            "VmHWM of /proc/<pid>/status, reset by clear_refs before each"
        } else {
            "VmHWM of /proc/<pid>/status; clear_refs refused, so each peak is the process's since start"
        },
        first_pdf.as_secs_f64() * 1000.0,
        pdf.times.len()
    );
    drop(server);
    store.close().await;
    let _ = std::fs::remove_dir_all(&data);
    if std::env::var_os("BENCH_KEEP").is_some() {
        eprintln!("bench: database kept at {}", db.url);
        std::mem::forget(db);
    }
}
