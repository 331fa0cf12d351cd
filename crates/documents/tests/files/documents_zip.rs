//! The certificates' archive read back by Python's `zipfile`, each PDF checked by qpdf.

use documents::{Locale, certificate, certificates_zip, safe_file_name};
use jiff::civil::date;

use crate::common::*;

#[test]
fn certificates_zip_reads_back_with_python() {
    let scratch = Scratch::new();
    let learners = [
        "Ελένη Παπαδοπούλου",
        "Zoé Lefèvre",
        "zoé lefèvre",
        "../../etc/passwd",
        "CON",
    ];
    let files: Vec<(String, Vec<u8>)> = learners
        .iter()
        .map(|learner| {
            let mut input = certificate_input(Locale::Fr);
            input.learner = (*learner).to_owned();
            (format!("{learner}.pdf"), certificate(&input).unwrap())
        })
        .collect();
    let archive = certificates_zip(&files, date(2026, 11, 30).at(18, 5, 30, 0)).unwrap();
    let path = scratch.write("certificates.zip", &archive);
    let out_dir = scratch.path().join("out");
    let script = "import json, sys, zipfile\n\
                  z = zipfile.ZipFile(sys.argv[1])\n\
                  assert z.testzip() is None\n\
                  z.extractall(sys.argv[2])\n\
                  print(json.dumps([[i.filename, list(i.date_time), i.compress_type, i.file_size] for i in z.infolist()]))\n";
    let out = run(
        "python3",
        &["-c", script, path.to_str().unwrap(), out_dir.to_str().unwrap()],
        "python3",
    );
    let entries: Vec<(String, Vec<u32>, u32, usize)> = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "Ελένη Παπαδοπούλου.pdf",
            "Zoé Lefèvre.pdf",
            "zoé lefèvre (2).pdf",
            "etc_passwd.pdf",
            "_CON.pdf"
        ]
    );
    for (i, (name, time, compression, size)) in entries.iter().enumerate() {
        assert_eq!(time, &[2026, 11, 30, 18, 5, 30], "{name}");
        assert_eq!(*compression, 8, "{name} is deflated");
        assert_eq!(*size, files[i].1.len(), "{name}");
        // Extracted where it belongs, byte for byte, and a valid PDF.
        let extracted = std::fs::read(out_dir.join(name)).unwrap();
        assert_eq!(extracted, files[i].1);
        qpdf_check(&scratch, &extracted);
    }
    assert!(!scratch.path().join("etc").exists());
}

#[test]
fn file_names_come_from_people_and_courses() {
    assert_eq!(
        safe_file_name("Certificat — Ελένη Παπαδοπούλου / Communication", "pdf"),
        "Certificat _ Ελένη Παπαδοπούλου _ Communication.pdf"
    );
}
