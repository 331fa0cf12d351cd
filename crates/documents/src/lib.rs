//! Attendance sheets, certificates of completion and attendance exports, as files.
//!
//! What a French training organisation hands to funders (OPCO, CPF, France Travail) and to
//! Qualiopi auditors to prove the hours attended:
//!
//! - [`attendance_sheet`]: the PDF *feuille d'émargement* of a session, or of every session of
//!   a course over a period: per learner and half-day, the planned and attended minutes and the
//!   signature (drawn or typed) with its time; the trainers' signatures; the seal of the
//!   evidence chain and how to verify it.
//! - [`certificate`]: the PDF *certificat de réalisation* of a learner for a course, with the
//!   fields of the Ministry of Labour's model; [`certificates_zip`] puts a course's
//!   certificates in one ZIP archive.
//! - [`attendance_csv`]: the same attendance as a CSV file for spreadsheets.
//!
//! The crate renders from plain input structs ([`SheetInput`], [`CertificateInput`],
//! [`CsvInput`]) and touches no database. Labels come from the `i18n` catalogues
//! (`documents.txt`) in the requested [`Locale`]; names and titles print as given.
//!
//! # Printing
//!
//! A4 portrait, black on white: nothing is said by colour alone (an absence is written
//! "Absent·e", a missing signature "Non signé"), grey backgrounds only set headers apart. Long
//! tables continue on new pages that repeat the session's header and the table's header;
//! every page is numbered "page 2/5". Long names wrap, then shrink, and a name that would still
//! not fit its cell is cut with an ellipsis: text never overflows a cell.
//!
//! # Fonts and scripts
//!
//! DejaVu Sans and DejaVu Sans Bold (from Debian's fonts-dejavu-core 2.37; Bitstream Vera
//! licence, in `fonts/LICENSE-DejaVu.txt`) are embedded in the binary and subset into each PDF
//! (a sheet carries only the glyphs it uses, some tens of kilobytes). They cover Latin
//! (with Vietnamese and the African Latin alphabets), Greek, Cyrillic, Armenian, Georgian,
//! Hebrew and Arabic (shaped: letters join, right-to-left runs are ordered by the Unicode
//! bidirectional algorithm). Known gap: Chinese, Japanese, Korean and the Indic scripts are not
//! covered and print as empty boxes; covering them would add a 10–20 MB font.
//!
//! # Why krilla
//!
//! Compared for this crate (2 cores, clean debug build of the crate and its dependencies):
//!
//! - **krilla 0.8** (chosen): font subsetting of TrueType and CFF fonts (`subsetter`),
//!   images (we give it grey pixels), a correct text layer (copying text out of the PDF and
//!   `pdftotext` give the original characters, also for shaped Arabic), PDF/A support if ever
//!   needed, maintained by the Typst developers. It does not lay out text, which suits us: we
//!   shape with rustybuzz per bidi run and break lines on exactly what is drawn. Cost: about
//!   three minutes of CPU on a clean build (the font crates `read-fonts`, `write-fonts` and
//!   `skrifa` are most of it).
//! - **printpdf 0.12**: its text layout and shaping come with azul's CSS and layout crates
//!   (the default `html` feature) and its images with the `image` crate: a far larger
//!   dependency tree than we need, to lay out HTML we would not write.
//! - **pdf-writer** alone (krilla's base): lightest, but font embedding (CID fonts, widths,
//!   ToUnicode maps) and subsetting would be ours to write and get right.
//! - **genpdf 0.2**: last released in 2021, on an old printpdf; unmaintained.
#![forbid(unsafe_code)]

mod archive;
mod canvas;
mod certificate;
mod csv;
mod format;
mod model;
mod sheet;
mod signature;
mod table;
mod text;

pub use archive::{certificates_zip, safe_file_name, zip_files};
pub use i18n::Locale;
pub use model::{
    ActionNature, Attendance, Attendee, CertificateInput, CsvInput, CsvRow, HalfDay, Organisation, Part, Seal,
    SheetInput, SheetSession, Signatory, Signature, SignatureKind,
};
pub use signature::{
    MAX_SIGNATURE_BYTES, MAX_SIGNATURE_HEIGHT, MAX_SIGNATURE_WIDTH, SignatureProblem, check_signature,
};
pub use table::{TableError, read_table};
pub use text::{check_font_file, fallback_font_files, set_extra_fonts};

/// Why a document could not be made. Nothing is half-written: either the whole file or this.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("an attendance sheet needs at least one session")]
    NoSessions,
    #[error("unknown time zone {0:?}")]
    UnknownTimeZone(String),
    #[error("session {session}: expected a morning, an afternoon, or both in that order")]
    InvalidParts { session: String },
    #[error("session {session}: {person} has {found} attendance entries for {expected} half-days")]
    AttendanceMismatch {
        session: String,
        person: String,
        found: usize,
        expected: usize,
    },
    #[error("signature of {who}: {problem}")]
    Signature { who: String, problem: SignatureProblem },
    #[error("the PDF could not be written: {0}")]
    Pdf(String),
    #[error("the ZIP archive could not be written: {0}")]
    Zip(#[from] zip::result::ZipError),
}

/// The attendance sheet of one session (one entry in `sessions`) or of a course over a period
/// (several), as a PDF.
///
/// CPU-bound (a 40-page course sheet takes about 0.1 s with typed signatures, 0.5 s of CPU
/// with 1,200 drawn ones): call it off the async runtime (`spawn_blocking`). Drawn signatures
/// are decoded on up to four threads of its own.
pub fn attendance_sheet(input: &SheetInput) -> Result<Vec<u8>, DocumentError> {
    sheet::render(input)
}

/// A learner's certificate of completion for a course, as a PDF.
pub fn certificate(input: &CertificateInput) -> Result<Vec<u8>, DocumentError> {
    certificate::render(input)
}

/// The attendance rows as a CSV file (UTF-8 with a byte order mark, `;`, CRLF), with headers in
/// the input's language.
pub fn attendance_csv(input: &CsvInput) -> Vec<u8> {
    csv::render(input)
}

/// The characters of `text` that the embedded fonts cannot print (they would show as empty
/// boxes): useful to warn when a name is in a script the documents do not cover.
pub fn unprintable_characters(text: &str) -> Vec<char> {
    match text::fonts() {
        Ok(fonts) => fonts.missing_glyphs(text),
        Err(_) => text.chars().filter(|c| !c.is_whitespace()).collect(),
    }
}
