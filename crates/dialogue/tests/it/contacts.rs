//! The address book over HTTP, on both backends: managers create, search, page, edit, archive
//! and merge contacts; a trainer reads only the people of the sessions they teach; nobody
//! else reaches it; bad input is explained per field and changes nothing.

use domain::Role;
use reqwest::StatusCode;
use serde_json::json;
use testkit::{Backend, both_backends};

use crate::booking_support::*;
use crate::helpers::TestApp;

both_backends!(
    contacts_are_created_searched_edited_and_archived,
    a_duplicate_is_merged_with_its_participations,
    contacts_route_by_role,
    a_pasted_spreadsheet_row_keeps_both_names,
    the_booking_and_course_forms_find_contacts_without_javascript,
);

/// The id of a contact page (`/contacts/{id}`).
fn contact_id(path: &str) -> String {
    assert!(path.starts_with("/contacts/"), "not a contact page: {path}");
    path.trim_start_matches("/contacts/").to_owned()
}

async fn contacts_are_created_searched_edited_and_archived(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (manager, _) = app.logged_in("marie@example.org", Role::Manager).await;
    let created = manager
        .post(
            "/contacts",
            &[
                ("name", "Martin"),
                ("first_name", "Claire"),
                ("email", "Claire.Martin@Example.org"),
                ("company", "ACME <SA>"),
                ("locale", "en"),
                ("time_zone", "America/New_York"),
                ("notes", "Vient de Lyon"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", errors_of(&created));
    assert!(created.contains("Contact créé."));
    assert!(created.contains("ACME &lt;SA&gt;") || created.contains("ACME &#60;SA&#62;"));
    let id = contact_id(&created.path);
    let stored = app.store().contact(&id).await.unwrap().unwrap();
    assert_eq!(stored.full_name(), "Claire Martin");
    assert_eq!(stored.locale.as_deref(), Some("en"));
    assert_eq!(stored.time_zone.as_deref(), Some("America/New_York"));

    // The same address in another case is refused, in French and with the field named.
    let taken = manager
        .post(
            "/contacts",
            &[("name", "Autre"), ("email", "claire.martin@example.ORG")],
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert!(taken.contains("Un contact a déjà l’adresse"), "{}", errors_of(&taken));
    // Every bad field at once, nothing written.
    let bad = manager
        .post(
            "/contacts",
            &[
                ("name", " "),
                ("email", "nope"),
                ("locale", "de"),
                ("time_zone", "Mars/Base"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    for field in ["name-error", "email-error", "locale-error", "time_zone-error"] {
        assert!(bad.contains(&format!("id=\"{field}\"")), "{field}");
    }
    assert_eq!(
        app.store()
            .list_contacts(&store::ContactFilter {
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap()
            .total,
        1
    );

    // 60 more, to page through; search by first name, company, address.
    for i in 0..60 {
        let email = format!("learner{i:02}@school.example");
        let name = format!("Élève{i:02}");
        let page = manager.post("/contacts", &[("name", &name), ("email", &email)]).await;
        assert_eq!(page.status, StatusCode::OK);
    }
    let first = manager.get("/contacts").await;
    assert!(first.contains("61 contact(s)"));
    assert!(first.contains("rel=\"next\""));
    let second = manager.get("/contacts?page=2").await;
    assert!(second.contains("rel=\"prev\""));
    assert!(!second.contains("rel=\"next\""));
    let found = manager.get("/contacts?q=claire").await;
    assert!(found.contains("1 contact(s)") && found.contains("Claire.Martin@Example.org"));
    assert!(manager.get("/contacts?q=acme").await.contains("1 contact(s)"));
    assert!(
        manager
            .get("/contacts?q=school.example")
            .await
            .contains("60 contact(s)")
    );
    assert!(
        manager
            .get("/contacts?q=claire%20martin")
            .await
            .contains("1 contact(s)")
    );
    assert!(manager.get("/contacts?q=100%25").await.contains("0 contact(s)"));

    // Edit: the language goes back to the default, the notes change.
    let saved = manager
        .post(
            &format!("/contacts/{id}"),
            &[
                ("name", "Martin"),
                ("first_name", "Claire"),
                ("email", "claire.martin@example.org"),
                ("company", "ACME"),
                ("locale", ""),
                ("time_zone", "Europe/Paris"),
                ("notes", "Nouvelle note"),
            ],
        )
        .await;
    assert!(saved.contains("Contact enregistré."), "{}", errors_of(&saved));
    let stored = app.store().contact(&id).await.unwrap().unwrap();
    assert_eq!(
        (stored.locale, stored.time_zone.as_deref()),
        (None, Some("Europe/Paris"))
    );
    assert_eq!(stored.email, "claire.martin@example.org");

    // Archive: gone from the list, back with ?archived=1, and unarchived.
    let archived = manager.post(&format!("/contacts/{id}/archive"), &[]).await;
    assert!(archived.contains("Contact archivé."));
    assert!(manager.get("/contacts?q=claire").await.contains("0 contact(s)"));
    assert!(
        manager
            .get("/contacts?q=claire&archived=1")
            .await
            .contains("1 contact(s)")
    );
    manager.post(&format!("/contacts/{id}/unarchive"), &[]).await;
    assert!(!app.store().contact(&id).await.unwrap().unwrap().archived);

    // Enrolled in a course by address alone, the contact shows with both names.
    let course = manager
        .post(
            "/courses",
            &[
                ("title", "Carnet"),
                ("duration", "60"),
                ("learner_name", ""),
                ("learner_email", "CLAIRE.martin@example.org"),
            ],
        )
        .await;
    assert_eq!(course.status, StatusCode::OK, "{}", errors_of(&course));
    assert!(course.contains("Claire Martin"));

    // The audit log has each change.
    let log = app.store().audit_log(200, None).await.unwrap();
    for action in [
        "contact.create",
        "contact.update",
        "contact.archive",
        "contact.unarchive",
    ] {
        assert!(log.iter().any(|e| e.action == action), "{action}");
    }

    // The API: list with search, read, change, create; bad language or zone: 422.
    let api = Api::new(
        &app,
        &app.store()
            .user_by_email("marie@example.org")
            .await
            .unwrap()
            .unwrap()
            .id,
    )
    .await;
    let (status, list) = api.get("/contacts?q=claire").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["first_name"], "Claire");
    let (status, one) = api.patch(&format!("/contacts/{id}"), &json!({ "locale": "en" })).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["locale"], "en");
    assert_eq!(one["time_zone"], "Europe/Paris");
    let (status, problem) = api
        .post(
            "/contacts",
            &json!({ "name": "X", "email": "x@example.org", "locale": "de", "time_zone": "Nowhere" }),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut fields = problem_fields(&problem);
    fields.sort();
    assert_eq!(fields, ["locale", "time_zone"]);
    let (status, made) = api
        .post(
            "/contacts",
            &json!({ "name": "Durand", "first_name": "Paul", "email": "paul@example.org" }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let (status, read) = api.get(&format!("/contacts/{}", made["id"].as_str().unwrap())).await;
    assert_eq!(
        (status, read["email"].as_str()),
        (StatusCode::OK, Some("paul@example.org"))
    );
    app.stop().await;
}

async fn a_duplicate_is_merged_with_its_participations(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (manager, manager_user) = app.logged_in("marie@example.org", Role::Manager).await;
    app.user("theo@example.org", Role::Trainer).await;
    let api = Api::new(&app, &manager_user.id).await;
    let start = paris(future_monday(), 9, 0);
    let (status, booked) = api
        .post(
            "/sessions",
            &json!({
                "title": "Atelier",
                "starts_at": start,
                "time_zone": "Europe/Paris",
                "duration_minutes": 60,
                "trainers": ["theo@example.org"],
                "learners": [{ "name": "C. Martin", "email": "cmartin@perso.example" }]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{booked}");
    let session_id = booked["sessions"][0]["id"].as_str().unwrap().to_owned();
    // The booking made the duplicate's entry; the secretary enters the real one.
    let duplicate = app
        .store()
        .contact_by_email("cmartin@perso.example")
        .await
        .unwrap()
        .unwrap();
    let kept = manager
        .post(
            "/contacts",
            &[
                ("name", "Martin"),
                ("first_name", "Claire"),
                ("email", "claire@acme.example"),
            ],
        )
        .await;
    let keep_id = contact_id(&kept.path);
    manager
        .post(
            &format!("/contacts/{}", duplicate.id),
            &[
                ("name", "C. Martin"),
                ("email", "cmartin@perso.example"),
                ("company", "ACME"),
                ("locale", "en"),
                ("time_zone", ""),
                ("notes", ""),
            ],
        )
        .await;

    // Merging into itself or into nobody is refused, nothing changes.
    let into_self = manager
        .post(
            &format!("/contacts/{}/merge", duplicate.id),
            &[("into", "CMARTIN@perso.example")],
        )
        .await;
    assert_eq!(into_self.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(into_self.contains("ne peut pas être fusionné avec lui-même"));
    let into_nobody = manager
        .post(
            &format!("/contacts/{}/merge", duplicate.id),
            &[("into", "nobody@example.org")],
        )
        .await;
    assert_eq!(into_nobody.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(into_nobody.contains("Aucun contact ne correspond"));

    let merged = manager
        .post(
            &format!("/contacts/{}/merge", duplicate.id),
            &[("into", "claire@acme.example")],
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK, "{}", errors_of(&merged));
    assert_eq!(merged.path, format!("/contacts/{keep_id}"));
    assert!(merged.contains("Doublon fusionné"));
    assert!(
        merged.contains(&format!("/sessions/{session_id}")),
        "the session moved to the kept contact"
    );
    let kept = app.store().contact(&keep_id).await.unwrap().unwrap();
    assert_eq!(kept.company, "ACME", "an empty field takes the duplicate's value");
    assert_eq!(kept.locale.as_deref(), Some("en"));
    let dup = app.store().contact(&duplicate.id).await.unwrap().unwrap();
    assert!(dup.archived);
    assert_eq!(dup.merged_into.as_deref(), Some(keep_id.as_str()));
    let detail = app.store().session(&session_id).await.unwrap().unwrap();
    let learner = detail
        .participants
        .iter()
        .find(|p| p.role == store::ParticipantRole::Learner)
        .unwrap();
    assert_eq!(learner.contact_id.as_deref(), Some(keep_id.as_str()));
    // A merged entry is merged and unarchived no further.
    let again = manager
        .post(
            &format!("/contacts/{}/merge", duplicate.id),
            &[("into", "claire@acme.example")],
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let unarchive = manager
        .post(&format!("/contacts/{}/unarchive", duplicate.id), &[])
        .await;
    assert_eq!(unarchive.status, StatusCode::CONFLICT);
    let log = app.store().audit_log(50, None).await.unwrap();
    let entry = log.iter().find(|e| e.action == "contact.merge").expect("merge audited");
    assert_eq!(entry.target_id.as_deref(), Some(keep_id.as_str()));
    app.stop().await;
}

async fn contacts_route_by_role(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, manager_user) = app.logged_in("marie@example.org", Role::Manager).await;
    let (trainer, trainer_user) = app.logged_in("theo@example.org", Role::Trainer).await;
    app.user("other@example.org", Role::Trainer).await;
    let (admin, _) = app.logged_in("admin@example.org", Role::Admin).await;
    let api = Api::new(&app, &manager_user.id).await;
    let start = paris(future_monday(), 9, 0);
    for (trainer_email, learner) in [
        ("theo@example.org", "mine@example.org"),
        ("other@example.org", "theirs@example.org"),
    ] {
        let (status, body) = api
            .post(
                "/sessions",
                &json!({
                    "title": "Atelier",
                    "starts_at": start,
                    "time_zone": "Europe/Paris",
                    "duration_minutes": 60,
                    "trainers": [trainer_email],
                    "learners": [{ "name": "Learner", "email": learner }]
                }),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let mine = app.store().contact_by_email("mine@example.org").await.unwrap().unwrap();
    let theirs = app
        .store()
        .contact_by_email("theirs@example.org")
        .await
        .unwrap()
        .unwrap();

    // Admins manage everything.
    let page = admin.get("/contacts").await;
    assert!(page.contains("mine@example.org") && page.contains("theirs@example.org"));
    assert_eq!(admin.get("/contacts/new").await.status, StatusCode::OK);
    assert!(
        admin
            .get(&format!("/contacts/{}", theirs.id))
            .await
            .contains("name=\"first_name\"")
    );

    // A trainer reads the people of their own sessions only, and changes nothing.
    let page = trainer.get("/contacts").await;
    assert!(page.contains("mine@example.org"));
    assert!(!page.contains("theirs@example.org"));
    assert!(!page.contains("/contacts/new"));
    let own = trainer.get(&format!("/contacts/{}", mine.id)).await;
    assert_eq!(own.status, StatusCode::OK);
    assert!(!own.contains("name=\"first_name\""), "read-only");
    assert_eq!(
        trainer.get(&format!("/contacts/{}", theirs.id)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(trainer.get("/contacts/new").await.status, StatusCode::FORBIDDEN);
    let refused = trainer
        .post("/contacts", &[("name", "X"), ("email", "x@example.org")])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let edit = trainer
        .post(
            &format!("/contacts/{}", mine.id),
            &[("name", "Hacked"), ("email", "mine@example.org")],
        )
        .await;
    assert_eq!(edit.status, StatusCode::FORBIDDEN);
    assert_eq!(
        trainer
            .post(&format!("/contacts/{}/archive", mine.id), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        trainer
            .post(&format!("/contacts/{}/archive", theirs.id), &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        trainer
            .post(
                &format!("/contacts/{}/merge", mine.id),
                &[("into", "theirs@example.org")]
            )
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.store().contact(&mine.id).await.unwrap().unwrap().name, "Learner");
    // Suggestions follow the same bounds.
    let options = trainer.get("/contacts/suggest?q=example&format=options").await;
    assert!(options.contains("mine@example.org") && !options.contains("theirs@example.org"));

    // The trainer's API token: the same.
    let trainer_api = Api::new(&app, &trainer_user.id).await;
    let (status, list) = trainer_api.get("/contacts").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["total"], 1);
    assert_eq!(
        trainer_api.get(&format!("/contacts/{}", theirs.id)).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        trainer_api
            .post("/contacts", &json!({ "name": "X", "email": "x@example.org" }))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        trainer_api
            .patch(&format!("/contacts/{}", mine.id), &json!({ "name": "Y" }))
            .await
            .0,
        StatusCode::FORBIDDEN
    );

    // Nobody logged in (a learner with a personal link has no account): the login page; the
    // API without a token: 401.
    let anonymous = app.browser();
    let page = anonymous.get("/contacts").await;
    assert!(page.path.starts_with("/login"), "{}", page.path);
    let page = anonymous.get(&format!("/contacts/{}", mine.id)).await;
    assert!(page.path.starts_with("/login"), "{}", page.path);
    let response = testkit::get(format!("{}/api/v1/contacts", app.url)).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    app.stop().await;
}

async fn a_pasted_spreadsheet_row_keeps_both_names(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (manager, _) = app.logged_in("marie@example.org", Role::Manager).await;
    let page = manager
        .post(
            "/courses",
            &[
                ("title", "Tableur"),
                ("duration", "60"),
                (
                    "learners_paste",
                    "Martin\tClaire\tclaire.martin@example.org\r\nDupont\tJean\tjean@example.org\tACME",
                ),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", errors_of(&page));
    assert!(page.contains("Martin Claire"), "both names on the course page");
    assert!(page.contains("Dupont Jean"));
    let claire = app
        .store()
        .contact_by_email("claire.martin@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(claire.name, "Martin Claire");
    app.stop().await;
}

/// The learner rows of a form page: (name, email) of each filled row.
fn learner_rows(page: &crate::helpers::Page) -> Vec<(String, String)> {
    let values = |name: &str| -> Vec<String> {
        let needle = format!("name=\"{name}\"");
        page.body
            .match_indices(&needle)
            .map(|(at, _)| {
                let rest = &page.body[at..];
                let v = rest.find("value=\"").unwrap() + 7;
                let end = rest[v..].find('"').unwrap() + v;
                crate::helpers::html_unescape(&rest[v..end])
            })
            .collect()
    };
    values("learner_name")
        .into_iter()
        .zip(values("learner_email"))
        .filter(|(n, e)| !n.is_empty() || !e.is_empty())
        .collect()
}

async fn the_booking_and_course_forms_find_contacts_without_javascript(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (manager, manager_user) = app.logged_in("marie@example.org", Role::Manager).await;
    let (trainer, _) = app.logged_in("theo@example.org", Role::Trainer).await;
    for (name, first, email) in [
        ("Martin", "Claire", "claire.martin@example.org"),
        ("Martinez", "Hugo", "hugo@example.org"),
        ("Autre", "Zoé", "zoe@example.org"),
    ] {
        let page = manager
            .post("/contacts", &[("name", name), ("first_name", first), ("email", email)])
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", errors_of(&page));
    }

    // The course form: "find" lists the matches; nothing is created.
    let new_course = manager.get("/courses/new").await;
    assert!(
        new_course.contains("list=\"contact-suggestions\"")
            && new_course.contains("<datalist id=\"contact-suggestions\">")
    );
    let found = manager
        .post(
            "/courses",
            &[
                ("title", "Carnet"),
                ("duration", "60"),
                ("contact_q", "martin"),
                ("find", "1"),
            ],
        )
        .await;
    assert_eq!(found.status, StatusCode::OK);
    assert!(found.contains("id=\"contact-matches\""));
    assert!(found.contains("claire.martin@example.org") && found.contains("hugo@example.org"));
    assert!(!found.contains("zoe@example.org"));
    assert!(found.contains("value=\"Carnet\""), "the form keeps what was typed");
    assert!(app.store().list_courses(true).await.unwrap().is_empty());
    // "Add" puts the person in a learner row, with their names; still nothing created.
    let picked = manager
        .post(
            "/courses",
            &[
                ("title", "Carnet"),
                ("duration", "60"),
                ("contact_q", "martin"),
                ("pick", "claire.martin@example.org"),
            ],
        )
        .await;
    assert_eq!(
        learner_rows(&picked),
        vec![("Claire Martin".to_owned(), "claire.martin@example.org".to_owned())]
    );
    assert!(app.store().list_courses(true).await.unwrap().is_empty());
    // Saving the form as shown enrols them.
    let saved = manager
        .post(
            "/courses",
            &[
                ("title", "Carnet"),
                ("duration", "60"),
                ("learner_name", "Claire Martin"),
                ("learner_email", "claire.martin@example.org"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", errors_of(&saved));
    assert!(saved.contains("Claire Martin"));

    // The booking form: the same, on the learners' rows; nothing booked.
    let mut fields = form("Carnet", future_monday(), "09:00", 60, "theo@example.org");
    set(&mut fields, "contact_q", "hugo");
    set(&mut fields, "find", "1");
    let found = post(&manager, "/sessions", &fields).await;
    assert_eq!(found.status, StatusCode::OK);
    assert!(found.contains("hugo@example.org") && !found.contains("zoe@example.org"));
    fields.retain(|(k, _)| k != "find");
    set(&mut fields, "pick", "hugo@example.org");
    let picked = post(&manager, "/sessions", &fields).await;
    assert_eq!(
        learner_rows(&picked),
        vec![("Hugo Martinez".to_owned(), "hugo@example.org".to_owned())]
    );
    assert_eq!(
        app.store()
            .list_sessions(&store::SessionFilter {
                include_cancelled: true,
                ..Default::default()
            })
            .await
            .unwrap()
            .len(),
        0,
        "nothing booked"
    );

    // A trainer's finder on their own session's participants sees only their people.
    let api = Api::new(&app, &manager_user.id).await;
    let (status, body) = api
        .post(
            "/sessions",
            &json!({
                "title": "Atelier",
                "starts_at": paris(future_monday(), 9, 0),
                "time_zone": "Europe/Paris",
                "duration_minutes": 60,
                "trainers": ["theo@example.org"],
                "learners": [{ "name": "Hugo Martinez", "email": "hugo@example.org" }]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["sessions"][0]["id"].as_str().unwrap().to_owned();
    let found = trainer
        .post(
            &format!("/sessions/{id}/participants"),
            &[("trainer", "theo@example.org"), ("contact_q", "martin"), ("find", "1")],
        )
        .await;
    assert_eq!(found.status, StatusCode::OK);
    assert!(found.contains("hugo@example.org"));
    assert!(
        !found.contains("claire.martin@example.org"),
        "not one of the trainer's people"
    );
    let picked = trainer
        .post(
            &format!("/sessions/{id}/participants"),
            &[("trainer", "theo@example.org"), ("pick", "claire.martin@example.org")],
        )
        .await;
    assert!(learner_rows(&picked).is_empty(), "an unseen contact is not added");
    // The script that fills the datalist is served.
    let end = picked.body.find(".js\"").expect("the page loads its script") + 3;
    let at = picked.body[..end].rfind("/static/app.").unwrap();
    let script = app.browser().get(&picked.body[at..end]).await;
    assert!(script.contains("/contacts/suggest?format=options"));
    app.stop().await;
}
