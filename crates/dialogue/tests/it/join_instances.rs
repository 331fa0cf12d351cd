//! Two Dialogue servers on one PostgreSQL database: each caches join lookups, kept exact by the
//! notifications every write sends (migration 0011, store/src/join_watch.rs). A link revoked or
//! a session cancelled through one is refused at once by the other, and an instance whose
//! listener connection is killed queries the database until it listens again, never serving a
//! stale answer.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use store::{AuditEntry, Participant, Store};

use crate::helpers::{TestApp, config_from_env};
use crate::jitsi_support::*;

/// A second server on the first one's database and data directory (so the same secret key).
struct Second {
    url: String,
    store: Store,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Second {
    async fn start(first: &TestApp) -> Second {
        let data = first.data_dir.display().to_string();
        let env: Vec<(&str, &str)> = vec![
            ("DIALOGUE_LISTEN", "127.0.0.1:0"),
            ("DIALOGUE_DATABASE_URL", &first.db.url),
            ("DIALOGUE_DATA_DIR", &data),
        ];
        let app = dialogue::Application::build(&config_from_env(&env), service::Clock::system())
            .await
            .unwrap();
        let url = format!("http://{}", app.local_addr());
        let store = app.state().service().store().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        let second = Second {
            url,
            store,
            stop: Some(stop),
            task,
        };
        second.listening_other_than(None).await;
        second
    }

    /// Waits (5 s at most) until the join listener is connected, on another backend than `old`.
    async fn listening_other_than(&self, old: Option<i32>) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(pid) = self.store.join_listener_pid()
                && Some(pid) != old
            {
                return pid;
            }
            assert!(Instant::now() < deadline, "the join listener did not connect");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    async fn join(&self, path: &str) -> StatusCode {
        client()
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap()
            .status()
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.await.unwrap().unwrap();
    }
}

/// Asks `second` for `path` until it answers `expected`, a few times within a short bound (the
/// time a notification takes to arrive); returns how many answers were something else.
async fn answers_soon(second: &Second, path: &str, expected: StatusCode) -> usize {
    for stale in 0..40 {
        if second.join(path).await == expected {
            return stale;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    panic!("{path}: still not {expected} on the other instance after 40 tries");
}

async fn reissue(app: &TestApp, session_id: &str, p: &Participant) -> Participant {
    app.store()
        .reissue_link(
            session_id,
            &p.id,
            app.clock.now(),
            &AuditEntry::new("participant.link", None, "test", None),
        )
        .await
        .unwrap()
}

mod a_revocation_on_one_instance_is_refused_at_once_on_the_other {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::a_revocation_on_one_instance_is_refused_at_once_on_the_other().await
    }
}

async fn a_revocation_on_one_instance_is_refused_at_once_on_the_other() {
    let first = TestApp::spawn(testkit::Backend::Postgres).await;
    server(&first, hs256("Meet", "https://meet.example.org")).await;
    let (manager, _, detail) = people_and_session(&first, minutes_from_now(3), 60).await;
    let second = Second::start(&first).await;
    let lea = learner(&detail).clone();
    let old = link(&first, &lea);
    // Read twice on the second instance: the second answer comes from its cache.
    for _ in 0..2 {
        assert_eq!(second.join(&old).await, StatusCode::SEE_OTHER);
    }
    // Revoked on the first instance: refused on the second, at once.
    let renewed = reissue(&first, &detail.session.id, &lea).await;
    let stale = answers_soon(&second, &old, StatusCode::NOT_FOUND).await;
    assert!(stale <= 2, "{stale} stale answers");
    let new = link(&first, &renewed);
    for _ in 0..2 {
        assert_eq!(second.join(&new).await, StatusCode::SEE_OTHER);
    }
    // Every other participant's link cached too, then the session cancelled on the first.
    for p in &detail.participants {
        let p = if p.id == lea.id { &renewed } else { p };
        assert_eq!(second.join(&link(&first, p)).await, StatusCode::SEE_OTHER);
    }
    first
        .store()
        .cancel_sessions(
            std::slice::from_ref(&detail.session.id),
            None,
            first.clock.now(),
            &AuditEntry::new("session.cancel", Some(&manager.id), &manager.email, None),
        )
        .await
        .unwrap();
    for p in &detail.participants {
        let p = if p.id == lea.id { &renewed } else { p };
        answers_soon(&second, &link(&first, p), StatusCode::GONE).await;
    }
    // And the other way round: the first instance's own cache, after a write of the second.
    let (_, _, other) = people_and_session_again(&first).await;
    let guest = with_role(&other, store::ParticipantRole::Guest).clone();
    let guest_link = link(&first, &guest);
    for _ in 0..2 {
        assert_eq!(first_join(&first, &guest_link).await, StatusCode::SEE_OTHER);
    }
    second
        .store
        .reissue_link(
            &other.session.id,
            &guest.id,
            first.clock.now(),
            &AuditEntry::new("participant.link", None, "test", None),
        )
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_millis(200);
    while first_join(&first, &guest_link).await != StatusCode::NOT_FOUND {
        assert!(
            Instant::now() < deadline,
            "the first instance still admits a revoked link"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    second.stop().await;
}

/// Another session of the same people (the first one was cancelled).
async fn people_and_session_again(app: &TestApp) -> (store::User, store::User, store::SessionDetail) {
    let manager = app.store().user_by_email("marie@example.org").await.unwrap().unwrap();
    let trainer = app.store().user_by_email("theo@example.org").await.unwrap().unwrap();
    let detail = book_at(app, &trainer, &manager, minutes_from_now(3), 60, "Europe/Paris").await;
    (manager, trainer, detail)
}

async fn first_join(app: &TestApp, path: &str) -> StatusCode {
    client()
        .get(format!("{}{path}", app.url))
        .send()
        .await
        .unwrap()
        .status()
}

mod a_killed_listener_falls_back_to_queries_until_it_listens_again {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::a_killed_listener_falls_back_to_queries_until_it_listens_again().await
    }
}

/// Runs SQL commands, one transaction each, in one psql session.
fn psql(url: &str, commands: &[&str]) -> String {
    let mut args = vec![url, "-At", "-v", "ON_ERROR_STOP=1"];
    for c in commands {
        args.extend(["-c", c]);
    }
    let out = std::process::Command::new("psql")
        .args(args)
        .output()
        .expect("psql (apt-get install -y postgresql-client)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

async fn a_killed_listener_falls_back_to_queries_until_it_listens_again() {
    let first = TestApp::spawn(testkit::Backend::Postgres).await;
    server(&first, hs256("Meet", "https://meet.example.org")).await;
    let (_, _, detail) = people_and_session(&first, minutes_from_now(3), 60).await;
    let second = Second::start(&first).await;
    let mut lea = learner(&detail).clone();
    for round in 0..3 {
        // Quiet first (the invitations or the new link delivered), so that nothing else
        // happens to empty the cache.
        crate::mailkit::wait_delivered(&first).await;
        let old = link(&first, &lea);
        for _ in 0..2 {
            assert_eq!(second.join(&old).await, StatusCode::SEE_OTHER, "round {round}");
        }
        // The second instance's listener killed (the call waits until its backend is gone)
        // and the link revoked in the same breath, while the second instance listens again.
        let pid = second.store.join_listener_pid().unwrap();
        assert_eq!(
            psql(
                &first.db.url,
                &[
                    &format!("SELECT pg_terminate_backend({pid}, 5000)"),
                    &format!(
                        "UPDATE session_participants SET link_hash = md5(random()::text) WHERE id = '{}' \
                         RETURNING 'revoked'",
                        lea.id
                    ),
                ]
            ),
            "t\nrevoked\nUPDATE 1"
        );
        // Never the stale answer: the cache is not used while not listening, and what it held
        // before is not trusted after (whether the revocation came before or after the new
        // listener).
        for _ in 0..3 {
            assert_eq!(
                second.join(&old).await,
                StatusCode::NOT_FOUND,
                "round {round}: a revoked link admitted by the instance that lost its listener"
            );
        }
        let back = second.listening_other_than(Some(pid)).await;
        assert_ne!(back, pid);
        assert_eq!(second.join(&old).await, StatusCode::NOT_FOUND, "round {round}");
        // Listening again: notifications are heard again.
        lea = reissue(&first, &detail.session.id, &lea).await;
        let new = link(&first, &lea);
        for _ in 0..2 {
            assert_eq!(second.join(&new).await, StatusCode::SEE_OTHER, "round {round}");
        }
        lea = reissue(&first, &detail.session.id, &lea).await;
        answers_soon(&second, &new, StatusCode::NOT_FOUND).await;
    }
    second.stop().await;
}
