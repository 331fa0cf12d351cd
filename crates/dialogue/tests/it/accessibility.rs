//! WCAG 2.1 AA in a real browser: axe-core (npm, injected by WebDriver) over every page, in
//! French and English, at 1280 px and at 320 px, failing on any violation; at 320 px no page may
//! scroll sideways (1.4.10 reflow), which axe does not test.

use std::path::PathBuf;
use std::time::Duration;

use domain::Role;
use jiff::civil::time;
use serde_json::{Value, json};
use testkit::Backend;
use testkit::browser::Browser;

use crate::helpers::{PASSWORD, TestApp};
use crate::mailkit::{in_days, person, request};

fn axe_source() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/it/axe/node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "axe-core is missing ({}: {e}); install with: npm ci --prefix crates/dialogue/tests/it/axe",
            path.display()
        )
    })
}

/// The WCAG 2.1 A and AA rules' violations on the current page: `rule: target, …` lines.
async fn violations(browser: &Browser, axe: &str) -> Vec<String> {
    let loaded = browser.execute("return typeof window.axe;", json!([])).await;
    if loaded != "object" {
        browser.execute(axe, json!([])).await;
    }
    let result = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];\
             axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] }, \
                                 resultTypes: ['violations'] })\
               .then(r => done(r.violations.map(v => ({ id: v.id, help: v.help, \
                     nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ' — ' + n.failureSummary) }))))\
               .catch(e => done([{ id: 'axe-error', help: String(e), nodes: [] }]));",
            json!([]),
        )
        .await;
    result
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|v: &Value| format!("{} ({}): {}", v["id"], v["help"], v["nodes"]))
        .collect()
}

