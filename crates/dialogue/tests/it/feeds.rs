//! Calendar feeds and the weekly series across the October change, read by strict parsers.

use domain::booking::StartSpec;
use domain::localtime::Ambiguity;
use jiff::civil::{Date, Weekday, time};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use testkit::{Backend, both_backends};

use crate::api::token_for;
use crate::helpers::{PASSWORD, TestApp};
use crate::mail::{cast, session_request};
use crate::mailkit::*;

both_backends!(
    each_account_has_a_feed_of_its_own_sessions,
    a_weekly_series_at_nine_in_paris_stays_at_nine_across_the_october_change,
    sessions_in_the_repeated_hour_are_read_at_their_booked_instant,
);

async fn me(app: &TestApp, token: &str) -> serde_json::Value {
    let r = testkit::client()
        .get(format!("{}/api/v1/me", app.url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json().await.unwrap()
}

async fn get(url: &str, etag: Option<&str>) -> reqwest::Response {
    let mut r = testkit::client().get(url);
    if let Some(tag) = etag {
        r = r.header("if-none-match", tag);
    }
    r.send().await.unwrap()
}

async fn each_account_has_a_feed_of_its_own_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let people = cast(&app).await;
    let by = caller(&people.manager);
    let mine = book(&app, &people.manager, &session_request(3)).await.remove(0);
    let mut other = session_request(4);
    other.trainers = vec!["ada@example.com".into()];
    other.moderators.clear();
    let theirs = book(&app, &people.manager, &other).await.remove(0);

    // The trainer's feed URL, from the API.
    let token = token_for(&app, &people.trainer.id).await;
    let url = me(&app, &token).await["ical_url"].as_str().unwrap().to_owned();
    assert!(
        url.starts_with(&format!("{}/ical/", app.url)) && url.ends_with(".ics"),
        "{url}"
    );
    let r = get(&url, None).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "text/calendar; charset=utf-8");
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let body = r.text().await.unwrap();
    let parsed = parse_calendar(&body);
    let events = parsed.ical["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "only what Théo teaches: {body}");
    assert_eq!(events[0]["uid"], mine.session.uid.as_str());
    assert_eq!(events[0]["status"], "CONFIRMED");
    assert_eq!(events[0]["url"], link_of(&app, &mine, "theo@example.org").as_str());
    assert_eq!(parsed.libical_starts(), [mine.session.starts_at.to_string()]);
    assert_eq!(parsed.ical["method"], serde_json::Value::Null);
    assert_eq!(parsed.icalendar["name"], "Dialogue — Théo Dupré");
    assert!(
        !body.contains("zoe@example.org"),
        "learners' addresses stay out of feeds"
    );
    // Nothing changed: 304, also with a weak or listed tag.
    for tag in [etag.clone(), format!("W/{etag}"), format!("\"x\", {etag}")] {
        let r = get(&url, Some(&tag)).await;
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED, "{tag}");
        assert_eq!(r.headers()["etag"], etag.as_str());
        assert!(r.text().await.unwrap().is_empty());
    }
    assert_eq!(get(&url, Some("\"other\"")).await.status(), StatusCode::OK);
    // Moved: a new tag, a higher sequence.
    let later = service::booking::DetailsChange {
        time: Some(time(11, 0, 0, 0)),
        ..Default::default()
    };
    service::booking::change_details(
        app.state.service(),
        &by,
        &mine.session.id,
        service::booking::Scope::This,
        &later,
    )
    .await
    .unwrap();
    let r = get(&url, Some(&etag)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let etag2 = r.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(etag2, etag);
    let parsed = parse_calendar(&r.text().await.unwrap());
    assert_eq!(parsed.ical["events"][0]["sequence"], 1);
    // Cancelled sessions stay, marked so.
    service::booking::cancel(
        app.state.service(),
        &by,
        &mine.session.id,
        service::booking::Scope::This,
        None,
    )
    .await
    .unwrap();
    let parsed = parse_calendar(&get(&url, None).await.text().await.unwrap());
    assert_eq!(parsed.ical["events"][0]["status"], "CANCELLED");

    // The profile page shows the same URL and resets it.
    let browser = app.browser();
    browser.login("theo@example.org", PASSWORD).await;
    let profile = browser.get("/profile").await;
    assert_eq!(profile.input_value("feed_url").as_deref(), Some(url.as_str()));
    assert!(profile.contains("Mon agenda"));
    let page = browser.post("/profile/feed/reset", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.contains("Nouvelle adresse d’agenda créée"), "{}", page.body);
    let new_url = page.input_value("feed_url").unwrap();
    assert_ne!(new_url, url);
    assert_eq!(me(&app, &token).await["ical_url"], new_url.as_str());
    assert_eq!(
        get(&url, None).await.status(),
        StatusCode::NOT_FOUND,
        "the old URL is dead"
    );
    assert_eq!(get(&new_url, None).await.status(), StatusCode::OK);
    // Unknown keys are 404, never an empty calendar.
    let theo = &people.trainer.id;
    for path in [
        "/ical/nothing.ics".to_owned(),
        format!("/ical/{theo}-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.ics"),
        format!("/ical/{theo}.ics"),
        new_url.trim_end_matches(".ics").replace(&app.url, ""),
        "/ical/-.ics".to_owned(),
    ] {
        let r = get(&format!("{}{path}", app.url), None).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        assert!(!r.text().await.unwrap().contains("VCALENDAR"));
    }
    // A reset needs the form's CSRF token.
    let forged = browser.post_bare("/profile/feed/reset", &[]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(get(&new_url, None).await.status(), StatusCode::OK);

    // The manager's feed: the sessions they booked. The co-host's: what she teaches.
    let manager_token = token_for(&app, &people.manager.id).await;
    let manager_url = me(&app, &manager_token).await["ical_url"].as_str().unwrap().to_owned();
    let parsed = parse_calendar(&get(&manager_url, None).await.text().await.unwrap());
    let uids: Vec<&str> = parsed.ical["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["uid"].as_str().unwrap())
        .collect();
    assert_eq!(uids, [mine.session.uid.as_str(), theirs.session.uid.as_str()]);
    let ada_token = token_for(&app, &people.cohost.id).await;
    let ada_url = me(&app, &ada_token).await["ical_url"].as_str().unwrap().to_owned();
    let parsed = parse_calendar(&get(&ada_url, None).await.text().await.unwrap());
    let uids: Vec<&str> = parsed.ical["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["uid"].as_str().unwrap())
        .collect();
    assert_eq!(
        uids,
        [mine.session.uid.as_str(), theirs.session.uid.as_str()],
        "co-hosted and taught"
    );
    // A month and more later, those sessions have left the feed's range.
    app.clock.advance(SignedDuration::from_hours(24 * 36));
    let parsed = parse_calendar(&get(&ada_url, None).await.text().await.unwrap());
    assert!(parsed.ical["events"].as_array().unwrap().is_empty());
    // A disabled account's feed is gone.
    app.store()
        .set_active(
            &people.cohost.id,
            false,
            jiff::Timestamp::now(),
            &store::AuditEntry::new("user.disable", None, "test", None),
        )
        .await
        .unwrap();
    assert_eq!(get(&ada_url, None).await.status(), StatusCode::NOT_FOUND);
}

/// The `name` lines of the calendar's events (not of its time zones).
fn event_lines(ics: &str, name: &str) -> Vec<String> {
    let mut inside = false;
    let mut found = Vec::new();
    for line in unfold(ics).lines() {
        match line {
            "BEGIN:VEVENT" => inside = true,
            "END:VEVENT" => inside = false,
            l if inside && (l.starts_with(&format!("{name};")) || l.starts_with(&format!("{name}:"))) => {
                found.push(l.to_owned());
            }
            _ => {}
        }
    }
    found
}

fn days(date: Date, n: i64) -> Date {
    date.checked_add(jiff::Span::new().days(n)).unwrap()
}

/// The last Sunday of October of `year`: when Europe leaves summer time.
fn october_change(year: i16) -> Date {
    let last = Date::new(year, 10, 31).unwrap();
    let back = last.weekday().to_monday_one_offset() % 7;
    days(last, -i64::from(back))
}

async fn a_weekly_series_at_nine_in_paris_stays_at_nine_across_the_october_change(backend: Backend) {
    let smtp = Smtp::start().await;
    let app = spawn(backend, &smtp.env()).await;
    let people = cast(&app).await;
    let paris = TimeZone::get("Europe/Paris").unwrap();
    let today = Timestamp::now().to_zoned(paris.clone()).date();
    // Four Mondays around the next October change: two before, two after.
    let mut change = october_change(today.year());
    if days(change, -13) <= days(today, 2) {
        change = october_change(today.year() + 1);
    }
    assert_eq!(change.weekday(), Weekday::Sunday);
    let first = days(change, -13);
    let mut r = request("Atelier hebdomadaire", first, time(9, 0, 0, 0), "Europe/Paris", 60);
    r.recurrence = Some("FREQ=WEEKLY;COUNT=4".into());
    r.trainers = vec!["theo@example.org".into()];
    r.learners = vec![person("Zoé Lefèvre", "zoe@example.org")];
    let sessions = book(&app, &people.manager, &r).await;
    assert_eq!(sessions.len(), 4);
    let expected: Vec<String> = (0..4)
        .map(|week| {
            let date = days(first, 7 * week);
            let utc_hour = if date < change { 7 } else { 8 };
            format!("{date}T{utc_hour:02}:00:00Z")
        })
        .collect();
    let starts: Vec<String> = sessions.iter().map(|d| d.session.starts_at.to_string()).collect();
    assert_eq!(
        starts, expected,
        "09:00 in Paris is 07:00 UTC in summer time, 08:00 after"
    );

    // One invitation each for the whole series (not one per session): its calendar is one
    // event repeated at 09:00 Paris, and every parser expands it to the four booked instants.
    smtp.wait_for(2).await;
    wait_delivered(&app).await;
    let mails = smtp.messages();
    assert_eq!(mails.len(), 2, "one invitation to the trainer and one to the learner");
    let zoe: Vec<&Mail> = mails.iter().filter(|m| m.to_addresses == ["zoe@example.org"]).collect();
    assert_eq!(zoe.len(), 1);
    let text = zoe[0].text();
    assert_eq!(
        text.matches("de 09:00 à 10:00 (Europe/Paris)").count(),
        4,
        "each session listed with its own hours: {text}"
    );
    let ics = &zoe[0].attachment().unwrap().text;
    let parsed = parse_calendar(ics);
    assert_eq!(parsed.libical_starts(), [expected[0].clone()], "one event");
    let local = event_lines(ics, "DTSTART");
    assert!(
        local.len() == 1 && local[0].starts_with("DTSTART;TZID=Europe/Paris:") && local[0].ends_with("T090000"),
        "{local:?}"
    );
    assert_eq!(event_lines(ics, "RRULE"), ["RRULE:FREQ=WEEKLY;COUNT=4"]);
    assert_eq!(parsed.ical_occurrences(), expected);
    let shown = khal_imported(ics, "Europe/Paris", first);
    assert_eq!(shown.len(), 4, "{shown:?}");
    for line in &shown {
        assert!(line.contains(" 09:00 ") && line.ends_with(" 10:00"), "{shown:?}");
    }

    // The trainer's feed: the same four at 09:00 Paris (those within its year ahead).
    let token = token_for(&app, &people.trainer.id).await;
    let url = me(&app, &token).await["ical_url"].as_str().unwrap().to_owned();
    let body = get(&url, None).await.text().await.unwrap();
    let parsed = parse_calendar(&body);
    let horizon = Timestamp::now() + SignedDuration::from_hours(24 * 365);
    let within: Vec<String> = sessions
        .iter()
        .filter(|d| d.session.starts_at < horizon)
        .map(|d| d.session.starts_at.to_string())
        .collect();
    assert!(
        within.len() >= 2,
        "the test needs occurrences on both sides within the feed"
    );
    // One event for the series, as in the invitations.
    assert_eq!(parsed.libical_starts(), [expected[0].clone()]);
    assert_eq!(parsed.ical_occurrences(), within);
    let local = event_lines(&body, "DTSTART");
    assert_eq!(local.len(), 1);
    assert!(
        local
            .iter()
            .all(|l| l.starts_with("DTSTART;TZID=Europe/Paris:") && l.ends_with("T090000")),
        "{local:?}"
    );
    assert_eq!(parsed.libical["timezones"], serde_json::json!(["Europe/Paris"]));
    // A calendar client in Paris shows every one at 09:00; one in New York, at the hour the
    // October changes (a week apart on each side of the Atlantic) make it.
    let shown = khal_imported(&body, "Europe/Paris", first);
    assert_eq!(shown.len(), within.len(), "{shown:?}");
    for line in &shown {
        assert!(line.contains(" 09:00 ") && line.ends_with(" 10:00"), "{shown:?}");
    }
    let new_york: Vec<String> = khal_imported(&body, "America/New_York", days(first, -1));
    let expected: Vec<String> = sessions
        .iter()
        .filter(|d| d.session.starts_at < horizon)
        .map(|d| {
            let z = d.session.starts_at.to_zoned(TimeZone::get("America/New_York").unwrap());
            format!("{} {:02}:{:02}", z.date(), z.hour(), z.minute())
        })
        .collect();
    let starts: Vec<String> = new_york.iter().map(|l| l[..16].to_owned()).collect();
    assert_eq!(starts, expected);
}

/// 02:30 happens twice in Paris on the night clocks go back: a session booked at the later one
/// (+01:00) and one at the earlier (+02:00) are read at their own instants by every parser, in
/// the invitation, the personal link's calendar file and the trainer's feed (RFC 5545 reads a
/// local 02:30 as the first, libical and khal as the second: such times are written in UTC).
async fn sessions_in_the_repeated_hour_are_read_at_their_booked_instant(backend: Backend) {
    let smtp = Smtp::start().await;
    let app = spawn(backend, &smtp.env()).await;
    let people = cast(&app).await;
    let paris = TimeZone::get("Europe/Paris").unwrap();
    let today = Timestamp::now().to_zoned(paris.clone()).date();
    let mut change = october_change(today.year());
    if change <= days(today, 14) {
        change = october_change(today.year() + 1);
    }
    // Two weeks before: the feed's year ahead holds the night of the change.
    let before = change.at(12, 0, 0, 0).to_zoned(paris.clone()).unwrap().timestamp();
    app.clock.freeze_at(before - SignedDuration::from_hours(24 * 14));
    let mut booked = Vec::new();
    for (ambiguity, title) in [(Ambiguity::Later, "Heure d’hiver"), (Ambiguity::Earlier, "Heure d’été")] {
        let mut r = request(title, change, time(2, 30, 0, 0), "Europe/Paris", 60);
        r.start = StartSpec::Local {
            date: change,
            time: time(2, 30, 0, 0),
            ambiguity,
        };
        r.trainers = vec!["theo@example.org".into()];
        r.learners = vec![person("Zoé Lefèvre", "zoe@example.org")];
        booked.push(book(&app, &people.manager, &r).await.remove(0));
    }
    let starts: Vec<String> = booked.iter().map(|d| d.session.starts_at.to_string()).collect();
    let first_utc = change.at(0, 30, 0, 0).to_zoned(TimeZone::UTC).unwrap().timestamp();
    let later = (first_utc + SignedDuration::from_hours(1)).to_string();
    let earlier = first_utc.to_string();
    assert_eq!(starts, [later.clone(), earlier.clone()], "02:30+01:00 and 02:30+02:00");
    let ends: Vec<String> = booked.iter().map(|d| d.session.ends_at.to_string()).collect();

    // The invitations Zoé receives, and her calendar file from her link.
    let mails = smtp.wait_for(4).await;
    for (detail, (start, end)) in booked.iter().zip(starts.iter().zip(&ends)) {
        let mail = mails
            .iter()
            .find(|m| m.to_addresses == ["zoe@example.org"] && m.subject.contains(&detail.session.title))
            .unwrap_or_else(|| panic!("no invitation for {}", detail.session.title));
        let link = link_of(&app, detail, "zoe@example.org");
        let file = testkit::get(format!("{link}/calendar.ics")).await.unwrap();
        assert_eq!(file.status(), StatusCode::OK);
        let file = file.text().await.unwrap();
        for ics in [
            &mail.attachment().unwrap().text,
            &mail.inline_calendar().unwrap().text,
            &file,
        ] {
            let parsed = parse_calendar(ics);
            assert_eq!(parsed.libical_starts(), [start.as_str()], "libical\n{ics}");
            assert_eq!(parsed.libical["events"][0]["end"], end.as_str(), "libical");
            for read in [&parsed.ical, &parsed.icalendar] {
                assert_eq!(read["events"][0]["start"], start.as_str(), "{ics}");
                assert_eq!(read["events"][0]["end"], end.as_str(), "{ics}");
            }
            assert_eq!(parsed.ical_occurrences(), std::slice::from_ref(start));
            let utc = |t: &str| {
                let t: Timestamp = t.parse().unwrap();
                t.strftime("%Y-%m-%d %H:%M").to_string()
            };
            assert_eq!(khal_local(ics, "UTC"), [format!("{} {}", utc(start), utc(end))], "khal");
            let dtstart = event_lines(ics, "DTSTART").remove(0);
            let utc_form = start.replace(['-', ':'], "");
            assert_eq!(dtstart, format!("DTSTART:{utc_form}"), "in UTC");
        }
    }

    // The trainer's feed: both, each at its own instant.
    let token = token_for(&app, &people.trainer.id).await;
    let url = me(&app, &token).await["ical_url"].as_str().unwrap().to_owned();
    let body = get(&url, None).await.text().await.unwrap();
    let parsed = parse_calendar(&body);
    let mut libical = parsed.libical_starts();
    libical.sort();
    assert_eq!(libical, [earlier.clone(), later.clone()], "{body}");
    assert_eq!(parsed.ical_occurrences(), [earlier.clone(), later.clone()]);
    let mut icalendar: Vec<&str> = parsed.icalendar["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["start"].as_str().unwrap())
        .collect();
    icalendar.sort_unstable();
    assert_eq!(icalendar, [earlier.as_str(), later.as_str()]);
}
