//! ZIP archives of documents (all the certificates of a course), with file names that are safe
//! on every system the archive may be opened on.

use std::collections::HashSet;
use std::io::{Cursor, Write};

use jiff::civil::DateTime;
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::DocumentError;

/// Longest file name kept, in characters (extension included).
const MAX_NAME_CHARS: usize = 100;

/// Windows refuses these as file names, whatever the extension.
const RESERVED: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "LPT1", "LPT2",
    "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// A file name made from free text (a learner's name, a course title) that is safe on Windows,
/// macOS and Linux: letters of any script, digits and a few punctuation marks are kept; path
/// separators, control characters and characters Windows forbids become `_`; spaces are
/// collapsed; it never starts with a dot, never is a reserved device name, never is empty and
/// is at most 100 characters long. `extension` (like `pdf`) is added unless already there.
pub fn safe_file_name(text: &str, extension: &str) -> String {
    let suffix = format!(".{extension}");
    let stem = match text.len().checked_sub(suffix.len()) {
        Some(cut) if text.is_char_boundary(cut) && text[cut..].eq_ignore_ascii_case(&suffix) => &text[..cut],
        _ => text,
    };
    let mut cleaned = String::with_capacity(stem.len());
    for c in stem.chars() {
        let keep = c.is_alphanumeric() || matches!(c, ' ' | '-' | '_' | '.' | ',' | '(' | ')' | '\'' | '’' | '+' | '&');
        let c = if keep {
            c
        } else if c.is_whitespace() {
            ' '
        } else {
            '_'
        };
        // One space or underscore at a time.
        if (c == ' ' || c == '_') && cleaned.ends_with(c) {
            continue;
        }
        cleaned.push(c);
    }
    let mut stem: String = cleaned
        .trim_matches(|c: char| c == ' ' || c == '.' || c == '_')
        .chars()
        .take(MAX_NAME_CHARS.saturating_sub(suffix.chars().count()))
        .collect();
    stem = stem.trim_end_matches([' ', '.']).to_owned();
    if stem.is_empty() {
        stem = "document".to_owned();
    }
    let device = stem.split('.').next().unwrap_or("").trim();
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(device)) {
        stem.insert(0, '_');
    }
    stem + &suffix
}

/// A ZIP archive of the files, each under a safe name (see [`safe_file_name`]; `pdf` is the
/// extension when a name has none that is safe), made unique by `(2)`, `(3)`… when two
/// people share a name. `modified` is the local time the entries are dated with.
pub fn certificates_zip(files: &[(String, Vec<u8>)], modified: DateTime) -> Result<Vec<u8>, DocumentError> {
    let files: Vec<(String, &str, &[u8])> = files
        .iter()
        .map(|(name, bytes)| (name.clone(), "pdf", bytes.as_slice()))
        .collect();
    write_zip(&files, modified)
}

/// A ZIP archive of files of several kinds: each `(name, extension, bytes)` under a safe name
/// with that extension (see [`safe_file_name`]), made unique as in [`certificates_zip`].
pub fn zip_files(files: &[(String, &str, Vec<u8>)], modified: DateTime) -> Result<Vec<u8>, DocumentError> {
    let files: Vec<(String, &str, &[u8])> = files
        .iter()
        .map(|(name, extension, bytes)| (name.clone(), *extension, bytes.as_slice()))
        .collect();
    write_zip(&files, modified)
}

fn write_zip(files: &[(String, &str, &[u8])], modified: DateTime) -> Result<Vec<u8>, DocumentError> {
    let time = zip::DateTime::from_date_and_time(
        u16::try_from(modified.year()).unwrap_or(1980),
        modified.month().unsigned_abs(),
        modified.day().unsigned_abs(),
        modified.hour().unsigned_abs(),
        modified.minute().unsigned_abs(),
        modified.second().unsigned_abs(),
    )
    .unwrap_or_default();
    // The PDFs are already compressed inside; deflating their few plain parts still helps.
    let options = SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .last_modified_time(time)
        .unix_permissions(0o644);
    let mut archive = ZipWriter::new(Cursor::new(Vec::new()));
    let mut used = HashSet::new();
    for (name, extension, bytes) in files {
        let name = unique(safe_file_name(name, extension), &mut used);
        archive.start_file(name, options)?;
        archive.write_all(bytes).map_err(zip::result::ZipError::Io)?;
    }
    Ok(archive.finish()?.into_inner())
}

/// `name`, or `name (2).pdf`, `name (3).pdf`… if already taken (compared without case, as on
/// Windows and macOS).
fn unique(name: String, used: &mut HashSet<String>) -> String {
    let (stem, extension) = match name.rfind('.') {
        Some(dot) if dot > 0 => (&name[..dot], &name[dot..]),
        _ => (name.as_str(), ""),
    };
    let mut candidate = name.clone();
    let mut n = 1;
    while !used.insert(candidate.to_lowercase()) {
        n += 1;
        candidate = format!("{stem} ({n}){extension}");
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_everywhere() {
        assert_eq!(safe_file_name("Zoé Martin", "pdf"), "Zoé Martin.pdf");
        assert_eq!(safe_file_name("Zoé Martin.PDF", "pdf"), "Zoé Martin.pdf");
        assert_eq!(safe_file_name("../../etc/passwd", "pdf"), "etc_passwd.pdf");
        assert_eq!(safe_file_name("a\\b:c*d?e\"f<g>h|i", "pdf"), "a_b_c_d_e_f_g_h_i.pdf");
        assert_eq!(safe_file_name("  Анна \t Кузнецова  ", "pdf"), "Анна Кузнецова.pdf");
        assert_eq!(safe_file_name("...", "pdf"), "document.pdf");
        assert_eq!(safe_file_name("", "pdf"), "document.pdf");
        assert_eq!(safe_file_name("con", "pdf"), "_con.pdf");
        assert_eq!(safe_file_name("LPT1.backup", "pdf"), "_LPT1.backup.pdf");
        assert_eq!(safe_file_name("nul\u{0}\u{7}", "pdf"), "_nul.pdf");
        let long = safe_file_name(&"é".repeat(500), "pdf");
        assert_eq!(long.chars().count(), MAX_NAME_CHARS);
        assert!(long.ends_with(".pdf"));
    }

    #[test]
    fn duplicates_get_a_number() {
        let mut used = HashSet::new();
        assert_eq!(unique("Zoé.pdf".into(), &mut used), "Zoé.pdf");
        assert_eq!(unique("zoé.pdf".into(), &mut used), "zoé (2).pdf");
        assert_eq!(unique("Zoé.pdf".into(), &mut used), "Zoé (3).pdf");
    }
}
