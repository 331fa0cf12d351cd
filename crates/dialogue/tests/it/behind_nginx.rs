//! Two `dialogue serve` processes on one PostgreSQL database behind a real nginx balancing
//! between them: a session booked through nginx, learners' links answered by both instances,
//! the instance delivering a message killed (`kill -9`) in the middle and started again, and
//! every invitation and reminder delivered — each reminder once, the one duplicate the README
//! allows (`mail.concurrency` = 1 here) at most.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use store::{AuditEntry, NewUser};
use testkit::{Backend, TestDb};

use crate::mail_faults::{serve_logging, store_of};
use crate::mailkit::Smtp;

/// nginx on `port`, round robin over the upstreams, saying which one answered. No upstream is
/// ever marked down (`max_fails=0`): a dead one is skipped per request by `proxy_next_upstream`,
/// and a restarted one gets its share at once (with `max_fails=1 fail_timeout=2s` the joins right
/// after the restart could all go to the other instance).
async fn nginx(port: u16, upstreams: &[u16]) -> testkit::Peer {
    let program = testkit::require_program(&["/usr/sbin/nginx", "nginx"], "apt-get install -y nginx");
    let dir = testkit::temp_dir("nginx-lb");
    let d = dir.display();
    let servers: String = upstreams
        .iter()
        .map(|p| format!("    server 127.0.0.1:{p} max_fails=0;\n"))
        .collect();
    let conf = format!(
        "daemon off;\nmaster_process off;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
           fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
           upstream dialogue {{\n{servers}  }}\n\
           server {{\n    listen 127.0.0.1:{port};\n    location / {{\n      proxy_pass http://dialogue;\n\
               proxy_next_upstream error timeout;\n      proxy_set_header Host $http_host;\n\
               proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
               add_header X-Upstream $upstream_addr always;\n    }}\n  }}\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let conf_path = dir.join("nginx.conf").display().to_string();
    let prefix = format!("{d}/");
    testkit::Peer::start(&program, &["-c", &conf_path, "-p", &prefix], dir, port, "nginx").await
}

fn stop(mut child: Child) {
    let stopped = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stopped.success());
    assert!(child.wait().unwrap().success(), "a graceful stop");
}

