//! Spreadsheets read back: a CSV or XLSX file as rows of text cells, for imports.
//!
//! - CSV: UTF-8 (a byte-order mark is dropped) or, when the bytes are not valid UTF-8,
//!   Windows-1252 (what Excel writes on French and English Windows); the separator is `;`, `,`
//!   or a tab, whichever the header line holds most of outside quotes; quotes as RFC 4180
//!   (`""` inside a quoted cell); CRLF, LF or CR line ends.
//! - XLSX: the first worksheet of the workbook, shared and inline strings, numbers and booleans
//!   as written (no date conversion: a date cell reads as its serial number).
//!
//! Read with `zip` and `quick-xml`, already in the workspace: calamine, the usual reader, pins
//! zip's `deflate` feature (zopfli and zlib-rs) and quick-xml's `encoding` feature (which the
//! XMPP stream parser leaves out on purpose) onto the whole workspace, with no way to opt out.

use std::io::{Cursor, Read};

use quick_xml::events::Event;

/// Why a file could not be read as a table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is neither a CSV file nor an XLSX workbook")]
    Unreadable,
    #[error("the file has more than {max} rows")]
    TooManyRows { max: usize },
}

/// The first bytes of a ZIP archive (an XLSX workbook is one).
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// Largest uncompressed part of a workbook read (a bomb stops there).
const MAX_XML_BYTES: u64 = 32 * 1024 * 1024;

/// Most columns kept per row.
const MAX_COLUMNS: usize = 200;

/// Reads `bytes` (CSV or XLSX, told apart by content) as rows of cells (blank ones kept, so
/// that row numbers stay those of the file, except at the end); more than `max_rows` rows that
/// are not blank (the header included) are refused.
pub fn read_table(bytes: &[u8], max_rows: usize) -> Result<Vec<Vec<String>>, TableError> {
    // Blank rows do not count (they are skipped), but there may not be endless many of them.
    let hard_cap = max_rows.saturating_mul(10).saturating_add(1000);
    let mut rows = if bytes.starts_with(ZIP_MAGIC) {
        read_xlsx(bytes, hard_cap)?
    } else {
        read_csv(&decode(bytes), hard_cap)?
    };
    let blank = |r: &Vec<String>| r.iter().all(|c| c.trim().is_empty());
    while rows.last().is_some_and(blank) {
        rows.pop();
    }
    if rows.is_empty() {
        return Err(TableError::Empty);
    }
    if rows.iter().filter(|r| !blank(r)).count() > max_rows {
        return Err(TableError::TooManyRows { max: max_rows });
    }
    Ok(rows)
}

/// UTF-8 without its byte-order mark, or else Windows-1252.
pub fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| cp1252(b)).collect(),
    }
}

/// One Windows-1252 byte as a character (the five unassigned bytes as their C1 control).
fn cp1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž', '\u{8F}', '\u{90}', '‘',
        '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}', 'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

/// The separator the header line uses most outside quotes: `;`, `,` or a tab (`;` on a tie,
/// and when there is none: a one-column file).
fn separator(text: &str) -> char {
    let mut counts = [0usize; 3];
    let mut quoted = false;
    for ch in text.chars() {
        match ch {
            '"' => quoted = !quoted,
            '\n' | '\r' if !quoted => break,
            ';' if !quoted => counts[0] += 1,
            ',' if !quoted => counts[1] += 1,
            '\t' if !quoted => counts[2] += 1,
            _ => {}
        }
    }
    let best = counts.iter().copied().max().unwrap_or(0);
    if counts[1] == best && counts[0] < best {
        if counts[2] > counts[1] { '\t' } else { ',' }
    } else if counts[2] == best && counts[0] < best {
        '\t'
    } else {
        ';'
    }
}

