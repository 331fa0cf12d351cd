//! Low-level content-line writer: folding, escaping and value formatting.
//!
//! Everything is written into one `String`. A content line is started with
//! [`Out::begin`], filled with the typed helpers and closed with
//! [`Out::end`]; folding happens on the fly, so no line is ever built on its
//! own.

use jiff::SignedDuration;
use jiff::civil::DateTime;
use jiff::tz::Offset;

/// Longest content line allowed by RFC 5545 section 3.1, in octets, without
/// the CRLF.
pub(crate) const MAX_LINE: usize = 75;

/// The folding sequence: CRLF followed by one space.
const FOLD: &str = "\r\n ";

/// An output buffer that folds content lines as it goes.
#[derive(Debug)]
pub(crate) struct Out {
    buf: String,
    /// Octets written on the current physical line (after the last CRLF).
    line_len: usize,
}

impl Out {
    /// Creates an empty buffer with room for `capacity` bytes.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            buf: String::with_capacity(capacity),
            line_len: 0,
        }
    }

    /// Returns the rendered text.
    pub(crate) fn finish(self) -> String {
        self.buf
    }

    /// Starts a content line with a property name (ASCII, short).
    pub(crate) fn begin(&mut self, name: &str) {
        self.raw(name);
    }

    /// Ends the current content line.
    pub(crate) fn end(&mut self) {
        self.buf.push_str("\r\n");
        self.line_len = 0;
    }

    /// Writes a whole line whose value needs no escaping (`BEGIN:VEVENT`).
    pub(crate) fn line(&mut self, name: &str, value: &str) {
        self.begin(name);
        self.raw(":");
        self.raw(value);
        self.end();
    }

    /// Writes a whole line with a TEXT value.
    pub(crate) fn text_line(&mut self, name: &str, value: &str) {
        self.begin(name);
        self.raw(":");
        self.text(value);
        self.end();
    }

    /// Appends `s` verbatim, folding before the line would exceed
    /// [`MAX_LINE`] octets; never splits a UTF-8 character.
    pub(crate) fn raw(&mut self, mut s: &str) {
        loop {
            let room = MAX_LINE - self.line_len;
            if s.len() <= room {
                self.buf.push_str(s);
                self.line_len += s.len();
                return;
            }
            let mut cut = room;
            while !s.is_char_boundary(cut) {
                cut -= 1;
            }
            let (head, tail) = s.split_at(cut);
            self.buf.push_str(head);
            self.buf.push_str(FOLD);
            self.line_len = 1;
            s = tail;
        }
    }

    /// Appends a short piece that must stay on one physical line (an escape
    /// sequence such as `\n`), folding before it when it does not fit.
    fn atom(&mut self, s: &str) {
        if self.line_len + s.len() > MAX_LINE {
            self.buf.push_str(FOLD);
            self.line_len = 1;
        }
        self.buf.push_str(s);
        self.line_len += s.len();
    }

    /// Appends one ASCII byte.
    fn ascii(&mut self, b: u8) {
        if self.line_len >= MAX_LINE {
            self.buf.push_str(FOLD);
            self.line_len = 1;
        }
        self.buf.push(char::from(b));
        self.line_len += 1;
    }

    /// Appends a TEXT value (RFC 5545 section 3.3.11): backslash, semicolon
    /// and comma are escaped, line breaks become `\n`, CR and other control
    /// characters are dropped (TAB is kept).
    ///
    /// U+0085 (NEL), U+2028 and U+2029 are line breaks too for some parsers
    /// (Python's `str.splitlines`), so they are written as `\n` as well.
    pub(crate) fn text(&mut self, s: &str) {
        let bytes = s.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            // (bytes to skip, replacement)
            let special: Option<(usize, &str)> = match b {
                b'\\' => Some((1, "\\\\")),
                b';' => Some((1, "\\;")),
                b',' => Some((1, "\\,")),
                b'\n' => Some((1, "\\n")),
                b'\t' => None,
                0x00..=0x1f | 0x7f => Some((1, "")),
                0xc2 | 0xe2 => unicode_break(bytes, i).map(|(n, is_break)| {
                    let rep: &str = if is_break { "\\n" } else { "" };
                    (n, rep)
                }),
                _ => None,
            };
            match special {
                Some((n, rep)) => {
                    self.raw(&s[start..i]);
                    if !rep.is_empty() {
                        self.atom(rep);
                    }
                    i += n;
                    start = i;
                }
                None => i += 1,
            }
        }
        self.raw(&s[start..]);
    }

    /// Appends `;NAME=value` for a parameter whose value comes from user
    /// text.
    ///
    /// The value is encoded with RFC 6868 (`^` as `^^`, `"` as `^'`, line
    /// breaks as `^n`), other control characters are dropped, and the value
    /// is put in double quotes when it contains `:`, `;` or `,`.
    pub(crate) fn param(&mut self, name: &str, value: &str) {
        self.raw(";");
        self.raw(name);
        self.raw("=");
        let quote = value.bytes().any(|b| matches!(b, b':' | b';' | b','));
        if quote {
            self.ascii(b'"');
        }
        let bytes = value.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            let special: Option<(usize, &str)> = match b {
                b'^' => Some((1, "^^")),
                b'"' => Some((1, "^'")),
                b'\n' => Some((1, "^n")),
                b'\t' => None,
                0x00..=0x1f | 0x7f => Some((1, "")),
                0xc2 | 0xe2 => unicode_break(bytes, i).map(|(n, is_break)| {
                    let rep: &str = if is_break { "^n" } else { "" };
                    (n, rep)
                }),
                _ => None,
            };
            match special {
                Some((n, rep)) => {
                    self.raw(&value[start..i]);
                    if !rep.is_empty() {
                        self.atom(rep);
                    }
                    i += n;
                    start = i;
                }
                None => i += 1,
            }
        }
        self.raw(&value[start..]);
        if quote {
            self.ascii(b'"');
        }
    }

    /// Appends a `mailto:` URI for an e-mail address (RFC 6068): characters
    /// that are not allowed literally in the address part, including every
    /// `@` but the last, are percent-encoded (UTF-8).
    pub(crate) fn mailto(&mut self, email: &str) {
        self.raw("mailto:");
        let last_at = email.rfind('@');
        for (i, b) in email.bytes().enumerate() {
            let literal = b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'.' | b'_' | b'~' | b'!' | b'$' | b'\'' | b'(' | b')' | b'*' | b'+' | b'=' | b'&'
                )
                || (b == b'@' && Some(i) == last_at);
            if literal {
                self.ascii(b);
            } else {
                self.percent(b);
            }
        }
    }

    /// Appends a URI value: characters allowed in URIs (RFC 3986 unreserved
    /// and reserved characters, and `%` followed by two hex digits) are kept,
    /// everything else is percent-encoded (UTF-8), so the value can neither
    /// break the line nor be misread.
    pub(crate) fn uri(&mut self, uri: &str) {
        let bytes = uri.as_bytes();
        for (i, &b) in bytes.iter().enumerate() {
            let literal = b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'.'
                        | b'_'
                        | b'~'
                        | b':'
                        | b'/'
                        | b'?'
                        | b'#'
                        | b'['
                        | b']'
                        | b'@'
                        | b'!'
                        | b'$'
                        | b'&'
                        | b'\''
                        | b'('
                        | b')'
                        | b'*'
                        | b'+'
                        | b','
                        | b';'
                        | b'='
                )
                || (b == b'%'
                    && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                    && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit));
            if literal {
                self.ascii(b);
            } else {
                self.percent(b);
            }
        }
    }

    /// Appends `%XX` for one byte, kept on one physical line.
    fn percent(&mut self, b: u8) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let enc = [b'%', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0x0f)]];
        if self.line_len + enc.len() > MAX_LINE {
            self.buf.push_str(FOLD);
            self.line_len = 1;
        }
        for c in enc {
            self.buf.push(char::from(c));
        }
        self.line_len += enc.len();
    }

    /// Appends a decimal number.
    pub(crate) fn number(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        let mut len = 0;
        let mut n = n;
        loop {
            // `n % 10` is below 10, so the cast cannot truncate.
            digits[len] = b'0' + (n % 10) as u8;
            len += 1;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        for &d in digits[..len].iter().rev() {
            self.ascii(d);
        }
    }

    /// Appends `width` digits of `n` (zero-padded; higher digits dropped).
    fn digits(&mut self, n: u32, width: u32) {
        for k in (0..width).rev() {
            // A single decimal digit always fits in a byte.
            let d = (n / 10u32.pow(k) % 10) as u8;
            self.ascii(b'0' + d);
        }
    }

    /// Appends a DATE-TIME `YYYYMMDDTHHMMSS`, with a trailing `Z` when
    /// `utc` is true. Fractional seconds are truncated; years outside
    /// 0..=9999 (which RFC 5545 cannot express) are clamped.
    pub(crate) fn datetime(&mut self, dt: DateTime, utc: bool) {
        let year = u32::try_from(dt.year().clamp(0, 9999)).unwrap_or(0);
        self.digits(year, 4);
        self.digits(u32::try_from(dt.month()).unwrap_or(0), 2);
        self.digits(u32::try_from(dt.day()).unwrap_or(0), 2);
        self.ascii(b'T');
        self.digits(u32::try_from(dt.hour()).unwrap_or(0), 2);
        self.digits(u32::try_from(dt.minute()).unwrap_or(0), 2);
        self.digits(u32::try_from(dt.second()).unwrap_or(0), 2);
        if utc {
            self.ascii(b'Z');
        }
    }

    /// Appends a UTC-OFFSET (`+HHMM`, or `+HHMMSS` when seconds are not
    /// zero). A zero offset is `+0000` (RFC 5545 forbids `-0000`).
    pub(crate) fn utc_offset(&mut self, offset: Offset) {
        let secs = offset.seconds();
        self.ascii(if secs < 0 { b'-' } else { b'+' });
        let abs = secs.unsigned_abs();
        self.digits(abs / 3600, 2);
        self.digits(abs / 60 % 60, 2);
        if !abs.is_multiple_of(60) {
            self.digits(abs % 60, 2);
        }
    }

    /// Appends a DURATION for an alarm that fires `before` ahead of the
    /// event start: a positive value gives `-PT…`, a negative one `PT…`.
    ///
    /// Only hours, minutes and seconds are used, because RFC 5545 days and
    /// weeks are nominal (a day across a DST change is not 24 hours) while
    /// `before` is an exact duration. Fractional seconds are truncated.
    pub(crate) fn trigger(&mut self, before: SignedDuration) {
        let secs = before.as_secs();
        if secs > 0 {
            self.ascii(b'-');
        }
        self.dur_time(secs.unsigned_abs());
    }

    /// Writes an exact duration in hours, minutes and seconds (`PT1H30M`; `-PT…` when
    /// negative; fractions of a second are dropped).
    pub(crate) fn duration(&mut self, d: SignedDuration) {
        let secs = d.as_secs();
        if secs < 0 {
            self.ascii(b'-');
        }
        self.dur_time(secs.unsigned_abs());
    }

    /// `PT` then `abs` seconds as hours, minutes and seconds.
    fn dur_time(&mut self, abs: u64) {
        self.raw("PT");
        if abs == 0 {
            self.raw("0S");
            return;
        }
        let (h, m, s) = (abs / 3600, abs / 60 % 60, abs % 60);
        if h > 0 {
            self.number(h);
            self.ascii(b'H');
        }
        // The grammar needs minutes between hours and seconds.
        if m > 0 || (h > 0 && s > 0) {
            self.number(m);
            self.ascii(b'M');
        }
        if s > 0 {
            self.number(s);
            self.ascii(b'S');
        }
    }
}

