//! The calendar's week and month views over HTTP, as a trainer and a manager read them: exactly
//! the sessions of the period and of the viewer, today marked, sessions on the nights the clocks
//! change (and across midnight) at the hours of the viewer's zone, bad `view`/`date` explained.

use std::collections::BTreeSet;

use domain::Role;
use jiff::civil::{Date, Weekday};
use reqwest::StatusCode;
use testkit::{Backend, both_backends};

use crate::booking_support::*;
use crate::helpers::{Page, TestApp, html_unescape};

both_backends!(
    week_and_month_show_exactly_the_viewers_sessions,
    sessions_on_nights_the_clocks_change_sit_at_their_local_hours,
    bad_views_and_dates_are_explained_in_the_viewers_language,
);

fn days(date: Date, n: i64) -> Date {
    date.checked_add(jiff::Span::new().days(n)).unwrap()
}

fn monday_of(date: Date) -> Date {
    days(date, -i64::from(date.weekday().to_monday_zero_offset()))
}

/// The session ids a calendar page shows (`data-session`), in order.
fn shown(page: &Page) -> Vec<String> {
    page.body
        .split("data-session=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

fn set_of(ids: &[&String]) -> BTreeSet<String> {
    ids.iter().map(|s| (*s).clone()).collect()
}

/// The opening tag of the element showing `id` (its classes and data attributes).
fn tag_of<'p>(page: &'p Page, id: &str, nth: usize) -> &'p str {
    let needle = format!("data-session=\"{id}\"");
    let at = page.body.match_indices(&needle).nth(nth).expect("shown").0;
    let start = page.body[..at].rfind('<').unwrap();
    let end = at + page.body[at..].find('>').unwrap();
    &page.body[start..=end]
}

/// Today in Paris, the zone of the test accounts.
fn today() -> Date {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::get("Europe/Paris").unwrap())
        .date()
}

