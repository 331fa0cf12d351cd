//! Bad input gets a clear error and no file.

use documents::{DocumentError, Locale, SignatureKind, SignatureProblem, attendance_sheet, certificate};

use crate::common::*;

#[test]
fn a_damaged_drawn_signature_names_its_signer() {
    let mut session = three_learners_session();
    let mut png = drawn_signature(3);
    png.truncate(png.len() / 3);
    session.learners[1].attendance[0].signature.as_mut().unwrap().kind = SignatureKind::Drawn(png);
    let error = attendance_sheet(&sheet(Locale::Fr, vec![session])).unwrap_err();
    match &error {
        DocumentError::Signature { who, problem } => {
            assert!(who.contains("Анна Кузнецова"), "{who}");
            assert!(matches!(problem, SignatureProblem::Unreadable { .. }), "{problem:?}");
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert!(error.to_string().contains("Анна Кузнецова"), "{error}");
}

#[test]
fn a_blank_certificate_signature_is_refused() {
    let mut input = certificate_input(Locale::Fr);
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, 600, 200);
    encoder.set_color(png::ColorType::Rgba);
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&vec![0; 600 * 200 * 4]).unwrap();
    writer.finish().unwrap();
    input.signatory.signature = Some(out);
    assert!(matches!(
        certificate(&input),
        Err(DocumentError::Signature {
            problem: SignatureProblem::Blank,
            ..
        })
    ));
}

#[test]
fn inconsistent_sessions_are_refused() {
    assert!(matches!(
        attendance_sheet(&sheet(Locale::Fr, Vec::new())),
        Err(DocumentError::NoSessions)
    ));

    let mut session = three_learners_session();
    session.time_zone = "Europe/Lyon".to_owned();
    assert!(matches!(
        attendance_sheet(&sheet(Locale::Fr, vec![session])),
        Err(DocumentError::UnknownTimeZone(zone)) if zone == "Europe/Lyon"
    ));

    let mut session = three_learners_session();
    session.parts.reverse();
    assert!(matches!(
        attendance_sheet(&sheet(Locale::Fr, vec![session])),
        Err(DocumentError::InvalidParts { .. })
    ));

    let mut session = three_learners_session();
    session.learners[2].attendance.pop();
    let error = attendance_sheet(&sheet(Locale::Fr, vec![session])).unwrap_err();
    assert!(
        matches!(&error, DocumentError::AttendanceMismatch { person, found: 1, expected: 2, .. } if person == "Ελένη Παπαδοπούλου"),
        "{error:?}"
    );
}

#[test]
fn scripts_the_fonts_lack_are_reported() {
    assert!(documents::unprintable_characters("Zoé Анна Ελένη محمد שרה").is_empty());
    // Chinese prints when a fallback font is installed (documents_pdf::names_in_scripts…);
    // a private-use character never does.
    assert_eq!(documents::unprintable_characters("Zoé \u{10FFFD}"), vec!['\u{10FFFD}']);
}
