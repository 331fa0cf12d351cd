//! Seeds a database for `bench/join/run.sh`: one HS256 Jitsi server (the default), 100 trainers
//! each teaching 100 daily sessions (10,000 sessions, 40,000 participants), today's session of
//! every trainer inside its window; writes the personal-link keys of today's learners, one per
//! line, to `<data dir>/keys.txt`.
//!
//! `DIALOGUE_DATABASE_URL=… DIALOGUE_DATA_DIR=… cargo run --release -p dialogue --example seed_join_bench`

use std::io::Write;

use domain::booking::Person;
use domain::{DisplayName, Email, Locale, Role};
use jiff::{SignedDuration, Timestamp};
use store::{AuditEntry, NewSessions, NewUser, People};

const TRAINERS: usize = 100;
const DAYS: i64 = 100;
const LEARNERS: usize = 3;

fn person(name: &str, email: &str) -> Person {
    Person {
        name: DisplayName::parse(name).expect("a valid name"),
        email: Email::parse(email).expect("a valid email"),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sources = dialogue::config::Sources::load(None).map_err(|e| e.0)?;
    let (config, _) = dialogue::config::load(&sources).map_err(|e| e.0)?;
    std::fs::create_dir_all(&config.data_dir)?;
    let mut store = dialogue::app::open_store(&config).await?;
    let secret = dialogue::app::load_secret(&config.secret_key_file)?;
    store.set_link_secret(secret.link_secret());
    let audit = AuditEntry::new("bench.seed", None, "bench", None);

    let runtime = service::jitsi_servers::Runtime::new(&secret);
    let id = store::new_id();
    let prepared = service::jitsi_servers::prepare(
        runtime.sealer(),
        &id,
        None,
        &service::jitsi_servers::ServerChange {
            name: Some("bench".into()),
            base_url: Some("https://meet.example.org".into()),
            domain: Some("meet.example.org".into()),
            token_mode: Some("hs256".into()),
            app_id: Some("dialogue".into()),
            app_secret: Some("bench-secret-of-at-least-32-characters".into()),
            lobby: Some(true),
            ..Default::default()
        },
    )
    .map_err(|p| format!("{p:?}"))?;
    store
        .create_jitsi_server(&id, &prepared.input, jiff::Timestamp::now(), &audit)
        .await?;

    let manager = store
        .create_user(
            &NewUser {
                email: Email::parse("bench-manager@example.org")?,
                display_name: DisplayName::parse("Bench Manager")?,
                role: Role::Manager,
                locale: Locale::Fr,
                time_zone: "Europe/Paris".into(),
                password_hash: None,
                auth_source: "local".into(),
                external_id: None,
            },
            jiff::Timestamp::now(),
            &audit,
        )
        .await?;
    // Today's session started ten minutes ago and lasts an hour: learners may enter.
    let now = Timestamp::now().as_second() / 60 * 60;
    let today = Timestamp::from_second(now - 600)?;
    let mut keys = Vec::new();
    for t in 0..TRAINERS {
        let email = format!("trainer{t}@example.org");
        store
            .create_user(
                &NewUser {
                    email: Email::parse(&email)?,
                    display_name: DisplayName::parse(&format!("Trainer {t}"))?,
                    role: Role::Trainer,
                    locale: Locale::Fr,
                    time_zone: "Europe/Paris".into(),
                    password_hash: None,
                    auth_source: "local".into(),
                    external_id: None,
                },
                jiff::Timestamp::now(),
                &audit,
            )
            .await?;
        let times: Vec<(Timestamp, Timestamp)> = (-DAYS / 2..DAYS / 2)
            .map(|d| {
                let start = today + SignedDuration::from_hours(24 * d);
                (start, start + SignedDuration::from_mins(60))
            })
            .collect();
        let learners = (0..LEARNERS)
            .map(|l| person(&format!("Learner {t}-{l}"), &format!("learner{t}-{l}@example.org")))
            .collect();
        let booked = store
            .book_sessions(
                &NewSessions {
                    course_id: None,
                    title: format!("Bench course {t}"),
                    notes: String::new(),
                    time_zone: "Europe/Paris".into(),
                    times,
                    rrule: Some("FREQ=DAILY".into()),
                    people: People {
                        trainers: vec![Email::parse(&email)?],
                        moderators: vec![],
                        learners,
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
            .await?;
        for detail in booked.iter().filter(|d| d.session.starts_at == today) {
            for p in detail.participants.iter().filter(|p| !p.role.is_moderator()) {
                keys.push(store.join_key(&p.id, p.link_version)?);
            }
        }
    }
    let path = config.data_dir.join("keys.txt");
    let mut file = std::fs::File::create(&path)?;
    for key in &keys {
        writeln!(file, "{key}")?;
    }
    eprintln!(
        "seeded {} sessions; {} personal links of open sessions in {}",
        TRAINERS as i64 * DAYS,
        keys.len(),
        path.display()
    );
    store.close().await;
    Ok(())
}
