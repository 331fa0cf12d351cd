//! Test data shared by the tests and the benchmark, and the real readers the tests check the
//! files with (qpdf, poppler's pdftotext, pdfimages, pdfinfo, pdftoppm; Python's csv and
//! zipfile).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

use documents::{
    ActionNature, Attendance, Attendee, CertificateInput, HalfDay, Locale, Organisation, Part, Seal, SheetInput,
    SheetSession, Signatory, Signature, SignatureKind,
};
use jiff::Timestamp;
use jiff::civil::{Date, date};
use jiff::tz::TimeZone;

pub const ZONE: &str = "Europe/Paris";

pub fn organisation() -> Organisation {
    Organisation {
        name: "Formations Hélios SARL".to_owned(),
        address: Some("12 rue de l’Épée-de-Bois\n69002 Lyon".to_owned()),
        siret: Some("123 456 789 00012".to_owned()),
        nda: Some("84 69 12345 69".to_owned()),
    }
}

/// The instant of a local time in Paris.
pub fn at(day: Date, hour: i8, minute: i8) -> Timestamp {
    day.at(hour, minute, 0, 0)
        .to_zoned(TimeZone::get(ZONE).unwrap())
        .unwrap()
        .timestamp()
}

/// A browser-canvas-like PNG (600×200, transparent, a blue-black scribble that differs with
/// `seed`).
pub fn drawn_signature(seed: u32) -> Vec<u8> {
    let (width, height) = (600u32, 200u32);
    let mut pixels = vec![0u8; (width * height * 4) as usize];
    for x in 40..560u32 {
        let phase = (x + seed * 37) as f32 / (18.0 + (seed % 7) as f32);
        let y = (100.0 + 55.0 * phase.sin() * ((x as f32) / 560.0)) as i64;
        for dy in -2..=2i64 {
            for dx in 0..2u32 {
                let (px, py) = (x + dx, y + dy);
                if px < width && (0..height as i64).contains(&py) {
                    let i = ((py as u32 * width + px) * 4) as usize;
                    pixels[i..i + 4].copy_from_slice(&[20, 24, 90, 255]);
                }
            }
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgba);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&pixels).unwrap();
    writer.finish().unwrap();
    out
}

pub fn full_day(day: Date) -> Vec<Part> {
    vec![
        Part {
            half_day: HalfDay::Morning,
            start: at(day, 9, 0),
            end: at(day, 12, 30),
        },
        Part {
            half_day: HalfDay::Afternoon,
            start: at(day, 14, 0),
            end: at(day, 17, 30),
        },
    ]
}

pub fn signed(kind: SignatureKind, at: Timestamp) -> Option<Signature> {
    Some(Signature { kind, signed_at: at })
}

pub const DIGEST: &str = "9f2c4e7a1b3d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8";

/// One day, two half-days: a trainer who typed her name, Zoé who drew her signature (a
/// correction on her afternoon), Анна who typed hers, Ελένη absent, and محمد who came in the
/// afternoon without signing.
pub fn three_learners_session() -> SheetSession {
    let day = date(2026, 11, 23);
    let attend = |present: u32, signature: Option<Signature>| Attendance {
        planned_minutes: 210,
        present_minutes: present,
        signature,
        corrections: Vec::new(),
    };
    let trainer = Attendee {
        name: "Jeanne Lefèvre".to_owned(),
        attendance: vec![
            attend(
                210,
                signed(SignatureKind::Typed("Jeanne Lefèvre".into()), at(day, 8, 55)),
            ),
            attend(
                210,
                signed(SignatureKind::Typed("Jeanne Lefèvre".into()), at(day, 13, 58)),
            ),
        ],
    };
    let mut zoe_afternoon = attend(195, signed(SignatureKind::Drawn(drawn_signature(1)), at(day, 14, 6)));
    zoe_afternoon.corrections =
        vec!["durée corrigée de 150 à 195 min par Jeanne Lefèvre : connexion perdue à 15:10".to_owned()];
    let learners = vec![
        Attendee {
            name: "Zoé Lefèvre-Dubois".to_owned(),
            attendance: vec![
                attend(210, signed(SignatureKind::Drawn(drawn_signature(0)), at(day, 9, 4))),
                zoe_afternoon,
            ],
        },
        Attendee {
            name: "Анна Кузнецова".to_owned(),
            attendance: vec![
                attend(
                    205,
                    signed(SignatureKind::Typed("Анна Кузнецова".into()), at(day, 9, 7)),
                ),
                attend(
                    210,
                    signed(SignatureKind::Typed("Анна Кузнецова".into()), at(day, 14, 1)),
                ),
            ],
        },
        Attendee {
            name: "Ελένη Παπαδοπούλου".to_owned(),
            attendance: vec![attend(0, None), attend(0, None)],
        },
        Attendee {
            name: "محمد العلي".to_owned(),
            attendance: vec![attend(0, None), attend(180, None)],
        },
    ];
    SheetSession {
        id: "s7k2m9q4x1c8v5b3n6z0".to_owned(),
        title: "Prise de parole en public".to_owned(),
        time_zone: ZONE.to_owned(),
        parts: full_day(day),
        trainers: vec![trainer],
        learners,
        seal: Seal {
            digest: DIGEST.to_owned(),
            records: 42,
        },
    }
}