/// The lease owners of the rows being delivered (`psql`, as an operator would look).
fn lease_owners(db_url: &str) -> Vec<String> {
    let out = Command::new("psql")
        .args([
            db_url,
            "-At",
            "-c",
            "SELECT DISTINCT lease_owner FROM outbox WHERE status = 'sending'",
        ])
        .output()
        .expect("psql (apt-get install -y postgresql-client)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_behind_nginx_book_join_remind_once_and_survive_a_kill() {
    let smtp = Smtp::stalling_first().await;
    let db = TestDb::new(Backend::Postgres).await;
    let dir = testkit::temp_dir("behind-nginx");
    let data = dir.join("data");
    let (front, a, b) = (testkit::free_port(), testkit::free_port(), testkit::free_port());
    let env_for = |port: u16| {
        let mut env = smtp.env();
        env.extend(
            [
                ("DIALOGUE_LISTEN", format!("127.0.0.1:{port}")),
                ("DIALOGUE_PUBLIC_URL", format!("http://127.0.0.1:{front}")),
                ("DIALOGUE_DATABASE_URL", db.url.clone()),
                // One data directory: the same secret key for both (links made by one open on
                // the other); each instance's name (`mail.instance`) is this host and its port.
                ("DIALOGUE_DATA_DIR", data.display().to_string()),
                ("DIALOGUE_MAIL_CONCURRENCY", "1".to_owned()),
                ("DIALOGUE_MAIL_TIMEOUT_SECONDS", "5".to_owned()),
                ("DIALOGUE_MAIL_LEASE_SECONDS", "3600".to_owned()),
                ("DIALOGUE_MAIL_REMINDERS", "1m".to_owned()),
                ("DIALOGUE_LOG_LEVEL", "warn".to_owned()),
            ]
            .map(|(k, v)| (k.to_owned(), v)),
        );
        env
    };
    let log = |name: &str| std::fs::File::create(dir.join(format!("{name}.log"))).unwrap();
    // The first creates the secret key and the schema; then the second.
    let mut children: BTreeMap<u16, Child> = BTreeMap::new();
    children.insert(a, serve_logging(&env_for(a), log("a")));
    testkit::wait_for_port(a, "dialogue a").await;
    children.insert(b, serve_logging(&env_for(b), log("b")));
    testkit::wait_for_port(b, "dialogue b").await;
    let lb = nginx(front, &[a, b]).await;
    let store = store_of(&db.url, &data).await;
    let audit = AuditEntry::new("test", None, "test", None);
    for (email, role) in [
        ("theo@example.org", domain::Role::Trainer),
        ("marie@example.org", domain::Role::Admin),
    ] {
        let new = NewUser {
            email: domain::Email::parse(email).unwrap(),
            display_name: domain::DisplayName::parse("Marie Curie").unwrap(),
            role,
            locale: domain::Locale::Fr,
            time_zone: "Europe/Paris".into(),
            password_hash: None,
            auth_source: "local".into(),
            external_id: None,
        };
        store.create_user(&new, Timestamp::now(), &audit).await.unwrap();
    }
    let manager = store.user_by_email("marie@example.org").await.unwrap().unwrap();
    let token = service::crypto::random_token();
    store
        .create_api_token(
            &manager.id,
            "test",
            &service::crypto::storage_hash(&token),
            Timestamp::now(),
            &audit,
        )
        .await
        .unwrap();

    // A Jitsi server, and a session booked through nginx, starting in two to three minutes: its reminder (1 minute before)
    // falls due while both instances run.
    let start = Timestamp::from_second((Timestamp::now().as_second() / 60 + 3) * 60).unwrap();
    let client = crate::jitsi_support::client();
    let r = client
        .post(format!("http://127.0.0.1:{front}/api/v1/jitsi-servers"))
        .bearer_auth(&token)
        .json(&json!({
            "name": "Meet", "base_url": "https://meet.example.org", "domain": "meet.example.org",
            "token_mode": "hs256", "app_id": "dialogue", "app_secret": crate::jitsi_support::APP_SECRET
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let r = client
        .post(format!("http://127.0.0.1:{front}/api/v1/sessions"))
        .bearer_auth(&token)
        .json(&json!({
            "title": "Deux instances",
            "starts_at": start.to_string(),
            "time_zone": "Europe/Paris",
            "duration_minutes": 60,
            "trainers": ["theo@example.org"],
            "learners": [
                { "name": "Léa", "email": "lea@example.org" },
                { "name": "Max", "email": "max@example.org" },
                { "name": "Zoé", "email": "zoe@example.org" }
            ]
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED, "{}", lb.log());
    let body: Value = r.json().await.unwrap();
    let session_id = body["sessions"][0]["id"].as_str().unwrap().to_owned();

    // The first invitation reaches the SMTP server, which never confirms it: the instance
    // delivering it is killed right then, and started again.
    for _ in 0..600 {
        if smtp.stalled() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(smtp.stalled(), "the first delivery did not start within 60 s");
    let owners = lease_owners(&db.url);
    let victim = [a, b]
        .into_iter()
        .find(|p| owners.iter().any(|o| o.ends_with(&format!(":{p}"))))
        .unwrap_or_else(|| panic!("no instance holds the stalled message: {owners:?}"));
    let mut child = children.remove(&victim).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    // While it is down, nginx sends everyone to the other.
    let r = client
        .get(format!("http://127.0.0.1:{front}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    children.insert(victim, serve_logging(&env_for(victim), log("restarted")));
    testkit::wait_for_port(victim, "dialogue restarted").await;

    // Learners join through nginx (their window is open): both instances send them to the
    // room with a token.
    let detail = store.session(&session_id).await.unwrap().unwrap();
    let mut answered_by = BTreeSet::new();
    let mut statuses = BTreeSet::new();
    let mut rooms = BTreeSet::new();
    for p in detail.participants.iter().filter(|p| p.email != "theo@example.org") {
        let key = store.join_key(&p.id, p.link_version).unwrap();
        for _ in 0..4 {
            let r = client
                .get(format!("http://127.0.0.1:{front}/j/{key}"))
                .send()
                .await
                .unwrap();
            statuses.insert(r.status().as_u16());
            let location = r.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
            rooms.insert(
                location
                    .unwrap_or_default()
                    .split(['?', '#'])
                    .next()
                    .unwrap()
                    .to_owned(),
            );
            answered_by.insert(r.headers()["x-upstream"].to_str().unwrap().to_owned());
        }
    }
    assert_eq!(
        answered_by,
        BTreeSet::from([format!("127.0.0.1:{a}"), format!("127.0.0.1:{b}")]),
        "{}",
        lb.log()
    );
    assert_eq!(statuses.len(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| (300..400).contains(s)), "{statuses:?}");
    assert_eq!(rooms.len(), 1, "{rooms:?}");
    assert!(
        rooms
            .iter()
            .all(|r| r.starts_with("https://meet.example.org/") && r.contains(&detail.session.room)),
        "{rooms:?}"
    );

    // Every invitation goes out (the leases of an hour were taken back at the restart), then
    // every reminder: eight messages, the one whose confirmation was lost twice.
    let deadline = start + SignedDuration::from_mins(2);
    let mails = loop {
        let mails = smtp.messages();
        let ids: BTreeSet<&str> = mails.iter().map(|m| m.message_id.as_str()).collect();
        if ids.len() >= 8 || Timestamp::now() > deadline {
            break mails;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // Whatever was still due has gone: nothing queued or held.
    let counts = store.outbox_counts().await.unwrap();
    assert_eq!((counts.queued, counts.sending, counts.sent), (0, 0, 8), "{counts:?}");
    let mut by_id: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for m in &mails {
        by_id
            .entry(m.message_id.as_str())
            .or_default()
            .push(m.to_addresses[0].as_str());
    }
    assert_eq!(by_id.len(), 8, "{by_id:?}");
    let twice = by_id.values().filter(|to| to.len() > 1).count();
    assert!(
        twice <= 1,
        "at most mail.concurrency (1) duplicate per crash: {by_id:?}"
    );
    assert!(by_id.values().all(|to| to.len() <= 2), "{by_id:?}");
    // Per person: one invitation and one reminder (distinct messages).
    let mut per_person: BTreeMap<&str, usize> = BTreeMap::new();
    for to in by_id.values() {
        *per_person.entry(to[0]).or_default() += 1;
    }
    assert_eq!(per_person.len(), 4, "{per_person:?}");
    assert!(per_person.values().all(|n| *n == 2), "{per_person:?}");
    let reminders = mails
        .iter()
        .filter(|m| m.subject.to_lowercase().contains("rappel"))
        .count();
    assert_eq!(
        reminders,
        4,
        "{:?}",
        mails.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );

    for (_, child) in children {
        stop(child);
    }
    drop(lb);
    store.close().await;
    let _ = std::fs::remove_dir_all(dir);
}
