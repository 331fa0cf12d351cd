//! Attendance as CSV, the way French spreadsheets open it: UTF-8 with a byte order mark, `;`
//! between fields, CRLF line ends, fields quoted when they hold a separator, a quote or a line
//! break. Cells that a spreadsheet would run as a formula get a leading apostrophe.

use crate::format;
use crate::model::CsvInput;

pub(crate) fn render(input: &CsvInput) -> Vec<u8> {
    let locale = input.locale;
    let zone = &input.time_zone;
    let zone_name = match zone.iana_name() {
        Some(name) => name.to_owned(),
        None => match zone.to_fixed_offset() {
            Ok(offset) => format!("UTC{offset}"),
            Err(_) => "UTC".to_owned(),
        },
    };
    let with_zone = |key: &str| locale.tf(key, &[("zone", &zone_name)]);
    let header = [
        locale.t("documents.csv.learner").to_owned(),
        locale.t("documents.csv.email").to_owned(),
        locale.t("documents.csv.date").to_owned(),
        locale.t("documents.csv.half_day").to_owned(),
        locale.t("documents.csv.planned").to_owned(),
        locale.t("documents.csv.present").to_owned(),
        with_zone("documents.csv.first_join"),
        with_zone("documents.csv.last_leave"),
        with_zone("documents.csv.signed_at"),
        locale.t("documents.csv.corrections").to_owned(),
    ];

    let mut out = String::with_capacity(64 + input.rows.len() * 160);
    out.push('\u{feff}');
    write_record(&mut out, header.iter().map(String::as_str));
    let instant = |at: Option<jiff::Timestamp>| at.map(|at| format::sortable(at, zone)).unwrap_or_default();
    for row in &input.rows {
        let fields = [
            row.learner.clone(),
            row.email.clone(),
            row.date.to_string(),
            row.half_day.label(locale).to_owned(),
            row.planned_minutes.to_string(),
            row.present_minutes.to_string(),
            instant(row.first_join),
            instant(row.last_leave),
            instant(row.signed_at),
            row.corrections.join(" | "),
        ];
        write_record(&mut out, fields.iter().map(String::as_str));
    }
    out.into_bytes()
}

fn write_record<'a>(out: &mut String, fields: impl Iterator<Item = &'a str>) {
    for (i, field) in fields.enumerate() {
        if i > 0 {
            out.push(';');
        }
        write_field(out, field);
    }
    out.push_str("\r\n");
}

fn write_field(out: &mut String, field: &str) {
    // A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
    let neutralised = matches!(field.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r'));
    let quoted = field.contains([';', '"', '\n', '\r']) || field.starts_with(' ') || field.ends_with(' ');
    if quoted {
        out.push('"');
    }
    if neutralised {
        out.push('\'');
    }
    for c in field.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quoted {
        out.push('"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(value: &str) -> String {
        let mut out = String::new();
        write_field(&mut out, value);
        out
    }

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(field("Zoé Martin"), "Zoé Martin");
        assert_eq!(field("a;b"), "\"a;b\"");
        assert_eq!(field("dit \"Zizou\""), "\"dit \"\"Zizou\"\"\"");
        assert_eq!(field("deux\nlignes"), "\"deux\nlignes\"");
        assert_eq!(field(" espace"), "\" espace\"");
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(field("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
        assert_eq!(field("+33 6 12"), "'+33 6 12");
        assert_eq!(field("-2+3"), "'-2+3");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(field("\tcmd"), "'\tcmd");
        assert_eq!(field("\rcmd"), "\"'\rcmd\"");
        assert_eq!(field("a=b"), "a=b");
    }
}
