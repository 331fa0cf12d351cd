//! The CSV export read back by Python's `csv` module, as a spreadsheet import would.

use documents::{CsvInput, CsvRow, HalfDay, Locale, attendance_csv};
use jiff::civil::date;
use jiff::tz::TimeZone;

use crate::common::*;

fn rows() -> Vec<CsvRow> {
    let day = date(2026, 11, 23);
    vec![
        CsvRow {
            learner: "Zoé Lefèvre-Dubois".to_owned(),
            email: "zoe@example.org".to_owned(),
            date: day,
            half_day: HalfDay::Morning,
            planned_minutes: 210,
            present_minutes: 195,
            first_join: Some(at(day, 8, 58)),
            last_leave: Some(at(day, 12, 31)),
            signed_at: Some(at(day, 9, 4)),
            corrections: vec![
                "durée corrigée de 150 à 195 min; connexion perdue".to_owned(),
                "validé par \"J. Lefèvre\"".to_owned(),
            ],
        },
        CsvRow {
            learner: "=HYPERLINK(\"http://evil.example\";\"clic\")".to_owned(),
            email: "+33612345678@example.org".to_owned(),
            date: day,
            half_day: HalfDay::Afternoon,
            planned_minutes: 210,
            present_minutes: 0,
            first_join: None,
            last_leave: None,
            signed_at: None,
            corrections: vec!["-1 pour essai\nsur deux lignes".to_owned()],
        },
        CsvRow {
            learner: "Анна Кузнецова".to_owned(),
            email: "@anna".to_owned(),
            date: date(2026, 11, 24),
            half_day: HalfDay::Morning,
            planned_minutes: 210,
            present_minutes: 210,
            first_join: Some(at(date(2026, 11, 24), 9, 0)),
            last_leave: Some(at(date(2026, 11, 24), 12, 30)),
            signed_at: Some(at(date(2026, 11, 24), 9, 1)),
            corrections: Vec::new(),
        },
    ]
}

/// The file as Python's csv module reads it (with `utf-8-sig`, which drops the BOM).
fn python_rows(scratch: &Scratch, bytes: &[u8]) -> Vec<Vec<String>> {
    let path = scratch.write("export.csv", bytes);
    let script = "import csv, json, sys\n\
                  with open(sys.argv[1], encoding='utf-8-sig', newline='') as f:\n\
                  \x20   print(json.dumps(list(csv.reader(f, delimiter=';', strict=True))))\n";
    let out = run("python3", &["-c", script, path.to_str().unwrap()], "python3");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn csv_in_french_reads_back_with_python() {
    let scratch = Scratch::new();
    let bytes = attendance_csv(&CsvInput {
        locale: Locale::Fr,
        time_zone: TimeZone::get(ZONE).unwrap(),
        rows: rows(),
    });
    assert!(bytes.starts_with("\u{feff}".as_bytes()), "UTF-8 byte order mark");
    let text = String::from_utf8(bytes.clone()).unwrap();
    // Records end with CRLF; the only bare LF is inside the quoted two-line correction.
    assert_eq!(text.matches("\r\n").count(), 4);
    assert_eq!(text.matches('\n').count(), 5);

    let rows = python_rows(&scratch, &bytes);
    assert_eq!(rows.len(), 4);
    assert_eq!(
        rows[0],
        [
            "Apprenant·e",
            "Adresse e-mail",
            "Date",
            "Demi-journée",
            "Minutes prévues",
            "Minutes de présence",
            "Première connexion (Europe/Paris)",
            "Dernière déconnexion (Europe/Paris)",
            "Signé à (Europe/Paris)",
            "Corrections",
        ]
    );
    assert_eq!(
        rows[1],
        [
            "Zoé Lefèvre-Dubois",
            "zoe@example.org",
            "2026-11-23",
            "Matin",
            "210",
            "195",
            "2026-11-23 08:58:00",
            "2026-11-23 12:31:00",
            "2026-11-23 09:04:00",
            "durée corrigée de 150 à 195 min; connexion perdue | validé par \"J. Lefèvre\"",
        ]
    );
    // Formula-looking cells start with an apostrophe; nothing else changes.
    assert_eq!(
        rows[2],
        [
            "'=HYPERLINK(\"http://evil.example\";\"clic\")",
            "'+33612345678@example.org",
            "2026-11-23",
            "Après-midi",
            "210",
            "0",
            "",
            "",
            "",
            "'-1 pour essai\nsur deux lignes",
        ]
    );
    assert_eq!(rows[3][0], "Анна Кузнецова");
    assert_eq!(rows[3][1], "'@anna");
}

#[test]
fn csv_in_english_has_english_headers() {
    let scratch = Scratch::new();
    let bytes = attendance_csv(&CsvInput {
        locale: Locale::En,
        time_zone: TimeZone::get("America/New_York").unwrap(),
        rows: rows(),
    });
    let rows = python_rows(&scratch, &bytes);
    assert_eq!(
        rows[0],
        [
            "Learner",
            "Email address",
            "Date",
            "Half-day",
            "Planned minutes",
            "Minutes present",
            "First join (America/New_York)",
            "Last leave (America/New_York)",
            "Signed at (America/New_York)",
            "Corrections",
        ]
    );
    assert_eq!(rows[1][3], "Morning");
    // 08:58 in Paris is 02:58 in New York.
    assert_eq!(rows[1][6], "2026-11-23 02:58:00");
}