pub fn sheet(locale: Locale, sessions: Vec<SheetSession>) -> SheetInput {
    SheetInput {
        locale,
        organisation: organisation(),
        course_title: "Communication orale — niveau 2".to_owned(),
        sessions,
        generated_at: at(date(2026, 11, 30), 18, 0),
    }
}

/// A learner's name for index `i`: accents, Cyrillic and Greek among them.
pub fn learner_name(i: usize) -> String {
    const FIRST: [&str; 10] = [
        "Zoé",
        "Élodie",
        "Анна",
        "Ελένη",
        "François",
        "Chloé",
        "Дмитрий",
        "Νίκος",
        "Inès",
        "Björn",
    ];
    const LAST: [&str; 10] = [
        "Lefèvre",
        "Dupont-Moreau",
        "Кузнецова",
        "Παπαδοπούλου",
        "Nguyễn",
        "Østergård",
        "Смирнов",
        "Γεωργίου",
        "de La Tour d’Auvergne",
        "Åkesson",
    ];
    format!("{} {} {i:03}", FIRST[i % 10], LAST[(i / 10 + i) % 10])
}

/// A course over `sessions` days with `learners` learners: full days, every learner signing
/// every half-day, by drawing (when `drawn`) or typing their name, a few absences.
pub fn course_sessions(sessions: usize, learners: usize, drawn: bool) -> Vec<SheetSession> {
    let first = date(2026, 11, 2);
    (0..sessions)
        .map(|s| {
            let day = first.checked_add(jiff::Span::new().days(s as i64)).unwrap();
            let people = (0..learners)
                .map(|l| {
                    let attendance = [(9, 0), (14, 0)]
                        .iter()
                        .enumerate()
                        .map(|(half, (hour, minute))| {
                            let absent = (l + s + half) % 17 == 0;
                            let signature = if absent {
                                None
                            } else if drawn {
                                signed(
                                    SignatureKind::Drawn(drawn_signature((s * 1000 + l * 2 + half) as u32)),
                                    at(day, *hour, minute + (l % 9) as i8),
                                )
                            } else {
                                signed(
                                    SignatureKind::Typed(learner_name(l)),
                                    at(day, *hour, minute + (l % 9) as i8),
                                )
                            };
                            Attendance {
                                planned_minutes: 210,
                                present_minutes: if absent { 0 } else { 210 - (l % 4) as u32 * 5 },
                                signature,
                                corrections: Vec::new(),
                            }
                        })
                        .collect();
                    Attendee {
                        name: learner_name(l),
                        attendance,
                    }
                })
                .collect();
            SheetSession {
                id: format!("session-{s:02}"),
                title: format!("Module {}", s + 1),
                time_zone: ZONE.to_owned(),
                parts: full_day(day),
                trainers: vec![Attendee {
                    name: "Jeanne Lefèvre".to_owned(),
                    attendance: (0..2)
                        .map(|half| Attendance {
                            planned_minutes: 210,
                            present_minutes: 210,
                            signature: signed(
                                SignatureKind::Typed("Jeanne Lefèvre".into()),
                                at(day, 8 + 5 * half as i8, 55),
                            ),
                            corrections: Vec::new(),
                        })
                        .collect(),
                }],
                learners: people,
                seal: Seal {
                    digest: format!("{s:02}{}", &DIGEST[2..]),
                    records: 120 + s as u64,
                },
            }
        })
        .collect()
}