/// Looks at a 0xC2 or 0xE2 lead byte at `i`: returns the length of the
/// character and whether it is a line break (NEL, U+2028, U+2029), or
/// `None` when it is an ordinary character. Other C1 controls
/// (U+0080..U+009F) are reported as non-breaks to be dropped.
fn unicode_break(bytes: &[u8], i: usize) -> Option<(usize, bool)> {
    match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
        (0xc2, Some(0x85), _) => Some((2, true)),
        (0xc2, Some(0x80..=0x9f), _) => Some((2, false)),
        (0xe2, Some(0x80), Some(0xa8 | 0xa9)) => Some((3, true)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(f: impl FnOnce(&mut Out)) -> String {
        let mut out = Out::with_capacity(64);
        f(&mut out);
        out.finish()
    }

    fn text(s: &str) -> String {
        with(|o| o.text(s))
    }

    fn param(s: &str) -> String {
        with(|o| o.param("CN", s))
    }

    /// Undoes folding (RFC 5545 section 3.1).
    fn unfold(s: &str) -> String {
        s.replace("\r\n ", "")
    }

    fn assert_folded(s: &str) {
        for line in s.split("\r\n") {
            assert!(line.len() <= MAX_LINE, "{} octets: {line:?}", line.len());
        }
        assert!(!s.replace("\r\n", "").contains(['\r', '\n']), "{s:?}");
    }

    #[test]
    fn short_values_are_not_folded() {
        let s = with(|o| o.line("SUMMARY", "hello"));
        assert_eq!(s, "SUMMARY:hello\r\n");
    }

    #[test]
    fn exactly_75_octets_is_one_line() {
        let value = "x".repeat(75 - "SUMMARY:".len());
        let s = with(|o| o.text_line("SUMMARY", &value));
        assert_eq!(s.len(), 75 + 2);
        assert!(!s.trim_end_matches("\r\n").contains("\r\n"));
    }

    #[test]
    fn long_ascii_is_folded_at_75_octets() {
        let value = "abcdefghij".repeat(30);
        let s = with(|o| o.text_line("DESCRIPTION", &value));
        assert_folded(&s);
        let lines: Vec<&str> = s.split("\r\n").collect();
        assert_eq!(lines[0].len(), 75);
        assert!(lines[1].starts_with(' ') && !lines[1].starts_with("  "));
        assert_eq!(lines[1].len(), 75);
        assert_eq!(unfold(&s), format!("DESCRIPTION:{value}\r\n"));
    }

    #[test]
    fn folding_never_splits_multibyte_characters() {
        // 2-, 3- and 4-byte characters, at every possible offset.
        for prefix in 0..8 {
            for sample in ["é", "日本語", "😀", "a😀é日"] {
                let value = format!("{}{}", "x".repeat(prefix), sample.repeat(60));
                let s = with(|o| o.text_line("SUMMARY", &value));
                assert_folded(&s);
                // Every physical line is valid UTF-8 on its own.
                for line in s.as_bytes().split(|&b| b == b'\n') {
                    assert!(std::str::from_utf8(line).is_ok());
                }
                assert_eq!(unfold(&s), format!("SUMMARY:{value}\r\n"));
            }
        }
    }

    #[test]
    fn escape_sequences_are_never_split_by_a_fold() {
        for prefix in 0..4 {
            let value = format!("{}{}", "x".repeat(prefix), ";,\\\n".repeat(40));
            let s = with(|o| o.text_line("SUMMARY", &value));
            assert_folded(&s);
            for line in s.split("\r\n") {
                let trailing = line.len() - line.trim_end_matches('\\').len();
                assert_eq!(trailing % 2, 0, "line ends inside an escape: {line:?}");
            }
        }
    }

    #[test]
    fn text_escapes_specials() {
        assert_eq!(text(r"a\b;c,d"), r"a\\b\;c\,d");
        assert_eq!(text("one\ntwo"), r"one\ntwo");
        assert_eq!(text("one\r\ntwo"), r"one\ntwo");
        assert_eq!(text("one\rtwo"), "onetwo");
        assert_eq!(text("tab\there"), "tab\there");
        assert_eq!(text("nul\0bel\x07del\x7f"), "nulbeldel");
        assert_eq!(text("a:b\"c"), "a:b\"c");
    }

    #[test]
    fn text_treats_unicode_line_breaks_as_newlines() {
        assert_eq!(text("a\u{2028}b\u{2029}c\u{85}d"), r"a\nb\nc\nd");
        assert_eq!(text("c1\u{9b}x"), "c1x");
        assert_eq!(text("é’€😀日"), "é’€😀日");
    }

    #[test]
    fn injection_stays_inside_the_value() {
        let s = with(|o| o.text_line("SUMMARY", "Hi\r\nATTENDEE:mailto:evil@x\r\n"));
        assert_eq!(s, "SUMMARY:Hi\\nATTENDEE:mailto:evil@x\\n\r\n");
        let s = with(|o| o.param("CN", "x\r\n:mailto:evil@x\r\nATTENDEE"));
        assert_eq!(s, ";CN=\"x^n:mailto:evil@x^nATTENDEE\"");
    }

    #[test]
    fn params_are_quoted_only_when_needed() {
        assert_eq!(param("Jean Dupont"), ";CN=Jean Dupont");
        assert_eq!(param("Dupont, Jean"), ";CN=\"Dupont, Jean\"");
        assert_eq!(param("a;b"), ";CN=\"a;b\"");
        assert_eq!(param("a:b"), ";CN=\"a:b\"");
        assert_eq!(param("Zoë 日本"), ";CN=Zoë 日本");
    }

    #[test]
    fn params_use_rfc_6868() {
        assert_eq!(param("Jean \"JJ\" D."), ";CN=Jean ^'JJ^' D.");
        assert_eq!(param("a^b"), ";CN=a^^b");
        assert_eq!(param("a\nb"), ";CN=a^nb");
        assert_eq!(param("a\r\x01b"), ";CN=ab");
        assert_eq!(param("\"x\", y"), ";CN=\"^'x^', y\"");
    }

    #[test]
    fn mailto_percent_encodes() {
        let m = |e: &str| with(|o| o.mailto(e));
        assert_eq!(m("jean.dupont+x@example.org"), "mailto:jean.dupont+x@example.org");
        assert_eq!(m("o'brien@example.org"), "mailto:o'brien@example.org");
        assert_eq!(m("a b@x.org"), "mailto:a%20b@x.org");
        assert_eq!(m("\"a@b\"@x.org"), "mailto:%22a%40b%22@x.org");
        assert_eq!(m("a,b;c:d?%@x.org"), "mailto:a%2Cb%3Bc%3Ad%3F%25@x.org");
        assert_eq!(m("zoë@exemple.fr"), "mailto:zo%C3%AB@exemple.fr");
        assert_eq!(m("x@y\r\nATTENDEE:z"), "mailto:x@y%0D%0AATTENDEE%3Az");
    }

    #[test]
    fn uri_keeps_valid_text_and_encodes_the_rest() {
        let u = |s: &str| with(|o| o.uri(s));
        let ok = "https://meet.example.org/room-1?a=1&b=%2F;c,d#frag";
        assert_eq!(u(ok), ok);
        assert_eq!(u("https://x.org/a b"), "https://x.org/a%20b");
        assert_eq!(u("https://x.org/é"), "https://x.org/%C3%A9");
        assert_eq!(u("https://x.org/100%"), "https://x.org/100%25");
        assert_eq!(u("https://x.org/\"<>\\"), "https://x.org/%22%3C%3E%5C");
        assert_eq!(u("https://x.org/\r\nATTENDEE:x"), "https://x.org/%0D%0AATTENDEE:x");
    }

    #[test]
    fn long_uris_fold_without_splitting_percent_escapes() {
        let s = with(|o| {
            o.begin("URL");
            o.raw(":");
            o.uri(
                &"https://x.org/"
                    .repeat(2)
                    .chars()
                    .chain("é".repeat(80).chars())
                    .collect::<String>(),
            );
            o.end();
        });
        assert_folded(&s);
        for line in s.split("\r\n").skip(1).filter(|l| !l.is_empty()) {
            assert!(line.starts_with(" %") || line.starts_with(" https"), "{line:?}");
        }
    }

    #[test]
    fn datetimes_and_offsets() {
        let dt = jiff::civil::date(2025, 3, 9).at(7, 5, 3, 999_000_000);
        assert_eq!(with(|o| o.datetime(dt, true)), "20250309T070503Z");
        assert_eq!(with(|o| o.datetime(dt, false)), "20250309T070503");
        let off = |s: i32| with(|o| o.utc_offset(Offset::from_seconds(s).unwrap()));
        assert_eq!(off(0), "+0000");
        assert_eq!(off(3600), "+0100");
        assert_eq!(off(-(4 * 3600 + 30 * 60)), "-0430");
        assert_eq!(off(5 * 3600 + 45 * 60), "+0545");
        assert_eq!(off(-(4 * 3600 + 56 * 60 + 2)), "-045602");
    }

    #[test]
    fn triggers() {
        let t = |s: i64| with(|o| o.trigger(SignedDuration::from_secs(s)));
        assert_eq!(t(15 * 60), "-PT15M");
        assert_eq!(t(0), "PT0S");
        assert_eq!(t(-600), "PT10M");
        assert_eq!(t(3600), "-PT1H");
        assert_eq!(t(24 * 3600), "-PT24H");
        assert_eq!(t(3600 + 30), "-PT1H0M30S");
        assert_eq!(t(3600 + 90), "-PT1H1M30S");
        assert_eq!(t(45), "-PT45S");
    }

    #[test]
    fn durations() {
        let d = |s: i64| with(|o| o.duration(SignedDuration::from_secs(s)));
        assert_eq!(d(90 * 60), "PT1H30M");
        assert_eq!(d(25 * 3600), "PT25H");
        assert_eq!(d(0), "PT0S");
        assert_eq!(d(-45), "-PT45S");
    }

    #[test]
    fn numbers() {
        assert_eq!(with(|o| o.number(0)), "0");
        assert_eq!(with(|o| o.number(u64::MAX)), u64::MAX.to_string());
        assert_eq!(with(|o| o.number(4_294_967_295)), "4294967295");
    }
}