fn read_csv(text: &str, max_rows: usize) -> Result<Vec<Vec<String>>, TableError> {
    if text.trim().is_empty() {
        return Err(TableError::Empty);
    }
    let sep = separator(text);
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let push_row = |row: &mut Vec<String>, rows: &mut Vec<Vec<String>>| -> Result<(), TableError> {
        if rows.len() >= max_rows {
            return Err(TableError::TooManyRows { max: max_rows });
        }
        row.truncate(MAX_COLUMNS);
        rows.push(std::mem::take(row));
        Ok(())
    };
    while let Some(ch) = chars.next() {
        if quoted {
            if ch == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    cell.push('"');
                } else {
                    quoted = false;
                }
            } else {
                cell.push(ch);
            }
            continue;
        }
        match ch {
            '"' if cell.trim().is_empty() => {
                cell.clear();
                quoted = true;
            }
            '\r' | '\n' => {
                if ch == '\r' && chars.peek() == Some(&'\n') {
                    chars.next();
                }
                row.push(std::mem::take(&mut cell));
                push_row(&mut row, &mut rows)?;
            }
            c if c == sep => row.push(std::mem::take(&mut cell)),
            c => cell.push(c),
        }
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        push_row(&mut row, &mut rows)?;
    }
    Ok(rows)
}

/// A part of the workbook as text (bounded).
fn part(zip: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str) -> Result<Option<String>, TableError> {
    let file = match zip.by_name(name) {
        Ok(f) => f,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(_) => return Err(TableError::Unreadable),
    };
    let mut text = String::new();
    file.take(MAX_XML_BYTES)
        .read_to_string(&mut text)
        .map_err(|_| TableError::Unreadable)?;
    Ok(Some(text))
}

/// The value of attribute `name` of an element (unescaped), if present.
fn attr(e: &quick_xml::events::BytesStart<'_>, name: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().into_inner() == name)
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::default())
                .ok()
                .map(|v| v.into_owned())
        })
}

/// Where the first worksheet is: `xl/workbook.xml`'s first `<sheet>`, through its relationship.
fn first_sheet_path(zip: &mut zip::ZipArchive<Cursor<&[u8]>>) -> Result<String, TableError> {
    let fallback = "xl/worksheets/sheet1.xml".to_owned();
    let Some(workbook) = part(zip, "xl/workbook.xml")? else {
        return Ok(fallback);
    };
    let mut reader = quick_xml::Reader::from_str(&workbook);
    let mut rel_id = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e)) if e.local_name().into_inner() == "sheet" => {
                rel_id = attr(&e, "id");
                break;
            }
            Ok(Event::Eof) => break,
            Err(_) => return Err(TableError::Unreadable),
            _ => {}
        }
    }
    let (Some(rel_id), Some(rels)) = (rel_id, part(zip, "xl/_rels/workbook.xml.rels")?) else {
        return Ok(fallback);
    };
    let mut reader = quick_xml::Reader::from_str(&rels);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e) | Event::Empty(e))
                if e.local_name().into_inner() == "Relationship" && attr(&e, "Id").as_deref() == Some(&rel_id) =>
            {
                let target = attr(&e, "Target").unwrap_or_default();
                return Ok(match target.strip_prefix('/') {
                    Some(absolute) => absolute.to_owned(),
                    None => format!("xl/{target}"),
                });
            }
            Ok(Event::Eof) => return Ok(fallback),
            Err(_) => return Err(TableError::Unreadable),
            _ => {}
        }
    }
}

/// An entity or character reference as text (an unknown one is dropped).
fn push_ref(out: &mut String, r: &quick_xml::events::BytesRef<'_>) {
    if r.is_char_ref() {
        if let Ok(Some(c)) = r.resolve_char_ref() {
            out.push(c);
        }
    } else if let Some(s) = quick_xml::escape::resolve_predefined_entity(&r.xml10_content()) {
        out.push_str(s);
    }
}

/// The text of the `<t>` elements inside the current element, until its end tag `end`.
fn texts_until(reader: &mut quick_xml::Reader<&[u8]>, end: &str) -> Result<String, TableError> {
    let mut out = String::new();
    let mut in_t = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) if e.local_name().into_inner() == "t" => in_t = true,
            Ok(Event::End(e)) if e.local_name().into_inner() == "t" => in_t = false,
            // Phonetic runs (`<rPh>`) are not part of the value.
            Ok(Event::Start(e)) if e.local_name().into_inner() == "rPh" => {
                reader.read_to_end(e.name()).map_err(|_| TableError::Unreadable)?;
            }
            Ok(Event::Text(t)) if in_t => out.push_str(&t.xml10_content()),
            Ok(Event::GeneralRef(r)) if in_t => push_ref(&mut out, &r),
            Ok(Event::End(e)) if e.local_name().into_inner() == end => return Ok(out),
            Ok(Event::Eof) => return Ok(out),
            Err(_) => return Err(TableError::Unreadable),
            _ => {}
        }
    }
}