async fn week_and_month_show_exactly_the_viewers_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (manager, _) = app.logged_in("marie@example.org", Role::Manager).await;
    let theo = app.user("theo@example.org", Role::Trainer).await;
    app.user("ana@example.org", Role::Trainer).await;
    let monday = future_monday();
    let at = |title: &str, date: Date, time: &str, minutes: u32, who: &str| form(title, date, time, minutes, who);
    let theo_monday = session_id(&book(&manager, &at("Lundi de Théo", monday, "09:00", 90, "theo@example.org")).await);
    let theo_wednesday = session_id(
        &book(
            &manager,
            &at("Mercredi de Théo", days(monday, 2), "14:00", 60, "theo@example.org"),
        )
        .await,
    );
    let theo_thursday = session_id(
        &book(
            &manager,
            &at("Jeudi annulé", days(monday, 3), "16:00", 60, "theo@example.org"),
        )
        .await,
    );
    let cancelled = manager
        .post(&format!("/sessions/{theo_thursday}/cancel"), &[("scope", "this")])
        .await;
    assert!(cancelled.status.is_success(), "{}", cancelled.status);
    let ana_tuesday = session_id(
        &book(
            &manager,
            &at("Mardi d’Ana", days(monday, 1), "11:00", 60, "ana@example.org"),
        )
        .await,
    );
    let theo_next_week = session_id(
        &book(
            &manager,
            &at("Semaine suivante", days(monday, 7), "10:00", 60, "theo@example.org"),
        )
        .await,
    );
    let theo_later = session_id(
        &book(
            &manager,
            &at("Bien plus tard", days(monday, 70), "10:00", 60, "theo@example.org"),
        )
        .await,
    );
    // A crowded Friday: five sessions.
    let mut friday = Vec::new();
    for time in ["08:00", "10:00", "12:00", "14:00", "16:00"] {
        friday.push(session_id(
            &book(
                &manager,
                &at("Vendredi chargé", days(monday, 4), time, 30, "theo@example.org"),
            )
            .await,
        ));
    }
    let theo_browser = app.browser();
    theo_browser.login(&theo.email, crate::helpers::PASSWORD).await;

    // The week, as Théo sees it: his sessions of that week only.
    let week = theo_browser
        .get(&format!("/calendar?view=week&date={}", days(monday, 2)))
        .await;
    assert_eq!(week.status, StatusCode::OK);
    let mut expected = vec![&theo_monday, &theo_wednesday, &theo_thursday];
    expected.extend(friday.iter());
    assert_eq!(shown(&week).len(), 8, "each session once");
    assert_eq!(set_of(&shown(&week).iter().collect::<Vec<_>>()), set_of(&expected));
    // Placed by hour: 09:00 is row 9 from 07:00 in rows of 15 minutes, 90 minutes span 6 rows.
    let monday_tag = tag_of(&week, &theo_monday, 0);
    assert!(
        monday_tag.contains(" r9 s6 ")
            && monday_tag.contains("data-start=\"09:00\"")
            && monday_tag.contains("data-end=\"10:30\""),
        "{monday_tag}"
    );
    assert!(week.contains(&format!("data-date=\"{monday}\"")));
    assert!(week.contains("data-first-hour=\"07:00\""), "the grid starts at 07:00");
    // The link carries the full date and time for screen readers.
    assert!(html_unescape(&week.body).contains(&format!("<span class=\"visually-hidden\">lundi {} ", monday.day())));
    // Cancelled: struck through, and said.
    let thursday_tag = tag_of(&week, &theo_thursday, 0);
    assert!(thursday_tag.contains("cancelled"), "{thursday_tag}");
    let thursday_item = &week.body[week.body.find(thursday_tag).unwrap()..];
    let thursday_item = &thursday_item[..thursday_item.find("</li>").unwrap()];
    assert!(
        thursday_item.contains("<del>") && thursday_item.contains("Annulée"),
        "{thursday_item}"
    );
    // Previous and next weeks, and the other views of the same day.
    let text = html_unescape(&week.body);
    assert!(text.contains(&format!(
        "href=\"/calendar?view=week&date={}\" rel=\"next\"",
        days(monday, 7)
    )));
    assert!(text.contains(&format!(
        "href=\"/calendar?view=week&date={}\" rel=\"prev\"",
        days(monday, -7)
    )));
    assert!(text.contains(&format!("href=\"/calendar?view=month&date={}\"", days(monday, 2))));
    assert!(week.body.contains("aria-current=\"page\">Semaine<"));
    // The manager sees everyone's, Ana's included.
    let week = manager.get(&format!("/calendar?view=week&date={monday}")).await;
    let mut expected_all = expected.clone();
    expected_all.push(&ana_tuesday);
    assert_eq!(set_of(&shown(&week).iter().collect::<Vec<_>>()), set_of(&expected_all));
    // The next week: only that Monday's.
    let next = theo_browser
        .get(&format!("/calendar?view=week&date={}", days(monday, 7)))
        .await;
    assert_eq!(shown(&next), vec![theo_next_week.clone()]);

    // The month, as Théo sees it: the weeks that hold the month, Monday first.
    let first = monday.first_of_month();
    let grid_start = monday_of(first);
    let grid_end = days(monday_of(monday.last_of_month()), 7);
    let month = theo_browser.get(&format!("/calendar?view=month&date={monday}")).await;
    assert_eq!(month.status, StatusCode::OK);
    let mut in_month = vec![&theo_monday, &theo_wednesday, &theo_thursday];
    in_month.extend(friday.iter().take(3));
    if days(monday, 7) < grid_end {
        in_month.push(&theo_next_week);
    }
    assert!(days(monday, 70) >= grid_end);
    let ids = shown(&month);
    assert_eq!(ids.len(), in_month.len(), "{ids:?}");
    assert_eq!(set_of(&ids.iter().collect::<Vec<_>>()), set_of(&in_month));
    assert!(!month.contains(&ana_tuesday) && !month.contains(&theo_later));
    assert!(month.contains("+2 autres"), "the crowded Friday says how many more");
    assert!(html_unescape(&month.body).contains(&format!("href=\"/calendar?view=week&date={}\"", days(monday, 4))));
    // Real table semantics: seven column headers, Monday first.
    assert_eq!(month.body.matches("<th scope=\"col\">").count(), 7);
    assert!(month.contains("<th scope=\"col\">lundi</th><th scope=\"col\">mardi</th>"));
    // The first cell is the Monday of the first week, dimmed when it is in the previous month.
    let first_cell = &month.body[month.body.find("<td class=\"month-day").unwrap()..];
    let first_cell = &first_cell[..first_cell.find('>').unwrap()];
    assert!(
        first_cell.contains(&format!("data-date=\"{grid_start}\"")),
        "{first_cell}"
    );
    assert_eq!(first_cell.contains("other-month"), grid_start != first, "{first_cell}");
    assert_eq!(
        month.body.matches("<td class=\"month-day").count() as i64,
        (grid_end - grid_start).get_days() as i64
    );
    // The manager's month has Ana's too.
    let month = manager.get(&format!("/calendar?view=month&date={monday}")).await;
    assert!(month.contains(&ana_tuesday) && !month.contains(&theo_later));

    // Today is marked, in the views of today.
    let today = today();
    for path in [
        "/calendar?view=month",
        "/calendar?view=week",
        "/calendar",
        "/calendar?view=list",
    ] {
        let page = theo_browser.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_eq!(page.body.matches("aria-current=\"date\"").count(), 1, "{path}");
        let marked = &page.body[..page.body.find("aria-current=\"date\"").unwrap()];
        let tag = &marked[marked.rfind('<').unwrap()..];
        assert!(tag.contains(&format!("data-date=\"{today}\"")), "{path}: {tag}");
    }
    // No day is marked in a month without today.
    let away = theo_browser
        .get(&format!("/calendar?view=month&date={}", days(today, 400)))
        .await;
    assert!(!away.contains("aria-current=\"date\""));
    assert!(away.contains("Aucune séance ces semaines-là.") && !month.contains("Aucune séance ces semaines-là."));
}

