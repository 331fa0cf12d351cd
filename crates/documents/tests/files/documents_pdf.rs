//! PDFs checked by qpdf and read back by poppler.

use documents::{Attendance, Attendee, Locale, attendance_sheet, certificate};

use crate::common::*;

/// Keeps a copy of a generated file when `DOCUMENTS_KEEP` names a directory (to look at it).
fn keep(name: &str, bytes: &[u8]) {
    if let Ok(dir) = std::env::var("DOCUMENTS_KEEP") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(std::path::Path::new(&dir).join(name), bytes).unwrap();
    }
}

/// `pdftotext -layout` keeps the page's columns; squeezing the runs of spaces lets a test look
/// for a phrase whatever the column widths.
fn squeezed(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn session_sheet_pdf_in_french_reads_back() {
    let scratch = Scratch::new();
    let pdf = attendance_sheet(&sheet(Locale::Fr, vec![three_learners_session()])).unwrap();
    keep("session-fr.pdf", &pdf);
    qpdf_check(&scratch, &pdf);
    assert_eq!(pages(&scratch, &pdf), 1);

    let text = pdftotext(&scratch, &pdf);
    let flat = squeezed(&text);
    for expected in [
        "Feuille d’émargement",
        "Formations Hélios SARL",
        "SIRET : 123 456 789 00012",
        "NDA : 84 69 12345 69",
        "Formation : Communication orale — niveau 2",
        "Séance : Prise de parole en public",
        "Date : lundi 23 novembre 2026",
        "Matin 09:00–12:30 · Après-midi 14:00–17:30 (Europe/Paris)",
        "Formateur·rices : Jeanne Lefèvre",
        "Zoé Lefèvre-Dubois",
        "Анна Кузнецова",
        "Ελένη Παπαδοπούλου",
        "Signé à 09:04",
        "Signé à 14:06",
        "Nom saisi, signé à 09:07",
        "Nom saisi, signé à 08:55",
        "Absent·e",
        "Non signé",
        "195 (1)",
        "(1) Zoé Lefèvre-Dubois — Après-midi : durée corrigée de 150 à 195 min",
        "Total des apprenant·es",
        DIGEST,
        "(42 enregistrements)",
        "dialogue attendance verify s7k2m9q4x1c8v5b3n6z0",
        "page 1/1",
        "édité le 30/11/2026 18:00 (Europe/Paris)",
    ] {
        assert!(
            flat.contains(expected),
            "{expected:?} is not in the sheet's text:\n{text}"
        );
    }
    // Minutes: planned 210 for everyone, Анна's 205, the learners' totals (4 × 210 planned;
    // 210 + 205 present in the morning, 195 + 210 + 180 in the afternoon).
    for minutes in ["210", "205", "840", "415", "585"] {
        assert!(
            text.split_whitespace().any(|w| w == minutes),
            "{minutes} missing:\n{text}"
        );
    }
    // The Arabic name is extracted with its letters (in reading or display order).
    let arabic: String = "محمد".chars().collect();
    let reversed: String = "محمد".chars().rev().collect();
    assert!(
        text.contains(&arabic) || text.contains(&reversed),
        "Arabic name missing:\n{text}"
    );

    // The two drawn signatures are images, grey, shrunk to 150×50 for print; nothing else is.
    let images = pdfimages(&scratch, &pdf);
    assert_eq!(images.len(), 2, "{images:?}");
    for image in &images {
        let fields: Vec<&str> = image.split_whitespace().collect();
        assert_eq!(&fields[2..7], ["image", "150", "50", "gray", "1"], "{image}");
    }

    // poppler renders the page.
    let png = scratch.path().join("page");
    let path = scratch.write("render.pdf", &pdf);
    run(
        "pdftoppm",
        &[
            "-png",
            "-r",
            "60",
            "-f",
            "1",
            "-l",
            "1",
            path.to_str().unwrap(),
            png.to_str().unwrap(),
        ],
        "poppler-utils",
    );
    let rendered = std::fs::read(scratch.path().join("page-1.png")).unwrap();
    keep("session-fr.png", &rendered);
    assert!(rendered.starts_with(b"\x89PNG"));
}

#[test]
fn session_sheet_pdf_in_english_reads_back() {
    let scratch = Scratch::new();
    let pdf = attendance_sheet(&sheet(Locale::En, vec![three_learners_session()])).unwrap();
    keep("session-en.pdf", &pdf);
    qpdf_check(&scratch, &pdf);
    let text = pdftotext(&scratch, &pdf);
    let flat = squeezed(&text);
    for expected in [
        "Attendance sheet",
        "Course: Communication orale — niveau 2",
        "Date: Monday 23 November 2026",
        "Morning 09:00–12:30 · Afternoon 14:00–17:30 (Europe/Paris)",
        "Trainers: Jeanne Lefèvre",
        "Planned",
        "Signed at 09:04",
        "Typed name, signed at 09:07",
        "Absent",
        "Not signed",
        "Learners’ total",
        "(42 records)",
        "dialogue attendance verify s7k2m9q4x1c8v5b3n6z0",
        "page 1/1",
        "produced on 2026-11-30 18:00 (Europe/Paris)",
    ] {
        assert!(
            flat.contains(expected),
            "{expected:?} is not in the sheet's text:\n{text}"
        );
    }
    assert!(!flat.contains("Feuille"), "French left in the English sheet:\n{text}");
    assert_eq!(pdfimages(&scratch, &pdf).len(), 2);
}

#[test]
fn course_sheet_pdf_of_20_sessions_and_30_learners() {
    let scratch = Scratch::new();
    let sessions = course_sessions(20, 30, false);
    let pdf = attendance_sheet(&sheet(Locale::Fr, sessions)).unwrap();
    keep("course-fr.pdf", &pdf);
    qpdf_check(&scratch, &pdf);
    let total = pages(&scratch, &pdf);
    // Each session starts a page and, with 30 learners, takes two.
    assert_eq!(total, 40, "pages");

    let text = pdftotext(&scratch, &pdf);
    let pages_text: Vec<&str> = text.split('\u{c}').filter(|p| !p.trim().is_empty()).collect();
    assert_eq!(pages_text.len(), total);
    for (i, page) in pages_text.iter().enumerate() {
        let flat = squeezed(page);
        // Every page: numbered, with the session's header and the table's header.
        assert!(
            flat.contains(&format!("page {}/{total}", i + 1)),
            "page {}:\n{page}",
            i + 1
        );
        assert!(flat.contains("Feuille d’émargement"), "page {}", i + 1);
        let session = i / 2 + 1;
        assert!(
            flat.contains(&format!("Séance : Module {session} · séance {session} sur 20")),
            "page {}:\n{page}",
            i + 1
        );
        assert!(
            flat.contains("Prévu"),
            "table header missing on page {}:\n{page}",
            i + 1
        );
        assert!(
            flat.contains("Période : du 2 novembre 2026 au 21 novembre 2026"),
            "page {}",
            i + 1
        );
        if i % 2 == 1 {
            assert!(flat.contains("(suite)"), "page {} continues its session", i + 1);
            // The session's seal ends its second page.
            assert!(flat.contains(&format!("dialogue attendance verify session-{:02}", i / 2)));
        }
    }
    // Every learner of every session is there (names with accents, Cyrillic and Greek).
    for session in 0..20 {
        let session_text = squeezed(&format!("{}{}", pages_text[2 * session], pages_text[2 * session + 1]));
        let session_words: std::collections::HashSet<&str> = session_text.split(' ').collect();
        for learner in 0..30 {
            // A long name wraps in its cell: its words are there, if not on one line.
            let name = learner_name(learner);
            for word in name.split(' ') {
                assert!(
                    session_words.contains(word),
                    "{word} of {name} missing from session {session}"
                );
            }
        }
        assert!(session_text.contains(&format!("{session:02}{}", &DIGEST[2..])));
    }
    assert!(pdfimages(&scratch, &pdf).is_empty(), "typed signatures only");
}

#[test]
fn sheet_pdf_with_200_long_names_wraps_inside_the_cells() {
    let scratch = Scratch::new();
    let mut session = three_learners_session();
    let attendance = |present| Attendance {
        planned_minutes: 210,
        present_minutes: present,
        signature: None,
        corrections: Vec::new(),
    };
    session.learners = (0..200)
        .map(|i| Attendee {
            name: match i % 4 {
                0 => format!("Marie-Bérénice Éléonore de La Tour d’Auvergne-Lauraguais {i}"),
                1 => format!("Wolfeschlegelsteinhausenbergerdorffvoralternwarengewissenhaftschaferswessen{i}"),
                2 => format!("Κωνσταντίνος Αλεξανδρόπουλος-Παπαδημητρίου {i}"),
                _ => learner_name(i),
            },
            attendance: vec![attendance(210), attendance(0)],
        })
        .collect();
    session.learners[7].name = "Jean ".repeat(80);
    let pdf = attendance_sheet(&sheet(Locale::Fr, vec![session])).unwrap();
    keep("long-names.pdf", &pdf);
    qpdf_check(&scratch, &pdf);
    let total = pages(&scratch, &pdf);
    assert!(total >= 10, "{total} pages for 200 learners");

    // The name column is the first 127 points of the table (which starts at the 36 pt margin);
    // every word that starts in it must end in it.
    let words = words(&scratch, &pdf);
    let (left, right) = (36.0, 36.0 + 127.0);
    let mut seen = 0;
    for (text, page, x_min, _, x_max, _) in &words {
        if *x_min >= left && *x_min < right - 1.0 && *x_max > left {
            // Page header and footer lines span the whole width; only table rows count.
            if text.starts_with("Wolfe") || text.contains("Αλεξανδρόπουλος") || text.contains("Lauraguais")
            {
                seen += 1;
                assert!(
                    *x_max <= right + 0.5,
                    "{text:?} on page {page} ends at {x_max}, past the name column ({right})"
                );
            }
        }
    }
    assert!(seen >= 150, "only {seen} long-name words found");

    // Every page repeats the table header and is numbered.
    let text = pdftotext(&scratch, &pdf);
    assert_eq!(text.matches("Présent").count(), 2 * total, "two half-days on each page");
    assert!(squeezed(&text).contains(&format!("page {total}/{total}")));
}

#[test]
fn certificate_pdf_in_french_reads_back() {
    let scratch = Scratch::new();
    let pdf = certificate(&certificate_input(Locale::Fr)).unwrap();
    keep("certificate-fr.pdf", &pdf);
    qpdf_check(&scratch, &pdf);
    assert_eq!(pages(&scratch, &pdf), 1);
    let text = pdftotext(&scratch, &pdf);
    let flat = squeezed(&text);
    for expected in [
        "CERTIFICAT DE RÉALISATION",
        "Formations Hélios SARL",
        "12 rue de l’Épée-de-Bois",
        "69002 Lyon",
        "SIRET : 123 456 789 00012",
        "Déclaration d’activité n° 84 69 12345 69 (cet enregistrement ne vaut pas agrément de l’État)",
        "Je soussigné·e Claire Mercier, Directrice, représentant·e légal·e du dispensateur",
        "Ελένη Παπαδοπούλου",
        "Ateliers Réunis SAS",
        "Communication orale — niveau 2",
        "☒ action de formation",
        "☐ bilan de compétences",
        "☐ action de validation des acquis de l’expérience (VAE)",
        "☐ action de formation par apprentissage",
        "du 2 novembre 2026 au 27 novembre 2026",
        "34 h 30",
        "conserver l’ensemble des pièces justificatives",
        "Fait à Lyon, le 30 novembre 2026",
        "Cachet et signature du responsable",
        "Claire Mercier, Directrice",
        "page 1/1",
    ] {
        assert!(
            flat.contains(expected),
            "{expected:?} is not in the certificate:\n{text}"
        );
    }
    // The signatory's drawn signature.
    assert_eq!(pdfimages(&scratch, &pdf).len(), 1);
}

#[test]
fn certificate_pdf_in_english_reads_back() {
    let scratch = Scratch::new();
    let mut input = certificate_input(Locale::En);
    input.nature = documents::ActionNature::Vae;
    input.company = None;
    input.signatory.signature = None;
    let pdf = certificate(&input).unwrap();
    keep("certificate-en.pdf", &pdf);
    qpdf_check(&scratch, &pdf);
    let text = pdftotext(&scratch, &pdf);
    let flat = squeezed(&text);
    for expected in [
        "CERTIFICATE OF COMPLETION",
        "Certificat de réalisation",
        "I, the undersigned Claire Mercier, Directrice",
        "Beneficiary of the action",
        "☐ training action",
        "☒ validation of prior learning (VAE)",
        "from 2 November 2026 to 27 November 2026",
        "34 h 30",
        "Issued in Lyon on 30 November 2026",
    ] {
        assert!(
            flat.contains(expected),
            "{expected:?} is not in the certificate:\n{text}"
        );
    }
    assert!(!flat.contains("Employee of"), "no company was given:\n{text}");
    assert!(pdfimages(&scratch, &pdf).is_empty());
}

#[test]
fn pdf_fonts_are_embedded_and_subset() {
    let scratch = Scratch::new();
    let pdf = attendance_sheet(&sheet(Locale::Fr, vec![three_learners_session()])).unwrap();
    let path = scratch.write("fonts.pdf", &pdf);
    let fonts = run("pdffonts", &[path.to_str().unwrap()], "poppler-utils");
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!rows.is_empty(), "{fonts}");
    for row in rows {
        // name (subset prefix ABCDEF+), type, encoding, emb, sub, uni
        let fields: Vec<&str> = row.split_whitespace().collect();
        assert!(fields[0].contains('+') && fields[0].contains("DejaVuSans"), "{row}");
        let n = fields.len();
        assert_eq!(
            &fields[n - 5..n - 2],
            ["yes", "yes", "yes"],
            "embedded, subset, unicode: {row}"
        );
    }
    // Subsetting keeps the whole sheet far below the fonts' 1.4 MB.
    assert!(pdf.len() < 300_000, "{} bytes", pdf.len());
}

