//! A learner's personal link in a real browser (headless Chromium): the waiting page counts
//! down, then enters by itself; the browser lands on the Jitsi room URL with a token whose
//! claims are right. No Jitsi runs here: the server's base URL points at a local stand-in that
//! records what the browser asked for.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::SignedDuration;
use testkit::Backend;
use testkit::browser::Browser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::TestApp;
use crate::jitsi_support::*;

/// A stand-in for Jitsi Meet: answers any request with a small page and records request lines.
async fn stand_in() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let record = record.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buf[..n]).into_owned();
                if let Some(line) = request.lines().next() {
                    record.lock().unwrap().push(line.to_owned());
                }
                let body = "<!doctype html><title>Jitsi stand-in</title><p>Jitsi stand-in</p>";
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    (port, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_waits_then_the_page_enters_the_room() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (port, seen) = stand_in().await;
    let jitsi_url = format!("http://127.0.0.1:{port}");
    server(&app, hs256("Meet", &jitsi_url)).await;
    // Léa's window (five minutes before the start) opens in six seconds, on the real clock:
    // the token PyJWT reads at the end is checked against that clock too.
    let start = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() + 5 * 60 + 6).unwrap();
    let (_, _, detail) = people_and_session(&app, start, 60).await;
    let lea = learner(&detail).clone();

    let browser = Browser::start().await;
    browser.goto(&format!("{}{}", app.url, link(&app, &lea))).await;
    let text = browser.text().await;
    assert!(text.contains("Rust pour les équipes"), "{text}");
    assert!(
        text.contains("Ouverture dans") && text.contains("Ajouter à mon agenda"),
        "{text}"
    );
    // The countdown runs (our script, allowed by the CSP), in seconds.
    let value = browser.find("[data-countdown-value]").await;
    let first = value.text().await;
    assert!(first.ends_with(" s"), "{first}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut ticked = false;
    while tokio::time::Instant::now() < deadline && !ticked {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let url = browser.url().await;
        if !url.starts_with(&app.url) {
            // Already entered: it must have counted down to get there.
            ticked = true;
        } else {
            ticked = browser.find("[data-countdown-value]").await.text().await != first;
        }
    }
    assert!(ticked, "the countdown never moved from {first}");
    // At zero the page reloads; Dialogue answers with the room.
    let url = browser
        .wait_for_url(Duration::from_secs(30), |u| u.starts_with(&jitsi_url))
        .await;
    let room = &detail.session.room;
    assert!(url.starts_with(&format!("{jitsi_url}/{room}#jwt=")), "{url}");
    assert!(browser.text().await.contains("Jitsi stand-in"));
    // The token never reached the Jitsi side's logs: the fragment stays in the browser.
    let requests = seen.lock().unwrap().clone();
    assert!(
        requests.iter().any(|l| l.starts_with(&format!("GET /{room} HTTP/1.1"))),
        "{requests:?}"
    );
    assert!(requests.iter().all(|l| !l.contains("jwt")), "{requests:?}");
    // The token's claims, checked by PyJWT.
    let out = pyjwt(&token_of(&url), "HS256", APP_SECRET, "dialogue").unwrap_or_else(|e| panic!("{e}"));
    let c = &out["claims"];
    assert_eq!(out["header"]["typ"], "JWT");
    assert_eq!(c["room"], room.as_str());
    assert_eq!(c["sub"], "meet.example.org");
    assert_eq!(c["context"]["user"]["id"], lea.id.as_str());
    assert_eq!(c["context"]["user"]["name"], "Léa Martin");
    assert_eq!(c["context"]["user"]["moderator"], false);
    assert_eq!(
        c["exp"],
        (detail.session.ends_at + SignedDuration::from_mins(10)).as_second()
    );
}
