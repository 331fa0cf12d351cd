//! The reminder to sign the attendance sheet, delivered to a real SMTP server (aiosmtpd): once
//! to a learner who attended and did not sign, never to one who signed or who never came, even
//! when the reminders are queued several times.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::json;
use store::{Participant, SessionDetail};
use testkit::{Backend, both_backends};

use crate::helpers::TestApp;
use crate::jitsi_support::*;
use crate::mailkit::{self, Mail, Smtp};

both_backends!(one_reminder_to_sign_for_who_did_not);

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

fn sign_reminders(smtp: &Smtp) -> Vec<Mail> {
    smtp.messages()
        .into_iter()
        .filter(|m| m.subject.contains("feuille d’émargement"))
        .collect()
}

async fn one_reminder_to_sign_for_who_did_not(backend: Backend) {
    let smtp = Smtp::start().await;
    let app = mailkit::spawn(backend, &smtp.env()).await;
    let meet = server(&app, hs256("Meet", "https://meet.example.org")).await;
    let manager = app.user("marie@example.org", domain::Role::Manager).await;
    let trainer = app.user("theo@example.org", domain::Role::Trainer).await;
    // Tomorrow, 11:00 to 14:00 in Paris (noon at 13:00: a morning and an afternoon).
    let tomorrow = Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Paris").unwrap())
        .date()
        .tomorrow()
        .unwrap();
    let start = tomorrow
        .at(11, 0, 0, 0)
        .to_zoned(jiff::tz::TimeZone::get("Europe/Paris").unwrap())
        .unwrap()
        .timestamp();
    let detail = book_at(&app, &trainer, &manager, start, 180, "Europe/Paris").await;
    let lea = detail
        .participants
        .iter()
        .find(|p| p.name == "Léa Martin")
        .unwrap()
        .clone();
    let max = detail
        .participants
        .iter()
        .find(|p| p.name == "Max Durand")
        .unwrap()
        .clone();
    // Léa the morning only, Max both half-days; Gaby never came.
    connect(&app, &meet, &detail, &lea, 0, 110 * MIN).await;
    connect(&app, &meet, &detail, &max, 10 * MIN, 170 * MIN).await;
    let svc = app.state.service();

    // While the session runs: nobody is reminded.
    app.clock.freeze_at(start + SignedDuration::from_mins(150));
    assert_eq!(service::attendance::queue_sign_reminders(svc).await.unwrap(), 0);

    // After it, Léa signs her morning; Max signs nothing.
    app.clock.freeze_at(start + SignedDuration::from_mins(200));
    let date = tomorrow.to_string();
    let browser = app.browser();
    let r = browser
        .post_raw(
            &format!("{}/sign", link(&app, &lea)),
            &[("half_day", &format!("{date}:morning")), ("name", "Léa Martin")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    // Queued by two instances at once, then again: written once.
    let (a, b) = tokio::join!(
        service::attendance::queue_sign_reminders(svc),
        service::attendance::queue_sign_reminders(svc)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 1);
    assert_eq!(service::attendance::queue_sign_reminders(svc).await.unwrap(), 0);
    // The store itself refuses a second one (what two instances racing rely on).
    let now = start + SignedDuration::from_mins(200);
    let written = app
        .store()
        .enqueue_sign_reminders(
            &detail.session.id,
            std::slice::from_ref(&max.id),
            now,
            detail.session.ends_at,
        )
        .await
        .unwrap();
    assert_eq!(written, 0);
    assert_eq!(
        app.store().sign_reminded(&detail.session.id).await.unwrap(),
        vec![max.id.clone()]
    );

    // It reaches Max, in French, with his signing link.
    let mut found = Vec::new();
    for _ in 0..600 {
        found = sign_reminders(&smtp);
        if !found.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(found.len(), 1, "{found:?}");
    let mail = &found[0];
    assert_eq!(mail.to_addresses, vec!["max@example.org".to_owned()]);
    assert!(mail.subject.contains("Rust pour les équipes"), "{}", mail.subject);
    let text = mail.text.as_deref().unwrap();
    let sign_url = format!("{}/sign", link(&app, &max));
    assert!(text.contains(&sign_url), "{sign_url} in {text}");
    assert!(text.contains("attend encore votre signature"), "{text}");
    // The link opens his signing page, with his half-days to sign.
    let page = app.browser().get(&format!("{}/sign", link(&app, &max))).await;
    assert!(page.contains(&format!("{date}:afternoon")), "{}", page.body);

    // More passes later (the server's own included): still one message, to Max only.
    app.clock.freeze_at(start + SignedDuration::from_mins(260));
    assert_eq!(service::attendance::queue_sign_reminders(svc).await.unwrap(), 0);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let all = sign_reminders(&smtp);
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(
        smtp.messages()
            .iter()
            .filter(|m| m.to_addresses.contains(&"lea@example.org".to_owned()))
            .all(|m| !m.subject.contains("émargement")),
        "Léa signed: no reminder"
    );
    assert!(
        smtp.messages()
            .iter()
            .filter(|m| m.to_addresses.contains(&"gaby@elsewhere.example".to_owned()))
            .all(|m| !m.subject.contains("émargement")),
        "Gaby never came: nothing to sign"
    );
    // The outbox lists it as a reminder to sign, sent.
    let outbox = app.store().session_outbox(&detail.session.id).await.unwrap();
    let reminders: Vec<_> = outbox
        .iter()
        .filter(|m| m.kind == store::MailKind::SignReminder)
        .collect();
    assert_eq!(reminders.len(), 1);
    assert_eq!(reminders[0].participant_id, max.id);
}