/// The last Sunday of `month` in the first year where it is at least a week ahead.
fn change_sunday(month: i8) -> Date {
    let soon = days(today(), 7);
    let mut year = soon.year();
    loop {
        let mut d = jiff::civil::date(year, month, 1).last_of_month();
        while d.weekday() != Weekday::Sunday {
            d = d.yesterday().unwrap();
        }
        if d >= soon {
            return d;
        }
        year += 1;
    }
}

async fn sessions_on_nights_the_clocks_change_sit_at_their_local_hours(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (manager, _) = app.logged_in("marie@example.org", Role::Manager).await;
    app.user("theo@example.org", Role::Trainer).await;
    // Autumn: at 03:00 summer time the clocks go back to 02:00; 03:30 is then UTC+1.
    let autumn = change_sunday(10);
    let after_change = session_id(
        &book(
            &manager,
            &form("Après le changement", autumn, "03:30", 60, "theo@example.org"),
        )
        .await,
    );
    let week = manager.get(&format!("/calendar?view=week&date={autumn}")).await;
    let tag = tag_of(&week, &after_change, 0);
    assert!(
        tag.contains("data-start=\"03:30\"") && tag.contains("data-end=\"04:30\""),
        "in the 03:00 row, not at 04:30 as summer time would say: {tag}"
    );
    // The grid widens to 03:00; 03:30 is its third row of 15 minutes, an hour is four.
    assert!(week.contains("data-first-hour=\"03:00\""));
    assert!(tag.contains(" r3 s4 "), "{tag}");
    assert!(week.body[week.body.find(&format!("data-date=\"{autumn}\"")).unwrap()..].contains(&after_change));

    // Spring: from 23:00 on Saturday, three hours, across midnight and the missing 02:00 hour:
    // 23:00–24:00 on Saturday, then 00:00–03:00 on Sunday.
    let spring = change_sunday(3);
    let saturday = days(spring, -1);
    let across = session_id(&book(&manager, &form("De nuit", saturday, "23:00", 180, "theo@example.org")).await);
    let week = manager.get(&format!("/calendar?view=week&date={spring}")).await;
    assert_eq!(shown(&week), vec![across.clone(), across.clone()], "one piece a day");
    let first = tag_of(&week, &across, 0);
    let second = tag_of(&week, &across, 1);
    assert!(
        first.contains("data-start=\"23:00\"") && first.contains("data-end=\"24:00\"") && first.contains("continues"),
        "{first}"
    );
    assert!(
        second.contains("data-start=\"00:00\"")
            && second.contains("data-end=\"03:00\"")
            && second.contains("continued"),
        "{second}"
    );
    let saturday_at = week.body.find(&format!("data-date=\"{saturday}\"")).unwrap();
    let sunday_at = week.body.find(&format!("data-date=\"{spring}\"")).unwrap();
    let first_at = week.body.find(first).unwrap();
    let second_at = week.body.find(second).unwrap();
    assert!(saturday_at < first_at && first_at < sunday_at && sunday_at < second_at);
    // The grid runs from midnight to midnight that week.
    assert!(week.contains("data-first-hour=\"00:00\"") && week.contains(">23:00</span>"));
    // The month lists it once, on the Saturday, with its local times.
    let month = manager.get(&format!("/calendar?view=month&date={saturday}")).await;
    assert_eq!(shown(&month), vec![across.clone()]);
    let cell = &month.body[month.body.find(&format!("data-date=\"{saturday}\"")).unwrap()..];
    let cell = &cell[..cell.find("</td>").unwrap()];
    assert!(
        cell.contains(&across) && cell.contains("23:00–") && cell.contains(" 03:00"),
        "{cell}"
    );
}

async fn bad_views_and_dates_are_explained_in_the_viewers_language(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (manager, user) = app.logged_in("marie@example.org", Role::Manager).await;
    // A bad view or date: 422 with the reason, above the calendar of today's week.
    let page = manager.get("/calendar?view=year").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html_unescape(&page.body)
            .contains("Choisissez l’affichage « week » (semaine), « month » (mois) ou « list » (liste).")
    );
    assert!(page.contains("class=\"week-grid\"") && page.contains(&format!("data-date=\"{}\"", today())));
    let page = manager.get("/calendar?view=month&date=2026-13-01").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.contains("class=\"month\""), "still the month view");
    assert!(page.contains(&format!("data-date=\"{}\"", today())));
    let page = manager.get("/calendar?view=week&date=demain").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let page = manager.get("/calendar?view=month&date=%00").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    // In English for an English speaker.
    let profile = store::ProfileUpdate {
        email: domain::Email::parse(&user.email).unwrap(),
        display_name: domain::DisplayName::parse(&user.display_name).unwrap(),
        locale: domain::Locale::En,
        time_zone: "Europe/Paris".into(),
    };
    app.store()
        .update_profile(
            &user.id,
            &profile,
            jiff::Timestamp::now(),
            &store::AuditEntry::new("t", None, "t", None),
        )
        .await
        .unwrap();
    let page = manager.get("/calendar?view=day").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html_unescape(&page.body).contains("Choose the view “week”, “month” or “list”."),
        "{}",
        page.body
    );
    let page = manager.get("/calendar?view=month").await;
    assert!(page.contains("<th scope=\"col\">Monday</th>") && page.contains("This month"));
}
