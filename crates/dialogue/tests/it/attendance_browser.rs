//! The drawn signature in a real browser (headless Chromium through WebDriver): a learner
//! draws on the signing page's canvas with a mouse and a pen (real pointer events), signs, the
//! trainer co-signs, and the PDF sheet carries the drawing as an image (`pdfimages -list`),
//! checked by qpdf and read back by pdftotext.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::json;
use store::{Participant, SessionDetail, SignatureContent};
use testkit::Backend;
use testkit::browser::Browser;

use crate::api::token_for;
use crate::helpers::{PASSWORD, TestApp};
use crate::jitsi_support::*;

const MIN: i64 = 60;

async fn connect(app: &TestApp, meet: &Server, detail: &SessionDetail, p: &Participant, from: i64, until: i64) {
    let t = detail.session.starts_at.as_second();
    let room = &detail.session.room;
    let jid = format!("{}@meet/{from}", p.id);
    let occupant = |left: Option<i64>| {
        let mut o = json!({"occupant_jid": jid, "id": p.id, "name": p.name, "joined_at": t + from});
        if let Some(l) = left {
            o["left_at"] = json!(l);
        }
        o
    };
    for (path, name, o) in [
        ("occupant/joined", "muc-occupant-joined", occupant(None)),
        ("occupant/left", "muc-occupant-left", occupant(Some(t + until))),
    ] {
        let body = json!({"event_name": name, "room_name": room,
            "room_jid": format!("{room}@conference.meet.example.org"), "is_breakout": false, "occupant": o});
        let r = testkit::client()
            .post(format!("{}/jitsi/events/{path}", app.url))
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {}", meet.api_secret))
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
    }
}

fn run(program: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (apt-get install -y poppler-utils qpdf)"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_draws_a_signature_that_prints_on_the_sheet() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let meet = server(&app, hs256("Meet", "https://meet.example.org")).await;
    let manager = app.user("marie@example.org", domain::Role::Manager).await;
    let trainer = app.user("theo@example.org", domain::Role::Trainer).await;
    let paris = jiff::tz::TimeZone::get("Europe/Paris").unwrap();
    let tomorrow = Timestamp::now().to_zoned(paris.clone()).date().tomorrow().unwrap();
    let start = tomorrow.at(11, 0, 0, 0).to_zoned(paris).unwrap().timestamp();
    let detail = book_at(&app, &trainer, &manager, start, 180, "Europe/Paris").await;
    let lea = detail
        .participants
        .iter()
        .find(|p| p.name == "Léa Martin")
        .unwrap()
        .clone();
    let theo = with_role(&detail, store::ParticipantRole::Trainer).clone();
    connect(&app, &meet, &detail, &lea, 0, 110 * MIN).await;
    connect(&app, &meet, &detail, &theo, -5 * MIN, 185 * MIN).await;
    app.clock.freeze_at(start + SignedDuration::from_mins(200));
    let morning = format!("{tomorrow}:morning");

    // Léa opens her signing page: the pad shows (JavaScript), she draws two strokes.
    let browser = Browser::start().await;
    browser.goto(&format!("{}{}/sign", app.url, link(&app, &lea))).await;
    let canvas = browser.find("#sign-canvas").await;
    let shown = browser
        .execute(
            "return !document.querySelector('[data-signature-pad]').hidden;",
            json!([]),
        )
        .await;
    assert_eq!(shown, true, "the pad shows when scripts run");
    canvas
        .draw(
            "mouse",
            &[(-200, 20), (-150, -30), (-100, 25), (-50, -20), (0, 30), (60, -25)],
        )
        .await;
    canvas.draw("pen", &[(80, 30), (120, -10), (160, 35), (200, -30)]).await;
    browser.find("#sign-half").await.select(&morning).await;
    browser.find("#sign-form button[type=submit]").await.click().await;
    browser
        .wait_for_url(Duration::from_secs(10), |u| u.contains("notice=saved"))
        .await;
    let text = browser.text().await;
    assert!(text.contains("signé") || text.contains("signed"), "{text}");

    // What was stored is a PNG of her drawing (not a typed name), accepted by the checks.
    let signatures = app.store().signatures(&detail.session.id).await.unwrap();
    assert_eq!(signatures.len(), 1);
    let SignatureContent::Png(png) = &signatures[0].content else {
        panic!("a drawn signature, got {:?}", signatures[0].content);
    };
    let (width, height) = documents::check_signature(png).expect("a readable, non-blank drawing");
    assert_eq!((width, height), (600, 200));

    // The trainer co-signs the morning (typed, from their account).
    let trainer_browser = app.browser();
    trainer_browser.login(&trainer.email, PASSWORD).await;
    let r = trainer_browser
        .post_raw(
            &format!("/sessions/{}/attendance/sign", detail.session.id),
            &[("half_day", &morning), ("name", "Théo Formateur")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.store().signatures(&detail.session.id).await.unwrap().len(), 2);

    // The sheet prints the drawing as an image.
    let token = token_for(&app, &manager.id).await;
    let r = testkit::client()
        .get(format!(
            "{}/api/v1/sessions/{}/attendance.pdf",
            app.url, detail.session.id
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let file = testkit::temp_dir("drawn-signature").join("sheet.pdf");
    std::fs::write(&file, r.bytes().await.unwrap()).unwrap();
    let path = file.to_str().unwrap();
    run("qpdf", &["--check", path]);
    let images = run("pdfimages", &["-list", path]);
    let rows: Vec<&str> = images.lines().skip(2).filter(|l| !l.trim().is_empty()).collect();
    assert!(!rows.is_empty(), "an image in the sheet: {images}");
    assert!(rows.iter().any(|l| l.contains("image")), "{images}");
    let text = run("pdftotext", &["-layout", path, "-"]);
    assert!(text.contains("Léa Martin"), "{text}");
}
