//! The documents as their readers see them: every PDF passes `qpdf --check` and is read back
//! with poppler (`pdftotext`, `pdfimages`, `pdfinfo`, `pdftoppm`); the CSV with Python's `csv`
//! module and the ZIP with Python's `zipfile`. Install the readers with `bash .ci/peers`
//! (Debian: `apt-get install -y qpdf poppler-utils python3`).

mod common;

#[path = "files/documents_csv.rs"]
mod documents_csv;
#[path = "files/documents_errors.rs"]
mod documents_errors;
#[path = "files/documents_pdf.rs"]
mod documents_pdf;
#[path = "files/documents_zip.rs"]
mod documents_zip;
