//! Importing learners from spreadsheet files over HTTP, on both backends, with real files
//! written by Python (openpyxl for XLSX, the csv module in UTF-8 with a BOM and in
//! Windows-1252): the preview lists each line with its problems and writes nothing; the
//! confirmation writes exactly the good lines (into a course, or into a session with their
//! invitations), reading the file again rather than trusting the page; who may import where.

use std::collections::BTreeSet;

use base64::Engine as _;
use domain::Role;
use reqwest::StatusCode;
use serde_json::json;
use testkit::{Backend, both_backends};

use crate::booking_support::*;
use crate::helpers::{Browser, Page, TestApp};

both_backends!(
    a_course_imports_csv_files_after_a_preview,
    an_xlsx_file_with_columns_chosen_on_the_preview,
    a_session_import_invites_the_new_learners,
    import_routes_by_role,
    the_api_imports_with_a_dry_run,
    a_series_import_invites_each_newcomer_once_to_the_following_sessions,
);

/// Runs a Python script that writes files into `dir` (openpyxl must be installed: `.ci/peers`).
fn python(dir: &std::path::Path, script: &str) {
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(dir)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "the Python writer failed (pip install openpyxl; see .ci/peers): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The French CSV (UTF-8 with a BOM, `;`) and the English one (Windows-1252, `,`).
const CSV_WRITER: &str = r#"
import csv, sys, os
d = sys.argv[1]
rows = [
    ["Nom", "Prénom", "Adresse e-mail", "Société", "Langue", "Fuseau horaire"],
    ["Martin", "Claire", "claire@example.org", "ACME; Lyon", "anglais", "America/New_York"],
    ["Dupont", "Élodie", "pas-une-adresse", "", "", ""],
    ["Durand", "Zoé", "zoe@example.org", "", "fr", "Mars/Olympus"],
    ["Martin", "C.", "CLAIRE@example.org", "", "", ""],
    ["", "", "", "", "", ""],
    ["Lefèvre", "Noël", "noel@example.org", "Société Générale", "", "Europe/Paris"],
    ["", "Sans nom", "sans.nom@example.org", "", "", ""],
]
with open(os.path.join(d, "fr.csv"), "w", encoding="utf-8-sig", newline="") as f:
    csv.writer(f, delimiter=";").writerows(rows)
rows_en = [
    ["Last name", "First name", "Email", "Organisation"],
    ["Œuvre", "Zoë", "zoe.oeuvre@example.org", "Café “Crème”"],
    ["Bad", "Row", "@nope", ""],
]
with open(os.path.join(d, "en.csv"), "w", encoding="cp1252", newline="") as f:
    csv.writer(f).writerows(rows_en)
"#;

/// An XLSX workbook whose headers Dialogue does not know, with a number and a bad zone.
const XLSX_WRITER: &str = r#"
import sys, os
from openpyxl import Workbook
wb = Workbook()
ws = wb.active
ws.title = "Inscrits"
ws.append(["Matricule", "Qui", "Courriel pro", "Langue", "Zone"])
ws.append([1001, "Bernard", "ana.bernard@example.org", "English", "Europe/London"])
ws.append([1002, "Petit", "luc.petit@example.org", "", "Europe/Pariss"])
ws.append([1003, "Roux", "ines.roux@example.org", "fr", ""])
wb.save(os.path.join(sys.argv[1], "learners.xlsx"))
"#;

/// A session's learners as an XLSX workbook written by openpyxl.
const SESSION_XLSX_WRITER: &str = r#"
import sys, os
from openpyxl import Workbook
wb = Workbook()
ws = wb.active
ws.append(["Nom", "Prénom", "E-mail", "Langue"])
ws.append(["Garcia", "Lina", "lina@example.org", "en"])
ws.append(["Learner", "", "already@example.org", ""])
ws.append(["Moreau", "Paul", "paul@example.org", ""])
ws.append(["Faux", "", "faux@", ""])
wb.save(os.path.join(sys.argv[1], "session.xlsx"))
"#;

/// A fresh directory with the files `script` writes (removed when dropped).
struct Files(std::path::PathBuf);

impl Files {
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn files(script: &str) -> Files {
    let dir = Files(testkit::temp_dir("import"));
    python(dir.path(), script);
    dir
}

async fn new_course(manager: &Browser, title: &str) -> String {
    let page = manager.post("/courses", &[("title", title), ("duration", "60")]).await;
    assert_eq!(page.status, StatusCode::OK, "{}", errors_of(&page));
    page.path.trim_start_matches("/courses/").to_owned()
}

async fn learners_of(app: &TestApp, course: &str) -> BTreeSet<String> {
    let detail = app.store().course(course).await.unwrap().unwrap();
    detail.learners.iter().map(|l| l.email.to_lowercase()).collect()
}

async fn contact_count(app: &TestApp) -> i64 {
    app.store()
        .list_contacts(&store::ContactFilter {
            limit: 1000,
            include_archived: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .total
}

/// The preview form's fields as the page would post them, with `action`.
fn preview_fields(page: &Page, action: &str) -> Vec<(String, String)> {
    let mut fields = vec![
        (
            "data".to_owned(),
            page.input_value("data").expect("the file is carried back"),
        ),
        ("filename".to_owned(), page.input_value("filename").unwrap_or_default()),
        ("action".to_owned(), action.to_owned()),
    ];
    // Each column's select: the option marked selected.
    let mut i = 0;
    while let Some(at) = page.body.find(&format!("<select id=\"col_{i}\" name=\"col_{i}\">")) {
        let rest = &page.body[at..];
        let end = rest.find("</select>").unwrap();
        let select = &rest[..end];
        let value = select
            .split("<option ")
            .find(|o| o.contains(" selected>"))
            .and_then(|o| o.split('"').nth(1))
            .unwrap_or("")
            .to_owned();
        fields.push((format!("col_{i}"), value));
        i += 1;
    }
    fields
}

fn set_field(fields: &mut [(String, String)], name: &str, value: &str) {
    for (k, v) in fields.iter_mut() {
        if k == name {
            *v = value.to_owned();
        }
    }
}

/// The row of line `n` in the preview table.
fn line(page: &Page, n: usize) -> String {
    let marker = format!("data-line=\"{n}\"");
    let at = page
        .body
        .find(&marker)
        .unwrap_or_else(|| panic!("no line {n} in the preview"));
    let rest = &page.body[at..];
    crate::helpers::html_unescape(&rest[..rest.find("</tr>").unwrap()])
}

async fn a_course_imports_csv_files_after_a_preview(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (manager, _) = app.logged_in("marie@example.org", Role::Manager).await;
    let course = new_course(&manager, "Tableurs").await;
    let dir = files(CSV_WRITER);
    let fr = std::fs::read(dir.path().join("fr.csv")).unwrap();
    assert!(fr.starts_with(b"\xEF\xBB\xBF"), "written with a BOM");
    let contacts_before = contact_count(&app).await;

    // The upload form, linked from the course page.
    assert!(
        manager
            .get(&format!("/courses/{course}"))
            .await
            .contains(&format!("/courses/{course}/import"))
    );
    let form = manager.get(&format!("/courses/{course}/import")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.contains("enctype=\"multipart/form-data\""));

    // The preview: each line with what it would do; nothing written.
    let path = format!("/courses/{course}/import");
    let preview = manager.post_file(&path, &[], "file", "fr.csv", &fr).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", errors_of(&preview));
    assert!(preview.contains("2 à ajouter"), "{}", &preview.body);
    assert!(preview.contains("4 en erreur"));
    assert!(line(&preview, 2).contains("À ajouter") && line(&preview, 2).contains("ACME; Lyon"));
    assert!(line(&preview, 3).contains("pas-une-adresse") && line(&preview, 3).contains("En erreur"));
    assert!(line(&preview, 4).contains("Mars/Olympus"), "{}", line(&preview, 4));
    assert!(line(&preview, 4).contains("En erreur"));
    assert!(line(&preview, 5).contains("Cette adresse figure déjà à la ligne 2."));
    assert!(!preview.contains("data-line=\"6\""), "a blank line is skipped");
    assert!(line(&preview, 7).contains("Noël") && line(&preview, 7).contains("À ajouter"));
    assert!(line(&preview, 8).contains("En erreur"), "no name");
    assert!(learners_of(&app, &course).await.is_empty());
    assert_eq!(contact_count(&app).await, contacts_before, "the preview writes nothing");

    // Confirmed: exactly the good lines, with every field.
    let fields = preview_fields(&preview, "confirm");
    let done = post(&manager, &path, &fields).await;
    assert_eq!(done.status, StatusCode::OK, "{}", errors_of(&done));
    assert_eq!(done.path, format!("/courses/{course}"));
    assert!(done.contains("Import terminé."));
    assert_eq!(
        learners_of(&app, &course).await,
        BTreeSet::from(["claire@example.org".to_owned(), "noel@example.org".to_owned()])
    );
    let claire = app
        .store()
        .contact_by_email("claire@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((claire.name.as_str(), claire.first_name.as_str()), ("Martin", "Claire"));
    assert_eq!(claire.company, "ACME; Lyon");
    assert_eq!(claire.locale.as_deref(), Some("en"));
    assert_eq!(claire.time_zone.as_deref(), Some("America/New_York"));
    assert!(app.store().contact_by_email("zoe@example.org").await.unwrap().is_none());
    let log = app.store().audit_log(50, None).await.unwrap();
    let entry = log.iter().find(|e| e.action == "course.import").expect("audited");
    assert_eq!(entry.target_id.as_deref(), Some(course.as_str()));

    // The same file again: both are already there; nothing to add is refused and changes nothing.
    let again = manager.post_file(&path, &[], "file", "fr.csv", &fr).await;
    assert!(again.contains("2 déjà présente(s)"), "{}", errors_of(&again));
    assert!(!again.contains("value=\"confirm\""), "no confirmation offered");
    let refused = post(&manager, &path, &preview_fields(&again, "confirm")).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.contains("Aucune ligne valide à ajouter."));

    // A re-posted file is read and checked again: a forged one with a bad line adds only its
    // good line.
    let forged = "Nom;E-mail\nForgé;forge@example.org\nX;not-an-address\n";
    let mut fields = preview_fields(&preview, "confirm");
    set_field(
        &mut fields,
        "data",
        &base64::engine::general_purpose::STANDARD.encode(forged),
    );
    for i in 2..6 {
        set_field(&mut fields, &format!("col_{i}"), "");
    }
    set_field(&mut fields, "col_0", "name");
    set_field(&mut fields, "col_1", "email");
    let done = post(&manager, &path, &fields).await;
    assert_eq!(done.status, StatusCode::OK, "{}", errors_of(&done));
    assert_eq!(learners_of(&app, &course).await.len(), 3);
    assert!(app.store().contact_by_email("not-an-address").await.unwrap().is_none());

    // Windows-1252 with commas, in English: accents and typographic quotes come through; an
    // existing contact keeps what the staff entered.
    let en = std::fs::read(dir.path().join("en.csv")).unwrap();
    assert!(std::str::from_utf8(&en).is_err(), "not UTF-8");
    let english = manager.clone();
    english.post("/lang/en?next=/", &[]).await;
    let preview = english.post_file(&path, &[], "file", "en.csv", &en).await;
    assert_eq!(preview.status, StatusCode::OK);
    assert!(line(&preview, 2).contains("Zoë") && line(&preview, 2).contains("Café “Crème”"));
    assert!(line(&preview, 3).contains("Error"));
    assert!(preview.contains("1 to add"));
    let done = post(&english, &path, &preview_fields(&preview, "confirm")).await;
    assert_eq!(done.path, format!("/courses/{course}"));
    assert!(done.contains("Import done."));
    let zoe = app
        .store()
        .contact_by_email("zoe.oeuvre@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((zoe.name.as_str(), zoe.first_name.as_str()), ("Œuvre", "Zoë"));
    assert_eq!(learners_of(&app, &course).await.len(), 4);
    app.stop().await;
}

async fn an_xlsx_file_with_columns_chosen_on_the_preview(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (manager, _) = app.logged_in("marie@example.org", Role::Manager).await;
    let course = new_course(&manager, "Classeur").await;
    // Someone already in the address book keeps their name; the file only fills what is empty.
    let known = manager
        .post(
            "/contacts",
            &[
                ("name", "Bernard"),
                ("first_name", "Ana"),
                ("email", "ana.bernard@example.org"),
            ],
        )
        .await;
    assert_eq!(known.status, StatusCode::OK, "{}", errors_of(&known));
    let dir = files(XLSX_WRITER);
    let xlsx = std::fs::read(dir.path().join("learners.xlsx")).unwrap();
    assert!(xlsx.starts_with(b"PK"));
    let path = format!("/courses/{course}/import");

    // "Courriel pro" and "Qui" are not known headers: the preview asks for the columns.
    let preview = manager.post_file(&path, &[], "file", "learners.xlsx", &xlsx).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", errors_of(&preview));
    assert!(
        preview.contains("Aucune colonne ne contient l’adresse e-mail"),
        "{}",
        preview.body
    );
    assert!(preview.contains("Aucune colonne ne contient le nom"));
    assert!(!preview.contains("value=\"confirm\""));
    // Confirming anyway is refused, nothing written.
    let refused = post(&manager, &path, &preview_fields(&preview, "confirm")).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(learners_of(&app, &course).await.is_empty());

    // Two columns for one field are refused too.
    let mut fields = preview_fields(&preview, "preview");
    set_field(&mut fields, "col_1", "email");
    set_field(&mut fields, "col_2", "email");
    let twice = post(&manager, &path, &fields).await;
    assert!(
        twice.contains("Deux colonnes sont associées au champ « Adresse e-mail »"),
        "{}",
        twice.body
    );

    // The columns chosen: the lines are read with them.
    set_field(&mut fields, "col_1", "name");
    let preview = post(&manager, &path, &fields).await;
    assert_eq!(preview.status, StatusCode::OK);
    assert!(preview.contains("2 à ajouter"), "{}", preview.body);
    assert!(line(&preview, 3).contains("Europe/Pariss") && line(&preview, 3).contains("En erreur"));
    assert!(line(&preview, 2).contains("ana.bernard@example.org"));
    let done = post(&manager, &path, &preview_fields(&preview, "confirm")).await;
    assert_eq!(done.status, StatusCode::OK, "{}", errors_of(&done));
    assert_eq!(
        learners_of(&app, &course).await,
        BTreeSet::from(["ana.bernard@example.org".to_owned(), "ines.roux@example.org".to_owned()])
    );
    let ana = app
        .store()
        .contact_by_email("ana.bernard@example.org")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((ana.name.as_str(), ana.first_name.as_str()), ("Bernard", "Ana"));
    assert_eq!(ana.locale.as_deref(), Some("en"), "an empty field is filled");
    assert_eq!(ana.time_zone.as_deref(), Some("Europe/London"));
    assert!(
        app.store()
            .contact_by_email("luc.petit@example.org")
            .await
            .unwrap()
            .is_none()
    );
    app.stop().await;
}

async fn a_session_import_invites_the_new_learners(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (_, manager_user) = app.logged_in("marie@example.org", Role::Manager).await;
    let (trainer, _) = app.logged_in("theo@example.org", Role::Trainer).await;
    let api = Api::new(&app, &manager_user.id).await;
    let (status, body) = api
        .post(
            "/sessions",
            &json!({
                "title": "Atelier tableur",
                "starts_at": paris(future_monday(), 9, 0),
                "time_zone": "Europe/Paris",
                "duration_minutes": 60,
                "trainers": ["theo@example.org"],
                "learners": [{ "name": "Learner", "email": "already@example.org" }]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let session = body["sessions"][0]["id"].as_str().unwrap().to_owned();
    let invitations = |app: &TestApp| {
        let store = app.store().clone();
        async move {
            store
                .list_outbox(&[], 1000, 0)
                .await
                .unwrap()
                .into_iter()
                .filter(|l| l.message.kind == store::MailKind::Invitation)
                .map(|l| l.message)
                .collect::<Vec<_>>()
        }
    };
    let before = invitations(&app).await.len();
    let dir = files(SESSION_XLSX_WRITER);
    let xlsx = std::fs::read(dir.path().join("session.xlsx")).unwrap();
    let path = format!("/sessions/{session}/import");

    // The trainer of the session imports into it (they may edit its participants).
    assert!(trainer.get(&format!("/sessions/{session}")).await.contains(&path));
    let preview = trainer.post_file(&path, &[], "file", "session.xlsx", &xlsx).await;
    assert_eq!(preview.status, StatusCode::OK, "{}", errors_of(&preview));
    assert!(
        preview.contains("2 à ajouter") && preview.contains("1 déjà présente(s)") && preview.contains("1 en erreur")
    );
    assert_eq!(invitations(&app).await.len(), before, "the preview queues nothing");
    let done = post(&trainer, &path, &preview_fields(&preview, "confirm")).await;
    assert_eq!(done.status, StatusCode::OK, "{}", errors_of(&done));
    assert_eq!(done.path, format!("/sessions/{session}"));
    let detail = app.store().session(&session).await.unwrap().unwrap();
    let learners: BTreeSet<String> = detail
        .with_role(store::ParticipantRole::Learner)
        .map(|p| p.email.clone())
        .collect();
    assert_eq!(
        learners,
        BTreeSet::from([
            "already@example.org".to_owned(),
            "lina@example.org".to_owned(),
            "paul@example.org".to_owned()
        ])
    );
    let lina = detail
        .participants
        .iter()
        .find(|p| p.email == "lina@example.org")
        .unwrap();
    assert_eq!(lina.name, "Lina Garcia");
    // One invitation for each newcomer, in their language; none again for who was there.
    let after = invitations(&app).await;
    assert_eq!(after.len(), before + 2);
    let to_lina: Vec<_> = after
        .iter()
        .filter(|m| m.recipient_email == "lina@example.org")
        .collect();
    assert_eq!(to_lina.len(), 1);
    assert_eq!(to_lina[0].locale.as_deref(), Some("en"));
    assert_eq!(
        after
            .iter()
            .filter(|m| m.recipient_email == "already@example.org")
            .count(),
        1
    );
    let log = app.store().audit_log(50, None).await.unwrap();
    assert!(log.iter().any(|e| e.action == "session.import"));
    app.stop().await;
}

async fn import_routes_by_role(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (manager, manager_user) = app.logged_in("marie@example.org", Role::Manager).await;
    let (trainer, _) = app.logged_in("theo@example.org", Role::Trainer).await;
    app.user("other@example.org", Role::Trainer).await;
    let (admin, _) = app.logged_in("admin@example.org", Role::Admin).await;
    let course = new_course(&manager, "Droits").await;
    let api = Api::new(&app, &manager_user.id).await;
    let (status, body) = api
        .post(
            "/sessions",
            &json!({
                "title": "Pas à Théo",
                "starts_at": paris(future_monday(), 14, 0),
                "time_zone": "Europe/Paris",
                "duration_minutes": 60,
                "trainers": ["other@example.org"]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let others = body["sessions"][0]["id"].as_str().unwrap().to_owned();
    let csv = b"Nom;E-mail\nMartin;martin@example.org\n";
    let contacts_before = contact_count(&app).await;

    // Admins and managers import into courses and any session.
    assert_eq!(
        admin.get(&format!("/courses/{course}/import")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        manager.get(&format!("/sessions/{others}/import")).await.status,
        StatusCode::OK
    );
    // A trainer: courses are the planners' (not found), as are others' sessions.
    assert_eq!(
        trainer.get(&format!("/courses/{course}/import")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        trainer.get(&format!("/sessions/{others}/import")).await.status,
        StatusCode::NOT_FOUND
    );
    let refused = trainer
        .post_file(&format!("/courses/{course}/import"), &[], "file", "a.csv", csv)
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    let encoded = base64::engine::general_purpose::STANDARD.encode(csv);
    let refused = trainer
        .post(
            &format!("/sessions/{others}/import"),
            &[("data", &encoded), ("action", "confirm")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    // Nobody logged in: the login page.
    let anonymous = app.browser();
    assert!(
        anonymous
            .get(&format!("/courses/{course}/import"))
            .await
            .path
            .starts_with("/login")
    );
    // A multipart post without the CSRF token is refused.
    let forged = manager
        .client
        .post(format!("{}/courses/{course}/import", app.url))
        .header("content-type", "multipart/form-data; boundary=XYZ")
        .body("--XYZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\nNom;E-mail\r\n--XYZ--\r\n")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // Bad files: explained on the upload form, nothing written.
    let path = format!("/courses/{course}/import");
    let empty = manager.post_file(&path, &[], "file", "", b"").await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.contains("Choisissez un fichier."));
    let garbage = manager
        .post_file(&path, &[], "file", "x.xlsx", b"PK\x03\x04not a zip")
        .await;
    assert_eq!(garbage.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(garbage.contains("ni un CSV ni un classeur XLSX lisible"));
    let mut long = String::from("Nom;E-mail\n");
    for i in 0..501 {
        long.push_str(&format!("N{i};n{i}@example.org\n"));
    }
    let too_many = manager.post_file(&path, &[], "file", "long.csv", long.as_bytes()).await;
    assert_eq!(too_many.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        too_many.contains("Le fichier a plus de 500 lignes."),
        "{}",
        errors_of(&too_many)
    );
    let big = vec![b'a'; 300 * 1024];
    let too_big = manager.post_file(&path, &[], "file", "big.csv", &big).await;
    assert_eq!(too_big.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(too_big.contains("Le fichier dépasse 256 Kio."));
    let english = manager.clone();
    english.post("/lang/en?next=/", &[]).await;
    let too_big = english.post_file(&path, &[], "file", "big.csv", &big).await;
    assert!(too_big.contains("The file is larger than 256 KiB."));
    assert!(learners_of(&app, &course).await.is_empty());
    assert_eq!(contact_count(&app).await, contacts_before);
    app.stop().await;
}

/// Posts `file` to an import endpoint of the API.
async fn api_import(api: &Api, path: &str, file: &[u8], content_type: &str) -> (StatusCode, serde_json::Value) {
    let response = api
        .request(reqwest::Method::POST, path)
        .header("content-type", content_type)
        .body(file.to_vec())
        .send()
        .await
        .unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

async fn the_api_imports_with_a_dry_run(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (manager, manager_user) = app.logged_in("marie@example.org", Role::Manager).await;
    let (_, trainer_user) = app.logged_in("theo@example.org", Role::Trainer).await;
    let course = new_course(&manager, "API").await;
    let api = Api::new(&app, &manager_user.id).await;
    let dir = files(XLSX_WRITER);
    let xlsx = std::fs::read(dir.path().join("learners.xlsx")).unwrap();
    let xlsx_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    let path = format!("/courses/{course}/learners/import");

    // Unknown headers: the columns are asked for (422, nothing written).
    let (status, problem) = api_import(&api, &format!("{path}?dry_run=true"), &xlsx, xlsx_type).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");
    assert!(problem_fields(&problem).contains(&"columns".to_owned()), "{problem}");
    let (status, problem) = api_import(&api, &format!("{path}?columns=,nom"), &xlsx, xlsx_type).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{problem}");

    // A dry run says what would happen and writes nothing.
    let columns = "columns=,name,email,locale,time_zone";
    let (status, body) = api_import(&api, &format!("{path}?dry_run=true&{columns}"), &xlsx, xlsx_type).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["dry_run"], true);
    assert_eq!((body["added"].as_u64(), body["invalid"].as_u64()), (Some(2), Some(1)));
    assert_eq!(body["lines"][1]["status"], "invalid");
    assert_eq!(body["lines"][1]["line"], 3);
    assert!(
        body["lines"][1]["problems"][0]
            .as_str()
            .unwrap()
            .contains("Europe/Pariss")
    );
    assert!(learners_of(&app, &course).await.is_empty());

    // The real run writes the good lines.
    let (status, body) = api_import(&api, &format!("{path}?{columns}"), &xlsx, xlsx_type).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["dry_run"].as_bool(), body["added"].as_u64()),
        (Some(false), Some(2))
    );
    assert_eq!(
        learners_of(&app, &course).await,
        BTreeSet::from(["ana.bernard@example.org".to_owned(), "ines.roux@example.org".to_owned()])
    );
    // A CSV with a known header; the trainer's token reaches no course.
    let csv = "Nom,Prénom,Email\nVidal,Léo,leo@example.org\n".as_bytes();
    let (status, body) = api_import(&api, &path, csv, "text/csv").await;
    assert_eq!((status, body["added"].as_u64()), (StatusCode::OK, Some(1)), "{body}");
    let trainer_api = Api::new(&app, &trainer_user.id).await;
    let (status, _) = api_import(&trainer_api, &path, csv, "text/csv").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(learners_of(&app, &course).await.len(), 3);
    app.stop().await;
}

/// Importing into "this session and the following ones" of a weekly series, as the people form's
/// scope: the preview says how many sessions and counts as already there only who is in every
/// one of them; the confirmation adds each newcomer to each of those sessions where they are not
/// yet, keeps everyone else as they are (someone in week 3 alone stays there alone), and queues
/// one invitation to the series per newcomer, not one per session. Week 1 is left alone.
async fn a_series_import_invites_each_newcomer_once_to_the_following_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (manager, manager_user) = app.logged_in("marie@example.org", Role::Manager).await;
    app.user("theo@example.org", Role::Trainer).await;
    let api = Api::new(&app, &manager_user.id).await;
    let (status, body) = api
        .post(
            "/sessions",
            &json!({
                "title": "Atelier tableur",
                "starts_at": paris(future_monday(), 9, 0),
                "time_zone": "Europe/Paris",
                "duration_minutes": 60,
                "recurrence": "FREQ=WEEKLY;COUNT=4",
                "trainers": ["theo@example.org"],
                "learners": [{ "name": "Learner", "email": "already@example.org" }]
            }),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let weeks: Vec<String> = body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(weeks.len(), 4);
    let series_id = app
        .store()
        .session(&weeks[0])
        .await
        .unwrap()
        .unwrap()
        .session
        .series_id
        .unwrap();
    // Solène is in week 3 alone.
    service::booking::set_people(
        app.state.service(),
        &crate::mailkit::caller(&manager_user),
        &weeks[2],
        service::booking::Scope::This,
        &service::booking::PeopleInput {
            trainers: vec!["theo@example.org".into()],
            learners: vec![
                crate::mailkit::person("Learner", "already@example.org"),
                crate::mailkit::person("Solène Seule", "solene@example.org"),
            ],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let invitations = |app: &TestApp| {
        let store = app.store().clone();
        async move {
            store
                .list_outbox(&[], 1000, 0)
                .await
                .unwrap()
                .into_iter()
                .filter(|l| l.message.kind == store::MailKind::Invitation)
                .map(|l| l.message)
                .collect::<Vec<_>>()
        }
    };
    let before = invitations(&app).await.len();
    let dir = files(SESSION_XLSX_WRITER);
    let xlsx = std::fs::read(dir.path().join("session.xlsx")).unwrap();
    let path = format!("/sessions/{}/import", weeks[1]);

    // The upload form of a session of a series offers the scope, as the people form does.
    let form = manager.get(&path).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(
        form.contains("id=\"scope-following\"") && form.contains("Cette séance et les suivantes de la série"),
        "{}",
        form.body
    );
    let preview = manager
        .post_file(&path, &[("scope", "following")], "file", "session.xlsx", &xlsx)
        .await;
    assert_eq!(preview.status, StatusCode::OK, "{}", errors_of(&preview));
    assert!(preview.contains("Séances concernées : 3"), "{}", preview.body);
    assert!(
        preview.contains("2 à ajouter") && preview.contains("1 déjà présente(s)") && preview.contains("1 en erreur"),
        "{}",
        preview.body
    );
    assert_eq!(invitations(&app).await.len(), before, "the preview queues nothing");
    let mut fields = preview_fields(&preview, "confirm");
    fields.push((
        "scope".to_owned(),
        preview
            .input_value("scope")
            .expect("the scope is carried to the confirmation"),
    ));
    let done = post(&manager, &path, &fields).await;
    assert_eq!(done.status, StatusCode::OK, "{}", errors_of(&done));
    assert_eq!(done.path, format!("/sessions/{}", weeks[1]));

    let learners_of_week = |i: usize| {
        let store = app.store().clone();
        let id = weeks[i].clone();
        async move {
            store
                .session(&id)
                .await
                .unwrap()
                .unwrap()
                .with_role(store::ParticipantRole::Learner)
                .map(|p| p.email.clone())
                .collect::<BTreeSet<String>>()
        }
    };
    let set = |emails: &[&str]| emails.iter().map(|e| (*e).to_owned()).collect::<BTreeSet<String>>();
    assert_eq!(
        learners_of_week(0).await,
        set(&["already@example.org"]),
        "week 1 untouched"
    );
    assert_eq!(
        learners_of_week(1).await,
        set(&["already@example.org", "lina@example.org", "paul@example.org"])
    );
    assert_eq!(
        learners_of_week(2).await,
        set(&[
            "already@example.org",
            "lina@example.org",
            "paul@example.org",
            "solene@example.org"
        ]),
        "Solène kept in week 3"
    );
    assert_eq!(
        learners_of_week(3).await,
        set(&["already@example.org", "lina@example.org", "paul@example.org"])
    );
    // One invitation each for the series, nothing per session; none again for who was there.
    let after = invitations(&app).await;
    assert_eq!(after.len(), before + 2, "{after:?}");
    for email in ["lina@example.org", "paul@example.org"] {
        let theirs: Vec<_> = after.iter().filter(|m| m.recipient_email == email).collect();
        assert_eq!(theirs.len(), 1, "{email}: {theirs:?}");
        assert_eq!(theirs[0].series_id.as_deref(), Some(series_id.as_str()), "{email}");
    }
    let lina = after.iter().find(|m| m.recipient_email == "lina@example.org").unwrap();
    assert_eq!(lina.locale.as_deref(), Some("en"));
    let log = app.store().audit_log(50, None).await.unwrap();
    let import = log.iter().find(|e| e.action == "session.import").unwrap();
    assert_eq!(import.target_id.as_deref(), Some(weeks[1].as_str()));

    // The same file again into week 2 and following: everyone is there now.
    let again = manager
        .post_file(&path, &[("scope", "following")], "file", "session.xlsx", &xlsx)
        .await;
    assert!(
        again.contains("0 à ajouter") && again.contains("3 déjà présente(s)"),
        "{}",
        again.body
    );
    app.stop().await;
}