fn shared_strings(zip: &mut zip::ZipArchive<Cursor<&[u8]>>) -> Result<Vec<String>, TableError> {
    let Some(xml) = part(zip, "xl/sharedStrings.xml")? else {
        return Ok(Vec::new());
    };
    let mut reader = quick_xml::Reader::from_reader(xml.as_bytes());
    let mut out = Vec::new();
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) if e.local_name().into_inner() == "si" => out.push(texts_until(&mut reader, "si")?),
            Ok(Event::Empty(e)) if e.local_name().into_inner() == "si" => out.push(String::new()),
            Ok(Event::Eof) => return Ok(out),
            Err(_) => return Err(TableError::Unreadable),
            _ => {}
        }
    }
}

/// The zero-based column of a cell reference such as `AB12`.
fn column_of(reference: &str) -> Option<usize> {
    let letters: String = reference.chars().take_while(char::is_ascii_alphabetic).collect();
    if letters.is_empty() || letters.len() > 3 {
        return None;
    }
    let n = letters.chars().fold(0usize, |n, c| {
        n * 26 + usize::from(c.to_ascii_uppercase() as u8 - b'A') + 1
    });
    Some(n - 1)
}

fn read_xlsx(bytes: &[u8], max_rows: usize) -> Result<Vec<Vec<String>>, TableError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| TableError::Unreadable)?;
    let strings = shared_strings(&mut zip)?;
    let path = first_sheet_path(&mut zip)?;
    let sheet = part(&mut zip, &path)?.ok_or(TableError::Unreadable)?;
    let mut reader = quick_xml::Reader::from_reader(sheet.as_bytes());
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut row: Option<Vec<String>> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) if e.local_name().into_inner() == "row" => {
                // Rows may skip numbers: the gap is empty rows.
                if let Some(n) = attr(&e, "r").and_then(|r| r.parse::<usize>().ok()) {
                    if n > max_rows {
                        return Err(TableError::TooManyRows { max: max_rows });
                    }
                    while rows.len() + 1 < n {
                        rows.push(Vec::new());
                    }
                }
                if rows.len() >= max_rows {
                    return Err(TableError::TooManyRows { max: max_rows });
                }
                row = Some(Vec::new());
            }
            Ok(Event::Empty(e)) if e.local_name().into_inner() == "row" => {
                if rows.len() >= max_rows {
                    return Err(TableError::TooManyRows { max: max_rows });
                }
                rows.push(Vec::new());
            }
            Ok(Event::End(e)) if e.local_name().into_inner() == "row" => {
                if let Some(r) = row.take() {
                    rows.push(r);
                }
            }
            Ok(Event::Start(e)) if e.local_name().into_inner() == "c" => {
                let kind = attr(&e, "t").unwrap_or_default();
                let column = attr(&e, "r").and_then(|r| column_of(&r));
                let raw = texts_or_value(&mut reader)?;
                let value = match kind.as_str() {
                    "s" => raw
                        .trim()
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| strings.get(i).cloned())
                        .unwrap_or_default(),
                    "b" => (if raw.trim() == "1" { "TRUE" } else { "FALSE" }).to_owned(),
                    _ => raw,
                };
                if let Some(r) = row.as_mut() {
                    let at = column.unwrap_or(r.len());
                    if at < MAX_COLUMNS {
                        while r.len() < at {
                            r.push(String::new());
                        }
                        if r.len() == at {
                            r.push(value);
                        } else {
                            r[at] = value;
                        }
                    }
                }
            }
            Ok(Event::Eof) => return Ok(rows),
            Err(_) => return Err(TableError::Unreadable),
            _ => {}
        }
    }
}