/// Names in scripts DejaVu Sans lacks (Chinese, Devanagari) print in the system's fallback
/// fonts, embedded as subsets beside DejaVu's. `.ci/peers` installs Debian's small
/// `fonts-wqy-microhei` and `fonts-lohit-deva`; the Debian package recommends Noto
/// (`fonts-noto-cjk`, `fonts-noto-core`), which the installation guide's test brings in, and
/// which is tried first when present: either font of each script will do.
#[test]
fn names_in_scripts_dejavu_lacks_print_in_a_fallback_font() {
    const CHINESE_FONTS: [&str; 3] = ["NotoSansCJK", "wqy-microhei", "DroidSansFallback"];
    const DEVANAGARI_FONTS: [&str; 2] = ["NotoSansDevanagari", "Lohit-Devanagari"];
    let installed = documents::fallback_font_files();
    for (script, files) in [("Chinese", &CHINESE_FONTS[..]), ("Devanagari", &DEVANAGARI_FONTS[..])] {
        assert!(
            installed
                .iter()
                .any(|p| files.iter().any(|f| p.to_string_lossy().contains(f))),
            "a {script} font among {installed:?} (apt-get install -y fonts-wqy-microhei fonts-lohit-deva)"
        );
    }
    let chinese = "王小明";
    let hindi = "अनीता शर्मा";
    assert!(documents::unprintable_characters(chinese).is_empty());
    assert!(documents::unprintable_characters(hindi).is_empty());
    // A character no font has is still reported.
    assert_eq!(documents::unprintable_characters("A\u{10FFFD}"), vec!['\u{10FFFD}']);

    let mut session = three_learners_session();
    session.learners[1].name = format!("{chinese} (Wang)");
    session.learners[2].name = hindi.to_owned();
    let pdf = attendance_sheet(&sheet(Locale::Fr, vec![session])).unwrap();
    keep("fallback-fonts.pdf", &pdf);
    let scratch = Scratch::new();
    qpdf_check(&scratch, &pdf);
    let text = squeezed(&pdftotext(&scratch, &pdf));
    assert!(text.contains(&format!("{chinese} (Wang)")), "{text}");
    // Devanagari's vowel signs are reordered by shaping; poppler maps the glyphs back to the
    // characters of each cluster, so the name reads back whole.
    assert!(text.contains(hindi), "{text}");
    let path = scratch.write("fallback.pdf", &pdf);
    let fonts = run("pdffonts", &[path.to_str().unwrap()], "poppler-utils");
    // pdffonts names fonts by their PostScript names (WenQuanYiMicroHei, NotoSansCJKjp-…).
    let families: [(&str, &[&str]); 3] = [
        ("DejaVu", &["DejaVuSans"]),
        ("Chinese", &["NotoSansCJK", "WenQuanYi", "DroidSansFallback"]),
        ("Devanagari", &["NotoSansDevanagari", "Lohit-Devanagari"]),
    ];
    for (script, names) in families {
        let row = fonts
            .lines()
            .find(|l| names.iter().any(|n| l.contains(n)))
            .unwrap_or_else(|| panic!("a {script} font in\n{fonts}"));
        let fields: Vec<&str> = row.split_whitespace().collect();
        let n = fields.len();
        assert!(fields[0].contains('+'), "subset: {row}");
        assert_eq!(
            &fields[n - 5..n - 2],
            ["yes", "yes", "yes"],
            "embedded, subset, unicode: {row}"
        );
    }
    // Subsets: the megabytes of the CJK fonts add only their few glyphs.
    assert!(pdf.len() < 300_000, "{} bytes", pdf.len());
}
