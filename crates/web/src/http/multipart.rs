//! `multipart/form-data` bodies (RFC 7578), as a browser sends a form with a file: the body is
//! already whole in memory (the edge read it within the body limit), so its parts are slices.

/// One part: its field name, the file name when it is a file, and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part<'a> {
    pub name: String,
    pub filename: Option<String>,
    pub data: &'a [u8],
}

/// The boundary of a `multipart/form-data` content type.
pub fn boundary(content_type: &str) -> Option<String> {
    let mut params = content_type.split(';');
    let essence = params.next()?.trim();
    if !essence.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_owned())
            .filter(|b| !b.is_empty() && b.len() <= 200)
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A `Content-Disposition` parameter (`name`, `filename`), unquoted.
fn disposition_param(line: &str, param: &str) -> Option<String> {
    let lower = line.to_ascii_lowercase();
    let key = format!("{param}=");
    let mut from = 0;
    while let Some(at) = lower[from..].find(&key) {
        let start = from + at;
        // A whole parameter name (not `filename` when looking for `name`).
        let before = lower[..start].chars().last();
        if matches!(before, Some(';' | ' ' | '\t')) {
            let rest = &line[start + key.len()..];
            return Some(if let Some(quoted) = rest.strip_prefix('"') {
                let mut out = String::new();
                let mut chars = quoted.chars();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(n) = chars.next() {
                                out.push(n);
                            }
                        }
                        '"' => break,
                        c => out.push(c),
                    }
                }
                out
            } else {
                rest.split(';').next().unwrap_or("").trim().to_owned()
            });
        }
        from = start + key.len();
    }
    None
}

/// The parts of `body`, or `None` when it is not a well-formed multipart body.
pub fn parse<'a>(content_type: &str, body: &'a [u8]) -> Option<Vec<Part<'a>>> {
    let boundary = boundary(content_type)?;
    let delimiter = format!("--{boundary}");
    let mut rest = body;
    // Preamble, then the first delimiter.
    let first = find(rest, delimiter.as_bytes())?;
    rest = &rest[first + delimiter.len()..];
    let next_delimiter = format!("\r\n--{boundary}");
    let mut parts = Vec::new();
    loop {
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        rest = rest.strip_prefix(b"\r\n")?;
        let headers_end = find(rest, b"\r\n\r\n")?;
        let headers = std::str::from_utf8(&rest[..headers_end]).ok()?;
        let content = &rest[headers_end + 4..];
        let end = find(content, next_delimiter.as_bytes())?;
        let data = &content[..end];
        rest = &content[end + next_delimiter.len()..];
        let disposition = headers
            .split("\r\n")
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?;
        let name = disposition_param(disposition, "name")?;
        let filename = disposition_param(disposition, "filename");
        parts.push(Part { name, filename, data });
        if parts.len() > 100 {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browser_form_with_a_file() {
        let ct = "multipart/form-data; boundary=----WebKitFormBoundaryX";
        let body = b"------WebKitFormBoundaryX\r\nContent-Disposition: form-data; name=\"_csrf\"\r\n\r\ntok\r\n\
------WebKitFormBoundaryX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\".csv\"\r\n\
Content-Type: text/csv\r\n\r\nNom;Email\r\n\x00x\r\n------WebKitFormBoundaryX--\r\n";
        let parts = parse(ct, body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name, "_csrf");
        assert_eq!(parts[0].data, b"tok");
        assert_eq!(parts[0].filename, None);
        assert_eq!(parts[1].name, "file");
        assert_eq!(parts[1].filename.as_deref(), Some("a \"b\".csv"));
        assert_eq!(parts[1].data, b"Nom;Email\r\n\x00x");
        assert_eq!(parse("text/plain", body), None);
        assert_eq!(parse(ct, b"garbage"), None);
        assert_eq!(boundary("multipart/form-data; boundary=\"q\""), Some("q".into()));
    }
}