/// A cell's content: its `<v>` value, or the text of its inline string (`<is><t>`).
fn texts_or_value(reader: &mut quick_xml::Reader<&[u8]>) -> Result<String, TableError> {
    let mut out = String::new();
    let mut in_text = false;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) if matches!(e.local_name().into_inner(), "v" | "t") => in_text = true,
            Ok(Event::End(e)) if matches!(e.local_name().into_inner(), "v" | "t") => in_text = false,
            Ok(Event::Start(e)) if e.local_name().into_inner() == "rPh" => {
                reader.read_to_end(e.name()).map_err(|_| TableError::Unreadable)?;
            }
            Ok(Event::Text(t)) if in_text => out.push_str(&t.xml10_content()),
            Ok(Event::GeneralRef(r)) if in_text => push_ref(&mut out, &r),
            Ok(Event::End(e)) if e.local_name().into_inner() == "c" => return Ok(out),
            Ok(Event::Eof) => return Ok(out),
            Err(_) => return Err(TableError::Unreadable),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_separators_quotes_and_line_ends() {
        let rows = read_table(b"Nom;Pr\xc3\xa9nom;Email\r\n\"Martin; Jr\";Claire;c@x.org\r\n\r\n", 10).unwrap();
        assert_eq!(
            rows,
            vec![vec!["Nom", "Prénom", "Email"], vec!["Martin; Jr", "Claire", "c@x.org"]]
        );
        let rows = read_table(b"name,email\n\"say \"\"hi\"\"\",a@b.org\nx,y", 10).unwrap();
        assert_eq!(rows[1], vec!["say \"hi\"", "a@b.org"]);
        assert_eq!(rows[2], vec!["x", "y"]);
        let rows = read_table(b"a\tb\rc\td", 10).unwrap();
        assert_eq!(rows, vec![vec!["a", "b"], vec!["c", "d"]]);
        // A quoted multi-line cell stays one cell.
        let rows = read_table(b"a;b\n\"1\n2\";3\n", 10).unwrap();
        assert_eq!(rows[1], vec!["1\n2", "3"]);
    }

    #[test]
    fn encodings() {
        // A byte-order mark is dropped; invalid UTF-8 is read as Windows-1252.
        assert_eq!(read_table(b"\xEF\xBB\xBFNom", 2).unwrap(), vec![vec!["Nom"]]);
        assert_eq!(
            read_table(b"Pr\xe9nom;Soci\xe9t\xe9\n\x80 \x9c", 2).unwrap(),
            vec![vec!["Prénom", "Société"], vec!["€ œ"]]
        );
    }

    #[test]
    fn limits_and_garbage() {
        assert_eq!(read_table(b"a\nb\nc\n", 2), Err(TableError::TooManyRows { max: 2 }));
        assert_eq!(read_table(b"a\nb\n\n;\n", 2).unwrap().len(), 2);
        assert_eq!(read_table(b"a\n\nb\n", 2).unwrap().len(), 3);
        assert_eq!(read_table(b"  \n", 2), Err(TableError::Empty));
        assert_eq!(read_table(b"PK\x03\x04garbage", 2), Err(TableError::Unreadable));
        assert_eq!(column_of("A1"), Some(0));
        assert_eq!(column_of("AB12"), Some(27));
        assert_eq!(column_of("12"), None);
    }

    #[test]
    fn a_small_workbook() {
        use std::io::Write;
        let mut buf = Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            let o = zip::write::SimpleFileOptions::default();
            z.start_file("xl/workbook.xml", o).unwrap();
            z.write_all(br#"<workbook xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="L" sheetId="1" r:id="rId7"/></sheets></workbook>"#).unwrap();
            z.start_file("xl/_rels/workbook.xml.rels", o).unwrap();
            z.write_all(br#"<Relationships><Relationship Id="rId7" Target="worksheets/other.xml"/></Relationships>"#)
                .unwrap();
            z.start_file("xl/sharedStrings.xml", o).unwrap();
            z.write_all(br#"<sst><si><t>Nom</t></si><si><r><t>Ma</t></r><r><t>rtin &amp; co</t></r></si></sst>"#)
                .unwrap();
            z.start_file("xl/worksheets/other.xml", o).unwrap();
            z.write_all(br#"<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="C1" t="inlineStr"><is><t>x&#233;</t></is></c></row><row r="3"><c r="B3" t="s"><v>1</v></c><c r="C3"><v>42</v></c></row></sheetData></worksheet>"#).unwrap();
            z.finish().unwrap();
        }
        let rows = read_table(buf.get_ref(), 10).unwrap();
        assert_eq!(rows, vec![vec!["Nom", "", "xé"], vec![], vec!["", "Martin & co", "42"]]);
    }
}