pub fn certificate_input(locale: Locale) -> CertificateInput {
    CertificateInput {
        locale,
        organisation: organisation(),
        signatory: Signatory {
            name: "Claire Mercier".to_owned(),
            role: "Directrice".to_owned(),
            signature: Some(drawn_signature(99)),
        },
        learner: "Ελένη Παπαδοπούλου".to_owned(),
        company: Some("Ateliers Réunis SAS".to_owned()),
        course_title: "Communication orale — niveau 2".to_owned(),
        nature: ActionNature::Training,
        first_day: date(2026, 11, 2),
        last_day: date(2026, 11, 27),
        completed_minutes: 2070,
        place: "Lyon".to_owned(),
        issued_on: date(2026, 11, 30),
    }
}

/// A scratch directory, removed when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new() -> Scratch {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "documents-test-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(name);
        let mut file = std::fs::File::create(&path).unwrap();
        file.write_all(bytes).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs a reader that must be installed; fails the test with how to install it otherwise.
pub fn run(program: &str, args: &[&str], package: &str) -> String {
    let output = Command::new(program).args(args).output().unwrap_or_else(|error| {
        panic!(
            "{program} is needed by this test and could not be run ({error}): \
             install it with `apt-get install -y {package}` (or run `bash .ci/peers`)"
        )
    });
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{program} {args:?} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    stdout
}

/// What `qpdf --check` says of the PDF (the test fails on any structural error).
pub fn qpdf_check(scratch: &Scratch, pdf: &[u8]) -> String {
    let path = scratch.write("check.pdf", pdf);
    let out = run("qpdf", &["--check", path.to_str().unwrap()], "qpdf");
    assert!(
        out.contains("No syntax or stream encoding errors found"),
        "qpdf --check:\n{out}"
    );
    out
}

/// The text of the PDF as `pdftotext -layout` reads it.
pub fn pdftotext(scratch: &Scratch, pdf: &[u8]) -> String {
    let path = scratch.write("text.pdf", pdf);
    run(
        "pdftotext",
        &["-layout", "-enc", "UTF-8", path.to_str().unwrap(), "-"],
        "poppler-utils",
    )
}

/// The words of the PDF with their boxes (`pdftotext -bbox`): (text, page, xMin, yMin, xMax, yMax).
pub fn words(scratch: &Scratch, pdf: &[u8]) -> Vec<(String, usize, f32, f32, f32, f32)> {
    let path = scratch.write("bbox.pdf", pdf);
    let html = run(
        "pdftotext",
        &["-bbox", "-enc", "UTF-8", path.to_str().unwrap(), "-"],
        "poppler-utils",
    );
    let mut page = 0;
    let mut out = Vec::new();
    for line in html.lines() {
        let line = line.trim();
        if line.starts_with("<page ") {
            page += 1;
        }
        let Some(rest) = line.strip_prefix("<word ") else {
            continue;
        };
        let attribute = |name: &str| -> f32 {
            let start = rest.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
            let end = start + rest[start..].find('"').unwrap();
            rest[start..end].parse().unwrap()
        };
        let text_start = rest.find('>').unwrap() + 1;
        let text_end = rest.rfind("</word>").unwrap();
        let text = rest[text_start..text_end]
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'");
        out.push((
            text,
            page,
            attribute("xMin"),
            attribute("yMin"),
            attribute("xMax"),
            attribute("yMax"),
        ));
    }
    out
}

/// `pdfimages -list`, one line per image (after the two header lines).
pub fn pdfimages(scratch: &Scratch, pdf: &[u8]) -> Vec<String> {
    let path = scratch.write("images.pdf", pdf);
    run("pdfimages", &["-list", path.to_str().unwrap()], "poppler-utils")
        .lines()
        .skip(2)
        .map(str::to_owned)
        .collect()
}

/// The number of pages, as `pdfinfo` reads it.
pub fn pages(scratch: &Scratch, pdf: &[u8]) -> usize {
    let path = scratch.write("info.pdf", pdf);
    let info = run("pdfinfo", &[path.to_str().unwrap()], "poppler-utils");
    info.lines()
        .find_map(|line| line.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("pdfinfo gave no page count:\n{info}"))
}