/// How far the page is wider than the window (0: no sideways scrolling), and the innermost
/// elements that reach past its right edge.
async fn overflow(browser: &Browser) -> (i64, String) {
    let found = browser
        .execute(
            "const w = document.documentElement.clientWidth;\
             const over = Array.from(document.querySelectorAll('body *')).filter(e => {\
               const r = e.getBoundingClientRect(); return r.width > 0 && r.right > w + 0.5; });\
             const inner = over.filter(e => !over.some(o => o !== e && e.contains(o)));\
             const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +\
               (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '');\
             return [document.documentElement.scrollWidth - w, inner.slice(0, 5).map(name).join(', ')];",
            json!([]),
        )
        .await;
    (
        found[0].as_i64().unwrap_or(0),
        found[1].as_str().unwrap_or("").to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_passes_axe_in_both_languages_at_1280_and_320_px() {
    let axe = axe_source();
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.user("ada@example.org", Role::Admin).await;
    app.user("theo@example.org", Role::Trainer).await;
    let manager = app.user("marie@example.org", Role::Manager).await;
    let course = app
        .store()
        .create_course(
            &store::CourseInput {
                title: "Tableur avancé".into(),
                code: Some("TAB-2".into()),
                description: "Formules, tableaux croisés.".into(),
                default_duration_minutes: 90,
                owner_id: manager.id.clone(),
                action_nature: Default::default(),
                trainer_ids: Vec::new(),
                learners: Vec::new(),
            },
            jiff::Timestamp::now(),
            &store::AuditEntry::new("course.create", None, "test", None),
        )
        .await
        .unwrap()
        .course
        .id;
    let mut r = request(
        "Atelier tableur",
        in_days(3, "Europe/Paris"),
        time(9, 0, 0, 0),
        "Europe/Paris",
        90,
    );
    r.recurrence = Some("FREQ=WEEKLY;COUNT=2".into());
    r.trainers = vec!["theo@example.org".into()];
    r.learners = vec![person("Zoé Lefèvre", "zoe@example.org")];
    let detail = crate::mailkit::book(&app, &manager, &r).await.remove(0);
    let session = detail.session.id.clone();
    let zoe = detail
        .participants
        .iter()
        .find(|p| p.email == "zoe@example.org")
        .unwrap();
    let key = app.store().join_key(&zoe.id, zoe.link_version).unwrap();
    let contact = zoe.contact_id.clone().unwrap();

    let staff_pages = [
        "/".to_owned(),
        "/sessions".into(),
        "/sessions/new".into(),
        format!("/sessions/{session}"),
        format!("/sessions/{session}/edit"),
        format!("/sessions/{session}/participants"),
        format!("/sessions/{session}/cancel"),
        format!("/sessions/{session}/attendance"),
        format!("/sessions/{session}/import"),
        "/archives".into(),
        "/calendar".into(),
        "/calendar?view=month".into(),
        "/calendar?view=list".into(),
        "/courses".into(),
        "/courses/new".into(),
        format!("/courses/{course}"),
        format!("/courses/{course}/edit"),
        format!("/courses/{course}/attendance"),
        "/contacts".into(),
        "/contacts/new".into(),
        format!("/contacts/{contact}"),
        "/users".into(),
        "/users/new".into(),
        "/profile".into(),
        "/room".into(),
        "/mail".into(),
        "/audit".into(),
        "/jitsi-servers".into(),
        "/jitsi-servers/new".into(),
        "/gdpr".into(),
    ];
    let link_pages = [
        format!("/j/{key}"),
        format!("/j/{key}/rsvp"),
        format!("/j/{key}/rsvp?answer=accepted&scope=series"),
    ];
    let browser = Browser::start().await;
    let mut problems = Vec::new();
    for lang in ["fr", "en"] {
        browser.goto(&format!("{}/login", app.url)).await;
        browser.goto(&format!("{}/lang/{lang}", app.url)).await;
        for width in [1280u32, 320] {
            browser.set_window_size(width, 900).await;
            // Logged out: the login page and a learner's link pages.
            for path in std::iter::once("/login".to_owned()).chain(link_pages.iter().cloned()) {
                browser.goto(&format!("{}{path}", app.url)).await;
                for v in violations(&browser, &axe).await {
                    problems.push(format!("{lang} {width}px {path}: {v}"));
                }
                let (wider, culprits) = overflow(&browser).await;
                if width == 320 && wider > 0 {
                    problems.push(format!(
                        "{lang} 320px {path}: scrolls sideways by {wider} px ({culprits})"
                    ));
                }
            }
            // Logged in as an administrator, who reaches every page.
            browser.goto(&format!("{}/login", app.url)).await;
            if browser.url().await.ends_with("/login") {
                browser.find("#email").await.fill("ada@example.org").await;
                browser.find("#password").await.fill(PASSWORD).await;
                browser.find("form.card button[type=submit]").await.click().await;
                browser
                    .wait_for_url(Duration::from_secs(10), |u| u.ends_with('/'))
                    .await;
            }
            // The account's language follows the switch (the footer's form, as a person uses it).
            let html_lang = browser
                .execute("return document.documentElement.lang;", json!([]))
                .await;
            if html_lang != lang {
                browser
                    .find(&format!("form[action^='/lang/{lang}'] button"))
                    .await
                    .click()
                    .await;
                browser
                    .wait_for(&format!("html[lang={lang}]"), Duration::from_secs(10))
                    .await;
            }
            if width == 1280 {
                // An administrator's navigation fits on one line at 1280 px.
                browser.goto(&format!("{}/", app.url)).await;
                let lines = browser
                    .execute(
                        "return new Set(Array.from(document.querySelectorAll('.nav > ul > li')).map(li => li.offsetTop)).size;",
                        json!([]),
                    )
                    .await;
                browser
                    .screenshot(&std::env::temp_dir().join(format!("nav-{lang}.png")))
                    .await;
                if lines != 1 {
                    problems.push(format!("{lang} 1280px: the navigation wraps onto {lines} lines"));
                }
            }
            for path in &staff_pages {
                browser.goto(&format!("{}{path}", app.url)).await;
                for v in violations(&browser, &axe).await {
                    problems.push(format!("{lang} {width}px {path}: {v}"));
                }
                let (wider, culprits) = overflow(&browser).await;
                if width == 320 && wider > 0 {
                    problems.push(format!(
                        "{lang} 320px {path}: scrolls sideways by {wider} px ({culprits})"
                    ));
                }
            }
            // Log out for the next round's logged-out pages.
            browser.goto(&format!("{}/", app.url)).await;
            browser.find(".who button[type=submit]").await.click().await;
            browser
                .wait_for_url(Duration::from_secs(10), |u| u.contains("/login"))
                .await;
        }
    }
    assert!(
        problems.is_empty(),
        "{} accessibility problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// What axe does not test: after a refused submit, focus is on the list of problems (which links
/// to each field); each row of the people editor says in its labels which group and row it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_form_takes_focus_to_its_problems_and_rows_name_their_group() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.user("marie@example.org", Role::Manager).await;
    let browser = Browser::start().await;
    browser.goto(&format!("{}/login", app.url)).await;
    browser.find("#email").await.fill("marie@example.org").await;
    browser.find("#password").await.fill(PASSWORD).await;
    browser.find("form.card button[type=submit]").await.click().await;
    browser
        .wait_for_url(Duration::from_secs(10), |u| u.ends_with('/'))
        .await;
    browser.goto(&format!("{}/sessions/new", app.url)).await;
    let label = browser
        .find("label[for=learner-name-new-0]")
        .await
        .property("textContent")
        .await;
    assert_eq!(label, "Nom (Apprenant·es, nouvelle ligne 1)", "{label}");
    let label = browser
        .find("label[for=guest-email-new-1]")
        .await
        .property("textContent")
        .await;
    assert!(label.as_str().unwrap().ends_with("nouvelle ligne 2)"), "{label}");
    // Refused: no title, no trainer.
    browser.find("button[name=book]").await.click().await;
    browser.find("#form-errors").await;
    let focused = browser.execute("return document.activeElement.id;", json!([])).await;
    assert_eq!(focused, "form-errors");
}

/// After a refused submit of `url`'s form (the one holding `field`, sent with `submitter` and
/// without the browser's own checks, after `values` are typed in), every field named in the
/// list of problems carries `aria-invalid="true"` and an `aria-describedby` one of whose
/// elements says exactly its message; axe finds no violation. Returns the fields checked.
async fn refused_form(
    browser: &Browser,
    axe: &str,
    url: &str,
    values: &[(&str, &str)],
    submitter: &str,
) -> Vec<String> {
    browser.goto(url).await;
    browser
        .execute(
            "for (const [sel, v] of arguments[0]) { const e = document.querySelector(sel); \
               if (!e) throw new Error('no ' + sel); \
               if (e.tagName === 'SELECT' && !Array.from(e.options).some(o => o.value === v)) e.add(new Option(v, v)); \
               e.value = v; }\
             const b = document.querySelector(arguments[1]); b.form.noValidate = true; b.click();",
            json!([values, submitter]),
        )
        .await;
    browser.wait_for("#form-errors", Duration::from_secs(10)).await;
    let found = browser
        .execute(
            "const out = [], bad = [];\
             for (const a of document.querySelectorAll('#form-errors a[href^=\"#\"]')) {\
               const f = a.getAttribute('href').slice(1); if (!f) continue; out.push(f);\
               const el = document.getElementById(f);\
               if (!el) { bad.push(f + ': no element'); continue; }\
               if (el.getAttribute('aria-invalid') !== 'true') bad.push(f + ': no aria-invalid');\
               const ids = (el.getAttribute('aria-describedby') || '').split(/\\s+/).filter(Boolean);\
               const said = ids.map(i => document.getElementById(i)).filter(Boolean)\
                 .map(e => e.textContent.trim());\
               if (!said.includes(a.textContent.trim())) bad.push(f + ': described by ' + JSON.stringify(said) +\
                 ', not by ' + JSON.stringify(a.textContent.trim()));\
             }\
             return [out, bad];",
            json!([]),
        )
        .await;
    let fields: Vec<String> = serde_json::from_value(found[0].clone()).unwrap();
    let bad: Vec<String> = serde_json::from_value(found[1].clone()).unwrap();
    assert!(bad.is_empty(), "{url}: {bad:?}");
    let problems = violations(browser, axe).await;
    assert!(problems.is_empty(), "{url}: {}", problems.join("\n"));
    fields
}

/// Every refused field of the booking, session edit, course, participants, contact, contact
/// merge, account, profile, Jitsi server, personal room, import and GDPR forms is marked invalid
/// and described by its message (WCAG 3.3.1, 4.1.2), not only the title and the duration
/// (issue 12). The templates do it (`_field.html`), from the errors the page holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refused_field_is_marked_and_described_by_its_message() {
    let axe = axe_source();
    let app = TestApp::spawn(Backend::Sqlite).await;
    app.user("ada@example.org", Role::Admin).await;
    app.user("theo@example.org", Role::Trainer).await;
    let manager = app.user("marie@example.org", Role::Manager).await;
    let mut r = request(
        "Atelier tableur",
        in_days(3, "Europe/Paris"),
        time(9, 0, 0, 0),
        "Europe/Paris",
        90,
    );
    r.trainers = vec!["theo@example.org".into()];
    r.learners = vec![person("Zoé Lefèvre", "zoe@example.org")];
    let detail = crate::mailkit::book(&app, &manager, &r).await.remove(0);
    let session = detail.session.id.clone();
    let contact = detail
        .participants
        .iter()
        .find(|p| p.email == "zoe@example.org")
        .and_then(|p| p.contact_id.clone())
        .unwrap();
    let browser = Browser::start().await;
    browser.goto(&format!("{}/login", app.url)).await;
    browser.find("#email").await.fill("ada@example.org").await;
    browser.find("#password").await.fill(PASSWORD).await;
    browser.find("form.card button[type=submit]").await.click().await;
    browser
        .wait_for_url(Duration::from_secs(10), |u| u.ends_with('/'))
        .await;
    let long = "x".repeat(5001);
    let base = &app.url;
    // The page, what to type, the button, the fields that must be among those refused.
    type Case<'a> = (String, Vec<(&'a str, &'a str)>, &'a str, Vec<&'a str>);
    let cases: Vec<Case> = vec![
        (
            format!("{base}/sessions/new"),
            vec![("#title", ""), ("#notes", &long), ("#duration", "5")],
            "button[name=book]",
            vec!["title", "notes", "duration", "trainers"],
        ),
        (
            format!("{base}/courses/new"),
            vec![("#title", ""), ("#duration", "1"), ("#description", &long)],
            "button.default-submit",
            vec!["title", "duration"],
        ),
        (
            format!("{base}/sessions/{session}/participants"),
            vec![("#learner-email-new-0", "not an address")],
            "button.default-submit",
            vec!["learners"],
        ),
        (
            format!("{base}/contacts/new"),
            vec![("#name", ""), ("#email", "not an address")],
            "form .actions button[type=submit]",
            vec!["email"],
        ),
        (
            format!("{base}/users/new"),
            vec![("#display_name", ""), ("#email", "nope"), ("#password", "short")],
            "form .actions button[type=submit]",
            vec!["email", "password"],
        ),
        (
            format!("{base}/jitsi-servers/new"),
            vec![("#name", ""), ("#base_url", "ftp://nowhere")],
            "form .actions button[type=submit]",
            vec!["name", "base_url"],
        ),
        (
            format!("{base}/sessions/{session}/edit"),
            vec![("#title", ""), ("#duration", "5"), ("#notes", &long)],
            "form#form .actions button[type=submit]",
            vec!["title", "duration"],
        ),
        (
            format!("{base}/contacts/{contact}"),
            vec![("#into", "nobody@example.org")],
            "form[action$='/merge'] button[type=submit]",
            vec!["into"],
        ),
        (
            format!("{base}/profile"),
            vec![("#display_name", ""), ("#email", "nope")],
            "form[action='/profile'] button[type=submit]",
            vec!["email"],
        ),
        (
            format!("{base}/room"),
            vec![("#jitsi_server", "no-such-server")],
            "form[action='/room'] button[type=submit]",
            vec!["jitsi_server"],
        ),
        (
            format!("{base}/sessions/{session}/import"),
            vec![],
            "#import-upload button[type=submit]",
            vec!["file"],
        ),
        (
            format!("{base}/gdpr"),
            vec![("#email", "nope")],
            "form[action='/gdpr/export'] button[type=submit]",
            vec!["email"],
        ),
    ];
    for (url, values, submitter, expected) in cases {
        let checked = refused_form(&browser, &axe, &url, &values, submitter).await;
        for field in expected {
            assert!(
                checked.iter().any(|c| c == field),
                "{url}: {field} not refused: {checked:?}"
            );
        }
    }
}
